"""Early warning on the admin site: the city manager's rules page (create, edit, disable, bad input → the form with
its errors and nothing saved, audited), and the warnings the job raised shown only to the people they concern, with
who acknowledged them.

The warnings are raised by the real job (`workflow.warnings.evaluate_warnings`) over crafted petitions.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from models import AuditLog, StaffAlert, User, WarningRule
from models.enums import Role
from tests.admin_web.conftest import World
from tests.factories import make_petition, make_user
from workflow.engine import perform
from workflow.warnings import evaluate_warnings

SH = dt.timezone(dt.timedelta(hours=8))
MON_9AM = dt.datetime(2026, 11, 23, 9, tzinfo=SH)
MON_NOON = dt.datetime(2026, 11, 23, 12, tzinfo=SH)
THU_1AM = dt.datetime(2026, 11, 26, 1, tzinfo=SH)
WARNING_ID = re.compile(r'data-warning="(\d+)"')


@pytest.fixture
def city_manager(world: World, password_hash: str) -> User:
    user = make_user(world.session, Role.CITY_MANAGER, district_code=None, username="city_manager",
                     password_hash=password_hash)
    world.session.commit()
    return user


def post(client: FlaskClient, csrf: Callable[[str], str], path: str, page: str | None = None, **form: str):  # type: ignore[no-untyped-def]
    """POST `form` to `path` with the CSRF token of `page` (the form's own page by default)."""
    return client.post(path, data={"csrf_token": csrf(page or path), **form})


# --- the rules page ------------------------------------------------------------------------------------------------


def test_the_city_manager_adds_a_surge_rule_for_a_district_and_it_is_audited(
    client: FlaskClient, login_as, csrf, world: World, city_manager: User
):
    login_as(city_manager)
    response = post(client, csrf, "/admin/manage/warnings/new/surge", name="八大关异味", district="shinan",
                    threshold="6", window="12", enabled="1")
    assert response.status_code == 302
    rule = world.session.scalars(select(WarningRule)).one()
    assert (rule.kind, rule.name, rule.district_code, rule.threshold, rule.window_hours, rule.enabled) == (
        "surge", "八大关异味", "shinan", 6, 12, True
    )
    audit = world.session.scalars(select(AuditLog).where(AuditLog.action == "warning_rule_created")).one()
    assert audit.user_id == city_manager.id and audit.target == f"warning_rule:{rule.id}"
    page = client.get("/admin/manage/warnings").get_data(as_text=True)
    assert "八大关异味" in page and "12 小时内 ≥ 6 件" in page and "市南区" in page


def test_the_city_manager_edits_a_rule_and_disables_it(
    client: FlaskClient, login_as, csrf, world: World, city_manager: User
):
    rule = WarningRule(kind="repeat", name="重复", threshold=3, window_hours=24 * 30, enabled=True)
    world.session.add(rule)
    world.session.commit()
    login_as(city_manager)
    form = client.get(f"/admin/manage/warnings/{rule.id}").get_data(as_text=True)
    assert 'name="window" value="30"' in form  # days for this kind

    response = post(client, csrf, f"/admin/manage/warnings/{rule.id}", name="重复诉求", district="city",
                    threshold="4", window="14", enabled="1")
    assert response.status_code == 302
    world.session.expire_all()
    assert (rule.name, rule.threshold, rule.window_hours, rule.enabled, rule.district_code) == (
        "重复诉求", 4, 24 * 14, True, None
    )
    # An unchecked box disables it.
    post(client, csrf, f"/admin/manage/warnings/{rule.id}", name="重复诉求", district="city", threshold="4",
         window="14")
    world.session.expire_all()
    assert rule.enabled is False
    assert world.session.scalar(
        select(AuditLog.detail).where(AuditLog.action == "warning_rule_saved").order_by(AuditLog.id.desc())
    ) == "enabled=False"
    assert "停用" in client.get("/admin/manage/warnings").get_data(as_text=True)


@pytest.mark.parametrize(
    ("kind", "form", "message"),
    [
        ("surge", {"name": "x", "threshold": "abc", "window": "6"}, "请填写整数"),
        ("surge", {"name": "x", "threshold": "1", "window": "6"}, "阈值须在 2 到"),
        ("surge", {"name": "x", "threshold": "5", "window": "500"}, "时间窗须在 1 到 168 小时之间"),
        ("on_time", {"name": "x", "threshold": "120", "window": "7", "min_volume": "10"}, "阈值须在 1 到 100"),
        ("on_time", {"name": "x", "threshold": "90", "window": "7", "min_volume": "0"}, "最少答复件数"),
        ("repeat", {"name": "", "threshold": "3", "window": "30"}, "请填写规则名称"),
        ("red_lights", {"name": "x", "threshold": "3", "district": "atlantis"}, "请选择全市或一个区(市)"),
    ],
)
def test_bad_input_shows_the_form_with_the_error_and_saves_nothing(
    client: FlaskClient, login_as, csrf, world: World, city_manager: User, kind: str, form: dict, message: str
):
    login_as(city_manager)
    response = post(client, csrf, f"/admin/manage/warnings/new/{kind}", **form)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert world.session.scalars(select(WarningRule)).all() == []


def test_an_unknown_kind_or_rule_is_404_and_a_district_manager_cannot_set_rules(
    client: FlaskClient, login_as, world: World, city_manager: User
):
    login_as(city_manager)
    assert client.get("/admin/manage/warnings/new/weather").status_code == 404
    assert client.get("/admin/manage/warnings/999").status_code == 404
    login_as(world.district_manager)
    assert client.get("/admin/manage/warnings").status_code == 403
    assert client.get("/admin/manage/warnings/new/surge").status_code == 403


# --- who sees which warning ----------------------------------------------------------------------------------------


@pytest.fixture
def raised(app: Flask, world: World) -> dict[str, StaffAlert]:
    """A surge in 市南区 and one in 崂山区 (district warnings), and red lights at 市南区's urban bureau (a unit's)."""
    s = world.session
    s.add_all([
        WarningRule(kind="surge", name="激增", threshold=2, window_hours=6),
        WarningRule(kind="red_lights", name="红灯", threshold=2),
    ])
    s.commit()
    for district, street in (("shinan", "八大关街道"), ("laoshan", "沙子口街道")):
        for minute in range(2):
            make_petition(s, district_code=district, now=MON_9AM + dt.timedelta(minutes=minute),
                          suggestion={"departments": [{"type": "ecology", "score": 0.9}],
                                      "place": {"district": district, "street": street, "community": None}})
    for minute in range(2):
        petition = world.petition(now=MON_9AM + dt.timedelta(minutes=minute))
        perform(s, petition, "dispatch", world.dispatcher, MON_9AM + dt.timedelta(minutes=30 + minute),
                unit_id=world.urban.id, nature="complaint", complexity="simple", dept_type="urban_mgmt")
        perform(s, petition, "accept", world.urban_handler, MON_9AM + dt.timedelta(hours=1, minutes=minute))
    s.commit()
    evaluate_warnings(app, MON_NOON)
    evaluate_warnings(app, THU_1AM)  # the surges have ended by now (resolved), the red lights are on
    s.expire_all()
    alerts = s.scalars(select(StaffAlert).where(StaffAlert.kind == "warning")).all()
    by = {(a.district_code, a.unit_id is not None): a for a in alerts}
    return {"shinan": by[("shinan", False)], "laoshan": by[("laoshan", False)], "unit": by[("shinan", True)]}


def shown(client: FlaskClient, state: str = "all") -> set[int]:
    response = client.get(f"/admin/alerts/warnings?state={state}")
    assert response.status_code == 200
    return {int(i) for i in WARNING_ID.findall(response.get_data(as_text=True))}


def test_a_districts_warnings_reach_its_platform_and_the_city_but_not_another_district(
    client: FlaskClient, login_as, world: World, raised: dict[str, StaffAlert], city_manager: User
):
    shinan, laoshan, unit = raised["shinan"].id, raised["laoshan"].id, raised["unit"].id
    login_as(world.dispatcher)
    assert shown(client) == {shinan}
    login_as(world.district_manager)
    assert shown(client) == {shinan}
    login_as(world.laoshan_dispatcher)
    assert shown(client) == {laoshan}
    for city_user in (world.leader, world.city_dispatcher, city_manager):
        login_as(city_user)
        assert shown(client) == {shinan, laoshan, unit}
    # Another district's warning cannot be acknowledged either: 404, as for any alert outside the scope.
    login_as(world.laoshan_dispatcher)
    assert client.post(f"/admin/alerts/{shinan}/read").status_code in (400, 404)


def test_a_units_warning_reaches_its_leaders_not_every_handler(
    client: FlaskClient, login_as, world: World, raised: dict[str, StaffAlert]
):
    login_as(world.urban_reviewer)
    assert shown(client) == {raised["unit"].id}
    assert "市南区城市管理局红灯诉求2件" in client.get("/admin/alerts").get_data(as_text=True)
    login_as(world.urban_handler)
    assert "红灯诉求2件" not in client.get("/admin/alerts").get_data(as_text=True)
    assert client.get("/admin/alerts/warnings").status_code == 403


def test_the_history_shows_start_resolution_and_who_acknowledged(
    client: FlaskClient, login_as, csrf, world: World, raised: dict[str, StaffAlert]
):
    login_as(world.dispatcher)
    assert shown(client, "open") == set()
    assert shown(client, "resolved") == {raised["shinan"].id}
    page = client.get("/admin/alerts/warnings?state=resolved").get_data(as_text=True)
    assert "2026-11-23 12:00" in page and "2026-11-26 01:00" in page  # started, resolved (local time)

    response = post(client, csrf, f"/admin/alerts/{raised['shinan'].id}/read", page="/admin/alerts/warnings",
                    next="/admin/alerts/warnings?state=resolved")
    assert response.status_code == 302
    world.session.expire_all()
    assert raised["shinan"].read_by_id == world.dispatcher.id
    page = client.get("/admin/alerts/warnings?state=resolved").get_data(as_text=True)
    assert world.dispatcher.display_name in page
    assert client.get("/admin/alerts/warnings?state=bogus").status_code == 400
