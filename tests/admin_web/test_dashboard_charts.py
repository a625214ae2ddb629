"""The dashboard's charts (`admin_web.dashboard_charts`): each chart is on the page as SVG and as a table, and as a
CSV with the same figures; a district's bar leads to its dashboard, any other bar to the petitions behind it, as
many as the bar says; the unit league marks its bottom ten; the tallies give the same figures as a live count."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from admin_web.dashboard_charts import bottom, league, trend_months
from models import Petition, User
from models.enums import DeptType, Light, PetitionKind, PetitionState
from tests.admin_web import f2_support
from tests.admin_web.f2_support import World
from tests.admin_web.test_dashboard import _rated, _running
from tests.factories import make_petition
from workflow.rates import Rate, Rates
from workflow.tallies import rebuild

site, world = f2_support.site, f2_support.world

Login = Callable[[User], FlaskClient]
SHANGHAI = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)  # a Wednesday in a plain working week
PINNED = pytest.mark.parametrize("clock", [NOW], indirect=True)
PERIOD = "start=2026-01-01&end=2026-11-25"


def at(month: int, day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=SHANGHAI).astimezone(dt.UTC)


@pytest.fixture
def scene(world: World) -> World:
    """Rated petitions in 市南区 and 崂山区 (November), petitions received from March to November of each kind and
    several department types (one just after midnight in Shanghai on 1 September, 16:00 UTC the day before), and
    running petitions of each light."""
    _rated(world, "shinan", world.urban, satisfied=True, resolved=True, on_time=True, at=at(11, 23))
    _rated(world, "shinan", world.urban, satisfied=True, resolved=False, on_time=False, at=at(11, 23))
    _rated(world, "shinan", world.housing, satisfied=False, resolved=True, on_time=False, at=at(11, 23))
    _rated(
        world, "laoshan", world.laoshan_urban, satisfied=False, resolved=False, on_time=True, at=at(11, 23)
    )
    received = [
        ("shinan", PetitionKind.LIVELIHOOD, DeptType.URBAN_MGMT, at(3, 2)),
        ("shinan", PetitionKind.DEVELOPMENT, DeptType.MARKET, at(9, 1, hour=0)),
        ("shinan", PetitionKind.LIVELIHOOD, None, at(10, 31, hour=23)),
        ("shinan", PetitionKind.ENFORCEMENT, DeptType.URBAN_MGMT, at(11, 2)),
        ("laoshan", PetitionKind.LIVELIHOOD, DeptType.HOUSING, at(11, 24)),
        ("laoshan", PetitionKind.DEVELOPMENT, DeptType.HOUSING, at(11, 25, hour=9)),
    ]
    for district, kind, dept, created in received:
        origin = world.street if kind == PetitionKind.ENFORCEMENT else None
        p = make_petition(world.session, district_code=district, kind=kind, now=created, origin_unit=origin)
        p.dept_type = dept
    now = NOW.astimezone(dt.UTC)
    month, hour = dt.timedelta(days=30), dt.timedelta(hours=1)
    _running(world, "shinan", Light.BLUE, now - month, now - hour)  # red now, though stored blue
    _running(world, "shinan", None, now - month, now + hour)  # yellow now
    _running(world, "shinan", Light.RED, now - hour, now + month)  # blue now, though stored red
    _running(world, "laoshan", None, now - month, now - 2 * hour)  # red
    world.session.commit()
    return world


def page_of(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


def chart_section(page: str, name: str) -> str:
    start = page.index(f'id="chart-{name}"')
    return page[start : page.index("</table>", start)]


def table_rows(section: str) -> list[list[tuple[str, str | None]]]:
    """The chart's table: per row, per cell its text and link."""
    body = section[section.index("<tbody>") :]
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S):
        cells = []
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S):
            link = re.match(r'<a href="([^"]*)">(.*)</a>', cell.strip(), re.S)
            if link:
                cells.append((html.unescape(link.group(2)), html.unescape(link.group(1))))
            else:
                cells.append((html.unescape(cell.strip()), None))
        rows.append(cells)
    return rows


def listed(client: FlaskClient, href: str) -> int:
    """How many petitions the list behind a link holds (its own count)."""
    page = page_of(client, href)
    return int(re.search(r"共 (\d+) 条", page).group(1))


