"""`qingsu seed-demo`: the ten districts, their units, the city platform, demo users and accounts."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from models import District, Unit, User, WechatAccount
from models.enums import DeptType, Role, UnitLevel
from qingsu.config import EXAMPLE_CONFIG, load_toml
from qingsu.demo import DEMO_PASSWORD
from tests.conftest import make_test_config


def count(session, model, *where):
    return session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def app_config(tmp_path: Path, classifier_model_path: Path):
    with EXAMPLE_CONFIG.open("rb") as fp:
        accounts = load_toml(fp)["ACCOUNTS"]
    return make_test_config(tmp_path, classifier_model_path, DEMO=True, ACCOUNTS=accounts)


def test_seed_demo_loads_ten_districts_units_users_and_accounts_and_is_idempotent(app, runner, db_session):
    for _ in range(2):
        result = runner.invoke(args=["seed-demo"])
        assert result.exit_code == 0, result.output
    s = db_session
    assert [d.abbreviation for d in s.scalars(select(District).order_by(District.position))] == [
        "SN", "SB", "LC", "LS", "HD", "CY", "JM", "JZ", "PD", "LX"]
    assert s.get(District, "pingdu").platform_name == "平读心声"
    assert count(s, Unit, Unit.level == UnitLevel.DISTRICT_PLATFORM) == 10
    assert count(s, Unit, Unit.level == UnitLevel.CITY_PLATFORM) == 1
    assert count(s, Unit, Unit.level == UnitLevel.DISTRICT_DEPARTMENT) == 10 * len(DeptType)
    assert count(s, Unit, Unit.level == UnitLevel.CITY_DEPARTMENT) == len(DeptType)
    community = s.scalars(select(Unit).where(Unit.name == "太平角社区")).one()
    assert community.parent.name == "八大关街道"
    assert {u.role for u in s.scalars(select(User))} == set(Role)
    assert count(s, User) == count(s, User, User.is_demo.is_(True))
    assert count(s, WechatAccount) == 10
    account = s.scalars(select(WechatAccount).where(WechatAccount.district_code == "shinan")).one()
    assert account.token == "shinantoken" and account.safe_mode


def test_demo_password_logs_in_every_demo_user(app, runner, db_session):
    from admin_web.passwords import verify_password

    runner.invoke(args=["seed-demo"])
    user = db_session.scalars(select(User).where(User.username == "shinan_dispatcher")).one()
    assert verify_password(user.password_hash, DEMO_PASSWORD)


def test_without_demo_mode_no_demo_users_are_created(app, runner, db_session):
    app.config["DEMO"] = False
    result = runner.invoke(args=["seed-demo"])
    assert "no demo users" in result.output
    assert count(db_session, User) == 0
    assert count(db_session, District) == 10


def test_wechat_secrets_are_encrypted_at_rest(app, runner, db_session):
    runner.invoke(args=["seed-demo"])
    from sqlalchemy import text

    raw = db_session.execute(text("SELECT token, secret FROM wechat_account WHERE district_code='shinan'")).one()
    assert "shinantoken" not in raw.token and "shinan-demo-secret" not in raw.secret


def test_seed_demo_configures_every_accounts_template_messages_once_and_keeps_managers_edits(app, runner, db_session):
    from models import NotificationTemplate
    from qingsu.demo_templates import DEMO_TEMPLATE_FIELDS
    from workflow.notify import EVENTS

    assert set(DEMO_TEMPLATE_FIELDS) == set(EVENTS)
    result = runner.invoke(args=["seed-demo"])
    assert f"{10 * len(EVENTS)} template message setting(s) added" in result.output
    s = db_session
    assert count(s, NotificationTemplate) == 10 * len(EVENTS)
    edited = s.scalars(select(NotificationTemplate).where(
        NotificationTemplate.district_code == "shinan", NotificationTemplate.event == "replied")).one()
    edited.template_id, edited.enabled = "managers-own-template", False
    s.delete(s.scalars(select(NotificationTemplate).where(
        NotificationTemplate.district_code == "laixi", NotificationTemplate.event == "closed")).one())
    s.commit()

    result = runner.invoke(args=["seed-demo"])
    assert "1 template message setting(s) added" in result.output
    s.expire_all()
    assert count(s, NotificationTemplate) == 10 * len(EVENTS)
    assert (edited.template_id, edited.enabled) == ("managers-own-template", False)
    assert "0 template message setting(s) added" in runner.invoke(args=["seed-demo"]).output


def test_outside_demo_mode_no_templates_are_configured(app, runner, db_session):
    from models import NotificationTemplate

    app.config["DEMO"] = False
    runner.invoke(args=["seed-demo"])
    assert count(db_session, NotificationTemplate) == 0
