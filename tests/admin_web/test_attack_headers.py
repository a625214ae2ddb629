"""Issue 12, attack 13: security headers were sent only under /admin, the CSP had no default-src or script-src,
there was no HSTS behind TLS, and the API, the simulator and the webhook sent none. Now every response carries them,
and the templates hold nothing inline that such a policy would block."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PATHS = [
    "/admin/login",
    "/admin/static/admin.js",
    "/admin/no-such-page",
    "/api/v1/openapi.json",
    "/api/v1/units",
    "/api/v1/no-such-thing",
    "/wechat/shinan",
    "/simulator/",
    "/healthz",
    "/",
]


def _headers(client, path: str):  # type: ignore[no-untyped-def]
    """The response headers of GET `path` (the response closed, so a static file's handle is released)."""
    response = client.get(path)
    response.close()
    return response.headers


def _directives(policy: str) -> dict[str, str]:
    return {part.split()[0]: part.strip() for part in policy.split(";") if part.strip()}


@pytest.mark.parametrize("path", PATHS)
def test_attack_13_thin_headers_outside_admin(client, world, path: str) -> None:  # type: ignore[no-untyped-def]
    headers = _headers(client, path)
    csp = _directives(headers["Content-Security-Policy"])
    assert csp["default-src"] == "default-src 'self'"
    assert csp["script-src"] == "script-src 'self'"
    assert csp["style-src"] == "style-src 'self'"
    assert csp["frame-ancestors"] == "frame-ancestors 'none'"
    assert csp["object-src"] == "object-src 'none'"
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    # The test configuration has secure_cookies off: no HSTS over plain HTTP.
    assert "Strict-Transport-Security" not in headers


def test_attack_13_no_hsts_when_cookies_are_secure(app, client, world) -> None:  # type: ignore[no-untyped-def]
    app.config["SECURITY"]["secure_cookies"] = True
    for path in ("/admin/login", "/api/v1/openapi.json", "/healthz"):
        assert _headers(client, path)["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_pages_and_api_answers_are_not_cached_but_static_files_may_be(client, world) -> None:  # type: ignore[no-untyped-def]
    assert _headers(client, "/admin/login")["Cache-Control"] == "no-store"
    assert _headers(client, "/api/v1/units")["Cache-Control"] == "no-store"
    assert _headers(client, "/admin/static/admin.js").get("Cache-Control") != "no-store"


# Anything script-src 'self' / style-src 'self' would block: inline scripts, event-handler attributes, style
# attributes and <style> blocks.
_INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|\sstyle\s*=|<style[\s>]|javascript:", re.I)


def test_no_template_holds_inline_scripts_or_styles() -> None:
    templates = sorted(ROOT.glob("*/templates/**/*.html"))
    assert len(templates) > 20
    offenders = {
        str(path.relative_to(ROOT)): match.group(0)
        for path in templates
        for match in [_INLINE.search(path.read_text(encoding="utf-8"))]
        if match
    }
    assert offenders == {}
