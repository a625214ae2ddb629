"""The site's entry: /admin sends each role to its own first page."""

from __future__ import annotations

from flask import redirect
from flask.typing import ResponseReturnValue

from admin_web.auth import role_required, staff
from admin_web.blueprint import admin
from admin_web.navigation import home_url


@admin.get("/")
@role_required()
def home() -> ResponseReturnValue:
    """Redirect to the signed-in user's home page (the dispatcher's queue, the handler's workbench, …)."""
    return redirect(home_url(staff()))
