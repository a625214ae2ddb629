"""The dashboard's charts in a real browser (Debian's Chromium through Playwright), with every request that does not
go to the test server aborted: the city's charts and a district's draw without the network, a district leads to its
dashboard, a light's bar to its petitions, and the print layout keeps the tables. Screenshots go to
test-artifacts/screenshots/.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from typing import Any
from urllib.parse import urlparse

from sqlalchemy.orm import Session

from models import Evaluation, Reply, Unit, utcnow
from models.enums import (
    DeptType,
    PetitionKind,
    PetitionState,
    ReplyState,
    Resolution,
    Satisfaction,
    UnitLevel,
)
from tests.admin_web.conftest import PASSWORD
from tests.factories import DISTRICT_ROWS, make_district, make_petition, make_unit
from tests.live import BROWSER_MARKS, SCREENSHOTS

pytestmark = BROWSER_MARKS
LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}
DEPTS = [DeptType.URBAN_MGMT, DeptType.HOUSING, DeptType.TRANSPORT, DeptType.ECOLOGY, DeptType.MARKET, None]


def _fill_city(session: Session) -> None:
    """A year of petitions in all ten districts: received, replied to and rated each month (a unit or two a
    district doing worse), and running petitions with each light."""
    rng = random.Random(14)
    now = utcnow()
    for position, code in enumerate(DISTRICT_ROWS):
        make_district(session, code)
        units = [
            make_unit(session, district_code=code, dept_type=dept, name=f"{DISTRICT_ROWS[code][1]}{dept.label}")
            for dept in (DeptType.URBAN_MGMT, DeptType.HOUSING)
        ] + [make_unit(session, UnitLevel.STREET, district_code=code, name=f"{DISTRICT_ROWS[code][1]}第{i}街道")
             for i in (1, 2)]  # fmt: skip
        for months_ago in range(12):
            for _ in range(2 + (position + months_ago) % 4):
                at = now - dt.timedelta(days=30 * months_ago + rng.randint(1, 25), hours=rng.randint(0, 9))
                unit = rng.choice(units)
                kind = rng.choice([PetitionKind.LIVELIHOOD] * 4 + [PetitionKind.DEVELOPMENT])
                p = make_petition(session, district_code=code, kind=kind, now=at, with_citizen=False)
                p.dept_type = rng.choice(DEPTS)
                p.state, p.closed_at = PetitionState.CLOSED, at + dt.timedelta(days=2)
                odds = 0.5 if unit.name.endswith("第2街道") else 0.1
                good = [rng.random() > odds * factor for factor in (1.0, 0.6, 1.4)]
                _answer(session, p.id, unit, at + dt.timedelta(days=1), *good)
        # Hours to the deadline: overdue, due soon (yellow), in time (blue).
        for deadline in (-30, -2, 20, 300, 600, 900)[: 2 + position % 5]:
            accepted = now - dt.timedelta(days=40)
            p = make_petition(session, district_code=code, now=accepted, with_citizen=False)
            p.state, p.accepted_at = PetitionState.HANDLING, accepted
            p.deadline, p.current_unit_id = now + dt.timedelta(hours=deadline), units[0].id
    session.commit()


def _answer(
    session: Session,
    petition_id: int,
    unit: Unit,
    at: dt.datetime,
    resolved: bool,
    satisfied: bool,
    on_time: bool,
) -> None:
    session.add(
        Reply(petition_id=petition_id, unit_id=unit.id, petitioner_info="-", policy_basis="-", result="-",
              responsible_person="-", contact_phone="0532-1", state=ReplyState.SENT, created_at=at, sent_at=at,
              on_time=on_time)
    )  # fmt: skip
    session.add(
        Evaluation(petition_id=petition_id, handling_round=1, unit_id=unit.id, created_at=at,
                   satisfaction=Satisfaction.SATISFIED if satisfied else Satisfaction.UNSATISFIED,
                   resolution=Resolution.RESOLVED if resolved else Resolution.UNRESOLVED)
    )  # fmt: skip


class Offline:
    """A browser session in which every request not to the test server is aborted, and recorded."""

    def __init__(self, browser: Any, base_url: str, username: str) -> None:
        self.context = browser.new_context(
            base_url=base_url, viewport={"width": 1280, "height": 900}, locale="zh-CN"
        )
        self.context.set_default_timeout(15_000)
        self.outside: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        page = self.page
        page.goto("/admin/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        assert "/admin/login" not in page.url

    def _route(self, route: Any) -> None:
        url = route.request.url
        if urlparse(url).hostname in LOOPBACK:
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _no_external_url(markup: str) -> None:
    # The one http(s) address allowed is the SVG namespace: a name, never fetched.
    addresses = set(re.findall(r"https?://[^\s\"'<>)]+", markup)) - {"http://www.w3.org/2000/svg"}
    assert not [a for a in addresses if urlparse(a).hostname not in LOOPBACK], addresses


def test_the_city_and_a_district_see_their_charts_without_the_network(
    chromium: Any, served: str, world: Any
) -> None:
    _fill_city(world.session)
    world.session.close()
    leader = Offline(chromium, served, "leader")
    page = leader.page
    page.goto("/admin/dashboard/")
    page.wait_for_load_state("networkidle")
    assert "数据看板 · 全市" in page.inner_text("h1")
    for name, figures in (
        ("trend", 2),
        ("districts", 2),
        ("lights", 1),
        ("kinds", 1),
        ("departments", 1),
        ("units", 1),
    ):
        charts = page.locator(f"#chart-{name} svg[role=img]")
        assert charts.count() == figures, name
        assert charts.first.is_visible() and charts.first.bounding_box()["height"] > 100
        assert charts.first.get_attribute("aria-label")
    # Ten districts side by side, three rates each; twelve months in the trend; the bottom of the league marked.
    assert page.locator("#chart-districts svg").nth(1).locator("rect title").count() == 30
    assert page.locator("#chart-trend svg").first.locator("rect title").count() == 12
    assert page.locator("#chart-units tr.marked").count() == 10
    _no_external_url(page.content())
    leader.shot("40-leader-dashboard-charts")
    for name in ("trend", "districts", "lights", "kinds", "departments", "units"):
        page.locator(f"#chart-{name}").screenshot(path=str(SCREENSHOTS / f"41-city-chart-{name}.png"))

    # A district's name on the chart leads to its dashboard.
    page.locator("#chart-districts svg").first.locator("a:has(text:text-is('市北区'))").click()
    page.wait_for_load_state("networkidle")
    assert "数据看板 · 市北区" in page.inner_text("h1") and "district=shibei" in page.url
    assert page.locator("#chart-districts").count() == 0
    assert page.locator("#chart-trend svg[role=img]").count() == 2
    _no_external_url(page.content())
    leader.shot("42-district-dashboard-charts")

    # A light's bar leads to its petitions, as many as the bar says.
    red = page.locator("#chart-lights svg a:has(rect.light-red)").first
    figure = int(re.search(r"红灯：(\d+)", red.locator("title").text_content()).group(1))
    red.click()
    page.wait_for_load_state("networkidle")
    assert "/admin/search" in page.url and "light_now=red" in page.url
    assert f"共 {figure} 条" in page.inner_text("main")
    leader.shot("43-red-lights-of-a-district")

    # Printed: no filters, no download links, the tables whole.
    page.go_back()
    page.wait_for_load_state("networkidle")
    page.emulate_media(media="print")
    forms = page.locator("form.filters")
    assert forms.count() >= 1 and not any(forms.nth(i).is_visible() for i in range(forms.count()))
    assert not page.locator("#chart-trend .chart-csv").is_visible()
    assert page.locator("#chart-trend table tbody tr").nth(11).is_visible()
    leader.shot("44-district-dashboard-print")
    assert leader.outside == []
    leader.context.close()
