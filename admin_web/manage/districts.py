"""The overview of the districts a manager looks after, each district's name and service hours, and its WeChat
official account: its keys (write-only), a test call, and its menu."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from admin_web.audit import audit
from admin_web.auth import role_required, staff
from admin_web.manage.scope import (
    AES_KEY_RE,
    APPID_RE,
    MANAGER_ROLES,
    SECRET_RE,
    TOKEN_RE,
    counts_by,
    district_or_404,
    is_city_manager,
    manage,
    managed_districts,
    mask_secret,
)
from bot.menu import push_menu
from models import (
    Notification,
    Unit,
    User,
    WechatAccount,
    utcnow,
)
from models.db import get_session
from models.enums import NotificationState, Role
from wechat.api import WechatApiError, client_for

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
    units = counts_by(session, Unit.district_code, Unit.district_code.in_(codes))
    users = counts_by(session, User.district_code, User.district_code.in_(codes))
    dead = counts_by(
        session,
        Notification.district_code,
        Notification.district_code.in_(codes),
        Notification.state == NotificationState.DEAD,
    )
    accounts = {
        a.district_code: a
        for a in session.scalars(select(WechatAccount).where(WechatAccount.district_code.in_(codes)))
    }
    rows = [
        (d, accounts.get(d.code), units.get(d.code, 0), users.get(d.code, 0), dead.get(d.code, 0))
        for d in districts
    ]
    return render_template("manage/index.html", rows=rows, city=is_city_manager(user))


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

    def check(account: WechatAccount) -> str:
        with client_for(account, current_app) as client:
            addresses = client.get_callback_ip()
        return f"连接成功：微信服务器返回了 {len(addresses)} 个回调 IP 地址"

    return _call_wechat(code, "account_tested", "连接失败", check)


@manage.post("/districts/<code>/account/menu")
@role_required(*MANAGER_ROLES)
def push_account_menu(code: str) -> ResponseReturnValue:
    """Create the account's menu (我要反映 · 我的诉求 · 办事指南) through the WeChat API."""

    def push(account: WechatAccount) -> str:
        push_menu(account, current_app, utcnow())
        return "菜单已推送到公众号"

    return _call_wechat(code, "menu_pushed", "菜单推送失败", push)


def _call_wechat(
    code: str, action: str, failed: str, call: Callable[[WechatAccount], str]
) -> ResponseReturnValue:
    """Make `call` on the district's account with no transaction open (WeChat may take the API timeout), then audit
    `action` and say how it went: `call`'s message, or `failed` with WeChat's error."""
    user = staff()
    session = get_session()
    district = district_or_404(session, user, code)
    if district.account is None:
        abort(404)
    account = district.account
    session.commit()
    try:
        message = call(account)
    except WechatApiError as exc:
        audit(session, user, action, f"district:{code}", f"failed: {exc.errcode} {exc.errmsg}")
        flash(f"{failed}：{exc.errmsg}（错误码 {exc.errcode}）", "error")
    else:
        audit(session, user, action, f"district:{code}", "ok")
        flash(message, "success")
    session.commit()
    return redirect(url_for("manage.account", code=code))
