"""``GET /api/v1/units``: the handling units a caller can name in actions (dispatch targets, cooperating units)."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import or_, select

from admin_web.api.blueprint import api, api_user
from admin_web.api.errors import ApiError
from admin_web.api.serialize import unit_dict
from admin_web.scoping import district_codes_visible
from models import Unit
from models.enums import DeptType, UnitLevel
from qingsu.db import get_session


@api.get("/units")
def list_units() -> ResponseReturnValue:
    """Active units of the caller's district and the city-level units (city roles: every district's).

    Filters: ``district`` (a district code, or ``city`` for city-level units), ``level``, ``dept_type``.
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
    units = get_session().scalars(query.order_by(Unit.district_code, Unit.level, Unit.name, Unit.id))
    return jsonify(items=[unit_dict(u) for u in units])