def csv_rows(client: FlaskClient, name: str, query: str) -> list[list[str]]:
    response = client.get(f"/admin/dashboard/chart/{name}.csv?{query}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    data = response.get_data()
    assert data.startswith("\ufeff".encode())  # Excel reads the Chinese only with the byte-order mark
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


@PINNED
def test_the_city_page_shows_every_chart_as_svg_and_table_and_a_district_page_no_comparison(
    scene: World, login_as: Login, clock: object
):
    page = page_of(login_as(scene.users["leader"]), f"/admin/dashboard/?{PERIOD}")
    for name in ("trend", "districts", "lights", "kinds", "departments", "units"):
        section = chart_section(page, name)
        assert '<svg class="chart' in section and 'role="img"' in section and "aria-label=" in section
        assert "<table" in section and f"/admin/dashboard/chart/{name}.csv" in section
    district = page_of(login_as(scene.users["dispatcher"]), f"/admin/dashboard/?{PERIOD}")
    assert 'id="chart-districts"' not in district and 'id="chart-trend"' in district
    assert login_as(scene.users["dispatcher"]).get("/admin/dashboard/chart/districts.csv").status_code == 404


@PINNED
def test_every_bar_leads_to_as_many_petitions_as_it_says(scene: World, login_as: Login, clock: object):
    for user in ("leader", "dispatcher"):
        client = login_as(scene.users[user])
        page = page_of(client, f"/admin/dashboard/?{PERIOD}")
        checked = 0
        for name in ("trend", "kinds", "departments"):
            for row in table_rows(chart_section(page, name)):
                (_, href), (figure, _) = row[0], row[1]
                assert href and href.startswith("/admin/search?"), (name, row)
                assert listed(client, href) == int(figure.replace(",", "")), (user, name, row)
                checked += int(figure.replace(",", "")) > 0
        for row in table_rows(chart_section(page, "lights")):
            for figure, href in row[1:]:
                assert "light_now=" in href
                assert listed(client, href) == int(figure), (user, row)
                checked += int(figure) > 0
        assert checked >= 8


@PINNED
def test_the_figures_are_those_of_the_page_and_the_search(scene: World, login_as: Login, clock: object):
    client = login_as(scene.users["leader"])
    by_district = {row[0]: row for row in csv_rows(client, "districts", PERIOD)[1:]}
    # The rates of the page's own table of districts, and the petitions received: in 市南区 the three rated, the
    # four received from March on and the three running; in 崂山区 one, two and one.
    assert by_district["市南区"][:5] == ["市南区", "10", "66.67%", "66.67%", "33.33%"]
    assert by_district["崂山区"][:5] == ["崂山区", "4", "0.00%", "0.00%", "100.00%"]
    page = page_of(client, f"/admin/dashboard/?{PERIOD}")
    table = page[page.index("<h2>各区(市)</h2>") :]
    assert "66.67%" in table.split("市南区")[1].split("</tr>")[0]
    assert listed(client, "/admin/search?district=shinan&date_from=2026-01-01&date_to=2026-11-25") == 10
    kinds = {row[0]: row for row in csv_rows(client, "kinds", PERIOD)[1:]}
    departments = {row[0]: int(row[1]) for row in csv_rows(client, "departments", PERIOD)[1:]}
    assert sum(int(row[1]) for row in kinds.values()) == sum(departments.values()) == 14
    assert [int(kinds[k.label][1]) for k in PetitionKind] == [11, 2, 1]
    # Only the petitions received with a department type have one; the rated and running ones were never dispatched.
    assert departments == {"城市管理/综合执法": 2, "住房城乡建设": 2, "市场监管": 1, "未分拨": 9}
    lights = {row[0]: row[1:] for row in csv_rows(client, "lights", PERIOD)[1:]}
    assert lights["市南区"] == ["1", "1", "1"] and lights["崂山区"] == ["1", "0", "0"]
    trend = {row[0]: row for row in csv_rows(client, "trend", PERIOD)[1:]}
    assert list(trend) == [f"{y}-{m:02d}" for y, m in [(2025, 12), *((2026, m) for m in range(1, 12))]]
    assert [trend[m][1] for m in ("2026-02", "2026-03", "2026-08", "2026-09", "2026-10")] == [
        "0",
        "1",
        "0",
        "1",
        "4",
    ]
    assert trend["2026-11"][1:5] == ["8", "50.00%", "50.00%", "50.00%"]


@PINNED
@pytest.mark.parametrize("tallied", [False, True], ids=["live", "tallied"])
def test_the_trend_is_the_same_whatever_day_the_period_starts(
    scene: World, login_as: Login, clock: object, site, tallied: bool
):
    if tallied:
        rebuild(site, NOW.astimezone(dt.UTC))
        scene.session.commit()
    client = login_as(scene.users["leader"])
    # From before the twelve months, at a month's start, within the month of a petition (31 October, 23:00), on
    # the last day: the months before the start are counted apart and added to the period's own.
    trends = [
        csv_rows(client, "trend", f"start={start}&end=2026-11-25")
        for start in ("2025-06-01", "2026-01-01", "2026-10-31", "2026-11-25")
    ]
    assert trends[0][1:] and all(trend == trends[0] for trend in trends)


@PINNED
def test_the_tallies_give_the_same_charts_as_the_live_count(
    scene: World, login_as: Login, clock: object, site
):
    client = login_as(scene.users["leader"])
    live = {name: csv_rows(client, name, PERIOD) for name in ("trend", "districts", "kinds", "departments")}
    rebuild(site, NOW.astimezone(dt.UTC))
    scene.session.commit()
    for name, rows in live.items():
        assert csv_rows(client, name, PERIOD) == rows, name


@PINNED
def test_a_district_leads_to_its_own_dashboard(scene: World, login_as: Login, clock: object):
    client = login_as(scene.users["leader"])
    page = page_of(client, f"/admin/dashboard/?{PERIOD}")
    rows = table_rows(chart_section(page, "districts"))
    (name, href) = rows[0][0]
    assert name == "市南区" and href == "/admin/dashboard/?district=shinan&start=2026-01-01&end=2026-11-25"
    assert "数据看板 · 市南区" in page_of(client, href)
    svg = page[page.index('id="chart-districts"') : page.index("</svg>", page.index('id="chart-districts"'))]
    assert 'href="/admin/dashboard/?district=shinan&amp;start=2026-01-01&amp;end=2026-11-25"' in svg


@PINNED
def test_a_district_user_gets_only_their_district_and_no_unknown_chart(
    scene: World, login_as: Login, clock: object
):
    client = login_as(scene.users["dispatcher"])
    lights = csv_rows(client, "lights", PERIOD)
    assert [row[0] for row in lights[1:]] == ["市南区"]
    assert client.get("/admin/dashboard/chart/lights.csv?district=laoshan").status_code == 404
    assert client.get("/admin/dashboard/chart/nonsense.csv").status_code == 404
    assert login_as(scene.users["urban_handler"]).get("/admin/dashboard/chart/lights.csv").status_code in (
        302,
        403,
    )


def test_the_league_ranks_by_satisfaction_then_resolution_then_on_time():
    rates = Rates(
        resolution={"1": Rate(1, 2), "2": Rate(2, 2), "3": Rate(2, 2), "4": Rate(0, 1)},
        satisfaction={"1": Rate(2, 2), "2": Rate(1, 2), "3": Rate(1, 2), "4": Rate(0, 1)},
        on_time={"2": Rate(0, 2), "3": Rate(2, 2), "5": Rate(1, 1)},
    )
    # Unit 5 replied but was not rated: it has no satisfaction rate to rank by.
    assert [key for key, _ in league(rates)] == ["1", "3", "2", "4"]


@pytest.mark.parametrize(
    ("ranked", "marked"), [(0, 0), (1, 0), (2, 1), (7, 3), (20, 10), (21, 10), (300, 10)]
)
def test_the_bottom_ten_are_marked_but_never_more_than_half_the_league(ranked: int, marked: int):
    assert bottom(ranked) == marked


@PINNED
def test_the_league_table_and_its_csv_mark_the_bottom_units(scene: World, login_as: Login, clock: object):
    client = login_as(scene.users["leader"])
    rows = csv_rows(client, "units", PERIOD)
    assert rows[0] == ["名次", "单位", "满意率", "解决率", "按期办结率", "已评价", "已答复", "末位"]
    # 市南区城市管理局 2/2 satisfied; 住房和城乡建设局 and 崂山区城市管理局 0/1 each, the former resolved: above.
    assert [(r[0], r[1], r[2], r[3], r[-1]) for r in rows[1:]] == [
        ("1", "市南区城市管理局", "100.00%", "50.00%", ""),
        ("2", "市南区住房和城乡建设局", "0.00%", "100.00%", ""),
        ("3", "崂山区城市管理局", "0.00%", "0.00%", "是"),
    ]
    page = page_of(client, f"/admin/dashboard/?{PERIOD}")
    section = chart_section(page, "units")
    assert section.count('<tr class="marked">') == 1


def test_the_trend_is_the_twelve_months_up_to_the_period_end():
    months = trend_months(dt.date(2026, 3, 15))
    assert months[0] == dt.date(2025, 4, 1) and months[-1] == dt.date(2026, 3, 1) and len(months) == 12


@PINNED
def test_the_search_filters_by_department_type_and_the_light_now(
    scene: World, login_as: Login, clock: object
):
    client = login_as(scene.users["leader"])
    assert listed(client, "/admin/search?dept=housing") == 2
    assert listed(client, "/admin/search?dept=urban_mgmt&district=shinan") == 2
    assert listed(client, "/admin/search?light_now=red") == 2
    # The stored light says otherwise for two of them; the list follows the light now, as the dashboard does.
    assert listed(client, "/admin/search?light=red") == 1
    page = page_of(client, "/admin/search?dept=nonsense&light_now=green")
    assert "筛选条件「nonsense」无效" in page and "筛选条件「green」无效" in page


@PINNED
def test_a_petition_has_no_light_once_closed(scene: World, login_as: Login, clock: object) -> None:
    p = scene.session.query(Petition).filter(Petition.state == PetitionState.HANDLING).first()
    p.state, p.closed_at = PetitionState.CLOSED, p.deadline
    scene.session.commit()
    client = login_as(scene.users["leader"])
    total = sum(listed(client, f"/admin/search?light_now={light.value}") for light in Light)
    assert total == 3
