"""Time limits and deadlines in working days after acceptance, across the 2026 holidays and into 2027."""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

import pytest

from models.enums import Complexity, Nature, PetitionKind
from models.messaging import HolidayYear
from workflow.calendar import WorkingCalendar, load_calendar, set_override
from workflow.deadlines import (
    Deadline,
    compute_deadline,
    deadline_text,
    extend_deadline,
    is_overdue,
    time_limit,
    working_time_left,
)

SH = ZoneInfo("Asia/Shanghai")
LIVELIHOOD, DEVELOPMENT, ENFORCEMENT = (
    PetitionKind.LIVELIHOOD,
    PetitionKind.DEVELOPMENT,
    PetitionKind.ENFORCEMENT,
)
CONSULT, SUGGEST, COMPLAINT = Nature.CONSULT, Nature.SUGGEST, Nature.COMPLAINT
SIMPLE, COMPLEX, ESPECIALLY = Complexity.SIMPLE, Complexity.COMPLEX, Complexity.ESPECIALLY_COMPLEX


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    """An instant in Shanghai time."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=SH)


def end_of(year: int, month: int, day: int) -> dt.datetime:
    """24:00 Shanghai of a day, in UTC (what deadlines are)."""
    return (at(year, month, day) + dt.timedelta(days=1)).astimezone(dt.UTC)


# Named instants (Shanghai time); weekday in the name.
FRI_2026_09_18_1000 = at(2026, 9, 18, 10)
THU_2026_09_24_1000 = at(2026, 9, 24, 10)
TUE_2026_09_29_1500 = at(2026, 9, 29, 15)
WED_2026_09_30_1700 = at(2026, 9, 30, 17)
SAT_2026_10_03_0900 = at(2026, 10, 3, 9)  # National Day holiday
FRI_2026_10_09_0900 = at(2026, 10, 9, 9)
# 2026-09-17 20:00 UTC is already Friday 2026-09-18 04:00 in Shanghai.
THU_2026_09_17_2000_UTC = dt.datetime(2026, 9, 17, 20, tzinfo=dt.UTC)
TUE_2026_12_15_1000 = at(2026, 12, 15, 10)


# --- time limits: the source document's table, row by row --------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "nature", "complexity", "days"),
    [
        # 民生, 咨询/建议: 1 working day, whatever the complexity
        (LIVELIHOOD, CONSULT, SIMPLE, 1),
        (LIVELIHOOD, CONSULT, COMPLEX, 1),
        (LIVELIHOOD, CONSULT, ESPECIALLY, 1),
        (LIVELIHOOD, SUGGEST, SIMPLE, 1),
        (LIVELIHOOD, SUGGEST, COMPLEX, 1),
        (LIVELIHOOD, SUGGEST, ESPECIALLY, 1),
        # 民生, 投诉: simple 2, complex 5
        (LIVELIHOOD, COMPLAINT, SIMPLE, 2),
        (LIVELIHOOD, COMPLAINT, COMPLEX, 5),
        # 发展 and 执法: 10, at most 20 for the especially complex; any nature, or none yet
        (DEVELOPMENT, None, SIMPLE, 10),
        (DEVELOPMENT, COMPLAINT, COMPLEX, 10),
        (DEVELOPMENT, CONSULT, ESPECIALLY, 20),
        (DEVELOPMENT, None, ESPECIALLY, 20),
        (ENFORCEMENT, None, SIMPLE, 10),
        (ENFORCEMENT, SUGGEST, COMPLEX, 10),
        (ENFORCEMENT, COMPLAINT, ESPECIALLY, 20),
        (ENFORCEMENT, None, ESPECIALLY, 20),
    ],
)
def test_time_limit_rows(
    kind: PetitionKind, nature: Nature | None, complexity: Complexity, days: int
) -> None:
    """Rule: the time limits of the source document (受理后N个工作日内办结)."""
    assert time_limit(kind, nature, complexity) == days


@pytest.mark.parametrize(
    ("kind", "nature", "complexity", "named"),
    [
        (LIVELIHOOD, COMPLAINT, ESPECIALLY, "民生诉求、投诉、特别复杂"),
        (LIVELIHOOD, None, SIMPLE, "民生诉求、未定性质、简单"),
    ],
)
def test_time_limit_without_rule_names_the_combination(
    kind: PetitionKind, nature: Nature | None, complexity: Complexity, named: str
) -> None:
    """Rule: a combination the source document gives no limit for is refused, not guessed."""
    with pytest.raises(ValueError, match=named):
        time_limit(kind, nature, complexity)


# --- deadlines across the 2026 Mid-Autumn and National Day holidays ----------------------------------------


@pytest.mark.parametrize(
    ("accepted_at", "working_days", "due"),
    [
        # Sat 19 off, Sun 20 is a make-up working day.
        (FRI_2026_09_18_1000, 1, end_of(2026, 9, 20)),
        # Mid-Autumn 25–27 off: Mon 28, Tue 29.
        (THU_2026_09_24_1000, 2, end_of(2026, 9, 29)),
        # National Day 1–7 off: Thu 8, Fri 9, Sat 10 (made up), Mon 12, Tue 13.
        (WED_2026_09_30_1700, 5, end_of(2026, 10, 13)),
        # Wed 30, Thu 8, Fri 9, Sat 10, Mon 12–Fri 16, Mon 19.
        (TUE_2026_09_29_1500, 10, end_of(2026, 10, 19)),
        # Accepted on a holiday: the first working day after it is day 1.
        (SAT_2026_10_03_0900, 1, end_of(2026, 10, 8)),
        # 20 working days from Fri 9 Oct: Sat 10 (made up), then the 19 weekdays Mon 12 Oct … Thu 5 Nov.
        (FRI_2026_10_09_0900, 20, end_of(2026, 11, 5)),
        # The acceptance day is the Shanghai day (Friday), not the UTC day (Thursday).
        (THU_2026_09_17_2000_UTC, 1, end_of(2026, 9, 20)),
    ],
)
def test_deadline_across_2026_autumn_holidays(
    accepted_at: dt.datetime, working_days: int, due: dt.datetime
) -> None:
    """Rule: N working days end at 24:00 Asia/Shanghai of the N-th working day after the acceptance day."""
    deadline = compute_deadline(accepted_at, working_days, WorkingCalendar())
    assert deadline == Deadline(due=due, working_days=working_days, uncertain_years=())
    assert deadline.due.tzinfo is dt.UTC


def test_deadline_is_midnight_shanghai_in_utc() -> None:
    """Rule: deadlines are aware datetimes in UTC; 24:00 Shanghai is 16:00 UTC."""
    due = compute_deadline(FRI_2026_09_18_1000, 1, WorkingCalendar()).due
    assert due == dt.datetime(2026, 9, 20, 16, tzinfo=dt.UTC)


def test_deadline_refuses_naive_acceptance() -> None:
    """Rule: a naive datetime is a programming error."""
    with pytest.raises(ValueError, match="naive"):
        compute_deadline(dt.datetime(2026, 9, 18, 10), 1, WorkingCalendar())


def test_deadline_refuses_zero_days() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        compute_deadline(FRI_2026_09_18_1000, 0, WorkingCalendar())


def test_override_moves_a_2026_deadline(db_session) -> None:
    """Rule: an override wins over the package (the make-up Sunday cancelled → due Monday)."""
    set_override(db_session, dt.date(2026, 9, 20), False, "更正", None)
    db_session.commit()
    deadline = compute_deadline(FRI_2026_09_18_1000, 1, load_calendar(db_session))
    assert deadline.due == end_of(2026, 9, 21)


# --- into 2027, a year the package does not know -----------------------------------------------------------


def test_deadline_into_2027_falls_back_to_statutory_holidays(caplog: pytest.LogCaptureFixture) -> None:
    """Rule: an unconfirmed year counts the statutory holidays and weekends (2027-01-01 元旦 is off), says so in
    `uncertain_years`, and logs a warning."""
    with caplog.at_level(logging.WARNING, logger="workflow.deadlines"):
        deadline = compute_deadline(TUE_2026_12_15_1000, 20, WorkingCalendar())
    # Dec 16–18, 21–25, 28–31 (12), Fri 1 Jan off (元旦), Jan 4–8 (17), Mon 11 – Wed 13 (20).
    assert deadline == Deadline(due=end_of(2027, 1, 13), working_days=20, uncertain_years=(2027,))
    assert any("2027" in record.getMessage() for record in caplog.records)


def test_a_year_accepted_on_its_eve_with_one_day_is_not_due_on_new_years_day() -> None:
    """Rule: accepted 2026-12-31 with a one-day limit, without any override: 2027-01-01 is not a working day, so
    the deadline is the end of Monday 4 January (issue 13)."""
    deadline = compute_deadline(at(2026, 12, 31, 15), 1, WorkingCalendar())
    assert deadline == Deadline(due=end_of(2027, 1, 4), working_days=1, uncertain_years=(2027,))


def test_deadline_into_2027_is_certain_once_the_year_is_confirmed(db_session, caplog: pytest.LogCaptureFixture) -> None:
    """Rule: an override alone leaves 2027 uncertain; once a manager confirms the year, its days count and the
    deadline is no longer uncertain."""
    set_override(db_session, dt.date(2027, 1, 1), False, "2027年元旦", None)
    db_session.commit()
    assert compute_deadline(TUE_2026_12_15_1000, 20, load_calendar(db_session)).uncertain_years == (2027,)
    db_session.add(HolidayYear(year=2027, note="管理员确认"))
    db_session.commit()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="workflow.deadlines"):
        deadline = compute_deadline(TUE_2026_12_15_1000, 20, load_calendar(db_session))
    assert deadline == Deadline(due=end_of(2027, 1, 13), working_days=20, uncertain_years=())
    assert not caplog.records


def test_deadline_within_2026_is_certain_even_when_2027_is_unknown() -> None:
    deadline = compute_deadline(at(2026, 12, 28, 9), 2, WorkingCalendar())
    assert deadline == Deadline(due=end_of(2026, 12, 30), working_days=2, uncertain_years=())


# --- extensions ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("deadline", "extra", "due"),
    [
        # From the end of Tue 29 Sep: Wed 30, Thu 8, Fri 9, Sat 10 (made up), Mon 12.
        (end_of(2026, 9, 29), 5, end_of(2026, 10, 12)),
        # A deadline that is not at midnight counts on from its own day (Friday 18 Sep → Sunday 20).
        (at(2026, 9, 18, 15), 1, end_of(2026, 9, 20)),
    ],
)
def test_extend_deadline(deadline: dt.datetime, extra: int, due: dt.datetime) -> None:
    """Rule: an approved extension adds working days after the last day of the current limit."""
    assert extend_deadline(deadline, extra, WorkingCalendar()) == Deadline(
        due=due, working_days=extra, uncertain_years=()
    )


def test_extend_deadline_into_2027_is_uncertain() -> None:
    extended = extend_deadline(end_of(2026, 12, 30), 3, WorkingCalendar())
    # Thu 31 Dec, Fri 1 Jan off (元旦), Mon 4, Tue 5.
    assert extended == Deadline(due=end_of(2027, 1, 5), working_days=3, uncertain_years=(2027,))


def test_extend_deadline_refuses_naive() -> None:
    with pytest.raises(ValueError, match="naive"):
        extend_deadline(dt.datetime(2026, 9, 29), 1, WorkingCalendar())


# --- working time left ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "deadline", "left"),
    [
        # Due end of Tue 29 Sep; at Thu 24 Sep 10:00: 14 h of Thursday, Mon 28, Tue 29.
        (THU_2026_09_24_1000, end_of(2026, 9, 29), dt.timedelta(hours=14 + 48)),
        # On the Mid-Autumn holiday nothing is used up: still Mon 28 and Tue 29.
        (at(2026, 9, 26, 15), end_of(2026, 9, 29), dt.timedelta(hours=48)),
        (at(2026, 9, 29, 18), end_of(2026, 9, 29), dt.timedelta(hours=6)),
        # Overdue on a working day: negative.
        (at(2026, 9, 30, 6), end_of(2026, 9, 29), -dt.timedelta(hours=6)),
        # Overdue during the National Day holiday: no working time has passed since the deadline (Wed 30 end).
        (at(2026, 10, 3, 12), end_of(2026, 9, 30), dt.timedelta()),
    ],
)
def test_working_time_left(now: dt.datetime, deadline: dt.datetime, left: dt.timedelta) -> None:
    """Rule: only working days count, 24 hours each; negative once overdue working time passes."""
    assert working_time_left(now, deadline, WorkingCalendar()) == left


@pytest.mark.parametrize(
    ("now", "overdue"),
    [
        (end_of(2026, 9, 29) - dt.timedelta(microseconds=1), False),
        (end_of(2026, 9, 29), False),
        (end_of(2026, 9, 29) + dt.timedelta(microseconds=1), True),
    ],
)
def test_is_overdue(now: dt.datetime, overdue: bool) -> None:
    """Rule: overdue means now > deadline; the deadline instant itself is in time."""
    assert is_overdue(now, end_of(2026, 9, 29)) is overdue


# --- one way to say a deadline -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("due", "now", "text"),
    [
        # A deadline at midnight ends the day before: Friday 4 December, 24时.
        (end_of(2026, 12, 4), None, "12月4日（周五）24时前"),
        (end_of(2026, 12, 4).astimezone(dt.UTC).isoformat(), None, "12月4日（周五）24时前"),
        (at(2026, 12, 4, 15, 30), None, "12月4日（周五）15时30分前"),
        (at(2026, 12, 4, 15), None, "12月4日（周五）15时前"),
        # The year only when it is not the year of `now`.
        (end_of(2027, 1, 4), at(2026, 12, 31, 9), "2027年1月4日（周一）24时前"),
        (end_of(2026, 12, 31), at(2026, 12, 31, 9), "12月31日（周四）24时前"),
    ],
)
def test_one_way_to_say_a_deadline(due: dt.datetime | str, now: dt.datetime | None, text: str) -> None:
    """Rule: every audience reads a deadline the same way: "12月4日（周五）24时前" (issue 13, item 7)."""
    assert deadline_text(due, now=now) == text


def test_deadline_text_refuses_a_naive_instant() -> None:
    with pytest.raises(ValueError, match="naive"):
        deadline_text("2026-12-05T00:00:00")
