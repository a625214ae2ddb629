"""The monthly report from the dashboard (/admin/dashboard/report.xlsx): its figures equal the dashboard's for the
same month, counted live or from the daily tallies; it covers what the user may see (a district role its own
district, 404 for another; a city role the city or the district it picks); a bad month is 400."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable
from typing import Any

import openpyxl
import pytest
from flask import Flask
from flask.testing import FlaskClient

from models import User
from tests.admin_web import f2_support
from tests.admin_web.f2_support import World
from tests.admin_web.test_dashboard import _rated
from workflow.tallies import refresh_tallies

site, world = f2_support.site, f2_support.world
Login = Callable[[User], FlaskClient]
SH = dt.timezone(dt.timedelta(hours=8))
NOV_2 = dt.datetime(2026, 11, 2, 10, tzinfo=SH)
OCT_31_LATE = dt.datetime(2026, 10, 31, 23, 30, tzinfo=SH)  # October in Qingdao, whatever UTC says
ROW = re.compile(
    r'<td data-label="(?P<column>[^"]+)">(?P<label>[^<]*)</td>\s*'
    r'<td data-label="解决率"><span title="(?P<rn>\d+)/(?P<rd>\d+)">[^<]*</span></td>\s*'
    r'<td data-label="满意率"><span title="(?P<sn>\d+)/(?P<sd>\d+)">[^<]*</span></td>\s*'
    r'<td data-label="按期办结率"><span title="(?P<on>\d+)/(?P<od>\d+)">'
)


def _rate(numerator: str, denominator: str) -> float | None:
    return int(numerator) / int(denominator) if int(denominator) else None


def dashboard_rows(page: str, column: str) -> dict[str, list[Any]]:
    """The dashboard's rate rows of the table whose first column is `column`, as the report lays them out:
    label → [rated, resolution, satisfaction, replies, on time]."""
    return {
        m["label"]: [int(m["rd"]), _rate(m["rn"], m["rd"]), _rate(m["sn"], m["sd"]), int(m["od"]),
                     _rate(m["on"], m["od"])]
        for m in ROW.finditer(page)
        if m["column"] == column
    }  # fmt: skip


def workbook_rows(book: Any, sheet: str, skip: int = 0) -> dict[str, list[Any]]:
    """A rates sheet's rows: first cell → the rate columns (after `skip` more label columns)."""
    return {row[0]: list(row[1 + skip :]) for row in book[sheet].iter_rows(min_row=2, values_only=True)}


