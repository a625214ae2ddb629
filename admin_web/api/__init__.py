"""The JSON API (/api/v1) for the staff work app and the 12345 hotline: tokens, petitions, workflow actions, units.

Authenticated by bearer tokens, so it is exempt from the admin site's CSRF protection (no cookie is involved).
Described by the OpenAPI document at /api/v1/openapi.json.
"""

from __future__ import annotations

from flask import Flask

# Importing the view modules attaches their routes to the `api` blueprint before it is registered.
from admin_web.api import hot_issues, openapi, petitions, token_views, units  # noqa: F401
from admin_web.api.blueprint import api
from admin_web.api.errors import register_http_error_handler


def init_app(app: Flask) -> None:
    """Register the API blueprint, exempt it from CSRF, and answer HTTP errors under /api/v1 as JSON."""
    app.register_blueprint(api)
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(api)
    register_http_error_handler(app)


__all__ = ["api", "init_app"]
