"""The `admin` blueprint: every staff page lives under /admin, with its templates and its own static files."""

from __future__ import annotations

from flask import Blueprint

admin = Blueprint(
    "admin",
    __name__,
    url_prefix="/admin",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
