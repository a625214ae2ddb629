"""Signing in and out: passwords, lockout, throttling per client address, safe redirects, CSRF, role checks."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from admin_web.passwords import hash_password, needs_rehash, verify_password
from models import AuditLog, utcnow
from tests.admin_web.conftest import PASSWORD
from workflow.calendar import calendar_warnings


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config["SECURITY"].update(max_failed_logins=3, lockout_minutes=15, max_failed_logins_per_ip=8)
    return app_config


def login(client, csrf, username: str, password: str, **extra: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/admin/login", data={"csrf_token": csrf(), "username": username, "password": password, **extra}
    )


def audit_count(session, action: str) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(select(func.count(AuditLog.id)).where(AuditLog.action == action))


def test_password_hashes_verify_only_the_same_password() -> None:
    hashed = hash_password("秘密-123")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "秘密-123")
    assert not verify_password(hashed, "秘密-124")
    assert not verify_password("!", "anything")
    with pytest.raises(ValueError):
        hash_password("")


def test_login_lands_on_the_role_home_page_and_is_audited(client, csrf, world) -> None:
    response = login(client, csrf, "sn_dispatcher", PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"
    assert client.get("/admin/").headers["Location"] == "/admin/queue"
    page = client.get("/admin/queue")
    assert page.status_code == 200
    assert world.dispatcher.display_name in page.get_data(as_text=True)
    assert audit_count(world.session, "login") == 1


def test_login_upgrades_a_hash_made_with_weaker_parameters(client, csrf, world) -> None:
    old_hash = world.dispatcher.password_hash
    assert needs_rehash(old_hash)
    assert login(client, csrf, "sn_dispatcher", PASSWORD).status_code == 302
    world.session.refresh(world.dispatcher)
    assert world.dispatcher.password_hash != old_hash
    assert not needs_rehash(world.dispatcher.password_hash)
    assert verify_password(world.dispatcher.password_hash, PASSWORD)


def test_session_cookie_is_http_only_and_same_site(client, csrf, world) -> None:
    response = login(client, csrf, "sn_dispatcher", PASSWORD)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_admin_pages_carry_security_headers(client, login_as, world) -> None:
    response = login_as(world.dispatcher).get("/admin/queue")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
    # Every response carries the security headers (tests/admin_web/test_attack_headers.py); only pages and API
    # answers are kept out of caches.
    assert client.get("/healthz").headers.get("Cache-Control") is None


def test_the_calendar_banner_goes_only_to_the_managers_who_can_act_on_it(client, login_as, world) -> None:
    """Rule: the warning about a year nobody has confirmed goes to the roles that can confirm it (managers) on
    every page, and to nobody else (issue 13)."""
    expected = calendar_warnings(world.session, utcnow())
    assert expected  # 2027 is within 60 days of the suite's today and unconfirmed
    page = login_as(world.district_manager).get("/admin/manage/").get_data(as_text=True)
    assert page.count('class="banner warning"') == len(expected)
    for text in expected:
        assert text in page
    for user, path in [
        (world.urban_handler, "/admin/workbench"),
        (world.dispatcher, "/admin/queue"),
        (world.leader, "/admin/dashboard/"),
    ]:
        response = login_as(user).get(path)
        assert response.status_code == 200, (user.role, path)
        assert 'class="banner warning"' not in response.get_data(as_text=True), user.role


def test_handlers_land_on_their_workbench(client, csrf, world) -> None:
    login(client, csrf, "sn_urban", PASSWORD)
    assert client.get("/admin/").headers["Location"] == "/admin/workbench"


def test_wrong_password_and_unknown_user_get_the_same_answer(client, csrf, world) -> None:
    wrong = login(client, csrf, "sn_dispatcher", "nope")
    unknown = login(client, csrf, "nobody", "nope")
    assert wrong.status_code == unknown.status_code == 401
    assert "用户名或密码错误" in wrong.get_data(as_text=True)
    assert "用户名或密码错误" in unknown.get_data(as_text=True)
    world.session.refresh(world.dispatcher)
    assert world.dispatcher.failed_logins == 1
    assert audit_count(world.session, "login_failed") == 2


def test_account_locks_after_max_failures_and_refuses_the_right_password(client, csrf, world) -> None:
    for _ in range(3):
        assert login(client, csrf, "sn_dispatcher", "wrong").status_code == 401
    locked = login(client, csrf, "sn_dispatcher", PASSWORD)
    assert locked.status_code == 423
    assert "账号已锁定" in locked.get_data(as_text=True)
    world.session.refresh(world.dispatcher)
    assert world.dispatcher.locked_until is not None
    assert world.dispatcher.locked_until > utcnow() + dt.timedelta(minutes=14)
    assert audit_count(world.session, "account_locked") == 1
    # Another account is not affected.
    assert login(client, csrf, "sn_urban", PASSWORD).status_code == 302


def test_lock_expires(client, csrf, world) -> None:
    world.dispatcher.locked_until = utcnow() - dt.timedelta(seconds=1)
    world.dispatcher.failed_logins = 2
    world.session.commit()
    assert login(client, csrf, "sn_dispatcher", PASSWORD).status_code == 302
    world.session.refresh(world.dispatcher)
    assert world.dispatcher.failed_logins == 0
    assert world.dispatcher.locked_until is None


def test_one_address_is_throttled_across_usernames(client, csrf, world) -> None:
    # Eight accounts, one wrong guess each: no account reaches its own limit, the address reaches its limit.
    usernames = ["sn_dispatcher", "ls_dispatcher", "city_dispatcher", "sn_manager", "leader", "sn_community",
                 "sn_street", "nobody"]
    for username in usernames:
        assert login(client, csrf, username, "wrong").status_code == 401
    throttled = login(client, csrf, "sn_urban", PASSWORD)
    assert throttled.status_code == 429
    assert "登录失败次数过多" in throttled.get_data(as_text=True)
    # Another client address is not throttled.
    other = client.post(
        "/admin/login",
        data={"csrf_token": csrf(), "username": "sn_urban", "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.0.0.9"},
    )
    assert other.status_code == 302


def test_inactive_user_cannot_sign_in_and_loses_an_open_session(client, csrf, world) -> None:
    assert login(client, csrf, "sn_dispatcher", PASSWORD).status_code == 302
    world.dispatcher.active = False
    world.session.commit()
    assert client.get("/admin/queue").status_code == 302
    assert login(client, csrf, "sn_dispatcher", PASSWORD).status_code == 401


def test_password_change_ends_other_sessions(client, csrf, world) -> None:
    assert login(client, csrf, "sn_dispatcher", PASSWORD).status_code == 302
    assert client.get("/admin/queue").status_code == 200
    world.dispatcher.password_hash = hash_password("a new password")
    world.session.commit()
    response = client.get("/admin/queue")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login")


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [("/admin/search?q=x", "/admin/search?q=x"), ("//evil.example/", "/admin/"), ("https://evil.example/", "/admin/")],
)
def test_next_is_followed_only_within_the_site(client, csrf, world, next_url: str, expected: str) -> None:
    response = login(client, csrf, "sn_dispatcher", PASSWORD, next=next_url)
    assert response.headers["Location"] == expected


def test_pages_redirect_anonymous_users_to_login_with_next(client, world) -> None:
    response = client.get("/admin/search?state=handling")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/login?next=/admin/search?state%3Dhandling"


def test_json_clients_get_401_and_403_as_json(client, login_as, world) -> None:
    anonymous = client.get("/admin/queue", headers={"Accept": "application/json"})
    assert anonymous.status_code == 401
    assert anonymous.get_json()["error"]["code"] == "unauthenticated"
    login_as(world.urban_handler)
    forbidden = client.get("/admin/queue", headers={"Accept": "application/json"})
    assert forbidden.status_code == 403
    assert forbidden.get_json()["error"]["code"] == "forbidden"


def test_wrong_role_gets_a_403_page(client, login_as, world) -> None:
    login_as(world.urban_handler)
    response = client.get("/admin/queue")
    assert response.status_code == 403
    assert "无权访问" in response.get_data(as_text=True)


def test_login_without_csrf_token_is_refused(client, world) -> None:
    response = client.post("/admin/login", data={"username": "sn_dispatcher", "password": PASSWORD})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert audit_count(world.session, "login") == 0


def test_logout_needs_a_post_with_csrf(client, csrf, world) -> None:
    login(client, csrf, "sn_dispatcher", PASSWORD)
    assert client.get("/admin/logout").status_code == 405
    assert client.post("/admin/logout").status_code == 400
    assert client.get("/admin/queue").status_code == 200
    response = client.post("/admin/logout", data={"csrf_token": csrf("/admin/queue")})
    assert response.headers["Location"] == "/admin/login"
    assert client.get("/admin/queue").status_code == 302
    assert audit_count(world.session, "logout") == 1
