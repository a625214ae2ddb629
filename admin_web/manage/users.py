"""Staff users and their roles: creating, activating, resetting passwords (each ends the user's sessions)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from admin_web.api.tokens import revoke_token
from admin_web.audit import audit
from admin_web.auth import end_sessions, role_required, staff
from admin_web.manage.scope import (
    CITY_ONLY_ROLES,
    DISTRICT_ROLES,
    MANAGE_PER_PAGE,
    MANAGER_ROLES,
    UNIT_ROLES,
    USERNAME_RE,
    district_filter,
    is_city_manager,
    manage,
    managed_districts,
    manages_unit,
    user_or_404,
)
from admin_web.passwords import MIN_LENGTH as MIN_PASSWORD
from admin_web.passwords import generated_password, hash_password, password_problem
from admin_web.views.paging import Page
from models import (
    ApiToken,
    District,
    Unit,
    User,
    utcnow,
)
from models.bounds import parse_id
from models.db import get_session
from models.enums import Role, UnitLevel
from workflow.effects import PHONE_RE

# --- users ---------------------------------------------------------------------------------------------------------


def assignable_roles(manager: User) -> list[Role]:
    """The roles `manager` may give: a district manager only their district's roles."""
    return list(Role) if is_city_manager(manager) else [r for r in Role if r in DISTRICT_ROLES]


def user_values(
    session: Session, manager: User, form: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """A new user's fields from a form (the district follows from the role and unit), and the errors by field."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    username = (form.get("username") or "").strip()
    if not USERNAME_RE.match(username):
        errors["username"] = "用户名须为3到60位字母、数字或 _ . -"
    elif session.scalars(select(User.id).where(User.username == username)).first() is not None:
        errors["username"] = "用户名已存在"
    display_name = (form.get("display_name") or "").strip()
    if not 1 <= len(display_name) <= 60:
        errors["display_name"] = "姓名须为1到60个字符"
    try:
        role: Role | None = Role(form.get("role") or "")
    except ValueError:
        role = None
    if role not in assignable_roles(manager):
        errors["role"] = "请选择可分配的角色"
    unit_raw = (form.get("unit_id") or "").strip()
    unit_id = parse_id(unit_raw)
    unit = session.get(Unit, unit_id) if unit_id is not None else None
    district_code: str | None = None
    if role in UNIT_ROLES:
        if unit is None or not manages_unit(manager, unit) or unit.is_platform or not unit.active:
            errors["unit_id"] = "承办人和科室负责人须属于一个承办单位"
        else:
            district_code = unit.district_code
    elif role in CITY_ONLY_ROLES:
        unit = None
    elif role is not None:
        unit = None
        district_code = (
            (form.get("district_code") or "").strip() if is_city_manager(manager) else manager.district_code
        )
        if not district_code or session.get(District, district_code) is None:
            errors["district_code"] = "请选择区(市)"
    phone = (form.get("phone") or "").strip()
    if phone and not PHONE_RE.match(phone):
        errors["phone"] = "电话号码格式不正确"
    password = form.get("password") or ""
    problem = password_problem(password, username=username, display_name=display_name)
    if problem:
        errors["password"] = f"初始{problem}"
    values.update(
        username=username,
        display_name=display_name,
        role=role,
        unit_id=unit.id if unit else None,
        district_code=district_code,
        phone=phone or None,
    )
    if not errors:
        values["password_hash"] = hash_password(password)
        # The manager chose it: the user replaces it at the first sign-in.
        values["must_change_password"] = True
    return values, errors


@manage.get("/users")
@role_required(*MANAGER_ROLES)
def users() -> ResponseReturnValue:
    """The users of one district (or the city level) with their roles, units and whether they are active."""
    manager = staff()
    session = get_session()
    code = district_filter(session, manager)
    return _users_page(session, manager, code)


def _users_page(
    session: Session, manager: User, code: str | None, new_password: tuple[User, str] | None = None
) -> str:
    """The users list of district `code` (None: the city level), 50 a page, with each user's unit."""
    query = select(User).where(User.district_code == code if code else User.district_code.is_(None))
    page = Page.of(session, query, MANAGE_PER_PAGE)
    rows = list(
        session.scalars(
            page.apply(query.order_by(User.role, User.username, User.id)).options(selectinload(User.unit))
        )
    )
    return render_template(
        "manage/users.html",
        users=rows,
        page=page,
        code=code,
        districts=managed_districts(session, manager),
        city=is_city_manager(manager),
        now=utcnow(),
        new_password=new_password,
    )


@manage.route("/users/new", methods=["GET", "POST"])
@role_required(*MANAGER_ROLES)
def new_user() -> ResponseReturnValue:
    """Create a staff account with a role, its district or unit, and an initial password."""
    manager = staff()
    session = get_session()
    errors: dict[str, str] = {}
    if request.method == "POST":
        values, errors = user_values(session, manager, request.form)
        if not errors:
            user = User(**values)
            session.add(user)
            session.flush()
            audit(
                session,
                manager,
                "user_created",
                f"user:{user.username}",
                f"role={user.role.value} district={user.district_code} unit={user.unit_id}",
            )
            session.commit()
            flash(f"已创建用户 {user.username}（{user.role.label}）", "success")
            return redirect(url_for("manage.users", district=user.district_code or "city"))
    unit_query = select(Unit).where(
        Unit.active.is_(True), Unit.level.not_in([UnitLevel.DISTRICT_PLATFORM, UnitLevel.CITY_PLATFORM])
    )
    if not is_city_manager(manager):
        unit_query = unit_query.where(Unit.district_code == manager.district_code)
    unit_choices = session.scalars(unit_query.order_by(Unit.district_code, Unit.level, Unit.name)).all()
    return render_template(
        "manage/user_form.html",
        errors=errors,
        form=request.form,
        roles=assignable_roles(manager),
        units=unit_choices,
        districts=managed_districts(session, manager),
        city=is_city_manager(manager),
        min_password=MIN_PASSWORD,
    ), (422 if errors else 200)


def _revoke_tokens(session: Session, user: User) -> None:
    for token in session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked.is_(False))
    ):
        revoke_token(token)


