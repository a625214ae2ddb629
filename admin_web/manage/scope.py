"""Who manages what: the managers' roles, the scope rules (a district manager their own district, a city manager
every district and the city), and the rules of the forms shared by the areas. The blueprint every area registers on."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, abort, request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import (
    District,
    Unit,
    User,
)
from models.enums import Role, UnitLevel
from workflow.routing import DISTRICT_HANDLING_LEVELS

manage = Blueprint("manage", __name__, url_prefix="/admin/manage")

MANAGER_ROLES = (Role.DISTRICT_MANAGER, Role.CITY_MANAGER)
# Roles that belong to one district, roles of the city platform, and roles tied to a handling unit.
DISTRICT_ROLES = frozenset({Role.DISPATCHER, Role.DISTRICT_MANAGER, Role.HANDLER, Role.UNIT_REVIEWER})
CITY_ONLY_ROLES = frozenset({Role.CITY_DISPATCHER, Role.CITY_MANAGER, Role.LEADER, Role.HOTLINE})
UNIT_ROLES = frozenset({Role.HANDLER, Role.UNIT_REVIEWER})
DISTRICT_UNIT_LEVELS = DISTRICT_HANDLING_LEVELS
CITY_UNIT_LEVELS = (UnitLevel.CITY_DEPARTMENT,)

APPID_RE = re.compile(r"^wx[0-9A-Za-z]{6,38}$")
TOKEN_RE = re.compile(r"^[0-9A-Za-z]{3,32}$")
AES_KEY_RE = re.compile(r"^[0-9A-Za-z]{43}$")
SECRET_RE = re.compile(r"^[\x21-\x7e]{1,64}$")
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{3,60}$")
NAME_MAX = 80
# Rows a page of units, users or dead letters shows.
MANAGE_PER_PAGE = 50


# --- scope ---------------------------------------------------------------------------------------------------------


def is_city_manager(user: User) -> bool:
    """Whether `user` manages the whole city (every district and the city level)."""
    return user.role == Role.CITY_MANAGER


def managed_districts(session: Session, user: User) -> list[District]:
    """The districts `user` manages, in the fixed order of the ten."""
    query = select(District).order_by(District.position, District.code)
    if not is_city_manager(user):
        query = query.where(District.code == user.district_code)
    return list(session.scalars(query))


def district_or_404(session: Session, user: User, code: str) -> District:
    """The district `code` if `user` manages it.

    :raises werkzeug.exceptions.NotFound: unknown, or another district's (the same answer for both).
    """
    district = session.get(District, code)
    if district is None or not (is_city_manager(user) or user.district_code == code):
        abort(404)
    return district


def manages_unit(user: User, unit: Unit) -> bool:
    """City managers manage every unit; a district manager their district's units."""
    return is_city_manager(user) or (
        unit.district_code is not None and unit.district_code == user.district_code
    )


def manages_user(manager: User, user: User) -> bool:
    """City managers manage every user; a district manager the users of their district."""
    return is_city_manager(manager) or (
        user.district_code is not None and user.district_code == manager.district_code
    )


def unit_or_404(session: Session, user: User, unit_id: int) -> Unit:
    unit = session.get(Unit, unit_id)
    if unit is None or not manages_unit(user, unit):
        abort(404)
    return unit


def user_or_404(session: Session, manager: User, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or not manages_user(manager, user):
        abort(404)
    return user


def mask_secret(value: str | None) -> str:
    """How a stored secret is shown: bullets, and for long secrets the last four characters."""
    if not value:
        return ""
    return "••••••••" + (value[-4:] if len(value) >= 16 else "")


def counts_by(session: Session, column: Any, *where: Any) -> dict[Any, int]:
    """Rows per value of `column` among those matching `where`."""
    return dict(session.execute(select(column, func.count()).where(*where).group_by(column)).tuples().all())


def district_filter(session: Session, user: User) -> str | None:
    """The district a list page shows (``?district=``; "city" for the city level, None in the answer).

    A district manager sees their own district; asking for another one is 404, as for any other district's page.
    """
    asked = request.args.get("district")
    if not is_city_manager(user):
        if asked not in (None, "", user.district_code):
            abort(404)
        return user.district_code
    code = asked or "city"
    if code != "city":
        district_or_404(session, user, code)
    return None if code == "city" else code
