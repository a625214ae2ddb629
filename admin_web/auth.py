"""Who is signed in: Flask-Login sessions, the login page with throttling and lockout, and `role_required`.

Lockout and throttling read ``app.config["SECURITY"]``:

* ``max_failed_logins`` wrong passwords in a row lock the account for ``lockout_minutes``;
* one client address may fail at most ``max_failed_logins_per_ip`` times (default: four times
  ``max_failed_logins``) within ``lockout_minutes``, whatever usernames it tries. The failures are counted from
  the audit log, so every worker process sees the same count.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import unicodedata
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import unquote, urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from admin_web.audit import audit, client_ip
from admin_web.blueprint import admin
from admin_web.passwords import hash_password, needs_rehash, password_problem, verify_password
from models import AuditLog, User, utcnow
from models.bounds import parse_id
from models.db import get_session
from models.enums import Role

F = TypeVar("F", bound=Callable[..., Any])

# Verified against when the username is unknown, so a wrong username costs as much time as a wrong password
# and response times do not reveal which usernames exist.
_DUMMY_HASH = hash_password("qingsu-no-such-user")


class StaffLogin(UserMixin):
    """What Flask-Login keeps for a signed-in staff member: the User row and a session id bound to its password
    and to the user's session version.

    The id carries the user's `session_version` and a fingerprint of the password hash, so signing out, changing or
    resetting the password and deactivating the account (which bump the version) end the sessions made before,
    even when someone kept a copy of the cookie.
    """

    def __init__(self, user: User) -> None:
        self.user = user

    def get_id(self) -> str:
        return login_id(self.user)

    @property
    def is_active(self) -> bool:
        return self.user.active


def login_id(user: User) -> str:
    """The value Flask-Login stores in the session for `user` (tests use it to sign a client in directly)."""
    fingerprint = hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]
    return f"{user.id}:{user.session_version}:{fingerprint}"


def end_sessions(user: User) -> None:
    """Make every session `user` signed in before this point invalid (the caller commits).

    Counted in the database, so two requests ending sessions at once both move the version on.
    """
    user.session_version = User.session_version + 1


def _load_user(value: str) -> StaffLogin | None:
    user_id = parse_id(value.partition(":")[0])
    if user_id is None:
        return None
    user = get_session().get(User, user_id)
    if user is None or not user.active or login_id(user) != value:
        return None
    return StaffLogin(user)


def current_staff() -> User | None:
    """The signed-in staff member of this request, or None."""
    if current_user.is_authenticated:
        return cast(StaffLogin, current_user).user
    return None


def staff() -> User:
    """The signed-in staff member; only for views behind `role_required`, which guarantees one."""
    user = current_staff()
    if user is None:
        abort(401)
    return user


def wants_json() -> bool:
    """Whether the client expects JSON errors (the API, or an explicit Accept header) rather than pages."""
    if request.path.startswith("/api/") or (request.blueprint and request.blueprint.split(".")[0] == "api"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return (
        best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def json_error(status: int, code: str, message: str) -> ResponseReturnValue:
    """An error answer in the API's shape: ``{"error": {"code": ..., "message": ...}}``."""
    return jsonify(error={"code": code, "message": message}), status


# Accounts of other systems (Open311 clients): they use their own interface (admin_web.open311) and open no staff
# page and no /api/v1 endpoint.
SYSTEM_ROLES = frozenset({Role.OPEN311})


def role_required(*roles: Role) -> Callable[[F], F]:
    """Allow the view only to signed-in staff with one of `roles` (any staff role when none are given).

    Not signed in: pages redirect to the login page with ``next=`` the requested path; JSON clients get 401.
    Signed in with another role, or as another system's account (`SYSTEM_ROLES`): 403 (a page, or JSON).
    """

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = current_staff()
            if user is None:
                if wants_json():
                    return json_error(401, "unauthenticated", "请先登录")
                return redirect(url_for("admin.login", next=_requested_path()))
            if user.role in SYSTEM_ROLES or (roles and user.role not in roles):
                if wants_json():
                    return json_error(403, "forbidden", "当前角色无权访问")
                abort(403)
            return view(*args, **kwargs)

        return cast(F, wrapped)

    return decorator


