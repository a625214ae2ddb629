"""Issue 12, attack 13, in a real browser: under the strict content security policy the admin pages raise no CSP
violation, and what inline handlers and styles used to do still works (the confidence bars, the district picker)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from models.enums import Role
from tests.admin_web.conftest import PASSWORD
from tests.factories import make_user
from tests.live import BROWSER_MARKS, chromium, serve

pytestmark = BROWSER_MARKS


@pytest.fixture
def live_server(admin_site: Flask) -> Iterator[str]:
    with serve(admin_site) as url:
        yield url


@pytest.fixture
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


def _signed_in(browser: Any, base_url: str, username: str) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(base_url=base_url, locale="zh-CN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda message: violations.append(message.text)
        if "Content Security Policy" in message.text
        else None,
    )
    page.goto("/admin/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return context, page, violations


def test_pages_work_under_the_csp_without_violations(
    browser: Any, live_server: str, world: Any, password_hash: str
) -> None:
    number = world.petition().number
    make_user(
        world.session,
        Role.CITY_MANAGER,
        district_code=None,
        username="city_manager",
        password_hash=password_hash,
    )
    world.session.commit()
    world.session.close()

    context, page, violations = _signed_in(browser, live_server, "sn_dispatcher")
    page.goto(f"/admin/petitions/{number}")
    bar = page.locator(".suggestion .score").first
    assert bar.get_attribute("data-width") == "81"
    assert bar.evaluate("el => el.getBoundingClientRect().width") == pytest.approx(81, abs=1)
    context.close()

    context, page, manager_violations = _signed_in(browser, live_server, "city_manager")
    page.goto("/admin/manage/units")
    with page.expect_navigation():
        page.locator("select[data-autosubmit]").select_option("laoshan")
    assert page.url.endswith("/admin/manage/units?district=laoshan")
    page.goto("/admin/manage/")
    context.close()
    assert violations == [] and manager_violations == []
