"""The admin site's menu and each role's home page.

Pages add themselves to the menu with `nav_item`, so modules written by different people (the staff pages, the
managers' pages, the dashboard) need not edit one shared list. An item is shown only to its roles, and only if its
endpoint is registered on the application.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, url_for

from models import User
from models.enums import Role


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: str
    roles: frozenset[Role]
    order: int


_ITEMS: dict[str, NavItem] = {}


def nav_item(endpoint: str, label: str, roles: set[Role] | frozenset[Role], order: int = 100) -> None:
    """Put `endpoint` in the menu for `roles` (lower `order` comes first); registering again replaces it."""
    _ITEMS[endpoint] = NavItem(endpoint, label, frozenset(roles), order)


def menu_for(user: User) -> list[tuple[str, str, str]]:
    """(endpoint, label, url) of the menu items `user` sees, in order."""
    items = sorted(_ITEMS.values(), key=lambda item: (item.order, item.label))
    return [
        (item.endpoint, item.label, url_for(item.endpoint))
        for item in items
        if user.role in item.roles and item.endpoint in current_app.view_functions
    ]


def home_url(user: User) -> str:
    """Where `user` lands after signing in: the first menu item of the role, else the search page."""
    menu = menu_for(user)
    return menu[0][2] if menu else url_for("admin.search")
