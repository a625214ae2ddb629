"""Units, their place in the responsibility chain, their responsibility lists and their review setting."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from admin_web.audit import audit
from admin_web.auth import role_required, staff
from admin_web.manage.scope import (
    CITY_UNIT_LEVELS,
    DISTRICT_UNIT_LEVELS,
    MANAGE_PER_PAGE,
    MANAGER_ROLES,
    NAME_MAX,
    counts_by,
    district_filter,
    is_city_manager,
    manage,
    managed_districts,
    unit_or_404,
)
from admin_web.views.paging import Page
from models import (
    District,
    Unit,
    User,
)
from models.bounds import parse_id
from models.db import get_session
from models.enums import DeptType, Role, UnitLevel
from workflow.effects import PHONE_RE

# --- units ---------------------------------------------------------------------------------------------------------


def unit_values(
    session: Session, user: User, form: Mapping[str, str], unit: Unit | None
) -> tuple[dict[str, Any], dict[str, str]]:
    """The unit fields from a form (level and district only when creating), and the errors by field."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    name = (form.get("name") or "").strip()
    if not 1 <= len(name) <= NAME_MAX:
        errors["name"] = f"名称须为1到{NAME_MAX}个字符"
    values["name"] = name
    if unit is None:
        district_code = (form.get("district_code") or "").strip() or None
        if not is_city_manager(user):
            district_code = user.district_code
        elif district_code is not None and session.get(District, district_code) is None:
            errors["district_code"] = "未知的区(市)"
        levels = DISTRICT_UNIT_LEVELS if district_code else CITY_UNIT_LEVELS
        try:
            level = UnitLevel(form.get("level") or "")
        except ValueError:
            level = None
        if level not in levels:
            errors["level"] = "请选择：" + "、".join(lv.label for lv in levels)
        values.update(district_code=district_code, level=level)
    else:
        district_code, level = unit.district_code, unit.level
    raw_type = (form.get("dept_type") or "").strip()
    try:
        values["dept_type"] = DeptType(raw_type) if raw_type else None
    except ValueError:
        errors["dept_type"] = "未知的职能部门类型"
    if level in (UnitLevel.DISTRICT_DEPARTMENT, UnitLevel.CITY_DEPARTMENT) and not raw_type:
        errors["dept_type"] = "职能部门须选择部门类型（分拨建议据此对应单位）"
    parent_raw = (form.get("parent_id") or "").strip()
    parent_id = parse_id(parent_raw)
    parent = session.get(Unit, parent_id) if parent_id is not None else None
    if level == UnitLevel.COMMUNITY:
        if parent is None or parent.level != UnitLevel.STREET or parent.district_code != district_code:
            errors["parent_id"] = "村(社区)须隶属于本区(市)的一个镇(街道)"
    elif parent_raw:
        errors["parent_id"] = "只有村(社区)需要上级镇(街道)"
    values["parent_id"] = parent.id if parent is not None and level == UnitLevel.COMMUNITY else None
    phone = (form.get("phone") or "").strip()
    if phone and not PHONE_RE.match(phone):
        errors["phone"] = "电话号码格式不正确"
    values["phone"] = phone or None
    lines = [line.strip() for line in (form.get("responsibilities") or "").splitlines()]
    values["responsibilities"] = "\n".join(line for line in lines if line)
    values["active"] = bool(form.get("active")) if unit is not None else True
    # Off unless a manager ticks it: the work rules have the unit's reviewer approve its replies.
    values["handler_self_review"] = bool(form.get("handler_self_review")) and level in REVIEWED_LEVELS
    return values, errors


@manage.get("/units")
@role_required(*MANAGER_ROLES)
def units() -> ResponseReturnValue:
    """The units of one district (or the city level), by level, with their responsibility lists."""
    user = staff()
    session = get_session()
    code = district_filter(session, user)
    query = select(Unit).where(Unit.district_code == code if code else Unit.district_code.is_(None))
    page = Page.of(session, query, MANAGE_PER_PAGE)
    rows = list(
        session.scalars(
            page.apply(query.order_by(Unit.level, Unit.name, Unit.id)).options(selectinload(Unit.parent))
        )
    )
    return render_template(
        "manage/units.html",
        units=rows,
        # Unit id → its active reviewers (科室负责人): the page marks a unit that has none.
        reviewers=counts_by(
            session,
            User.unit_id,
            User.unit_id.in_([u.id for u in rows]),
            User.role == Role.UNIT_REVIEWER,
            User.active.is_(True),
        ),
        reviewed_levels=REVIEWED_LEVELS,
        page=page,
        code=code,
        districts=managed_districts(session, user),
        city=is_city_manager(user),
    )


# The units whose replies their own reviewer approves before the platform sees them (not the platforms themselves).
REVIEWED_LEVELS = (
    UnitLevel.COMMUNITY,
    UnitLevel.STREET,
    UnitLevel.DISTRICT_DEPARTMENT,
    UnitLevel.CITY_DEPARTMENT,
)


def _unit_form(session: Session, user: User, unit: Unit | None, errors: dict[str, str], code: str | None):  # type: ignore[no-untyped-def]
    streets = session.scalars(
        select(Unit).where(Unit.level == UnitLevel.STREET, Unit.district_code == code).order_by(Unit.name)
    ).all()
    return render_template(
        "manage/unit_form.html",
        unit=unit,
        errors=errors,
        form=request.form,
        streets=streets,
        code=code,
        levels=(DISTRICT_UNIT_LEVELS + CITY_UNIT_LEVELS) if is_city_manager(user) else DISTRICT_UNIT_LEVELS,
        dept_types=list(DeptType),
        reviewed_levels=REVIEWED_LEVELS,
        districts=managed_districts(session, user),
        city=is_city_manager(user),
    ), (422 if errors else 200)


@manage.route("/units/new", methods=["GET", "POST"])
@role_required(*MANAGER_ROLES)
def new_unit() -> ResponseReturnValue:
    """Create a community, street or department (city managers also city departments)."""
    user = staff()
    session = get_session()
    code = district_filter(session, user)
    errors: dict[str, str] = {}
    if request.method == "POST":
        values, errors = unit_values(session, user, request.form, None)
        if not errors:
            unit = Unit(**values)
            session.add(unit)
            session.flush()
            audit(session, user, "unit_created", f"unit:{unit.id}", f"{unit.name} ({unit.level.value})")
            session.commit()
            flash(f"已新建单位「{unit.name}」", "success")
            return redirect(url_for("manage.units", district=unit.district_code or "city"))
    return _unit_form(session, user, None, errors, code)


@manage.route("/units/<int:unit_id>", methods=["GET", "POST"])
@role_required(*MANAGER_ROLES)
def edit_unit(unit_id: int) -> ResponseReturnValue:
    """Edit a unit: name, department type, parent street, phone, responsibility list, active."""
    user = staff()
    session = get_session()
    unit = unit_or_404(session, user, unit_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        values, errors = unit_values(session, user, request.form, unit)
        if unit.is_platform:
            # The platforms are where routing starts and ends: they stay active and keep no parent.
            values.update(active=True, parent_id=None, dept_type=unit.dept_type)
            errors.pop("parent_id", None)
        if not errors:
            changed = sorted(name for name, value in values.items() if getattr(unit, name) != value)
            for name, value in values.items():
                setattr(unit, name, value)
            audit(session, user, "unit_updated", f"unit:{unit.id}", "changed: " + ", ".join(changed))
            session.commit()
            flash(f"单位「{unit.name}」已保存", "success")
            return redirect(url_for("manage.units", district=unit.district_code or "city"))
    return _unit_form(session, user, unit, errors, unit.district_code)
