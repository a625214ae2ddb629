"""A calendar change moves running deadlines: importing the 2027 notice, one override, confirming a year; each
moved petition gets its new deadline, its light and a history row; the others are left alone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from models import HolidayOverride, HolidayYear, Petition, PetitionEvent
from models.enums import Light, Role
from tests.factories import make_petition, make_user
from workflow.calendar import DaySource, load_calendar, statutory_holidays
from workflow.calendar_changes import (
    RECOMPUTED,
    CalendarChange,
    clear_override,
    confirm_year,
    import_notice,
    override_day,
)
from workflow.engine import perform
from workflow.holiday_notice import parse_notice

SH = ZoneInfo("Asia/Shanghai")

# A 2027 notice in the State Council's words (the real one was not out when this was written): 元旦 1–3 January,
# 春节 from 除夕 (Friday 5 February) to 初七 (Friday 12 February) with Saturday 20 February worked.
NOTICE_2027 = """国务院办公厅关于2027年部分节假日安排的通知
一、元旦：1月1日（周五）至3日（周日）放假，共3天。
二、春节：2月5日（农历除夕、周五）至12日（农历正月初七、周五）放假调休，共8天。2月20日（周六）上班。
"""

MON_2027_02_01_1000 = dt.datetime(2027, 2, 1, 10, tzinfo=SH)
TUE_2027_02_02_0900 = dt.datetime(2027, 2, 2, 9, tzinfo=SH)


def end_of(year: int, month: int, day: int) -> dt.datetime:
    """24:00 of a day in Shanghai (a deadline)."""
    return dt.datetime.combine(dt.date(year, month, day) + dt.timedelta(days=1), dt.time(), tzinfo=SH)


def change(world, now: dt.datetime = TUE_2027_02_02_0900) -> CalendarChange:
    return CalendarChange(user=world.city_manager, now=now, yellow_fraction_left=0.34)


@pytest.fixture
def manager_world(world):
    world.city_manager = make_user(world.session, Role.CITY_MANAGER, district_code=None)
    world.session.commit()
    return world


def complaint(world, accepted: dt.datetime = MON_2027_02_01_1000, complexity: str = "complex") -> Petition:
    """A 民生 complaint (complex: 5 working days; simple: 2) accepted at `accepted` and handled by the urban bureau."""
    petition = make_petition(world.session, citizen=world.citizen, now=accepted)
    perform(world.session, petition, "dispatch", world.dispatcher, accepted, unit_id=world.urban.id,
            nature="complaint", complexity=complexity, dept_type="urban_mgmt")
    world.session.commit()
    return petition


def recomputed(world, petition: Petition) -> list[PetitionEvent]:
    world.session.expire_all()
    return list(world.session.scalars(
        select(PetitionEvent).where(PetitionEvent.petition_id == petition.id, PetitionEvent.action == RECOMPUTED)
    ))


def test_importing_the_2027_notice_moves_a_running_deadline_and_writes_an_event(manager_world):
    """Rule: when a year's days change, every running petition's deadline and light are recomputed and the change
    is in its history (issue 13, "Done when")."""
    w = manager_world
    petition = complaint(w)
    # Statutory fallback: 2, 3, 4 Feb; 除夕 5 to 初三 8 off and 补假 9–10 (初一 and 初二 fell on the weekend); 11, 12.
    assert petition.deadline == end_of(2027, 2, 12)
    moved = import_notice(w.session, change(w), parse_notice(NOTICE_2027, 2027))
    w.session.commit()
    # The notice: 2, 3, 4 Feb; 5–12 off; 15, 16.
    assert [(m.number, m.old, m.new) for m in moved] == [(petition.number, end_of(2027, 2, 12), end_of(2027, 2, 16))]
    w.session.refresh(petition)
    assert petition.deadline == end_of(2027, 2, 16)
    assert petition.yellow_at is None  # for the lights job to count again
    assert petition.light == Light.BLUE
    [event] = recomputed(w, petition)
    assert event.actor_user_id == w.city_manager.id
    assert event.from_state == event.to_state == petition.state
    assert event.note == "导入2027年放假通知：答复期限由2月12日（周五）24时前改为2月16日（周二）24时前"
    assert event.data == {
        "reason": "导入2027年放假通知",
        "old_deadline": end_of(2027, 2, 12).astimezone(dt.UTC).isoformat(),
        "deadline": end_of(2027, 2, 16).astimezone(dt.UTC).isoformat(),
    }
    calendar = load_calendar(w.session)
    assert calendar.has_schedule(2027)
    assert calendar.source_of(dt.date(2027, 2, 11)) is DaySource.OVERRIDE
    assert calendar.is_working_day(dt.date(2027, 2, 20))
    assert w.session.get(HolidayYear, 2027).confirmed_by_id == w.city_manager.id


def test_importing_the_same_notice_again_changes_nothing(manager_world):
    """Rule: a retried import (double click) writes the same days and moves no deadline a second time."""
    w = manager_world
    petition = complaint(w)
    import_notice(w.session, change(w), parse_notice(NOTICE_2027, 2027))
    w.session.commit()
    assert import_notice(w.session, change(w), parse_notice(NOTICE_2027, 2027)) == []
    w.session.commit()
    assert len(recomputed(w, petition)) == 1
    assert len(w.session.scalars(select(HolidayOverride)).all()) == len(parse_notice(NOTICE_2027, 2027).days())


def test_the_recount_keeps_this_rounds_approved_extensions(manager_world):
    """Rule: a moved deadline is counted as the workflow counts it — acceptance, limit, then each approved
    extension — so an extension granted before the calendar changed is not lost."""
    w = manager_world
    # A simple complaint (2 days), so that an extension of 2 stays within the 民生 cap of 5 working days in all.
    petition = complaint(w, complexity="simple")
    s = w.session
    perform(s, petition, "accept", w.urban_handler, MON_2027_02_01_1000)
    perform(s, petition, "request_extension", w.urban_handler, MON_2027_02_01_1000, reason="需现场勘验",
            extra_working_days="2")
    perform(s, petition, "decide_extension", w.dispatcher, MON_2027_02_01_1000, approve="true")
    s.commit()
    # Wed 3 Feb, then Thu 4 and (statutory: 除夕 5 to 初三 8 off, 补假 9 and 10) Thu 11.
    assert petition.deadline == end_of(2027, 2, 11)
    import_notice(s, change(w), parse_notice(NOTICE_2027, 2027))
    s.commit()
    s.refresh(petition)
    assert petition.deadline == end_of(2027, 2, 15)  # Wed 3 Feb, then Thu 4 and (5–14 off) Mon 15


def test_a_petition_whose_days_did_not_change_is_left_alone(manager_world):
    """Rule: a deadline moves only when a day it counts on changed; a petition in 2026 gets no history row."""
    w = manager_world
    running = complaint(w, accepted=dt.datetime(2026, 11, 25, 10, tzinfo=SH))
    before = running.deadline
    assert import_notice(w.session, change(w), parse_notice(NOTICE_2027, 2027)) == []
    w.session.commit()
    w.session.refresh(running)
    assert running.deadline == before
    assert recomputed(w, running) == []


def test_one_override_moves_the_deadline_but_does_not_confirm_the_year(manager_world):
    """Rule: an override changes its day at once (deadlines move with it) yet the year stays unconfirmed."""
    w = manager_world
    petition = complaint(w)
    moved = override_day(w.session, change(w), dt.date(2027, 2, 11), False, "春节")
    w.session.commit()
    assert [m.new for m in moved] == [end_of(2027, 2, 15)]
    assert not load_calendar(w.session).has_schedule(2027)
    assert clear_override(w.session, change(w), dt.date(2027, 2, 11))[0].new == end_of(2027, 2, 12)
    w.session.commit()
    assert [e.data["reason"] for e in recomputed(w, petition)] == ["2027-02-11设为放假：春节", "删除2027-02-11的调整"]


def test_confirming_a_year_keeps_the_days_shown_and_ends_the_warning(manager_world):
    """Rule: a manager confirms a year as shown: the statutory days become the manager's own, nothing moves, and
    the year counts as known."""
    w = manager_world
    petition = complaint(w)
    assert confirm_year(w.session, change(w), 2027) == []
    w.session.commit()
    calendar = load_calendar(w.session)
    assert calendar.has_schedule(2027)
    for day in statutory_holidays(2027):
        assert calendar.source_of(day) is DaySource.OVERRIDE and not calendar.is_working_day(day)
    w.session.refresh(petition)
    assert petition.deadline == end_of(2027, 2, 12)
    with pytest.raises(ValueError, match="官方安排"):
        confirm_year(w.session, change(w), 2026)
