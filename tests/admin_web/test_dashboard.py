"""The leadership dashboard: the rates by district, unit, kind and month, light counts, overdue warnings, hot issues
and suggestion acceptance — each for the viewer's scope."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from admin_web.dashboard import running_lights
from models import Evaluation, Petition, Reply, Unit, User, utcnow
from models.enums import DeptType, Light, PetitionState, ReplyState, Resolution, Satisfaction
from tests.admin_web import f2_support
from tests.admin_web.f2_support import World
from tests.factories import MONDAY_10AM, make_petition
from workflow.calendar import load_calendar
from workflow.hot_issues import compute_hot_issues
from workflow.lights import light_for

# The shared fixtures (tests/admin_web/conftest.py belongs to the admin site's own tests).
site, world = f2_support.site, f2_support.world

Login = Callable[[User], FlaskClient]
PERIOD = "start=2026-11-01&end=2026-11-30"
# Tests whose petitions sit at fixed offsets from now (or at fixed dates in November 2026) expect a plain working
# week around them: they keep this day whatever QINGSU_TEST_NOW says.
WORKING_WEEK = pytest.mark.parametrize(
    "clock", [dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))], indirect=True
)

SUGGESTION = {"departments": [{"type": "urban_mgmt", "score": 0.8}], "terms": ["烧烤", "油烟"]}


def _rated(
    world: World,
    district: str,
    unit: Unit,
    satisfied: bool,
    resolved: bool,
    on_time: bool,
    at: dt.datetime = MONDAY_10AM,
) -> Petition:
    """A petition answered by `unit` and rated by the citizen, written as the workflow leaves it."""
    petition = make_petition(world.session, district_code=district, now=at)
    petition.state = PetitionState.CLOSED
    world.session.add(
        Reply(
            petition_id=petition.id,
            unit_id=unit.id,
            petitioner_info="-",
            policy_basis="-",
            result="-",
            responsible_person="-",
            contact_phone="0532-1",
            state=ReplyState.SENT,
            created_at=at,
            sent_at=at,
            on_time=on_time,
        )
    )
    world.session.add(
        Evaluation(
            petition_id=petition.id,
            handling_round=1,
            unit_id=unit.id,
            created_at=at,
            satisfaction=Satisfaction.SATISFIED if satisfied else Satisfaction.UNSATISFIED,
            resolution=Resolution.RESOLVED if resolved else Resolution.UNRESOLVED,
        )
    )
    world.session.commit()
    return petition


@pytest.fixture
def rated(world: World) -> World:
    """市南区: 3 rated (2 resolved, 3 satisfied, 1 on time) across two units; 崂山区: 1 rated, unresolved."""
    _rated(world, "shinan", world.urban, satisfied=True, resolved=True, on_time=True)
    _rated(world, "shinan", world.urban, satisfied=True, resolved=False, on_time=False)
    _rated(world, "shinan", world.housing, satisfied=True, resolved=True, on_time=False)
    _rated(world, "laoshan", world.laoshan_urban, satisfied=False, resolved=False, on_time=True)
    return world


def _section(page: str, element_id: str) -> str:
    start = page.index(f'id="{element_id}"')
    return page[start : page.index("</section>", start)]


def test_the_leader_sees_the_city_and_every_district(rated: World, login_as: Login):
    page = login_as(rated.users["leader"]).get(f"/admin/dashboard/?{PERIOD}").get_data(as_text=True)
    overall = _section(page, "overall")
    # 4 rated: 2 resolved, 3 satisfied; 4 replies: 2 on time.
    assert "50.00%" in overall and "75.00%" in overall
    # 市南区 comes before 崂山区, as in the list of the ten (not alphabetically: laoshan < shinan).
    districts = page[page.index("<h2>各区(市)</h2>") :]
    assert districts.index("市南区") < districts.index("崂山区")
    assert "66.67%" in page  # 市南区's resolution rate: 2 of 3
    assert "市南区城市管理局" in page and "市南区住房和城乡建设局" in page and "崂山区城市管理局" in page


def test_a_district_dispatcher_sees_only_their_district(rated: World, login_as: Login):
    client = login_as(rated.users["dispatcher"])
    page = client.get(f"/admin/dashboard/?{PERIOD}").get_data(as_text=True)
    overall = _section(page, "overall")
    assert "66.67%" in overall and "100.00%" in overall and "33.33%" in overall
    assert "崂山区城市管理局" not in page
    assert client.get(f"/admin/dashboard/?district=laoshan&{PERIOD}").status_code == 404


def test_a_city_role_may_pick_one_district(rated: World, login_as: Login):
    page = login_as(rated.users["city_dispatcher"]).get(f"/admin/dashboard/?district=laoshan&{PERIOD}")
    overall = _section(page.get_data(as_text=True), "overall")
    assert "0.00%" in overall and "市南区城市管理局" not in page.get_data(as_text=True)


def test_the_period_limits_the_rates(rated: World, login_as: Login):
    page = login_as(rated.users["leader"]).get("/admin/dashboard/?start=2026-12-01&end=2026-12-31")
    assert "这一时期还没有评价或答复" in _section(page.get_data(as_text=True), "overall")


@pytest.mark.parametrize("key", ["urban_handler", "urban_reviewer", "hotline"])
def test_unit_staff_and_the_hotline_have_no_dashboard(world: World, login_as: Login, key: str):
    assert login_as(world.users[key]).get("/admin/dashboard/").status_code == 403


@WORKING_WEEK
def test_lights_overdue_hot_issues_and_acceptance(site: Flask, world: World, login_as: Login):
    now = utcnow()
    for light, deadline in (
        (Light.RED, now - dt.timedelta(days=2)),
        (Light.RED, now - dt.timedelta(hours=1)),
        (Light.YELLOW, now + dt.timedelta(hours=3)),
        (Light.BLUE, now + dt.timedelta(days=4)),
    ):
        # Accepted a day before now or before the deadline, whichever is earlier: a deadline follows acceptance.
        accepted = min(now, deadline) - dt.timedelta(days=1)
        p = make_petition(world.session, now=accepted, suggestion=SUGGESTION)
        p.state, p.light, p.deadline, p.accepted_at = PetitionState.HANDLING, light, deadline, accepted
        p.current_unit_id = world.urban.id
        p.dept_type, p.suggestion_accepted = DeptType.URBAN_MGMT, light != Light.BLUE
    # Another district's red light is not the 市南区 dispatcher's business.
    laoshan = make_petition(world.session, district_code="laoshan", now=now - dt.timedelta(days=1))
    laoshan.state, laoshan.light, laoshan.deadline = (
        PetitionState.HANDLING,
        Light.RED,
        now - dt.timedelta(days=1),
    )
    world.session.commit()

    days = f"start={(now - dt.timedelta(days=3)).date()}&end={(now + dt.timedelta(days=3)).date()}"
    page = login_as(world.users["dispatcher"]).get(f"/admin/dashboard/?{days}").get_data(as_text=True)
    lights = _section(page, "lights")
    assert "红灯 2" in lights and "黄灯 1" in lights and "蓝灯 1" in lights
    warnings = _section(page, "warnings")
    assert "2 件诉求已超期" in warnings and laoshan.number not in warnings
    assert "热点尚未计算" in _section(page, "hot")
    # The hot issues come from the scheduler's job: the four reports of one matter are one, with its department.
    compute_hot_issues(site, now)
    page = login_as(world.users["dispatcher"]).get(f"/admin/dashboard/?{days}").get_data(as_text=True)
    hot = _section(page, "hot")
    assert "城市管理/综合执法" in hot and "4 件" in hot and "烧烤" in hot
    acceptance = _section(page, "acceptance")
    assert "75.00%" in acceptance and "4 件中，3 件" in acceptance


# Days on which the dashboard's lights must agree with the definition (`light_for`): a plain working week, the
# National Day holiday week, the Spring Festival of 2026, the turn of the year and a make-up working Sunday.
SHANGHAI = dt.timezone(dt.timedelta(hours=8))
DAYS = [
    dt.datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI),
    dt.datetime(2026, 10, 3, 9, 30, tzinfo=SHANGHAI),
    dt.datetime(2026, 2, 18, 15, 0, tzinfo=SHANGHAI),
    dt.datetime(2026, 12, 31, 23, 0, tzinfo=SHANGHAI),
    dt.datetime(2026, 9, 20, 8, 0, tzinfo=SHANGHAI),
]


@pytest.mark.parametrize("clock", DAYS, indirect=True, ids=[d.date().isoformat() for d in DAYS])
def test_the_lights_follow_the_working_calendar_on_any_day(world: World, login_as: Login, clock: Any):
    now = utcnow()
    calendar = load_calendar(world.session)
    hour, day = dt.timedelta(hours=1), dt.timedelta(days=1)
    expected = {Light.RED: 0, Light.YELLOW: 0, Light.BLUE: 0}
    overdue: list[str] = []
    for accepted_ago, due_in in ((3 * day, -day), (day, -hour), (day, 3 * hour), (day, 4 * day), (hour, 9 * day)):
        accepted, deadline = now - accepted_ago, now + due_in
        p = make_petition(world.session, now=accepted)
        p.state, p.accepted_at, p.deadline, p.light = PetitionState.HANDLING, accepted, deadline, None
        p.current_unit_id = world.urban.id
        light = light_for(now, accepted, deadline, calendar, 0.34)
        expected[light] += 1
        if light == Light.RED:
            overdue.append(p.number)
    world.session.commit()

    page = login_as(world.users["dispatcher"]).get("/admin/dashboard/").get_data(as_text=True)
    lights, warnings = _section(page, "lights"), _section(page, "warnings")
    for light, label in ((Light.RED, "红灯"), (Light.YELLOW, "黄灯"), (Light.BLUE, "蓝灯")):
        assert f"{label} {expected[light]}" in lights
    assert f"{len(overdue)} 件诉求已超期" in warnings
    assert all(number in warnings for number in overdue)


def _running(
    world: World, district: str, stored: Light | None, accepted: dt.datetime, deadline: dt.datetime
) -> Petition:
    """A petition handled by the district's urban bureau, with the light the scheduler last stored (maybe stale)."""
    p = make_petition(world.session, district_code=district, now=accepted)
    p.state, p.light, p.accepted_at, p.deadline = PetitionState.HANDLING, stored, accepted, deadline
    p.current_unit_id = (world.urban if district == "shinan" else world.laoshan_urban).id
    return p


