"""`qingsu wechat push-menu`: the menu is created on each account through the (fake) WeChat API."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.menu import menu_definition
from models import WechatAccount

EXPECTED_BUTTONS = [
    {"type": "click", "name": "我要反映", "key": "REPORT"},
    {"type": "click", "name": "我的诉求", "key": "MY_PETITIONS"},
    {"type": "click", "name": "办事指南", "key": "GUIDE"},
]


@pytest.fixture
def wired(bot_app, accounts, fake_wechat, db_session):
    """The app pointed at the fake API, which knows both test accounts."""
    bot_app.config["WECHAT"]["api_base_url"] = fake_wechat.base_url
    for account in db_session.scalars(select(WechatAccount)):
        fake_wechat.fake.register_account(account.appid, account.secret)
    return fake_wechat.fake


def _appids(db_session) -> dict[str, str]:
    return {a.district_code: a.appid for a in db_session.scalars(select(WechatAccount))}


def test_the_menu_has_three_click_buttons():
    assert menu_definition() == {"button": EXPECTED_BUTTONS}


def test_push_menu_creates_the_menu_on_every_enabled_account(runner, wired, db_session):
    result = runner.invoke(args=["wechat", "push-menu"])
    assert result.exit_code == 0, result.output
    appids = _appids(db_session)
    for code in ("shinan", "shibei"):
        assert wired.menu(appids[code]) == {"button": EXPECTED_BUTTONS}
        assert f"{code}: menu created" in result.output
    db_session.expire_all()
    assert all(a.menu_pushed_at is not None for a in db_session.scalars(select(WechatAccount)))


def test_push_menu_for_one_district_leaves_the_others_alone(runner, wired, db_session):
    result = runner.invoke(args=["wechat", "push-menu", "--district", "shibei"])
    assert result.exit_code == 0, result.output
    appids = _appids(db_session)
    assert wired.menu(appids["shibei"]) == {"button": EXPECTED_BUTTONS}
    assert wired.menu(appids["shinan"]) is None


def test_push_menu_for_an_unknown_district_fails(runner, wired):
    result = runner.invoke(args=["wechat", "push-menu", "--district", "atlantis"])
    assert result.exit_code != 0
    assert "no enabled account" in result.output


def test_a_refused_menu_is_reported_and_the_other_accounts_still_get_theirs(runner, wired, db_session):
    appids = _appids(db_session)
    wired.fail_next("/cgi-bin/menu/create", errcode=40018, appid=appids["shibei"])
    result = runner.invoke(args=["wechat", "push-menu"])
    assert result.exit_code == 1
    assert "shibei: failed" in result.output
    assert "menu not created for shibei" in result.output
    assert wired.menu(appids["shinan"]) == {"button": EXPECTED_BUTTONS}
    db_session.expire_all()
    pushed = {a.district_code: a.menu_pushed_at for a in db_session.scalars(select(WechatAccount))}
    assert pushed["shibei"] is None and pushed["shinan"] is not None