def download(client: FlaskClient, query: str) -> Any:
    response = client.get(f"/admin/dashboard/report.xlsx?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return openpyxl.load_workbook(io.BytesIO(response.data))


def assert_report_equals_dashboard(
    client: FlaskClient, month: str, first: str, last: str, district: str = "", city: bool = True
) -> Any:
    """The workbook of `month` and the dashboard page of its days (`first`..`last`) show the same rates, overall,
    by district (`city`: the page shows the whole city) and by unit (the dashboard's top units)."""
    extra = f"&district={district}" if district else ""
    page = client.get(f"/admin/dashboard/?start={first}&end={last}{extra}").get_data(as_text=True)
    book = download(client, f"month={month}{extra}")
    shown_districts = dashboard_rows(page, "区(市)")
    if city and not district:
        reported = workbook_rows(book, "三率-区(市)")
        assert shown_districts and {k: reported[k] for k in shown_districts} == shown_districts
        assert set(reported) - {"合计"} == set(shown_districts)
    shown_units = dashboard_rows(page, "单位")
    reported_units = workbook_rows(book, "三率-承办单位", skip=1)
    assert shown_units and {k: reported_units[k] for k in shown_units} == shown_units
    overview = {row[0]: row[1] for row in book["概况"].iter_rows(min_row=2, values_only=True)}
    overall = re.search(r'id="overall".*?</section>', page, re.S).group(0)  # type: ignore[union-attr]
    for name in ("解决率", "满意率", "按期办结率"):
        value = overview[name]
        assert value is not None and f"{value * 100:.2f}%" in overall
    return book


@pytest.fixture
def months(world: World) -> World:
    """November: 市南区 3 rated across two units, 崂山区 1; October (late on the 31st, local time): 市南区 1."""
    _rated(world, "shinan", world.urban, satisfied=True, resolved=True, on_time=True, at=NOV_2)
    _rated(world, "shinan", world.urban, satisfied=True, resolved=False, on_time=False, at=NOV_2)
    _rated(world, "shinan", world.housing, satisfied=False, resolved=True, on_time=False, at=NOV_2)
    _rated(world, "laoshan", world.laoshan_urban, satisfied=False, resolved=False, on_time=True, at=NOV_2)
    _rated(world, "shinan", world.housing, satisfied=True, resolved=True, on_time=True, at=OCT_31_LATE)
    return world


def test_the_report_equals_the_dashboard_for_the_same_month(months: World, login_as: Login):
    client = login_as(months.users["leader"])
    book = assert_report_equals_dashboard(client, "2026-11", "2026-11-01", "2026-11-30")
    assert workbook_rows(book, "三率-区(市)")["市南区"] == [3, 2 / 3, 2 / 3, 3, 1 / 3]
    book = assert_report_equals_dashboard(client, "2026-10", "2026-10-01", "2026-10-31")
    assert workbook_rows(book, "三率-区(市)")["市南区"] == [1, 1.0, 1.0, 1, 1.0]


def test_the_report_equals_the_dashboard_when_both_read_the_daily_tallies(
    site: Flask, months: World, login_as: Login
):
    refresh_tallies(site, dt.datetime(2026, 11, 25, 3, tzinfo=dt.UTC))
    client = login_as(months.users["leader"])
    assert_report_equals_dashboard(client, "2026-11", "2026-11-01", "2026-11-30")
    assert_report_equals_dashboard(client, "2026-10", "2026-10-01", "2026-10-31")


def test_a_district_role_gets_its_own_district_and_404_for_another(months: World, login_as: Login):
    client = login_as(months.users["dispatcher"])
    book = assert_report_equals_dashboard(client, "2026-11", "2026-11-01", "2026-11-30", city=False)
    assert [row[0] for row in book["三率-区(市)"].iter_rows(min_row=2, values_only=True)] == ["市南区", "合计"]
    assert "崂山区城市管理局" not in workbook_rows(book, "三率-承办单位")
    assert client.get("/admin/dashboard/report.xlsx?month=2026-11&district=laoshan").status_code == 404
    client = login_as(months.users["district_manager"])
    assert download(client, "month=2026-11")["概况"]["B3"].value == "市南区"


def test_a_city_role_gets_the_city_or_the_district_it_picks(months: World, login_as: Login):
    client = login_as(months.users["city_dispatcher"])
    assert download(client, "month=2026-11")["概况"]["B3"].value == "全市"
    book = assert_report_equals_dashboard(client, "2026-11", "2026-11-01", "2026-11-30", district="laoshan")
    assert book["概况"]["B3"].value == "崂山区"
    assert list(workbook_rows(book, "三率-承办单位")) == ["崂山区城市管理局"]
    assert client.get("/admin/dashboard/report.xlsx?month=2026-11&district=atlantis").status_code == 404


@pytest.mark.parametrize("month", ["2026-13", "2026/11", "x", "1999-12"])
def test_a_bad_month_is_400_with_the_reason(months: World, login_as: Login, month: str):
    response = login_as(months.users["leader"]).get(f"/admin/dashboard/report.xlsx?month={month}")
    assert response.status_code == 400
    assert "月份" in response.get_data(as_text=True)


def test_without_a_month_the_download_is_last_months(months: World, login_as: Login):
    response = login_as(months.users["leader"]).get("/admin/dashboard/report.xlsx")
    assert response.status_code == 200
    assert "qingsu-report-2026-10.xlsx" in response.headers["Content-Disposition"]


@pytest.mark.parametrize("key", ["urban_handler", "hotline"])
def test_unit_staff_and_the_hotline_cannot_download_it(world: World, login_as: Login, key: str):
    assert login_as(world.users[key]).get("/admin/dashboard/report.xlsx?month=2026-11").status_code == 403


def test_the_dashboard_links_to_the_download(months: World, login_as: Login):
    page = login_as(months.users["dispatcher"]).get("/admin/dashboard/").get_data(as_text=True)
    assert 'action="/admin/dashboard/report.xlsx"' in page and 'name="month" value="2026-10"' in page