def test_light_counts_are_computed_now_and_agree_with_the_overdue_list(world: World, login_as: Login):
    # The stored lights are stale on purpose (the job runs every few minutes): the page must not trust them.
    now = utcnow()
    month, hour = dt.timedelta(days=30), dt.timedelta(hours=1)
    overdue_stored_blue = _running(world, "shinan", Light.BLUE, now - month, now - hour)
    overdue_never_lit = _running(world, "shinan", None, now - month, now - 2 * hour)
    _running(world, "shinan", Light.BLUE, now - month, now + hour)  # yellow now: little of a month left
    in_time_stored_red = _running(world, "shinan", Light.RED, now - hour, now + month)
    laoshan_overdue = _running(world, "laoshan", Light.YELLOW, now - month, now - hour)
    closed = _running(world, "shinan", Light.RED, now - month, now - month / 2)
    closed.state, closed.closed_at = PetitionState.CLOSED, now - month / 2
    world.session.commit()

    page = login_as(world.users["dispatcher"]).get("/admin/dashboard/").get_data(as_text=True)
    lights, warnings = _section(page, "lights"), _section(page, "warnings")
    assert "红灯 2" in lights and "黄灯 1" in lights and "蓝灯 1" in lights
    assert "2 件诉求已超期" in warnings
    assert overdue_stored_blue.number in warnings and overdue_never_lit.number in warnings
    assert in_time_stored_red.number not in warnings and closed.number not in warnings
    # The longest overdue first.
    assert warnings.index(overdue_never_lit.number) < warnings.index(overdue_stored_blue.number)

    page = login_as(world.users["leader"]).get("/admin/dashboard/").get_data(as_text=True)
    lights, warnings = _section(page, "lights"), _section(page, "warnings")
    assert "红灯 3" in lights and "3 件诉求已超期" in warnings and laoshan_overdue.number in warnings
    laoshan_row = lights[lights.index("<td>崂山区</td>") :].split("</tr>")[0]
    assert laoshan_row == "<td>崂山区</td><td>1</td><td>0</td><td>0</td>"


