"""The platform managers' pages (/admin/manage): districts and their WeChat accounts, units and their responsibility
lists, users and roles, the holiday calendar, notification templates and the dead-letter list.

Scope: a district manager (区平台管理员) manages their own district only — another district's account, units, users,
templates or messages answer 404, like a page that does not exist; a city manager (市平台管理员) manages every
district and the city-level units and users. The working-day calendar is city-wide; every manager may correct it and
import the State Council's notice (the missing-schedule banner asks them to), and every change is audited.

Secrets (the account's token, EncodingAESKey and AppSecret) are write-only: a form never carries them back, a page
shows them masked, and a blank field on saving keeps the stored value. Every change writes an audit row; an audit
detail names the fields that changed, never a secret's value.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from admin_web.api.tokens import revoke_token
from admin_web.audit import audit
from admin_web.auth import end_sessions, role_required, staff
from admin_web.navigation import nav_item
from admin_web.passwords import MIN_LENGTH as MIN_PASSWORD
from admin_web.passwords import generated_password, hash_password, password_problem
from admin_web.views.paging import Page
from bot.menu import push_menu
from models import (
    ApiToken,
    District,
    HolidayYear,
    Notification,
    NotificationTemplate,
    Unit,
    User,
    WechatAccount,
    utcnow,
)
from models.db import get_session
from models.enums import DeptType, NotificationState, Role, UnitLevel
from wechat.api import WechatApiError, client_for
from workflow.calendar import WEEKDAYS, calendar_warnings, load_calendar, special_days
from workflow.calendar_changes import (
    CalendarChange,
    MovedDeadline,
    clear_override,
    confirm_year,
    import_notice,
    override_day,
)
from workflow.effects import PHONE_RE
from workflow.holiday_notice import NoticeError, NoticeHoliday, parse_notice
from workflow.hotline import PUSH_EVENT, PUSH_LABEL
from workflow.messages import FIELD_TYPES
from workflow.notify import EVENTS
from workflow.outbox import backlog, retry_dead
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


def _unit_or_404(session: Session, user: User, unit_id: int) -> Unit:
    unit = session.get(Unit, unit_id)
    if unit is None or not manages_unit(user, unit):
        abort(404)
    return unit


def _user_or_404(session: Session, manager: User, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or not manages_user(manager, user):
        abort(404)
    return user


def mask_secret(value: str | None) -> str:
    """How a stored secret is shown: bullets, and for long secrets the last four characters."""
    if not value:
        return ""
    return "••••••••" + (value[-4:] if len(value) >= 16 else "")


# --- overview and districts ----------------------------------------------------------------------------------------


@manage.get("/")
@role_required(*MANAGER_ROLES)
def index() -> ResponseReturnValue:
    """The districts the manager looks after, each with its account's state and its numbers of units and users."""
    user = staff()
    session = get_session()
    districts = managed_districts(session, user)
    codes = [d.code for d in districts]
    # One grouped count per table for all the districts, not three queries per district.
    units = _counts(session, Unit.district_code, Unit.district_code.in_(codes))
    users = _counts(session, User.district_code, User.district_code.in_(codes))
    dead = _counts(
        session,
        Notification.district_code,
        Notification.district_code.in_(codes),
        Notification.state == NotificationState.DEAD,
    )
    accounts = {
        a.district_code: a
        for a in session.scalars(select(WechatAccount).where(WechatAccount.district_code.in_(codes)))
    }
    rows = [(d, accounts.get(d.code), units.get(d.code, 0), users.get(d.code, 0), dead.get(d.code, 0)) for d in districts]
    return render_template("manage/index.html", rows=rows, city=is_city_manager(user))


def _counts(session: Session, column: Any, *where: Any) -> dict[Any, int]:
    """Rows per value of `column` among those matching `where`."""
    return dict(session.execute(select(column, func.count()).where(*where).group_by(column)).tuples().all())


