"""Early warning (`workflow.warnings`): each kind of rule raises an alert on a crafted situation and not just below
its threshold; a lasting condition keeps one alert (last seen moves on); an ended one is resolved; a rule scoped to a
district looks at that district only; the job runs from `qingsu scheduler run-once evaluate_warnings`.

Instants are named, in Qingdao time; the job is called with them (no clock is read).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Petition, Reply, StaffAlert, Unit, WarningRule, utcnow
from models.enums import DeptType, ReplyState, Role, UnitLevel
from tests.factories import make_citizen, make_district, make_petition, make_unit, make_user
from workflow.engine import perform
from workflow.warnings import (
    DEFAULT_RULES,
    DISTRICT_AUDIENCE,
    UNIT_AUDIENCE,
    WARNING,
    RuleSettings,
    ensure_default_rules,
    evaluate_warnings,
    settings_errors,
)

SH = dt.timezone(dt.timedelta(hours=8))
MON_9AM = dt.datetime(2026, 11, 23, 9, tzinfo=SH)  # Monday 2026-11-23
MON_NOON = dt.datetime(2026, 11, 23, 12, tzinfo=SH)
MON_6PM = dt.datetime(2026, 11, 23, 18, tzinfo=SH)
TUE_8AM = dt.datetime(2026, 11, 24, 8, tzinfo=SH)
THU_1AM = dt.datetime(2026, 11, 26, 1, tzinfo=SH)  # simple complaints accepted on Monday are red (due Wed 24:00)
SUGGESTION = {"departments": [{"type": "ecology", "score": 0.8}], "nature": "complaint", "terms": []}


def rule(session: Session, kind: str, threshold: int, window_hours: int = 0, **values: Any) -> WarningRule:
    made = WarningRule(kind=kind, name=f"{kind} {threshold}", threshold=threshold, window_hours=window_hours,
                       min_volume=values.pop("min_volume", 0), enabled=values.pop("enabled", True), **values)
    session.add(made)
    session.commit()
    return made


def placed(session: Session, street: str, at: dt.datetime, district: str = "shinan", dept: str = "ecology",
           **overrides: Any) -> Petition:
    """A petition the classifier placed in `street` and gave `dept`, created at `at`."""
    suggestion = {**SUGGESTION, "departments": [{"type": dept, "score": 0.8}],
                  "place": {"district": district, "street": street, "community": None}}
    petition = make_petition(session, district_code=district, now=at, suggestion=suggestion,
                             content=f"{street}附近化工厂晚上排放刺鼻气味。", **overrides)
    session.commit()
    return petition


def warnings(session: Session, **where: Any) -> list[StaffAlert]:
    session.expire_all()
    query = select(StaffAlert).where(StaffAlert.kind == WARNING).order_by(StaffAlert.id)
    for name, value in where.items():
        query = query.where(getattr(StaffAlert, name) == value)
    return list(session.scalars(query))


# --- surge ---------------------------------------------------------------------------------------------------------


def test_a_surge_in_one_street_warns_the_district_and_four_petitions_under_a_threshold_of_five_do_not(
    app: Flask, db_session: Session
):
    surge = rule(db_session, "surge", 5, window_hours=6)
    for minute in range(4):
        placed(db_session, "八大关街道", MON_9AM + dt.timedelta(minutes=minute))
    # Elsewhere, or another department type, or too early: not part of the surge.
    placed(db_session, "湛山街道", MON_9AM)
    placed(db_session, "八大关街道", MON_9AM, dept="housing")
    placed(db_session, "八大关街道", MON_9AM - dt.timedelta(hours=7))

    assert evaluate_warnings(app, MON_NOON).raised == 0
    assert warnings(db_session) == []

    fifth = placed(db_session, "八大关街道", MON_NOON - dt.timedelta(minutes=1))
    report = evaluate_warnings(app, MON_NOON)
    (alert,) = warnings(db_session)
    assert report.raised == 1
    assert (alert.rule_id, alert.district_code, alert.unit_id, alert.audience) == (
        surge.id, "shinan", None, DISTRICT_AUDIENCE
    )
    assert alert.subject == "shinan/八大关街道/ecology"
    assert alert.data["count"] == 5 and alert.petition_id == fifth.id
    assert "八大关街道" in alert.title and "生态环境" in alert.title


def test_a_surge_rule_of_one_district_does_not_look_at_another(app: Flask, db_session: Session):
    make_district(db_session, "laoshan")
    rule(db_session, "surge", 2, window_hours=6, district_code="laoshan")
    for minute in range(3):
        placed(db_session, "八大关街道", MON_9AM + dt.timedelta(minutes=minute))
    evaluate_warnings(app, MON_NOON)
    assert warnings(db_session) == []
    for minute in range(2):
        placed(db_session, "沙子口街道", MON_9AM + dt.timedelta(minutes=minute), district="laoshan")
    evaluate_warnings(app, MON_NOON)
    assert [a.district_code for a in warnings(db_session)] == ["laoshan"]


# --- lasting, resolving, coming back ------------------------------------------------------------------------------


def test_a_lasting_condition_keeps_one_alert_and_an_ended_one_is_resolved_then_a_new_one_starts(
    app: Flask, db_session: Session
):
    rule(db_session, "surge", 3, window_hours=6)
    for minute in range(3):
        placed(db_session, "八大关街道", MON_9AM + dt.timedelta(minutes=minute))

    evaluate_warnings(app, MON_NOON)
    second = evaluate_warnings(app, MON_NOON + dt.timedelta(minutes=5))
    (alert,) = warnings(db_session)
    assert (second.raised, second.kept, second.resolved) == (0, 1, 0)
    assert alert.created_at == MON_NOON and alert.last_seen_at == MON_NOON + dt.timedelta(minutes=5)
    assert alert.resolved_at is None

    # Six hours after the first petitions the window no longer holds three of them.
    ended = evaluate_warnings(app, MON_6PM)
    (alert,) = warnings(db_session)
    assert ended.resolved == 1 and alert.resolved_at == MON_6PM
    assert evaluate_warnings(app, MON_6PM + dt.timedelta(minutes=5)).resolved == 0

    for minute in range(3):
        placed(db_session, "八大关街道", MON_6PM + dt.timedelta(minutes=minute))
    evaluate_warnings(app, MON_6PM + dt.timedelta(minutes=10))
    old, new = warnings(db_session)
    assert old.resolved_at == MON_6PM and new.resolved_at is None and new.subject == old.subject


def test_running_the_job_twice_at_one_instant_changes_nothing_the_second_time(app: Flask, db_session: Session):
    rule(db_session, "surge", 2, window_hours=6)
    for minute in range(2):
        placed(db_session, "八大关街道", MON_9AM + dt.timedelta(minutes=minute))
    evaluate_warnings(app, MON_NOON)
    again = evaluate_warnings(app, MON_NOON)
    assert (again.raised, again.resolved) == (0, 0)
    assert len(warnings(db_session)) == 1


def test_disabling_a_rule_resolves_its_alerts_at_the_next_run(app: Flask, db_session: Session):
    surge = rule(db_session, "surge", 2, window_hours=6)
    for minute in range(2):
        placed(db_session, "八大关街道", MON_9AM + dt.timedelta(minutes=minute))
    evaluate_warnings(app, MON_NOON)
    surge.enabled = False
    db_session.commit()
    assert evaluate_warnings(app, MON_NOON + dt.timedelta(minutes=5)).resolved == 1
    assert warnings(db_session)[0].resolved_at is not None


# --- red lights ----------------------------------------------------------------------------------------------------


def _accepted_at_unit(session: Session, unit: Any, handler: Any, dispatcher: Any, count: int) -> None:
    for i in range(count):
        petition = make_petition(session, now=MON_9AM + dt.timedelta(minutes=i))
        perform(session, petition, "dispatch", dispatcher, MON_9AM + dt.timedelta(minutes=30 + i),
                unit_id=unit.id, nature="complaint", complexity="simple", dept_type="urban_mgmt")
        perform(session, petition, "accept", handler, MON_9AM + dt.timedelta(hours=1, minutes=i))
    session.commit()


@pytest.fixture
def urban(db_session: Session) -> tuple[Any, Any, Any]:
    make_district(db_session, "shinan")
    unit = make_unit(db_session, dept_type=DeptType.URBAN_MGMT, name="市南区城市管理局")
    handler = make_user(db_session, Role.HANDLER, unit=unit, username="urban_handler")
    dispatcher = make_user(db_session, Role.DISPATCHER, username="dispatcher")
    db_session.commit()
    return unit, handler, dispatcher


def test_a_unit_with_three_red_lights_warns_its_leaders_and_two_do_not(app: Flask, db_session: Session, urban):
    unit, handler, dispatcher = urban
    red = rule(db_session, "red_lights", 3)
    _accepted_at_unit(db_session, unit, handler, dispatcher, 2)
    assert evaluate_warnings(app, THU_1AM).raised == 0
    # Not yet red on Tuesday: nothing either.
    _accepted_at_unit(db_session, unit, handler, dispatcher, 1)
    assert evaluate_warnings(app, TUE_8AM).raised == 0
    assert evaluate_warnings(app, THU_1AM).raised == 1
    (alert,) = warnings(db_session)
    assert (alert.rule_id, alert.unit_id, alert.audience, alert.district_code) == (
        red.id, unit.id, UNIT_AUDIENCE, "shinan"
    )
    assert alert.data["count"] == 3 and unit.name in alert.title


# --- on-time rate --------------------------------------------------------------------------------------------------


def _replies(session: Session, district: str, sent_at: dt.datetime, on_time: int, late: int) -> None:
    unit = session.scalars(
        select(Unit).where(Unit.district_code == district, Unit.level == UnitLevel.DISTRICT_PLATFORM)
    ).one()
    for i in range(on_time + late):
        petition = make_petition(session, district_code=district, now=sent_at - dt.timedelta(days=2))
        session.add(Reply(petition_id=petition.id, unit_id=unit.id, petitioner_info="-", policy_basis="-",
                          result="-", responsible_person="-", contact_phone="-", state=ReplyState.SENT,
                          sent_at=sent_at + dt.timedelta(minutes=i), on_time=i < on_time))
    session.commit()


def test_a_district_whose_week_is_below_ninety_percent_on_time_warns_and_one_at_ninety_does_not(
    app: Flask, db_session: Session
):
    make_district(db_session, "shinan")
    make_district(db_session, "laoshan")
    rule(db_session, "on_time", 90, window_hours=24 * 7, min_volume=10)
    _replies(db_session, "shinan", MON_9AM, on_time=9, late=1)  # 90 %: not below
    _replies(db_session, "laoshan", MON_9AM, on_time=8, late=2)  # 80 %
    evaluate_warnings(app, TUE_8AM)
    (alert,) = warnings(db_session)
    assert (alert.district_code, alert.subject, alert.audience) == ("laoshan", "district/laoshan", DISTRICT_AUDIENCE)
    assert alert.data["percent"] == 80.0 and "80.0%" in alert.title
    # Replies older than the week do not count: eight days on, the district is no longer judged (no replies).
    evaluate_warnings(app, MON_9AM + dt.timedelta(days=8))
    assert warnings(db_session)[0].resolved_at is not None


def test_an_on_time_rate_resting_on_fewer_replies_than_the_minimum_does_not_warn(app: Flask, db_session: Session):
    make_district(db_session, "laoshan")
    rule(db_session, "on_time", 90, window_hours=24 * 7, min_volume=11)
    _replies(db_session, "laoshan", MON_9AM, on_time=5, late=5)
    evaluate_warnings(app, TUE_8AM)
    assert warnings(db_session) == []


# --- repeated petitions --------------------------------------------------------------------------------------------


def test_one_citizen_three_times_about_one_matter_warns_and_twice_or_other_matters_do_not(
    app: Flask, db_session: Session
):
    rule(db_session, "repeat", 3, window_hours=24 * 30)
    citizen = make_citizen(db_session, "shinan")
    other = make_citizen(db_session, "shinan")
    for day in (1, 10):
        placed(db_session, "八大关街道", MON_9AM - dt.timedelta(days=day), citizen=citizen)
    placed(db_session, "八大关街道", MON_9AM - dt.timedelta(days=40), citizen=citizen)  # outside 30 days
    placed(db_session, "八大关街道", MON_9AM, citizen=citizen, dept="housing")  # another matter
    placed(db_session, "八大关街道", MON_9AM, citizen=other)  # another citizen
    evaluate_warnings(app, MON_NOON)
    assert warnings(db_session) == []

    latest = placed(db_session, "湛山街道", MON_9AM, citizen=citizen)
    evaluate_warnings(app, MON_NOON)
    (alert,) = warnings(db_session)
    assert alert.subject == f"shinan/citizen/{citizen.id}/ecology"
    assert alert.data["count"] == 3 and alert.petition_id == latest.id and alert.district_code == "shinan"


# --- rules, defaults and the command -------------------------------------------------------------------------------


def test_the_default_rules_are_added_once_and_a_managers_rules_are_kept(app: Flask, db_session: Session):
    assert ensure_default_rules(db_session) == len(DEFAULT_RULES)
    db_session.commit()
    assert ensure_default_rules(db_session) == 0
    kinds = {r.kind for r in db_session.scalars(select(WarningRule))}
    assert kinds == {"surge", "red_lights", "on_time", "repeat"}


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        (RuleSettings("surge", "x", True, None, 1, 24, 0), "threshold"),
        (RuleSettings("surge", "x", True, None, 5, 0, 0), "window"),
        (RuleSettings("surge", "x", True, None, 5, 24 * 8, 0), "window"),
        (RuleSettings("on_time", "x", True, None, 101, 168, 10), "threshold"),
        (RuleSettings("on_time", "x", True, None, 90, 168, 0), "min_volume"),
        (RuleSettings("repeat", "", True, None, 3, 720, 0), "name"),
        (RuleSettings("red_lights", "x", True, "atlantis", 3, 0, 0), "district"),
        (RuleSettings("nonsense", "x", True, None, 3, 0, 0), "kind"),
    ],
)
def test_settings_out_of_range_are_refused_by_field(settings: RuleSettings, field: str):
    assert field in settings_errors(settings, {"shinan"})


def test_settings_in_range_pass():
    assert settings_errors(RuleSettings("on_time", "按期率", True, "shinan", 90, 168, 10), {"shinan"}) == {}


def test_run_once_evaluate_warnings_prints_the_alerts_it_touched(app: Flask, db_session: Session, runner):
    rule(db_session, "surge", 2, window_hours=6)
    # The command runs at the app's clock (frozen by the `clock` fixture).
    at = utcnow()
    for minute in range(2):
        placed(db_session, "八大关街道", at - dt.timedelta(minutes=10 + minute))
    result = runner.invoke(args=["scheduler", "run-once", "evaluate_warnings"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("evaluate_warnings: ")
    assert len(warnings(db_session)) == 1


def test_seed_demo_adds_the_default_rules_once(app: Flask, db_session: Session, runner):
    for _ in range(2):
        result = runner.invoke(args=["seed-demo"])
        assert result.exit_code == 0, result.output
    rules = db_session.scalars(select(WarningRule)).all()
    assert len(rules) == len(DEFAULT_RULES) and all(r.enabled and r.district_code is None for r in rules)
