"""Staff alerts on the admin site: the scheduler's yellow reminders on the unit workbench, red alerts in the platform's
queue, daily summaries on the district manager's dashboard; marking one read (CSRF, audit, scope: 404 for anyone
the alert is not addressed to).

The alerts are written by the real jobs (`workflow.jobs`) at named instants, not by hand.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from admin_web.views.alerts import alert_scope
from models import AuditLog, Petition, StaffAlert, User
from models.enums import Role
from tests.admin_web.conftest import World
from tests.factories import make_user
from workflow import jobs

SH = dt.timezone(dt.timedelta(hours=8))
# A simple complaint accepted on Monday 2026-11-23 is due Wednesday 24:00 (two working days, Qingdao time).
WED_NOON = dt.datetime(2026, 11, 25, 12, tzinfo=SH)  # yellow: a third of the time left
THU_1AM = dt.datetime(2026, 11, 26, 1, tzinfo=SH)  # red: an hour past the deadline
TUE_8AM = dt.datetime(2026, 11, 24, 8, tzinfo=SH)  # the daily summary of Monday
ALERT_ID = re.compile(r'data-alert="(\d+)"')
DISPATCH = {"nature": "complaint", "complexity": "simple"}


@dataclass
class Alerted:
    """Three accepted petitions (市南区 at its urban bureau, 崂山区 at its own, one at a city department), each with
    its yellow reminder and red alert, and both districts' daily summaries."""

    world: World
    shinan: Petition
    laoshan: Petition
    city: Petition

    def alert(self, kind: str, petition: Petition | None = None, district: str | None = None) -> StaffAlert:
        query = select(StaffAlert).where(StaffAlert.kind == kind)
        if petition is not None:
            query = query.where(StaffAlert.petition_id == petition.id)
        if district is not None:
            query = query.where(StaffAlert.district_code == district)
        self.world.session.expire_all()
        return self.world.session.scalars(query).one()


@pytest.fixture
def alerted(app: Flask, world: World) -> Alerted:
    w = world
    shinan = w.assigned_to_urban(content="我的电话是13812341234。小区楼下烧烤摊每天营业到凌晨两点。")
    w.do(shinan, "accept", w.urban_handler)

    laoshan = w.petition(district_code="laoshan", citizen=None)
    laoshan_dispatcher = w.laoshan_dispatcher
    w.do(laoshan, "dispatch", laoshan_dispatcher, unit_id=w.laoshan_urban.id, **DISPATCH)
    w.do(laoshan, "accept", make_user(w.session, Role.HANDLER, unit=w.laoshan_urban))

    city = w.petition()
    w.do(
        city,
        "send_to_city",
        w.dispatcher,
        kind="livelihood",
        dept_type="housing",
        note="需市住建局办理",
        **DISPATCH,
    )
    w.do(city, "city_dispatch", w.city_dispatcher, kind="livelihood", unit_id=w.city_housing.id, **DISPATCH)
    w.do(city, "accept", w.city_handler)

    assert jobs.recompute_lights(app, WED_NOON).yellow_reminders == 3
    assert jobs.recompute_lights(app, THU_1AM).red_alerts == 3
    assert jobs.daily_summary(app, TUE_8AM) == 2
    return Alerted(w, shinan, laoshan, city)


def shown(client: FlaskClient, path: str) -> set[int]:
    """The ids of the alerts on the page."""
    response = client.get(path)
    assert response.status_code == 200, path
    return {int(i) for i in ALERT_ID.findall(response.get_data(as_text=True))}


def alerts_section(client: FlaskClient, path: str) -> str:
    """The alerts card of the page at `path`."""
    page = client.get(path).get_data(as_text=True)
    start = page.index('id="alerts"')
    return page[start : page.index("</section>", start)]


def test_the_jobs_address_the_alerts_as_the_pages_expect(alerted: Alerted):
    w = alerted.world
    assert alerted.alert("yellow", alerted.shinan).unit_id == w.urban.id
    assert alerted.alert("red", alerted.shinan).unit_id == w.platform.id
    assert alerted.alert("yellow", alerted.city).unit_id == w.city_housing.id
    assert alerted.alert("red", alerted.city).unit_id == w.city_platform.id


def test_the_unit_workbench_shows_its_units_reminders(alerted: Alerted, login_as):
    w = alerted.world
    yellow = alerted.alert("yellow", alerted.shinan)
    for user in (w.urban_handler, w.urban_reviewer):
        assert shown(login_as(user), "/admin/workbench") == {yellow.id}
    page = alerts_section(login_as(w.urban_handler), "/admin/workbench")
    assert "到期提醒" in page and yellow.title in page
    assert f'href="/admin/petitions/{alerted.shinan.number}"' in page
    # Another unit of the same district, and the city department, see only their own.
    assert shown(login_as(w.housing_handler), "/admin/workbench") == set()
    assert shown(login_as(w.city_handler), "/admin/workbench") == {alerted.alert("yellow", alerted.city).id}


def test_the_platform_queue_shows_its_red_alerts(alerted: Alerted, login_as):
    w = alerted.world
    assert shown(login_as(w.dispatcher), "/admin/queue") == {alerted.alert("red", alerted.shinan).id}
    assert shown(login_as(w.laoshan_dispatcher), "/admin/queue") == {alerted.alert("red", alerted.laoshan).id}
    # The city platform supervises the petition a city department holds, whichever district it came from.
    assert shown(login_as(w.city_dispatcher), "/admin/queue") == {alerted.alert("red", alerted.city).id}
    page = alerts_section(login_as(w.dispatcher), "/admin/queue")
    assert "督办提醒" in page and "红灯" in page and w.urban.name in page