def _requested_path() -> str:
    return request.full_path.rstrip("?") if request.query_string else request.path


_MAX_NEXT_LENGTH = 2000


def safe_next(target: str | None) -> str | None:
    """`target` if it is a relative path on this site, else None (no open redirects through ``next=``).

    Refused: anything not starting with one ``/``, scheme-relative ``//host``, backslashes (browsers read ``/\\host``
    as ``//host``), control characters and whitespace (browsers drop a tab or newline, so ``/<tab>/host`` becomes
    ``//host``), and the same written percent-encoded (``/%2F/host``, ``/%09/host``, ``/%5Chost``, also encoded
    twice), since a proxy or a browser may decode them once more.
    """
    if not target or len(target) > _MAX_NEXT_LENGTH or not _plain_local_path(target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    # Only the path decides where a browser goes; the query may hold encoded spaces legitimately.
    path = parts.path
    for _ in range(3):
        decoded = unquote(path)
        if decoded == path:
            return target
        if not _plain_local_path(decoded):
            return None
        path = decoded
    return None


def _plain_local_path(value: str) -> bool:
    return (
        value.startswith("/")
        and not value.startswith("//")
        and "\\" not in value
        and not any(c.isspace() or unicodedata.category(c)[0] in "CZ" for c in value)
    )


# --- throttling and lockout --------------------------------------------------------------------------------------


def _security() -> dict[str, Any]:
    return current_app.config["SECURITY"]


def ip_failures(session: Session, ip: str | None, since: dt.datetime) -> int:
    """Failed logins from `ip` since `since`, counted from the audit log."""
    if ip is None:
        return 0
    return (
        session.scalar(
            select(func.count(AuditLog.id)).where(
                AuditLog.action == "login_failed", AuditLog.ip == ip, AuditLog.created_at >= since
            )
        )
        or 0
    )


class LoginRefused(Exception):
    """A login attempt that does not sign anyone in; the message is shown on the login page."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def authenticate(session: Session, username: str, password: str, now: dt.datetime) -> User:
    """Check a username and password under the lockout and throttling rules; record the outcome in the audit log.

    Changes the session (failure counters, audit rows); the caller commits whatever the outcome.

    :raises LoginRefused: wrong credentials (401), a locked account (423), or too many failures from this
        client address (429). Unknown usernames and inactive accounts get the same message as a wrong password.
    """
    security = _security()
    max_failed = int(security["max_failed_logins"])
    window = dt.timedelta(minutes=int(security["lockout_minutes"]))
    ip_limit = int(security.get("max_failed_logins_per_ip", 4 * max_failed))
    ip = client_ip()
    if ip_failures(session, ip, now - window) >= ip_limit:
        audit(session, None, "login_throttled", username, f"ip failures >= {ip_limit}")
        raise LoginRefused("登录失败次数过多，请稍后再试", 429)

    user = session.scalars(select(User).where(User.username == username)).first()
    if user is not None and user.locked_until is not None and user.locked_until > now:
        audit(session, user, "login_failed", username, "account locked")
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        raise LoginRefused(f"账号已锁定，请{minutes}分钟后再试或联系平台管理员", 423)

    valid = verify_password(user.password_hash if user is not None else _DUMMY_HASH, password)
    if user is None or not valid or not user.active:
        audit(session, user, "login_failed", username, "wrong credentials")
        if user is not None and user.active:
            # Counted in the database, so parallel guesses against one account cannot overwrite each other's count.
            user.failed_logins = User.failed_logins + 1
            session.flush()
            session.refresh(user, ["failed_logins"])
            if user.failed_logins >= max_failed:
                user.locked_until = now + window
                user.failed_logins = 0
                audit(session, user, "account_locked", username, f"{max_failed} failed logins")
        raise LoginRefused("用户名或密码错误", 401)

    user.failed_logins = 0
    user.locked_until = None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    audit(session, user, "login", username)
    return user


# --- views ---------------------------------------------------------------------------------------------------------


@admin.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """The login page; on success, go to ``next`` (a local path) or the user's home page."""
    next_url = safe_next(request.values.get("next"))
    if current_staff() is not None and request.method == "GET":
        return redirect(next_url or url_for("admin.home"))
    status = 200
    if request.method == "POST":
        db = get_session()
        username = (request.form.get("username") or "").strip()
        password = request.form.get("password") or ""
        try:
            user = authenticate(db, username, password, utcnow())
        except LoginRefused as refused:
            db.commit()
            flash(str(refused), "error")
            status = refused.status
        else:
            db.commit()
            # A fresh session at the privilege change: nothing from before the login carries over.
            session.clear()
            login_user(StaffLogin(user))
            return redirect(next_url or url_for("admin.home"))
    return render_template("admin/login.html", next_url=next_url), status


@admin.post("/logout")
def logout() -> ResponseReturnValue:
    """Sign out (a POST with the CSRF token, so another site cannot sign a user out)."""
    user = current_staff()
    if user is not None:
        db = get_session()
        # Server-side: a copy of this session's cookie (or the same user's other sessions) stops working too.
        end_sessions(user)
        audit(db, user, "logout", user.username)
        db.commit()
    logout_user()
    session.clear()
    flash("已退出登录", "info")
    return redirect(url_for("admin.login"))


def change_password(user: User, current: str, new: str, confirm: str) -> dict[str, str]:
    """Set `user`'s own password after checking the current one and the policy; the errors by field (none: done).

    On success the forced-change flag is cleared and every earlier session of the user ends; the caller commits and
    signs the user in again.
    """
    errors: dict[str, str] = {}
    if not verify_password(user.password_hash, current):
        errors["current_password"] = "当前密码不正确"
    problem = password_problem(new, username=user.username, display_name=user.display_name)
    if problem:
        errors["new_password"] = problem
    elif current and new == current:
        errors["new_password"] = "新密码不能与当前密码相同"
    if new != confirm:
        errors["confirm_password"] = "两次输入的新密码不一致"
    if not errors:
        user.password_hash = hash_password(new)
        user.must_change_password = False
        end_sessions(user)
    return errors


@admin.route("/password", methods=["GET", "POST"])
@role_required()
def password() -> ResponseReturnValue:
    """Change one's own password; the page every other page leads to while the password must be changed."""
    user = staff()
    errors: dict[str, str] = {}
    if request.method == "POST":
        db = get_session()
        errors = change_password(
            user,
            request.form.get("current_password") or "",
            request.form.get("new_password") or "",
            request.form.get("confirm_password") or "",
        )
        if not errors:
            audit(db, user, "password_changed", user.username)
            db.commit()
            db.refresh(user)
            # The change ended every session, this one too: sign in again under the new version.
            session.clear()
            login_user(StaffLogin(user))
            flash("密码已修改", "success")
            return redirect(url_for("admin.home"))
    return render_template("admin/password.html", errors=errors, forced=user.must_change_password), (
        422 if errors else 200
    )


# Endpoints a user who must change their password may still reach.
_ALLOWED_BEFORE_CHANGE = frozenset({"admin.password", "admin.logout", "admin.login"})
# Blueprints that serve no staff (see `serves_no_staff`).
_STAFFLESS: set[str] = set()


def serves_no_staff(blueprint: Blueprint) -> None:
    """Mark `blueprint` as serving no staff (the WeChat webhook): its requests skip the staff checks, which would
    otherwise read the session and the signed-in user on every one of them for nothing."""
    _STAFFLESS.add(blueprint.name)


def _require_password_change() -> ResponseReturnValue | None:
    """Send a signed-in user whose password was set by someone else to the change-password page first."""
    if (
        request.endpoint is None
        or request.blueprint in _STAFFLESS
        or request.endpoint in _ALLOWED_BEFORE_CHANGE
        or request.endpoint.endswith(".static")
    ):
        return None
    user = current_staff()
    if user is None or not user.must_change_password:
        return None
    if wants_json():
        return json_error(403, "password_change_required", "请先修改初始密码")
    return redirect(url_for("admin.password"))


def init_login(app: Flask) -> LoginManager:
    """Set up Flask-Login for the admin site, and the forced change of a password someone else set."""
    manager = LoginManager()
    manager.login_view = "admin.login"
    manager.login_message = "请先登录"
    manager.user_loader(_load_user)
    manager.init_app(app)
    app.before_request(_require_password_change)
    return manager
