"""``GET /api/v1/units``: the handling units a caller can name in actions (dispatch targets, cooperating units)."""

from __future__ import annotations

import math

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import func, or_, select

from admin_web.api.blueprint import api, api_user
from admin_web.api.errors import ApiError
from admin_web.api.petitions import MAX_PAGE, int_arg
from admin_web.api.serialize import unit_dict
from admin_web.scoping import district_codes_visible
from models import Unit
from models.db import get_session
from models.enums import DeptType, UnitLevel

MAX_UNITS_PER_PAGE = 500


@api.get("/units")
def list_units() -> ResponseReturnValue:
    """Active units of the caller's district and the city-level units (city roles: every district's).

    Filters: ``district`` (a district code, or ``city`` for city-level units), ``level``, ``dept_type``. Pages of
    ``per_page`` units (at most and by default 500: a district's units fit on one page; a city role's all units
    take a few).
    """
    query = select(Unit).where(Unit.active.is_(True))
    visible = district_codes_visible(api_user())
    if visible is not None:
        query = query.where(or_(Unit.district_code.in_(visible), Unit.district_code.is_(None)))
    district = request.args.get("district", "").strip()
    if district == "city":
        query = query.where(Unit.district_code.is_(None))
    elif district:
        query = query.where(Unit.district_code == district)
    for name, cls, column in (("level", UnitLevel, Unit.level), ("dept_type", DeptType, Unit.dept_type)):
        raw = request.args.get(name, "").strip()
        if raw:
            try:
                query = query.where(column == cls(raw))
            except ValueError:
                raise ApiError(422, "invalid_input", f"参数 {name} 的取值「{raw}」无效", field=name) from None
    page = int_arg("page", 1, 1, MAX_PAGE) or 1
    per_page = int_arg("per_page", MAX_UNITS_PER_PAGE, 1, MAX_UNITS_PER_PAGE) or MAX_UNITS_PER_PAGE
    session = get_session()
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    units = session.scalars(
        query.order_by(Unit.district_code, Unit.level, Unit.name, Unit.id).limit(per_page).offset((page - 1) * per_page)
    )
    return jsonify(
        items=[unit_dict(u) for u in units],
        page=page,
        per_page=per_page,
        total=total,
        pages=math.ceil(total / per_page),
    )
