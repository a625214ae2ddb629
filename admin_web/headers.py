"""Security headers on every response of the application (admin site, API, webhook, simulator, reply pages):
a content security policy that allows only this site's own scripts, styles and images and no framing, no MIME
sniffing, no referrer leaving the site, and HSTS when the site runs behind TLS (``[security] secure_cookies``).
Pages and API answers carry petitioners' details, so shared caches must not keep them; static files may be cached.

The templates have no inline scripts, event-handler attributes or style attributes, so the policy needs neither
'unsafe-inline' nor nonces; admin.js does the few things they did (auto-submitting pickers, score bars).
"""

from __future__ import annotations

from flask import Flask, Response, request

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
# One year, the value HSTS preload lists ask for; only sent when cookies are marked secure (the site is on HTTPS).
HSTS = "max-age=31536000; includeSubDomains"
# Paths whose answers hold personal data: never stored by a cache.
PRIVATE_PREFIXES = ("/admin", "/api/")


_HEADER_ITEMS = tuple(HEADERS.items())
# Every header this module may add, lower case: a response that sets none of them itself (nearly all) gets them
# appended in one go, which costs a tenth of setting them one by one.
_OURS = frozenset(name.lower() for name in (*HEADERS, "Strict-Transport-Security", "Cache-Control"))


def init_app(app: Flask) -> None:
    """Add the headers to every response of `app`."""

    def add_headers(response: Response) -> Response:
        headers = response.headers
        hsts = bool(app.config["SECURITY"].get("secure_cookies"))
        private = request.path.startswith(PRIVATE_PREFIXES) and not (request.endpoint or "").endswith(
            ".static"
        )
        if _OURS.isdisjoint([name.lower() for name, _value in headers]):
            headers.extend(_HEADER_ITEMS)
            if hsts:
                headers.add("Strict-Transport-Security", HSTS)
            if private:
                headers.add("Cache-Control", "no-store")
            return response
        # A view set some of them itself: its values stand.
        for name, value in _HEADER_ITEMS:
            headers.setdefault(name, value)
        if hsts:
            headers.setdefault("Strict-Transport-Security", HSTS)
        if private:
            headers.setdefault("Cache-Control", "no-store")
        return response

    app.after_request(add_headers)
