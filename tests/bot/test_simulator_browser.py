"""The simulator page in a real browser (Debian's Chromium through Playwright): a citizen taps the menu, types,
sends a location, and reads the account's answers, each relayed through the signed and encrypted protocol.
Screenshots are saved under test-artifacts/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select

from bot import texts
from models import Petition, WechatAccount
from tests.live import BROWSER_MARKS, SCREENSHOTS, chromium, serve

pytestmark = BROWSER_MARKS


@pytest.fixture
def app_config(app_config):
    app_config["DEMO"] = True
    return app_config


@pytest.fixture
def live_server(bot_app: Flask, accounts, trained_classifier) -> Iterator[str]:
    with serve(bot_app) as url:
        yield url


@pytest.fixture
def page(live_server: str) -> Iterator[object]:
    with chromium() as browser:
        context = browser.new_context(
            base_url=live_server, viewport={"width": 430, "height": 860}, locale="zh-CN"
        )
        context.set_default_timeout(15_000)
        yield context.new_page()


def _last_bot_bubble(page) -> str:  # type: ignore[no-untyped-def]
    return page.locator(".msg.bot").last.inner_text()


def _say(page, text: str) -> None:  # type: ignore[no-untyped-def]
    count = page.locator(".msg.bot").count()
    page.fill("#text", text)
    page.press("#text", "Enter")
    page.locator(".msg.bot").nth(count).wait_for()


def test_a_citizen_reports_through_the_simulator_page(page, db_session):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.goto("/simulator")
    page.select_option("#account", "shinan")
    assert not page.locator("#extras").is_visible()
    page.click("nav.menu button:has-text('我要反映')")
    page.locator(".msg.bot").first.wait_for()
    assert _last_bot_bubble(page) == texts.ASK_KIND
    _say(page, "1")
    assert _last_bot_bubble(page) == texts.ASK_CONTENT
    problem = "小区楼下烧烤摊每天营业到凌晨两点，油烟和噪音严重扰民 <b>]]></b>"
    _say(page, problem)
    assert _last_bot_bubble(page) == texts.ASK_LOCATION
    # The typed text is shown as text, never as markup.
    assert page.locator(".msg.me").last.inner_text() == problem
    # The location button asks for a place name, then coordinates, as the map picker would give them.
    answers = {"位置名称": "山东省青岛市市南区香港中路10号", "纬度,经度": "36.0627,120.3847"}
    page.on("dialog", lambda dialog: dialog.accept(answers[dialog.message.split("（")[0]]))
    page.click("#more")
    count = page.locator(".msg.bot").count()
    page.click("#extras button[data-extra=location]")
    page.locator(".msg.bot").nth(count).wait_for()
    assert _last_bot_bubble(page) == texts.ASK_PHONE
    _say(page, "13812345678")
    assert f"问题：{problem}" in _last_bot_bubble(page)
    assert "地点：山东省青岛市市南区香港中路10号" in _last_bot_bubble(page)
    page.screenshot(path=str(SCREENSHOTS / "simulator-01-summary.png"))
    _say(page, "1")
    receipt = _last_bot_bubble(page)
    assert receipt.startswith("提交成功！")
    page.screenshot(path=str(SCREENSHOTS / "simulator-02-receipt.png"))
    db_session.expire_all()
    [petition] = db_session.scalars(select(Petition)).all()
    assert petition.content == problem and petition.number in receipt
    assert (petition.latitude, petition.longitude) == (36.0627, 120.3847)


def test_the_simulator_acts_as_a_demo_citizen_shows_template_cards_and_keeps_the_history(
    page, bot_app: Flask, accounts, db_session
):
    """Issue 11: the simulator can act as any demo citizen, keeps its history across a reload, and shows the template
    messages the citizen received inline, as WeChat does (a card with the template's title, keywords and link)."""
    from tests.factories import make_citizen

    make_citizen(db_session, "shinan", openid="demo-citizen-1", name="张女士")
    db_session.commit()
    fake = bot_app.extensions["qingsu.fake_wechat"]
    page.goto("/simulator")
    page.select_option("#citizen", "demo-citizen-1")
    assert page.input_value("#account") == "shinan"
    appid = next(a.appid for a in db_session.scalars(select(WechatAccount)) if a.district_code == "shinan")
    fake.register_template(
        appid,
        "tpl-replied",
        {"character_string1": "character_string"},
        title="诉求答复通知",
        labels={"character_string1": "诉求编号"},
    )
    fake.send_template(
        appid,
        {
            "touser": "demo-citizen-1",
            "template_id": "tpl-replied",
            "url": "http://127.0.0.1/reply/SN202611230001",
            "data": {"character_string1": {"value": "SN202611230001"}},
        },
    )
    card = page.locator(".msg.card")
    card.wait_for()
    assert "诉求答复通知" in card.inner_text() and "诉求编号" in card.inner_text()
    assert "SN202611230001" in card.inner_text()
    assert card.locator("a").get_attribute("href") == "http://127.0.0.1/reply/SN202611230001"
    _say(page, "你好")
    page.screenshot(path=str(SCREENSHOTS / "simulator-demo-citizen-card.png"), full_page=True)

    page.reload()
    page.locator(".msg.card").wait_for()
    assert page.input_value("#citizen") == "demo-citizen-1"
    assert page.locator(".msg.me").last.inner_text() == "你好"
    assert page.locator(".msg.card").count() == 1  # the card is not shown twice after the reload
