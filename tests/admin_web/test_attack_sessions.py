"""Issue 12, attacks 1, 2 and 11: open redirects after login, sessions that outlive a logout, weak passwords and no
forced change of a password someone else chose. Each test replays the attack first."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from admin_web.auth import safe_next
from admin_web.passwords import password_problem, verify_password
from models import User
from tests.admin_web.conftest import CSRF_RE, PASSWORD, World


def _login(client: FlaskClient, username: str, password: str, **extra: str):  # type: ignore[no-untyped-def]
    page = client.get("/admin/login").get_data(as_text=True)
    token = CSRF_RE.search(page).group(1)
    return client.post(
        "/admin/login", data={"csrf_token": token, "username": username, "password": password, **extra}
    )


def _post(client: FlaskClient, path: str, data: dict[str, str], page: str):  # type: ignore[no-untyped-def]
    token = CSRF_RE.search(client.get(page).get_data(as_text=True)).group(1)
    return client.post(path, data={"csrf_token": token, **data})


# --- attack 1: open redirect through next= -------------------------------------------------------------------------

OFFSITE = [
    "/\t/evil.example",
    "/%09/evil.example",
    "/%2F/evil.example",
    "/%252F/evil.example",
    "/%5Cevil.example",
    "/\\evil.example",
    "//evil.example",
    "/\n/evil.example",
    "/ /evil.example",
    "/\u3000/evil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    "evil.example",
    "",
]


def test_attack_1_open_redirect_after_login(client: FlaskClient, world: World) -> None:
    # The attack: /admin/login?next=/%09/evil.example answered Location: //evil.example.
    response = client.post(
        "/admin/login?next=/%09/evil.example",
        data={
            "csrf_token": CSRF_RE.search(client.get("/admin/login").get_data(as_text=True)).group(1),
            "username": "sn_dispatcher",
            "password": PASSWORD,
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"


@pytest.mark.parametrize("target", OFFSITE)
def test_attack_1_open_redirect_after_login_refuses_every_variant(
    client: FlaskClient, world: World, target: str
) -> None:
    response = _login(client, "sn_dispatcher", PASSWORD, next=target)
    assert response.headers["Location"] == "/admin/"
    # Already signed in, a GET of the login page redirects too: the same rule applies.
    again = client.get("/admin/login", query_string={"next": target})
    assert again.headers["Location"] == "/admin/"


@pytest.mark.parametrize(
    "target",
    [
        "/admin/search?q=%E7%83%A7%E7%83%A4+%E6%B2%B9%E7%83%9F",
        "/admin/search?q=a%20b",
        "/admin/petitions/SN1",
    ],
)
def test_next_keeps_ordinary_local_paths(target: str) -> None:
    assert safe_next(target) == target


@pytest.mark.parametrize("target", OFFSITE)
def test_safe_next_refuses_offsite_targets(target: str) -> None:
    assert safe_next(target) is None


# --- attack 2: the session survives the logout ---------------------------------------------------------------------


def test_attack_2_logout_does_not_end_the_session(app, client: FlaskClient, world: World) -> None:  # type: ignore[no-untyped-def]
    assert _login(client, "sn_dispatcher", PASSWORD).status_code == 302
    saved = client.get_cookie("session").value
    assert client.get("/admin/review").status_code == 200
    token = CSRF_RE.search(client.get("/admin/queue").get_data(as_text=True)).group(1)
    assert client.post("/admin/logout", data={"csrf_token": token}).status_code == 302
    # The attacker replays the cookie saved before the logout, from another client.
    thief = app.test_client()
    thief.set_cookie("session", saved)
    response = thief.get("/admin/review")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login")


def test_deactivating_and_reactivating_a_user_does_not_revive_their_old_session(
    app,
    world: World,
    login_as,  # type: ignore[no-untyped-def]
) -> None:
    victim = app.test_client()
    assert _login(victim, "sn_dispatcher", PASSWORD).status_code == 302
    saved = victim.get_cookie("session").value
    manager = login_as(world.district_manager)
    for active in ("0", "1"):
        response = _post(
            manager,
            f"/admin/manage/users/{world.dispatcher.id}/active",
            {"active": active},
            "/admin/manage/users",
        )
        assert response.status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", saved)
    assert replay.get("/admin/queue").status_code == 302


# --- attack 11: weak passwords, no forced change -------------------------------------------------------------------


def _new_user_form(password: str, username: str = "new_handler") -> dict[str, str]:
    return {"username": username, "display_name": "王五", "role": "dispatcher", "password": password}


@pytest.mark.parametrize(
    "weak", ["aaaaaaaaaa", "aaaaaaaaaaaa", "new_handler", "new_handler2026!", "Password123!"]
)
def test_attack_11_weak_passwords_set_by_a_manager(world: World, login_as, weak: str) -> None:  # type: ignore[no-untyped-def]
    manager = login_as(world.district_manager)
    response = _post(manager, "/admin/manage/users/new", _new_user_form(weak), "/admin/manage/users/new")
    assert response.status_code == 422
    assert "初始密码" in response.get_data(as_text=True)
    assert world.session.scalars(select(User).where(User.username == "new_handler")).first() is None


@pytest.mark.parametrize(
    ("password", "acceptable"),
    [
        ("aaaaaaaaaa", False),  # short
        ("aaaaaaaaaaaaaaaaaaaaaaaa", False),  # long, but one character
        ("Aa1Aa1Aa1Aa1", False),  # three classes, three characters
        ("abcdefghijkl", False),  # common
        ("Qingdao2026!", False),  # a common word with digits and a symbol around it
        ("sn_dispatcher", False),  # the username
        ("x-sn_dispatcher-9", False),  # contains the username
        ("张先生张先生张先生张先生", False),  # the name, repeated: contains it
        ("lowercaseonly", False),  # one class, not a passphrase
        ("Tr0ub4dor&3x", True),
        ("correct horse battery staple", True),  # a passphrase
        ("青岛崂山区八大关街道太平角社区居委会", False),  # 18 characters, one class
        ("青岛崂山区八大关街道太平角社区居委会主任", True),  # a 20-character passphrase
    ],
)
def test_the_password_policy(password: str, acceptable: bool) -> None:
    problem = password_problem(password, username="sn_dispatcher", display_name="张先生")
    assert (problem is None) == acceptable, problem


def test_attack_11_no_forced_change_on_first_login(client: FlaskClient, world: World, login_as) -> None:  # type: ignore[no-untyped-def]
    manager = login_as(world.district_manager)
    chosen = "Initial-Pass-42"
    assert (
        _post(
            manager, "/admin/manage/users/new", _new_user_form(chosen), "/admin/manage/users/new"
        ).status_code
        == 302
    )
    created = world.session.scalars(select(User).where(User.username == "new_handler")).one()
    assert created.must_change_password

    fresh = client.application.test_client()
    assert _login(fresh, "new_handler", chosen, next="/admin/queue").status_code == 302
    # Every page leads to the change-password page until the password is changed; JSON clients get a 403.
    for path in ("/admin/queue", "/admin/", "/admin/search"):
        response = fresh.get(path)
        assert response.status_code == 302 and response.headers["Location"] == "/admin/password", path
    assert fresh.get("/admin/queue", headers={"Accept": "application/json"}).status_code == 403
    assert "请先设置自己的新密码" in fresh.get("/admin/password").get_data(as_text=True)

    refused = _post(
        fresh,
        "/admin/password",
        {"current_password": chosen, "new_password": "aaaaaaaaaaaa", "confirm_password": "aaaaaaaaaaaa"},
        "/admin/password",
    )
    assert refused.status_code == 422
    assert fresh.get("/admin/queue").headers["Location"] == "/admin/password"

    new = "Brand new pass 77"
    done = _post(
        fresh,
        "/admin/password",
        {"current_password": chosen, "new_password": new, "confirm_password": new},
        "/admin/password",
    )
    assert done.status_code == 302
    assert fresh.get("/admin/queue").status_code == 200
    world.session.expire_all()
    user = world.session.get(User, created.id)
    assert not user.must_change_password and verify_password(user.password_hash, new)


def test_a_forced_change_also_blocks_api_tokens(client: FlaskClient, world: World) -> None:
    world.dispatcher.must_change_password = True
    world.session.commit()
    response = client.post("/api/v1/tokens", json={"username": "sn_dispatcher", "password": PASSWORD})
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "password_change_required"


def test_changing_ones_password_checks_the_current_one_and_ends_other_sessions(
    app,
    client: FlaskClient,
    world: World,  # type: ignore[no-untyped-def]
) -> None:
    assert _login(client, "sn_dispatcher", PASSWORD).status_code == 302
    other = app.test_client()
    assert _login(other, "sn_dispatcher", PASSWORD).status_code == 302
    wrong = _post(
        client,
        "/admin/password",
        {
            "current_password": "not it",
            "new_password": "Brand new pass 77",
            "confirm_password": "Brand new pass 77",
        },
        "/admin/password",
    )
    assert wrong.status_code == 422 and "当前密码不正确" in wrong.get_data(as_text=True)
    ok = _post(
        client,
        "/admin/password",
        {
            "current_password": PASSWORD,
            "new_password": "Brand new pass 77",
            "confirm_password": "Brand new pass 77",
        },
        "/admin/password",
    )
    assert ok.status_code == 302
    assert client.get("/admin/queue").status_code == 200
    assert other.get("/admin/queue").status_code == 302


def test_a_reset_password_meets_the_policy_and_must_be_changed(world: World, login_as) -> None:  # type: ignore[no-untyped-def]
    manager = login_as(world.district_manager)
    response = _post(
        manager, f"/admin/manage/users/{world.dispatcher.id}/password", {}, "/admin/manage/users"
    )
    assert response.status_code == 200
    world.session.expire_all()
    user = world.session.get(User, world.dispatcher.id)
    assert user.must_change_password


def test_demo_users_are_not_forced_to_change_the_demo_password(db_session) -> None:  # type: ignore[no-untyped-def]
    from qingsu.demo import seed_demo_users, seed_reference_data

    seed_reference_data(db_session)
    seed_demo_users(db_session)
    users = db_session.scalars(select(User)).all()
    assert users and not any(u.must_change_password for u in users)
    assert all(u.is_demo for u in users)
