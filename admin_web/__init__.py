"""The admin site: server-rendered pages for the platform's staff (and, registered here too, the JSON API).

`init_app(app)` sets up sign-in (Flask-Login), CSRF protection on every form (Flask-WTF), the template helpers and
the blueprints. The application factory calls it once.
"""

from __future__ import annotations

from flask import Flask
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()


def init_app(app: Flask) -> None:
    """Register the admin site on `app`."""
    from admin_web import api, dashboard, errors, headers, manage, open311, rendering, users_cli
    from admin_web.auth import init_login
    from admin_web.blueprint import admin

    # Importing the view modules attaches their routes to the `admin` blueprint before it is registered.
    from admin_web.views import (  # noqa: F401
        actions,
        alerts,
        enforcement,
        followup,
        home,
        hot_issues,
        petition,
        queue,
        review,
        search,
        workbench,
    )

    init_login(app)
    csrf.init_app(app)
    rendering.init_app(app)
    errors.init_app(app)
    headers.init_app(app)
    app.register_blueprint(admin)
    api.init_app(app)  # F2: the JSON API (after CSRFProtect and the error pages, which it builds on)
    open311.init_app(app)  # Open311 GeoReport v2 for other systems (like the API: after CSRFProtect)
    manage.init_app(app)  # F2: the managers' pages
    dashboard.init_app(app)  # F2: the leadership dashboard
    users_cli.init_app(app)