@manage.post("/districts/<code>")
@role_required(Role.CITY_MANAGER)
def update_district(code: str) -> ResponseReturnValue:
    """Rename a district's platform (city managers only: the ten districts themselves are fixed)."""
    session = get_session()
    district = district_or_404(session, staff(), code)
    platform_name = (request.form.get("platform_name") or "").strip()
    if not 1 <= len(platform_name) <= 40:
        flash("平台名称须为1到40个字符", "error")
        return redirect(url_for("manage.index"))
    old = district.platform_name
    district.platform_name = platform_name
    audit(session, staff(), "district_renamed", f"district:{code}", f"{old} → {platform_name}")
    session.commit()
    flash(f"{district.name}的平台名称已改为「{platform_name}」", "success")
    return redirect(url_for("manage.index"))


# --- WeChat accounts -------------------------------------------------------------------------------------------------


def account_changes(
    account: WechatAccount | None, form: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The account fields to store from a submitted form, and the errors by field.

    Blank secret fields keep the stored value (a new account needs its token and secret); ``clear_aes_key``
    switches the account to plain mode.
    """
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    appid = (form.get("appid") or "").strip()
    if not APPID_RE.match(appid):
        errors["appid"] = "AppID 以 wx 开头，由字母和数字组成"
    values["appid"] = appid
    for field, pattern, message in (
        ("token", TOKEN_RE, "Token 须为3到32位字母或数字"),
        ("secret", SECRET_RE, "AppSecret 须为1到64个可见字符"),
        ("encoding_aes_key", AES_KEY_RE, "EncodingAESKey 须为43位字母或数字"),
    ):
        raw = (form.get(field) or "").strip()
        if raw:
            if pattern.match(raw):
                values[field] = raw
            else:
                errors[field] = message
        elif account is None and field != "encoding_aes_key":
            errors[field] = "新建公众号须填写此项"
    if form.get("clear_aes_key"):
        if "encoding_aes_key" in values:
            errors["encoding_aes_key"] = "不能同时填写并清除 EncodingAESKey"
        values["encoding_aes_key"] = None
    values["enabled"] = bool(form.get("enabled"))
    return values, errors


@manage.route("/districts/<code>/account", methods=["GET", "POST"])
@role_required(*MANAGER_ROLES)
def account(code: str) -> ResponseReturnValue:
    """A district's official account: AppID, Token, EncodingAESKey, AppSecret (secrets write-only)."""
    user = staff()
    session = get_session()
    district = district_or_404(session, user, code)
    current = district.account
    errors: dict[str, str] = {}
    if request.method == "POST":
        values, errors = account_changes(current, request.form)
        taken = session.scalars(
            select(WechatAccount).where(
                WechatAccount.appid == values["appid"], WechatAccount.district_code != code
            )
        ).first()
        if taken is not None:
            errors["appid"] = "该 AppID 已被其他区(市)使用"
        if not errors:
            if current is None:
                current = WechatAccount(district_code=code)
                session.add(current)
            changed = sorted(name for name, value in values.items() if getattr(current, name, None) != value)
            for name, value in values.items():
                setattr(current, name, value)
            # Field names only: the audit log must never hold a secret.
            audit(session, user, "account_saved", f"district:{code}", "changed: " + ", ".join(changed))
            session.commit()
            flash("公众号配置已保存", "success")
            return redirect(url_for("manage.account", code=code))
    masked = {
        name: mask_secret(getattr(current, name)) if current is not None else ""
        for name in ("token", "encoding_aes_key", "secret")
    }
    return render_template(
        "manage/account.html",
        district=district,
        account=current,
        masked=masked,
        errors=errors,
        form=request.form if request.method == "POST" else None,
        webhook_url=url_for("bot.webhook", district_code=code, _external=True)
        if "bot.webhook" in current_app.view_functions
        else None,
    ), (422 if errors else 200)


@manage.post("/districts/<code>/service")
@role_required(*MANAGER_ROLES)
def update_service(code: str) -> ResponseReturnValue:
    """The service line and hours the chat bot gives a citizen who asks for a person (人工); blank: 12345."""
    user = staff()
    session = get_session()
    district = district_or_404(session, user, code)
    hotline = (request.form.get("hotline") or "").strip()
    hours = (request.form.get("service_hours") or "").strip()
    if len(hotline) > 40 or len(hours) > 60:
        flash("服务电话最多40个字符，服务时间最多60个字符", "error")
        return redirect(url_for("manage.account", code=code))
    district.hotline, district.service_hours = hotline, hours
    audit(session, user, "district_service_saved", f"district:{code}", f"{hotline} {hours}".strip())
    session.commit()
    flash("人工服务电话已保存", "success")
    return redirect(url_for("manage.account", code=code))


@manage.post("/districts/<code>/account/test")
@role_required(*MANAGER_ROLES)
def test_account(code: str) -> ResponseReturnValue:
    """Check the account's AppID and AppSecret against the WeChat API (a cheap authenticated call)."""
    user = staff()
    session = get_session()
    district = district_or_404(session, user, code)
    if district.account is None:
        abort(404)
    # No transaction stays open while WeChat is called (it may take the API timeout).
    session.commit()
    try:
        with client_for(district.account, current_app) as client:
            addresses = client.get_callback_ip()
    except WechatApiError as exc:
        audit(session, user, "account_tested", f"district:{code}", f"failed: {exc.errcode} {exc.errmsg}")
        flash(f"连接失败：{exc.errmsg}（错误码 {exc.errcode}）", "error")
    else:
        audit(session, user, "account_tested", f"district:{code}", "ok")
        flash(f"连接成功：微信服务器返回了 {len(addresses)} 个回调 IP 地址", "success")
    session.commit()
    return redirect(url_for("manage.account", code=code))


@manage.post("/districts/<code>/account/menu")
@role_required(*MANAGER_ROLES)
def push_account_menu(code: str) -> ResponseReturnValue:
    """Create the account's menu (我要反映 · 我的诉求 · 办事指南) through the WeChat API."""
    user = staff()
    session = get_session()
    district = district_or_404(session, user, code)
    if district.account is None:
        abort(404)
    # No transaction stays open while WeChat is called (it may take the API timeout).
    session.commit()
    try:
        push_menu(district.account, current_app, utcnow())
    except WechatApiError as exc:
        audit(session, user, "menu_pushed", f"district:{code}", f"failed: {exc.errcode} {exc.errmsg}")
        flash(f"菜单推送失败：{exc.errmsg}（错误码 {exc.errcode}）", "error")
    else:
        audit(session, user, "menu_pushed", f"district:{code}", "ok")
        flash("菜单已推送到公众号", "success")
    session.commit()
    return redirect(url_for("manage.account", code=code))


# --- units ---------------------------------------------------------------------------------------------------------


def _district_filter(session: Session, user: User) -> str | None:
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
    parent = session.get(Unit, int(parent_raw)) if parent_raw.isdigit() else None
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
    return values, errors


@manage.get("/units")
@role_required(*MANAGER_ROLES)
def units() -> ResponseReturnValue:
    """The units of one district (or the city level), by level, with their responsibility lists."""
    user = staff()
    session = get_session()
    code = _district_filter(session, user)
    query = select(Unit).where(Unit.district_code == code if code else Unit.district_code.is_(None))
    page = Page.of(session, query, MANAGE_PER_PAGE)
    rows = list(
        session.scalars(page.apply(query.order_by(Unit.level, Unit.name, Unit.id)).options(selectinload(Unit.parent)))
    )
    return render_template(
        "manage/units.html",
        units=rows,
        page=page,
        code=code,
        districts=managed_districts(session, user),
        city=is_city_manager(user),
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
        districts=managed_districts(session, user),
        city=is_city_manager(user),
    ), (422 if errors else 200)


@manage.route("/units/new", methods=["GET", "POST"])
@role_required(*MANAGER_ROLES)
def new_unit() -> ResponseReturnValue:
    """Create a community, street or department (city managers also city departments)."""
    user = staff()
    session = get_session()
    code = _district_filter(session, user)
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
    unit = _unit_or_404(session, user, unit_id)
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
    unit = session.get(Unit, int(unit_raw)) if unit_raw.isdigit() else None
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
    code = _district_filter(session, manager)
    return _users_page(session, manager, code)


def _users_page(session: Session, manager: User, code: str | None, new_password: tuple[User, str] | None = None) -> str:
    """The users list of district `code` (None: the city level), 50 a page, with each user's unit."""
    query = select(User).where(User.district_code == code if code else User.district_code.is_(None))
    page = Page.of(session, query, MANAGE_PER_PAGE)
    rows = list(
        session.scalars(page.apply(query.order_by(User.role, User.username, User.id)).options(selectinload(User.unit)))
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
    user = _user_or_404(session, manager, user_id)
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
    user = _user_or_404(session, manager, user_id)
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


# --- holiday calendar ----------------------------------------------------------------------------------------------


def _calendar_change(user: User) -> CalendarChange:
    return CalendarChange(
        user=user,
        now=utcnow(),
        yellow_fraction_left=float(current_app.config["LIGHTS"]["yellow_fraction_left"]),
        tz=current_app.config["CALENDAR"]["timezone"],
    )


def _flash_moved(moved: list[MovedDeadline]) -> None:
    if moved:
        flash(f"{len(moved)} 件办理中诉求的答复期限已按新的安排重算，并记入办理记录", "success")


def _calendar_year(value: str | None, default: int) -> int:
    return int(value) if value and value.isdigit() and 2000 <= int(value) <= 2100 else default


@manage.route("/calendar", methods=["GET", "POST"])
@role_required(*MANAGER_ROLES)
def calendar() -> ResponseReturnValue:
    """The year's holidays, make-up working days, statutory fallback days and overrides with where each comes from,
    whether the year is confirmed, the warnings, and a form to mark a day as a working day or a day off.

    The calendar is city-wide and every manager may correct it (the banner asks them to); each change is audited and
    moves the running deadlines it changes."""
    user = staff()
    session = get_session()
    tz = current_app.config["CALENDAR"]["timezone"]
    today = utcnow().astimezone(ZoneInfo(tz)).date()
    year = _calendar_year(request.values.get("year"), today.year)
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            day = dt.date.fromisoformat(request.form.get("day") or "")
        except ValueError:
            errors["day"] = "请填写日期（如 2027-02-11）"
        kind = request.form.get("is_working_day")
        if kind not in ("1", "0"):
            errors["is_working_day"] = "请选择上班或放假"
        note = (request.form.get("note") or "").strip()
        if not errors:
            try:
                moved = override_day(session, _calendar_change(user), day, kind == "1", note)
            except ValueError as exc:
                errors["note"] = str(exc)
            else:
                audit(
                    session,
                    user,
                    "holiday_set",
                    f"day:{day.isoformat()}",
                    f"{'working' if kind == '1' else 'off'} {note}",
                )
                session.commit()
                flash(f"{day.isoformat()} 已设为{'工作日' if kind == '1' else '休息日'}", "success")
                _flash_moved(moved)
                return redirect(url_for("manage.calendar", year=day.year))
    calendar = load_calendar(session, tz)
    return render_template(
        "manage/calendar.html",
        year=year,
        days=special_days(session, year),
        errors=errors,
        form=request.form,
        warnings=calendar_warnings(session, utcnow(), tz=tz),
        official=calendar.knows_year(year),
        confirmed=session.get(HolidayYear, year),
    ), (422 if errors else 200)


@manage.post("/calendar/remove")
@role_required(*MANAGER_ROLES)
def remove_holiday() -> ResponseReturnValue:
    """Delete a day's override, so the official schedule (or the statutory or weekend rule) applies again."""
    user = staff()
    session = get_session()
    try:
        day = dt.date.fromisoformat(request.form.get("day") or "")
        moved = clear_override(session, _calendar_change(user), day)
    except (ValueError, LookupError):
        abort(404)
    audit(session, user, "holiday_removed", f"day:{day.isoformat()}")
    session.commit()
    flash(f"已删除 {day.isoformat()} 的调整", "success")
    _flash_moved(moved)
    return redirect(url_for("manage.calendar", year=day.year))


@manage.post("/calendar/confirm")
@role_required(*MANAGER_ROLES)
def confirm_holidays() -> ResponseReturnValue:
    """Confirm a year's days as the calendar page shows them; the year then counts as known."""
    user = staff()
    session = get_session()
    year = _calendar_year(request.form.get("year"), 0)
    if not year:
        abort(404)
    try:
        moved = confirm_year(session, _calendar_change(user), year)
    except ValueError as exc:
        flash(str(exc), "error")
        return redirect(url_for("manage.calendar", year=year))
    audit(session, user, "holiday_year_confirmed", f"year:{year}")
    session.commit()
    flash(f"已确认{year}年节假日安排", "success")
    _flash_moved(moved)
    return redirect(url_for("manage.calendar", year=year))


@manage.route("/calendar/import", methods=["GET", "POST"])
@role_required(*MANAGER_ROLES)
def import_holidays() -> ResponseReturnValue:
    """Import a year's State Council notice: paste its text, check the days read from it, confirm.

    The first POST (``step=preview``) only reads the text and shows the days; the second (``step=confirm``) reads
    the same text again and writes it, so what is saved is exactly what was shown, and a repeated confirmation
    changes nothing more."""
    user = staff()
    session = get_session()
    tz = current_app.config["CALENDAR"]["timezone"]
    today = utcnow().astimezone(ZoneInfo(tz)).date()
    year = _calendar_year(request.values.get("year"), today.year + 1)
    text = request.form.get("text") or ""
    error, preview = None, None
    if request.method == "POST":
        try:
            notice = parse_notice(text, year)
        except NoticeError as exc:
            error = str(exc)
        else:
            if request.form.get("step") == "confirm":
                try:
                    moved = import_notice(session, _calendar_change(user), notice)
                except ValueError as exc:
                    error = str(exc)
                else:
                    days = notice.days()
                    audit(session, user, "holiday_notice_imported", f"year:{year}", f"{len(days)} days")
                    session.commit()
                    flash(f"已导入{year}年放假通知（{len(days)}天），{year}年节假日安排已确认", "success")
                    _flash_moved(moved)
                    return redirect(url_for("manage.calendar", year=year))
            calendar = load_calendar(session, tz)
            preview = [
                (holiday, [(day, working, calendar.is_working_day(day)) for day, working in _notice_days(holiday)])
                for holiday in notice.holidays
            ]
    return render_template(
        "manage/calendar_import.html",
        year=year,
        text=text,
        error=error,
        preview=None if error else preview,
        weekdays=WEEKDAYS,
    ), (422 if error else 200)


def _notice_days(holiday: NoticeHoliday) -> list[tuple[dt.date, bool]]:
    return sorted([(day, False) for day in holiday.days_off] + [(day, True) for day in holiday.working_days])


# --- notification templates ----------------------------------------------------------------------------------------


def parse_field_mapping(text: str) -> dict[str, Any]:
    """A template's field mapping from its JSON text: ``{"keyword": {"source"|"value": …, "type": …}}``.

    :raises ValueError: not JSON, not an object of objects, a keyword without source or value, or an unknown type
        (the message names the keyword).
    """
    try:
        mapping = json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        raise ValueError(f"不是有效的 JSON：第{exc.lineno}行 {exc.msg}") from None
    if not isinstance(mapping, dict):
        raise ValueError("字段映射须为 JSON 对象")
    known_types = sorted({*FIELD_TYPES, "time"})
    for keyword, spec in mapping.items():
        if not isinstance(spec, dict):
            raise ValueError(f"字段「{keyword}」的映射须为对象")
        if "source" not in spec and "value" not in spec:
            raise ValueError(f"字段「{keyword}」须有 source 或 value")
        if spec.get("type") not in known_types:
            raise ValueError(f"字段「{keyword}」的类型须为：{'、'.join(known_types)}")
    return mapping


@manage.get("/templates")
@role_required(*MANAGER_ROLES)
def templates() -> ResponseReturnValue:
    """Each managed district's template per event (events without one are sent as customer-service text)."""
    user = staff()
    session = get_session()
    districts = managed_districts(session, user)
    configured = {
        (t.district_code, t.event): t
        for t in session.scalars(
            select(NotificationTemplate).where(
                NotificationTemplate.district_code.in_([d.code for d in districts])
            )
        )
    }
    return render_template("manage/templates.html", districts=districts, events=EVENTS, configured=configured)


@manage.route("/templates/<code>/<event>", methods=["GET", "POST"])
@role_required(*MANAGER_ROLES)
def edit_template(code: str, event: str) -> ResponseReturnValue:
    """Set which template message an account uses for an event, and how the message's facts fill its fields."""
    user = staff()
    session = get_session()
    district = district_or_404(session, user, code)
    if event not in EVENTS:
        abort(404)
    template = session.scalars(
        select(NotificationTemplate).where(
            NotificationTemplate.district_code == code, NotificationTemplate.event == event
        )
    ).first()
    errors: dict[str, str] = {}
    if request.method == "POST":
        template_id = (request.form.get("template_id") or "").strip()
        if not 1 <= len(template_id) <= 64:
            errors["template_id"] = "请填写模板ID（最多64个字符）"
        try:
            fields = parse_field_mapping(request.form.get("fields") or "")
        except ValueError as exc:
            errors["fields"] = str(exc)
        if not errors:
            if template is None:
                template = NotificationTemplate(district_code=code, event=event)
                session.add(template)
            template.template_id = template_id
            template.fields = fields
            template.enabled = bool(request.form.get("enabled"))
            audit(
                session,
                user,
                "template_saved",
                f"template:{code}/{event}",
                f"{template_id} fields={','.join(fields)} enabled={template.enabled}",
            )
            session.commit()
            flash(f"{district.name}「{EVENTS[event]}」的模板已保存", "success")
            return redirect(url_for("manage.templates"))
    fields_text = (
        request.form.get("fields", "")
        if request.method == "POST"
        else json.dumps(template.fields if template else {}, ensure_ascii=False, indent=2)
    )
    return render_template(
        "manage/template_form.html",
        district=district,
        event=event,
        event_label=EVENTS[event],
        template=template,
        errors=errors,
        form=request.form,
        fields_text=fields_text,
        types=sorted({*FIELD_TYPES, "time"}),
    ), (422 if errors else 200)


# --- dead letters ----------------------------------------------------------------------------------------------------


@manage.get("/dead-letters")
@role_required(*MANAGER_ROLES)
def dead_letters() -> ResponseReturnValue:
    """The outbox's backlog per district, and the citizen notifications that could not be delivered, newest first,
    with the last error and a retry button."""
    user = staff()
    session = get_session()
    query = select(Notification).where(Notification.state == NotificationState.DEAD)
    if not is_city_manager(user):
        query = query.where(Notification.district_code == user.district_code)
    page = Page.of(session, query, MANAGE_PER_PAGE)
    rows = list(session.scalars(page.apply(query.order_by(Notification.created_at.desc(), Notification.id.desc()))))
    waiting = backlog(session, None if is_city_manager(user) else [user.district_code], utcnow())
    return render_template(
        "manage/dead_letters.html",
        notifications=rows,
        events={**EVENTS, PUSH_EVENT: PUSH_LABEL},
        page=page,
        backlog=waiting,
        now=utcnow(),
    )


@manage.post("/dead-letters/<int:notification_id>/retry")
@role_required(*MANAGER_ROLES)
def retry_notification(notification_id: int) -> ResponseReturnValue:
    """Put a dead-lettered notification back in the outbox, due now."""
    user = staff()
    session = get_session()
    notification = session.get(Notification, notification_id)
    if notification is None or not (
        is_city_manager(user) or notification.district_code == user.district_code
    ):
        abort(404)
    try:
        retry_dead(session, notification_id, utcnow())
    except ValueError as exc:
        flash(str(exc), "error")
    else:
        audit(session, user, "notification_retried", f"notification:{notification_id}", notification.event)
        session.commit()
        flash(f"消息 {notification_id} 已重新排队发送", "success")
    return redirect(url_for("manage.dead_letters"))


nav_item("manage.index", "平台管理", set(MANAGER_ROLES), order=80)


def init_app(app: Flask) -> None:
    """Register the managers' pages."""
    app.register_blueprint(manage)
