"""The citizen's reply page in a real browser (Debian's Chromium through Playwright), at a phone's size: reached
from the 'replied' template message's link, it shows the whole reply, and the citizen rates by tapping.
Screenshots are saved under test-artifacts/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from models.enums import PetitionState
from tests.bot.test_dialog_rating import petition, submit
from tests.live import BROWSER_MARKS, SCREENSHOTS, chromium, serve
from workflow.reply_link import reply_url

pytestmark = BROWSER_MARKS


@pytest.fixture
def live_server(bot_app: Flask, accounts, trained_classifier) -> Iterator[str]:
    with serve(bot_app) as url:
        bot_app.config["WEB"]["public_base_url"] = url
        yield url


def test_the_reply_page_on_a_phone_shows_the_whole_reply_and_takes_the_rating(
    live_server, bot_app, phone, db_session, handling
):
    """Rule: the citizen rates the reply (satisfaction and resolution); satisfied and resolved closes the petition."""
    number = submit(phone())
    handling.reply(petition(db_session, number))
    p = petition(db_session, number)
    link = reply_url(bot_app, p.id, p.citizen_id)
    assert link is not None and link.startswith(live_server)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", device_scale_factor=2)
        context.set_default_timeout(15_000)
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.goto(link)
        assert page.locator("h1").inner_text() == p.title
        reply = page.locator("section.reply").inner_text()
        for element in ("市南区居民", "已责令烧烤摊夜间停止露天经营。", "李明", "0532-88886666"):
            assert element in reply
        assert "已答复" in page.locator("section.timeline").inner_text()
        page.screenshot(path=str(SCREENSHOTS / "reply-page-mobile.png"), full_page=True)
        page.click("label.choice:has-text('基本满意')")
        page.click("label.choice:has-text('解决') >> nth=0")
        page.click("button.submit")
        page.locator("p.notice").wait_for()
        assert "诉求已办结" in page.locator("p.notice").inner_text()
        assert page.locator("form").count() == 0
        page.screenshot(path=str(SCREENSHOTS / "reply-page-rated.png"), full_page=True)
        # Nothing refused by the content security policy (the browser's favicon request may 404).
        assert [e for e in errors if "Content Security Policy" in e] == []
        page.goto(link[:-3] + "bad")
        assert "链接无效" in page.locator("h1").inner_text()
        page.screenshot(path=str(SCREENSHOTS / "reply-page-refused.png"), full_page=True)
    assert petition(db_session, number).state == PetitionState.CLOSED