def test_district_managers_see_their_daily_summary_on_the_dashboard(alerted: Alerted, login_as):
    w = alerted.world
    summary = alerted.alert("daily_summary", district="shinan")
    assert shown(login_as(w.district_manager), "/admin/dashboard/") == {summary.id}
    page = alerts_section(login_as(w.district_manager), "/admin/dashboard/")
    assert "每日办理日报" in page and "市南区11月23日诉求办理日报" in page
    # The dashboard's other readers are not the summary's audience, and no alert is addressed to the city level.
    for user in (w.dispatcher, w.leader, w.city_dispatcher):
        assert shown(login_as(user), "/admin/dashboard/") == set()


def test_alert_texts_are_masked_for_roles_that_may_not_read_phone_numbers(alerted: Alerted, login_as):
    w = alerted.world
    assert "13812341234" in alerts_section(login_as(w.urban_handler), "/admin/workbench")
    page = alerts_section(login_as(w.urban_reviewer), "/admin/workbench")
    assert "13812341234" not in page and "138****1234" in page


def test_marking_read_hides_the_alert_for_the_whole_unit_and_is_audited(alerted: Alerted, login_as, csrf):
    w = alerted.world
    yellow = alerted.alert("yellow", alerted.shinan)
    client = login_as(w.urban_handler)
    response = client.post(
        f"/admin/alerts/{yellow.id}/read",
        data={"csrf_token": csrf("/admin/workbench"), "next": "/admin/workbench"},
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/workbench")
    read_at = alerted.alert("yellow", alerted.shinan).read_at
    assert read_at is not None
    assert shown(client, "/admin/workbench") == set()
    assert shown(login_as(w.urban_reviewer), "/admin/workbench") == set()
    (row,) = w.session.scalars(select(AuditLog).where(AuditLog.action == "alert_read"))
    assert (row.user_id, row.target) == (w.urban_handler.id, f"alert:{yellow.id}")

    # Again (a second tab, a colleague): nothing changes, no second audit row; an outside `next` is not followed.
    client = login_as(w.urban_reviewer)
    response = client.post(
        f"/admin/alerts/{yellow.id}/read",
        data={"csrf_token": csrf("/admin/workbench"), "next": "//evil.example"},
    )
    assert response.status_code == 302 and "evil" not in response.headers["Location"]
    assert alerted.alert("yellow", alerted.shinan).read_at == read_at
    assert len(w.session.scalars(select(AuditLog).where(AuditLog.action == "alert_read")).all()) == 1


@pytest.mark.parametrize(
    ("reader", "kind", "which"),
    [
        ("housing_handler", "yellow", "shinan"),  # another unit of the same district
        ("city_handler", "yellow", "shinan"),
        ("urban_handler", "red", "shinan"),  # the platform's alert about the unit's own petition
        ("dispatcher", "yellow", "shinan"),  # the unit's reminder, not the platform's
        ("dispatcher", "red", "laoshan"),  # another district's platform
        ("dispatcher", "red", "city"),  # the city platform's
        ("laoshan_dispatcher", "red", "shinan"),
        ("city_dispatcher", "red", "shinan"),  # a district platform's
        ("district_manager", "red", "shinan"),  # the platform's, not the managers'
        ("district_manager", "summary", "laoshan"),
        ("urban_handler", "summary", "shinan"),
    ],
)
def test_nobody_marks_an_alert_addressed_to_someone_else(
    alerted: Alerted, login_as, csrf, reader: str, kind: str, which: str
):
    w = alerted.world
    if kind == "summary":
        alert = alerted.alert("daily_summary", district=which)
    else:
        alert = alerted.alert(kind, getattr(alerted, which))
    user: User = getattr(w, reader)
    client = login_as(user)
    response = client.post(f"/admin/alerts/{alert.id}/read", data={"csrf_token": csrf("/admin/search")})
    assert response.status_code == 404
    assert (
        alerted.alert(alert.kind, alert.petition, None if alert.petition else alert.district_code).read_at
        is None
    )


def test_an_unknown_alert_is_404_and_roles_without_alerts_are_refused(alerted: Alerted, login_as, csrf):
    w = alerted.world
    client = login_as(w.urban_handler)
    assert (
        client.post("/admin/alerts/999999/read", data={"csrf_token": csrf("/admin/workbench")}).status_code
        == 404
    )
    summary = alerted.alert("daily_summary", district="shinan")
    # The leader reads early warnings only: a district's summary is not theirs (404, as for any other's alert).
    client = login_as(w.leader)
    assert (
        client.post(
            f"/admin/alerts/{summary.id}/read", data={"csrf_token": csrf("/admin/search")}
        ).status_code
        == 404
    )
    client = login_as(make_user(w.session, Role.HOTLINE, district_code=None, username="hotline_user"))
    assert (
        client.post(
            f"/admin/alerts/{summary.id}/read", data={"csrf_token": csrf("/admin/search")}
        ).status_code
        == 403
    )


def test_marking_read_needs_the_csrf_token(alerted: Alerted, login_as):
    yellow = alerted.alert("yellow", alerted.shinan)
    response = login_as(alerted.world.urban_handler).post(f"/admin/alerts/{yellow.id}/read", data={})
    assert response.status_code == 400
    assert alerted.alert("yellow", alerted.shinan).read_at is None


def test_a_deactivated_user_reads_no_alerts(alerted: Alerted):
    w = alerted.world
    w.urban_handler.active = False
    assert w.session.scalars(select(StaffAlert.id).where(alert_scope(w.urban_handler))).all() == []
