"""The platform managers' pages (/admin/manage): districts and their WeChat accounts, units and their responsibility
lists, users and roles, the holiday calendar, notification templates, the dead-letter list and (city managers only)
the early-warning rules.

Scope: a district manager (区平台管理员) manages their own district only — another district's account, units, users,
templates or messages answer 404, like a page that does not exist; a city manager (市平台管理员) manages every
district and the city-level units and users. The working-day calendar is city-wide; every manager may correct it and
import the State Council's notice (the missing-schedule banner asks them to), and every change is audited.

Secrets (the account's token, EncodingAESKey and AppSecret) are write-only: a form never carries them back, a page
shows them masked, and a blank field on saving keeps the stored value. Every change writes an audit row; an audit
detail names the fields that changed, never a secret's value.
"""

from __future__ import annotations

from flask import Flask

from admin_web.manage import calendar, dead_letters, districts, templates, units, users, warnings
from admin_web.manage.scope import (
    CITY_ONLY_ROLES,
    MANAGER_ROLES,
    UNIT_ROLES,
    USERNAME_RE,
    is_city_manager,
    manage,
    managed_districts,
)
from admin_web.navigation import nav_item

nav_item("manage.index", "平台管理", set(MANAGER_ROLES), order=80)


def init_app(app: Flask) -> None:
    """Register the managers' pages."""
    app.register_blueprint(manage)


__all__ = [
    "CITY_ONLY_ROLES",
    "MANAGER_ROLES",
    "UNIT_ROLES",
    "USERNAME_RE",
    "calendar",
    "dead_letters",
    "districts",
    "init_app",
    "is_city_manager",
    "manage",
    "managed_districts",
    "templates",
    "units",
    "users",
    "warnings",
]
