"""Issue 12, attack 3: production started with the public example secrets and the example WeChat accounts, and had
no way to make its first user or to change the data key. Production now refuses such a configuration, saying which
keys to change; `qingsu users create` and `qingsu secrets rotate-data-key` fill the gaps."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text

from admin_web.passwords import verify_password
from models import User, WechatAccount
from models.enums import Role
from qingsu import create_app
from qingsu.config import (
    EXAMPLE_CONFIG,
    UnsafeConfiguration,
    apply_secret_environment,
    production_problems,
)
from qingsu.config import merge as merged
from tests.factories import make_account, make_district

ROOT = Path(__file__).resolve().parent.parent
STRONG_SECRET = "s3cret-key-that-is-long-enough-for-prod-0001"
STRONG_DATA_KEY = "data-key-that-is-long-enough-for-production-01"


def _production_copy_of_the_example(tmp_path: Path, **replace: str) -> Path:
    """config.example.toml with DEMO = false and, optionally, some lines replaced (old line -> new line)."""
    body = EXAMPLE_CONFIG.read_text(encoding="utf-8").replace("DEMO = true", "DEMO = false")
    for old, new in replace.items():
        assert old in body
        body = body.replace(old, new)
    path = tmp_path / "production.toml"
    path.write_text(body, encoding="utf-8")
    return path


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/prod.db")
    for variable in ("QINGSU_SECRET_KEY", "QINGSU_DATA_KEY"):
        monkeypatch.delenv(variable, raising=False)
    return tmp_path


def test_attack_3_production_starts_with_the_example_secrets(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QINGSU_CONFIG", str(_production_copy_of_the_example(in_tmp)))
    with pytest.raises(UnsafeConfiguration) as refused:
        create_app()
    message = str(refused.value)
    assert "SECRET_KEY: still the public example value" in message
    assert "[security] data_key: still the public example value" in message
    assert "[[accounts]]: the example demo accounts (shinan, shibei" in message
    assert '[wechat] api_base_url: "self" is the demo\'s fake WeChat API' in message
    assert len(refused.value.problems) == 4


def test_attack_3_the_cli_and_the_wsgi_entry_exit_non_zero_with_the_message(in_tmp: Path) -> None:
    env = {
        **os.environ,
        "QINGSU_CONFIG": str(_production_copy_of_the_example(in_tmp)),
        "DATABASE_URL": f"sqlite:///{in_tmp}/prod.db",
        "PYTHONPATH": str(ROOT),
    }
    cli = subprocess.run(
        [sys.executable, "-c", "from qingsu.cli import main; main()", "db", "upgrade"],
        cwd=in_tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode != 0
    assert "refusing to start in production" in cli.stderr and "SECRET_KEY" in cli.stderr
    assert "Traceback" not in cli.stderr
    wsgi = subprocess.run(
        [sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert wsgi.returncode != 0 and "data_key" in wsgi.stderr
    assert not (in_tmp / "prod.db").exists()


@pytest.mark.parametrize(
    ("secret_key", "data_key", "expected"),
    [
        ("", STRONG_DATA_KEY, ["SECRET_KEY: empty"]),
        ("short-key", STRONG_DATA_KEY, ["SECRET_KEY: shorter than 32 characters"]),
        (STRONG_SECRET, "", ["[security] data_key: empty"]),
        (STRONG_SECRET, "short", ["[security] data_key: shorter than 32 characters"]),
        (STRONG_SECRET, STRONG_DATA_KEY, []),
    ],
)
def test_production_needs_long_keys(secret_key: str, data_key: str, expected: list[str]) -> None:
    config = {"SECRET_KEY": secret_key, "DEMO": False, "SECURITY": {"data_key": data_key}, "ACCOUNTS": []}
    assert production_problems(config) == expected


def test_an_account_that_reuses_one_example_value_is_refused() -> None:
    account = {"district": "shinan", "appid": "wxrealappid1234", "token": "shinantoken", "secret": "real"}
    config = {"SECRET_KEY": STRONG_SECRET, "SECURITY": {"data_key": STRONG_DATA_KEY}, "ACCOUNTS": [account]}
    assert production_problems(config) == [
        "[[accounts]]: the example demo accounts (shinan), whose tokens and secrets are public; remove them "
        "(managers add each district's real account on the admin site)"
    ]


@pytest.mark.parametrize(
    ("hotline", "expected"),
    [
        ({"push_url": "https://12345.example/push", "push_secret": ""}, ["[hotline] push_secret"]),
        ({"push_url": "https://12345.example/push", "push_secret": STRONG_SECRET}, []),
        ({"push_url": "", "push_secret": ""}, []),
    ],
)
def test_pushing_to_the_hotline_needs_a_secret(hotline: dict[str, str], expected: list[str]) -> None:
    config = {"SECRET_KEY": STRONG_SECRET, "SECURITY": {"data_key": STRONG_DATA_KEY}, "HOTLINE": hotline}
    assert [problem.split(":")[0] for problem in production_problems(config)] == expected


def test_a_production_configuration_with_its_own_keys_starts(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _production_copy_of_the_example(
        in_tmp,
        **{
            'SECRET_KEY = "demo-only-change-me"': f'SECRET_KEY = "{STRONG_SECRET}"',
            'data_key = "demo-data-key-change-me"': f'data_key = "{STRONG_DATA_KEY}"',
            'api_base_url = "self"': 'api_base_url = "https://api.weixin.qq.com"',
        },
    )
    body = path.read_text(encoding="utf-8")
    path.write_text(body[: body.index("\n[[accounts]]\n")], encoding="utf-8")
    monkeypatch.setenv("QINGSU_CONFIG", str(path))
    app = create_app()
    assert not app.config["DEMO"] and app.config["SECRET_KEY"] == STRONG_SECRET
    assert "qingsu.fake_wechat" not in app.extensions
    app.extensions["qingsu.engine"].dispose()


def test_the_keys_may_come_from_the_environment(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _production_copy_of_the_example(
        in_tmp, **{'api_base_url = "self"': 'api_base_url = "https://api.weixin.qq.com"'}
    )
    body = path.read_text(encoding="utf-8")
    path.write_text(body[: body.index("\n[[accounts]]\n")], encoding="utf-8")
    monkeypatch.setenv("QINGSU_CONFIG", str(path))
    monkeypatch.setenv("QINGSU_SECRET_KEY", STRONG_SECRET)
    monkeypatch.setenv("QINGSU_DATA_KEY", STRONG_DATA_KEY)
    app = create_app()
    assert app.config["SECRET_KEY"] == STRONG_SECRET
    assert app.config["SECURITY"]["data_key"] == STRONG_DATA_KEY
    app.extensions["qingsu.engine"].dispose()
    config: dict[str, Any] = {"SECRET_KEY": "a", "SECURITY": {"data_key": "b"}}
    apply_secret_environment(config, {"QINGSU_DATA_KEY": "c"})
    assert config == {"SECRET_KEY": "a", "SECURITY": {"data_key": "c"}}


def test_the_demo_still_starts_from_the_example_unchanged(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("QINGSU_CONFIG", raising=False)
    app = create_app()
    assert app.config["DEMO"] and app.config["SECRET_KEY"] == "demo-only-change-me"
    app.extensions["qingsu.engine"].dispose()


# --- qingsu users create -------------------------------------------------------------------------------------------


def test_users_create_makes_the_first_city_manager_from_stdin(app: Flask, runner, db_session) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--role",
            "city_manager",
            "--username",
            "root_mgr",
            "--name",
            "市平台管理员",
            "--password-stdin",
        ],
        input="Str0ng pass for the city\n",
    )
    assert result.exit_code == 0, result.output
    user = db_session.scalars(select(User).where(User.username == "root_mgr")).one()
    assert user.role == Role.CITY_MANAGER and user.district_code is None
    assert user.must_change_password
    assert verify_password(user.password_hash, "Str0ng pass for the city")


def test_users_create_prompts_for_the_password_twice(app: Flask, runner, db_session) -> None:  # type: ignore[no-untyped-def]
    make_district(db_session, "shinan")
    db_session.commit()
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--role",
            "district_manager",
            "--username",
            "sn_mgr",
            "--name",
            "区管理员",
            "--district",
            "shinan",
        ],
        input="Str0ng pass for shinan\nStr0ng pass for shinan\n",
    )
    assert result.exit_code == 0, result.output
    assert "Str0ng" not in result.output
    assert db_session.scalars(select(User).where(User.username == "sn_mgr")).one().district_code == "shinan"


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["--role", "city_manager"], "aaaaaaaaaa\n", "密码至少12位"),
        (["--role", "city_manager"], "root_mgr-2026!\n", "用户名"),
        (["--role", "district_manager"], "Str0ng pass for the city\n", "needs a district"),
        (["--role", "handler"], "Str0ng pass for the city\n", "handling unit"),
    ],
)
def test_users_create_refuses_weak_passwords_and_missing_scope(
    app: Flask,
    runner,
    db_session,
    args: list[str],
    stdin: str,
    message: str,  # type: ignore[no-untyped-def]
) -> None:
    result = runner.invoke(
        args=["users", "create", *args, "--username", "root_mgr", "--name", "管理员", "--password-stdin"],
        input=stdin,
    )
    assert result.exit_code != 0 and message in result.output
    assert db_session.scalars(select(User)).all() == []


def test_users_create_takes_no_password_argument(app: Flask, runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--role",
            "leader",
            "--username",
            "x_leader",
            "--name",
            "领导",
            "--password",
            "Str0ng pass for the city",
        ],
    )
    assert result.exit_code == 2 and "No such option" in result.output


# --- qingsu secrets rotate-data-key --------------------------------------------------------------------------------


def _stored(app: Flask) -> list[str]:
    with app.extensions["qingsu.engine"].connect() as conn:
        return [row[0] for row in conn.execute(text("SELECT token FROM wechat_account ORDER BY id"))]


def _rotating_app(app_config: dict[str, Any]) -> Flask:
    return create_app(merged(app_config, {"SECURITY": {"data_key": STRONG_DATA_KEY}}))


def _rotate(app: Flask):  # type: ignore[no-untyped-def]
    """Run the command in `app` (the test's own app context would otherwise be the current app)."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=["secrets", "rotate-data-key"])


def test_rotate_data_key_re_encrypts_every_secret(
    app: Flask,
    app_config: dict[str, Any],
    db_session,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    for code in ("shinan", "laoshan"):
        make_account(db_session, code, appid=f"wx{code}12345678")
    db_session.commit()
    before = _stored(app)
    old_key = app_config["SECURITY"]["data_key"]

    rotated_app = _rotating_app(app_config)
    monkeypatch.setenv("QINGSU_OLD_DATA_KEY", old_key)
    result = _rotate(rotated_app)
    assert result.exit_code == 0, result.output
    assert "wechat_account.token: 2 re-encrypted" in result.output
    after = _stored(rotated_app)
    assert all(a != b for a, b in zip(before, after, strict=True))
    with rotated_app.app_context():
        from models.db import get_session

        accounts = get_session().scalars(select(WechatAccount).order_by(WechatAccount.id)).all()
        assert [a.appid for a in accounts] == ["wxshinan12345678", "wxlaoshan12345678"]
        assert all(a.token and a.secret for a in accounts)

    # Run again (say, after an interruption the operator was unsure about): nothing left to do, nothing broken.
    again = _rotate(rotated_app)
    assert again.exit_code == 0 and "0 re-encrypted, 2 already under the new key" in again.output
    rotated_app.extensions["qingsu.engine"].dispose()


def test_rotate_data_key_changes_nothing_when_a_value_opens_with_neither_key(
    app: Flask,
    app_config: dict[str, Any],
    db_session,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    for code in ("shinan", "laoshan"):
        make_account(db_session, code, appid=f"wx{code}12345678")
    db_session.commit()
    with app.extensions["qingsu.engine"].begin() as conn:
        conn.execute(
            text("UPDATE wechat_account SET secret = 'not-a-fernet-token' WHERE district_code = 'laoshan'")
        )
    before = _stored(app)
    rotated_app = _rotating_app(app_config)
    monkeypatch.setenv("QINGSU_OLD_DATA_KEY", app_config["SECURITY"]["data_key"])
    result = _rotate(rotated_app)
    assert result.exit_code == 1
    assert "opens with neither the old nor the new key; nothing was changed" in result.output
    assert _stored(rotated_app) == before
    rotated_app.extensions["qingsu.engine"].dispose()


def test_rotate_data_key_refuses_the_same_key(app: Flask, runner, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("QINGSU_OLD_DATA_KEY", app.config["SECURITY"]["data_key"])
    result = runner.invoke(args=["secrets", "rotate-data-key"])
    assert result.exit_code == 1 and "put the new key into the configuration first" in result.output
