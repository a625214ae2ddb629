"""Security headers on every admin page: no framing (clickjacking), no MIME sniffing, no referrer leaving the site,
forms post only back to this site, and pages are not kept by shared caches."""

from __future__ import annotations

from flask import Flask, Response, request

HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "frame-ancestors 'none'; form-action 'self'; object-src 'none'; base-uri 'self'",
}


def _add_headers(response: Response) -> Response:
    if request.path.startswith("/admin"):
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        # Pages show petitioners' details: a shared proxy must not keep them; static files may be cached.
        if not request.path.startswith("/admin/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
    return response


def init_app(app: Flask) -> None:
    """Add the headers to every response under /admin."""
    app.after_request(_add_headers)
