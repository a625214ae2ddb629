"""End to end in a real browser (Debian's Chromium through Playwright): a dispatcher confirms the suggested routing,
the unit handler accepts and replies, the unit reviewer and the district platform approve, and the reply reaches
the citizen's outbox. A screenshot of every page is saved under test-artifacts/screenshots/.
"""

from __future__ import annotations

from sqlalchemy import select

from models import Notification, Petition
from models.enums import PetitionState
from tests.admin_web.conftest import PASSWORD, REPLY
from tests.live import BROWSER_MARKS, SCREENSHOTS

pytestmark = BROWSER_MARKS


class Staff:
    """One staff member's browser session."""

    def __init__(self, browser, base_url: str, username: str, *, phone: bool = False) -> None:  # type: ignore[no-untyped-def]
        viewport = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 900}
        self.context = browser.new_context(base_url=base_url, viewport=viewport, locale="zh-CN")
        self.context.set_default_timeout(15_000)
        self.page = self.context.new_page()
        self.username = username

    def login(self) -> None:
        page = self.page
        page.goto("/admin/login")
        page.fill("input[name=username]", self.username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        assert "/admin/login" not in page.url, page.content()

    def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def close(self) -> None:
        self.context.close()


def test_suggested_routing_to_reply_reaching_the_citizen(chromium, served: str, world) -> None:
    petition = world.petition()
    number = petition.number
    citizen_id = world.citizen.id
    # Let the server's own sessions write: nothing of this test's session may hold the database meanwhile.
    world.session.commit()
    world.session.close()

    dispatcher = Staff(chromium, served, "sn_dispatcher")
    dispatcher.login()
    page = dispatcher.page
    assert page.url.endswith("/admin/queue")
    item = page.locator(f"#q-{number}")
    assert "置信度 81%" in item.inner_text()
    form = item.locator("details[data-action=dispatch] form")
    # The suggested department and its unit are preselected: confirming is one click.
    assert form.locator("select[name=dept_type]").input_value() == "urban_mgmt"
    assert form.locator("select[name=unit_id]").input_value() == str(world.urban.id)
    dispatcher.shot("01-dispatcher-queue")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert "「确认分拨」已完成" in page.inner_text(".flash")
    dispatcher.shot("02-dispatcher-queue-after-dispatch")

    handler = Staff(chromium, served, "sn_urban", phone=True)
    handler.login()
    page = handler.page
    assert page.url.endswith("/admin/workbench")
    # On a phone the menu folds away behind its button.
    assert not page.locator("nav.menu").is_visible()
    page.click("label.nav-toggle-label")
    assert page.locator("nav.menu a:has-text('工作台')").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    handler.shot("03-handler-workbench-phone")
    page.locator(f"tr[data-number={number}] button:has-text('签收')").click()
    page.wait_for_load_state()
    page.locator(f"tr[data-number={number}] a:has-text('办理')").click()
    page.wait_for_load_state()
    assert f"/admin/petitions/{number}" in page.url
    page.locator("details[data-action=submit_reply] summary").click()
    reply_form = page.locator("details[data-action=submit_reply] form")
    for name, value in REPLY.items():
        reply_form.locator(f"[name={name}]").fill(value)
    handler.shot("04-handler-reply-draft-phone")
    reply_form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert "答复待单位审核" in page.inner_text("h1")
    handler.shot("05-handler-petition-after-reply-phone")

    reviewer = Staff(chromium, served, "sn_urban_reviewer")
    reviewer.login()
    page = reviewer.page
    assert page.url.endswith("/admin/review")
    item = page.locator(f"#r-{number}")
    assert REPLY["result"] in item.inner_text()
    reviewer.shot("06-unit-reviewer-queue")
    item.locator("details[data-action=approve_reply] summary").click()
    item.locator("details[data-action=approve_reply] button[type=submit]").click()
    page.wait_for_load_state()
    assert "「单位审核通过」已完成" in page.inner_text(".flash")

    page = dispatcher.page
    page.goto("/admin/review")
    item = page.locator(f"#r-{number}")
    dispatcher.shot("07-platform-review")
    item.locator("details[data-action=send_reply] summary").click()
    item.locator("details[data-action=send_reply] button[type=submit]").click()
    page.wait_for_load_state()
    assert "「审核通过并统一答复」已完成" in page.inner_text(".flash")
    page.goto(f"/admin/petitions/{number}")
    assert "待评价" in page.inner_text("h1")
    timeline = page.inner_text(".timeline")
    for step in ("提交诉求", "确认分拨", "签收", "提交答复", "单位审核通过", "审核通过并统一答复"):
        assert step in timeline
    dispatcher.shot("08-petition-awaiting-evaluation")
    page.goto(f"/admin/search?number={number}")
    dispatcher.shot("09-search")

    for staff in (dispatcher, handler, reviewer):
        staff.close()

    session = world.session
    stored = session.scalars(select(Petition).where(Petition.number == number)).one()
    session.refresh(stored)
    assert stored.state == PetitionState.AWAITING_EVALUATION
    replied = session.scalars(
        select(Notification).where(Notification.petition_id == stored.id, Notification.event == "replied")
    ).one()
    assert replied.citizen_id == citizen_id
    assert replied.payload["result"] == REPLY["result"]


def test_a_double_click_in_two_tabs_gets_the_409_page(chromium, served: str, world) -> None:
    petition = world.assigned_to_urban()
    number = petition.number
    world.session.commit()
    world.session.close()
    handler = Staff(chromium, served, "sn_urban")
    handler.login()
    first, second = handler.page, handler.context.new_page()
    for page in (first, second):
        page.goto(f"/admin/petitions/{number}")
        page.locator("details[data-action=accept] summary").click()
    first.locator("details[data-action=accept] button[type=submit]").click()
    first.wait_for_load_state()
    response_page = second
    response_page.locator("details[data-action=accept] button[type=submit]").click()
    response_page.wait_for_load_state()
    assert "409" in response_page.inner_text("h1")
    assert "已被他人处理" in response_page.inner_text(".error-message")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    response_page.screenshot(path=str(SCREENSHOTS / "10-conflict-409.png"), full_page=True)
    handler.close()
