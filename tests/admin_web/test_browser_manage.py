"""The managers' pages and the dashboard in a real browser (Debian's Chromium through Playwright): a district manager
configures the WeChat account (the secrets never come back), adds a community with its responsibility list, creates a
handler and resets a password on a phone; the leader reads the dashboard. Screenshots of every page go to
test-artifacts/screenshots/.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from models import Unit, User, WechatAccount
from tests.admin_web.conftest import PASSWORD
from tests.live import BROWSER_MARKS, SCREENSHOTS

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
SECRET = "browser-test-app-secret-000123"

pytestmark = BROWSER_MARKS


def _session(browser: Any, base_url: str, username: str, *, phone: bool) -> Any:
    viewport = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 900}
    context = browser.new_context(base_url=base_url, viewport=viewport, locale="zh-CN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto("/admin/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/admin/login" not in page.url
    return page


def _shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_a_district_manager_sets_up_the_district_on_a_phone(chromium: Any, served: str, world: Any) -> None:
    street_id = world.street.id
    world.session.commit()
    world.session.close()
    page = _session(chromium, served, "sn_manager", phone=True)

    page.goto("/admin/manage/")
    _shot(page, "20-manager-overview-phone")
    page.click("text=公众号设置")
    page.fill("input[name=appid]", "wxbrowser12345678")
    page.fill("input[name=token]", "browsertoken")
    page.fill("input[name=encoding_aes_key]", AES_KEY)
    page.fill("input[name=secret]", SECRET)
    page.click("button:has-text('保存')")
    page.wait_for_load_state()
    assert "公众号配置已保存" in page.inner_text(".flash")
    html = page.content()
    assert SECRET not in html and "browsertoken" not in html and AES_KEY not in html
    assert "••••••••" + SECRET[-4:] in html
    _shot(page, "21-manager-account-saved-phone")

    page.goto("/admin/manage/units")
    page.click("text=新建单位")
    page.fill("input[name=name]", "汇泉社区")
    page.select_option("select[name=level]", "community")
    page.select_option("select[name=parent_id]", str(street_id))
    page.fill("textarea[name=responsibilities]", "环境卫生\n邻里纠纷调解")
    _shot(page, "22-manager-new-unit-phone")
    page.click("button:has-text('保存')")
    page.wait_for_load_state()
    assert "已新建单位「汇泉社区」" in page.inner_text(".flash")
    _shot(page, "23-manager-units-phone")

    page.goto("/admin/manage/users/new")
    page.fill("input[name=username]", "sn_new_worker")
    page.fill("input[name=display_name]", "新网格员")
    page.select_option("select[name=role]", "handler")
    page.select_option("select[name=unit_id]", label="汇泉社区（村(社区)）")
    page.fill("input[name=password]", "a long initial password")
    page.click("button:has-text('创建')")
    page.wait_for_load_state()
    assert "已创建用户 sn_new_worker" in page.inner_text(".flash")
    row = page.locator("tr", has_text="sn_new_worker")
    row.locator("button:has-text('重置密码')").click()
    page.wait_for_load_state()
    assert page.locator("code.new-password").inner_text().strip()
    _shot(page, "24-manager-users-password-reset-phone")

    for path, name in (
        ("/admin/manage/calendar", "25-manager-calendar-phone"),
        ("/admin/manage/templates", "26-manager-templates-phone"),
        ("/admin/manage/dead-letters", "27-manager-dead-letters-phone"),
    ):
        page.goto(path)
        _shot(page, name)
    page.context.close()

    world.session.expire_all()
    account = world.session.scalars(
        select(WechatAccount).where(WechatAccount.district_code == "shinan")
    ).one()
    assert (account.token, account.encoding_aes_key, account.secret) == ("browsertoken", AES_KEY, SECRET)
    worker = world.session.scalars(select(User).where(User.username == "sn_new_worker")).one()
    community = world.session.scalars(select(Unit).where(Unit.name == "汇泉社区")).one()
    assert (worker.unit_id, community.parent_id) == (community.id, street_id)


def test_the_leader_reads_the_dashboard(chromium: Any, served: str, world: Any) -> None:
    world.assigned_to_urban()
    world.session.commit()
    world.session.close()
    page = _session(chromium, served, "leader", phone=False)
    page.goto("/admin/dashboard/")
    assert "数据看板 · 全市" in page.inner_text("h1")
    # One petition makes no hot issue (a cluster needs three alike); the panel says the job has not run yet.
    assert "热点尚未计算" in page.inner_text("#hot")
    _shot(page, "28-leader-dashboard")
    page.context.close()