def test_the_lights_take_three_queries_for_the_petitions(world: World):
    now = utcnow()
    month = dt.timedelta(days=30)
    for district in ("shinan", "shinan", "laoshan"):
        _running(world, district, None, now - month, now - month / 3)
    world.session.commit()
    calendar = load_calendar(world.session)
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    engine = world.session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        world.session.expire_all()
        lit = running_lights(world.session, None, now, calendar, 0.34)
        # What the page reads of each overdue petition comes with the overdue list's query.
        shown = [(p.number, p.current_unit.name, p.deadline) for p in lit.overdue if p.current_unit]
    finally:
        event.remove(engine, "before_cursor_execute", record)
    # The span of days the lights need, the counts, the overdue list with its units: whatever the petitions.
    assert len(statements) == 3, statements
    assert len(shown) == lit.overdue_total == 3
    assert lit.counts == {
        "shinan": {Light.RED: 2, Light.YELLOW: 0, Light.BLUE: 0},
        "laoshan": {Light.RED: 1, Light.YELLOW: 0, Light.BLUE: 0},
    }


@WORKING_WEEK
def test_a_dashboard_page_takes_as_many_statements_for_50_petitions_as_for_5(world: World, login_as: Login):
    """The page's statements do not grow with the petitions: rates, lights and lists are counted by the database."""
    units = (world.urban, world.housing)
    long_ago = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)

    def add(n: int) -> None:
        for i in range(n):
            _rated(world, "shinan", units[i % 2], satisfied=i % 3 > 0, resolved=i % 4 > 0, on_time=i % 2 == 0)
            # Overdue whatever the day the test runs, and due long after it.
            overdue = _running(world, "shinan", Light.RED, long_ago - dt.timedelta(days=5), long_ago)
            in_time = _running(world, "laoshan", None, long_ago, dt.datetime(2036, 1, 1, tzinfo=dt.UTC))
            for p in (overdue, in_time):
                p.suggestion, p.suggestion_accepted, p.created_at = SUGGESTION, i % 2 == 0, MONDAY_10AM
        world.session.commit()

    engine = world.session.get_bind()
    client = login_as(world.users["leader"])

    def statements_of_one_page() -> int:
        statements: list[str] = []

        def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", record)
        try:
            page = client.get(f"/admin/dashboard/?{PERIOD}")
        finally:
            event.remove(engine, "before_cursor_execute", record)
        assert page.status_code == 200
        return len(statements)

    add(5)
    few = statements_of_one_page()
    add(45)
    many = statements_of_one_page()
    assert few == many, (few, many)
    page = client.get(f"/admin/dashboard/?{PERIOD}").get_data(as_text=True)
    assert "50 件诉求已超期" in _section(page, "warnings") and "红灯 50" in _section(page, "lights")
    assert "<dd>50 / 50</dd>" in _section(page, "overall")


def test_unrated_petitions_are_counted_apart_from_the_satisfaction_rate(rated: World, login_as: Login):
    for closed in (dt.datetime(2026, 11, 10, tzinfo=dt.UTC), dt.datetime(2026, 12, 10, tzinfo=dt.UTC)):
        p = make_petition(rated.session, now=closed - dt.timedelta(days=10))
        p.state, p.closed_at = PetitionState.UNRATED, closed
    rated.session.commit()
    page = login_as(rated.users["leader"]).get(f"/admin/dashboard/?{PERIOD}").get_data(as_text=True)
    overall = _section(page, "overall")
    # One closed unrated in November; the satisfaction rate is still 3 of the 4 rated.
    assert "未评价 <strong>1</strong> 件" in overall and "75.00%" in overall