@manage.post("/users/<int:user_id>/active")
@role_required(*MANAGER_ROLES)
def set_user_active(user_id: int) -> ResponseReturnValue:
    """Deactivate (or reactivate) a user: a deactivated user can neither sign in nor use an API token, and the
    tokens are revoked for good."""
    manager = staff()
    session = get_session()
    user = user_or_404(session, manager, user_id)
    active = request.form.get("active") == "1"
    if user.id == manager.id and not active:
        flash("不能停用自己的账号", "error")
    else:
        user.active = active
        if not active:
            # Revoked, not just unusable while inactive: reactivating an account must not revive old tokens
            # or old session cookies.
            _revoke_tokens(session, user)
            end_sessions(user)
        audit(session, manager, "user_activated" if active else "user_deactivated", f"user:{user.username}")
        session.commit()
        flash(f"用户 {user.username} 已{'启用' if active else '停用'}", "success")
    return redirect(url_for("manage.users", district=user.district_code or "city"))


@manage.post("/users/<int:user_id>/password")
@role_required(*MANAGER_ROLES)
def reset_password(user_id: int) -> ResponseReturnValue:
    """Give a user a new random password (shown once, on this page only) that they must change at sign-in, unlock
    the account, revoke its API tokens and end its sessions."""
    manager = staff()
    session = get_session()
    user = user_or_404(session, manager, user_id)
    password = generated_password()
    user.password_hash = hash_password(password)
    user.must_change_password = True
    end_sessions(user)
    user.failed_logins = 0
    user.locked_until = None
    _revoke_tokens(session, user)
    audit(session, manager, "password_reset", f"user:{user.username}")
    session.commit()
    # Rendered, not redirected: a flashed message would carry the password in the session cookie.
    response = _users_page(session, manager, user.district_code, new_password=(user, password))
    return response, 200, {"Cache-Control": "no-store"}
