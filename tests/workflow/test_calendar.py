"""The working-day calendar: official 2026 schedule, weekend fallback, overrides, warnings, and `qingsu calendar`."""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from models.db import session_scope
from models.messaging import HolidayOverride
from workflow.calendar import (
    WorkingCalendar,
    calendar_warnings,
    load_calendar,
    remove_override,
    set_override,
    special_days,
)
from workflow.calendar_cli import calendar_group

SH = ZoneInfo("Asia/Shanghai")

# Named days (2026 Mid-Autumn + National Day: 25–27 Sep and 1–7 Oct off, Sun 20 Sep and Sat 10 Oct worked).
FRI_2026_09_18 = dt.date(2026, 9, 18)
SAT_2026_09_19 = dt.date(2026, 9, 19)
SUN_2026_09_20 = dt.date(2026, 9, 20)
MON_2026_09_21 = dt.date(2026, 9, 21)
THU_2026_09_24 = dt.date(2026, 9, 24)
FRI_2026_09_25 = dt.date(2026, 9, 25)
SUN_2026_09_27 = dt.date(2026, 9, 27)
MON_2026_09_28 = dt.date(2026, 9, 28)
WED_2026_09_30 = dt.date(2026, 9, 30)
THU_2026_10_01 = dt.date(2026, 10, 1)
MON_2026_10_05 = dt.date(2026, 10, 5)
WED_2026_10_07 = dt.date(2026, 10, 7)
THU_2026_10_08 = dt.date(2026, 10, 8)
SAT_2026_10_10 = dt.date(2026, 10, 10)
SUN_2026_10_11 = dt.date(2026, 10, 11)
MON_2026_10_12 = dt.date(2026, 10, 12)
# 2027: the package has no schedule for it.
THU_2026_12_31 = dt.date(2026, 12, 31)
FRI_2027_01_01 = dt.date(2027, 1, 1)
SAT_2027_01_02 = dt.date(2027, 1, 2)
SAT_2027_01_09 = dt.date(2027, 1, 9)


def at(day: dt.date, hour: int = 0, minute: int = 0) -> dt.datetime:
    """An instant on `day` in Shanghai time."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SH)


def test_package_data_range_is_2004_to_2026() -> None:
    """Rule: the package's official schedule is used only for years it really carries (1.11.0: 2004–2026)."""
    calendar = WorkingCalendar()
    assert calendar.knows_year(2004)
    assert calendar.knows_year(2026)
    assert not calendar.knows_year(2003)
    assert not calendar.knows_year(2027)


@pytest.mark.parametrize(
    ("day", "working", "why"),
    [
        (FRI_2026_09_18, True, "ordinary Friday"),
        (SAT_2026_09_19, False, "ordinary Saturday"),
        (SUN_2026_09_20, True, "Sunday made up for National Day (调休)"),
        (FRI_2026_09_25, False, "Mid-Autumn Festival"),
        (SUN_2026_09_27, False, "Mid-Autumn weekend"),
        (MON_2026_09_28, True, "back to work"),
        (THU_2026_10_01, False, "National Day"),
        (MON_2026_10_05, False, "National Day week, a Monday off"),
        (WED_2026_10_07, False, "last day of National Day"),
        (THU_2026_10_08, True, "back to work"),
        (SAT_2026_10_10, True, "Saturday made up for National Day (调休)"),
        (SUN_2026_10_11, False, "ordinary Sunday"),
    ],
)
def test_official_2026_autumn_schedule(day: dt.date, working: bool, why: str) -> None:
    """Rule: working days follow the official calendar (holidays off, make-up days on)."""
    assert WorkingCalendar().is_working_day(day) is working, why


@pytest.mark.parametrize(
    ("day", "working"),
    [(THU_2026_12_31, True), (FRI_2027_01_01, True), (SAT_2027_01_02, False), (SAT_2027_01_09, False)],
)
def test_unknown_year_falls_back_to_weekends(day: dt.date, working: bool) -> None:
    """Rule: for a year the package lacks and with no overrides, only weekends are off."""
    calendar = WorkingCalendar()
    assert calendar.is_working_day(day) is working
    assert not calendar.has_schedule(2027)


def test_overrides_decide_unknown_year() -> None:
    """Rule: a manager's holiday and make-up day count in a year the package lacks."""
    calendar = WorkingCalendar({FRI_2027_01_01: False, SAT_2027_01_09: True})
    assert not calendar.is_working_day(FRI_2027_01_01)
    assert calendar.is_working_day(SAT_2027_01_09)
    assert calendar.has_schedule(2027)
    assert not calendar.knows_year(2027)


def test_overrides_win_over_package_for_known_year() -> None:
    """Rule: a manager can correct a day the package knows."""
    calendar = WorkingCalendar({SUN_2026_09_20: False, THU_2026_10_01: True})
    assert not calendar.is_working_day(SUN_2026_09_20)
    assert calendar.is_working_day(THU_2026_10_01)
    assert calendar.is_working_day(FRI_2026_09_18)


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (FRI_2026_09_18, 1, SUN_2026_09_20),  # Saturday off, Sunday made up
        (SAT_2026_09_19, 1, SUN_2026_09_20),  # the start day never counts
        (SUN_2026_09_20, 1, MON_2026_09_21),
        (THU_2026_09_24, 1, MON_2026_09_28),  # Mid-Autumn 25–27
        (WED_2026_09_30, 1, THU_2026_10_08),  # National Day 1–7
        (WED_2026_09_30, 3, SAT_2026_10_10),  # 8, 9, Saturday 10 made up
        (WED_2026_09_30, 4, MON_2026_10_12),
    ],
)
def test_add_working_days(start: dt.date, n: int, expected: dt.date) -> None:
    """Rule: the n-th working day after a day, the day itself excluded."""
    assert WorkingCalendar().add_working_days(start, n) == expected


@pytest.mark.parametrize("n", [0, -1])
def test_add_working_days_needs_a_positive_count(n: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        WorkingCalendar().add_working_days(FRI_2026_09_18, n)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (FRI_2026_09_18, FRI_2026_09_18, 0),
        (FRI_2026_09_18, SUN_2026_09_20, 1),  # (18, 20]: only Sunday 20 works
        (FRI_2026_09_18, MON_2026_09_28, 6),  # 20, 21, 22, 23, 24, 28
        (WED_2026_09_30, MON_2026_10_12, 4),  # 8, 9, 10, 12
        (MON_2026_10_12, WED_2026_09_30, -4),  # reversed: minus the count
        (THU_2026_12_31, SAT_2027_01_09, 6),  # 2027 on weekends only: 1, 4–8
    ],
)
def test_working_days_between(start: dt.date, end: dt.date, expected: int) -> None:
    """Rule: working days in (start, end]."""
    assert WorkingCalendar().working_days_between(start, end) == expected


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (at(FRI_2026_09_18, 9), at(FRI_2026_09_18, 17), dt.timedelta(hours=8)),
        (at(SAT_2026_09_19, 9), at(SAT_2026_09_19, 17), dt.timedelta()),  # a day off counts nothing
        (
            at(FRI_2026_09_18, 18),
            at(MON_2026_09_21, 6),
            dt.timedelta(hours=6 + 24 + 6),
        ),  # Sat off, Sun made up
        (at(THU_2026_09_24, 12), at(MON_2026_09_28, 12), dt.timedelta(hours=24)),  # Mid-Autumn 25–27
        (at(MON_2026_09_28, 12), at(THU_2026_09_24, 12), -dt.timedelta(hours=24)),
        # 2026-09-18 08:00 UTC is 16:00 in Shanghai: the calendar counts in Shanghai time.
        (dt.datetime(2026, 9, 18, 8, tzinfo=dt.UTC), at(SAT_2026_09_19), dt.timedelta(hours=8)),
    ],
)
def test_working_time_between(start: dt.datetime, end: dt.datetime, expected: dt.timedelta) -> None:
    """Rule: working time counts working days only, 24 hours each, in Asia/Shanghai."""
    assert WorkingCalendar().working_time_between(start, end) == expected


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        WorkingCalendar().working_time_between(dt.datetime(2026, 9, 18, 9), at(SAT_2026_09_19))


def test_unknown_years_between() -> None:
    calendar = WorkingCalendar({dt.date(2028, 1, 1): False})
    assert calendar.unknown_years_between(FRI_2026_09_18, THU_2026_12_31) == []
    assert calendar.unknown_years_between(FRI_2026_09_18, dt.date(2029, 3, 1)) == [2027, 2029]
    assert calendar.unknown_years_between(dt.date(2029, 3, 1), FRI_2026_09_18) == [2027, 2029]


def test_load_calendar_reads_override_rows(db_session) -> None:
    """Rule: `HolidayOverride` rows entered by managers are used."""
    set_override(db_session, FRI_2027_01_01, False, "2027年元旦", None)
    set_override(db_session, SUN_2026_09_20, False, "更正", None)
    db_session.commit()
    calendar = load_calendar(db_session)
    assert not calendar.is_working_day(FRI_2027_01_01)
    assert not calendar.is_working_day(SUN_2026_09_20)
    assert calendar.has_schedule(2027)


def test_set_override_upserts(db_session) -> None:
    set_override(db_session, FRI_2027_01_01, True, "first", None)
    set_override(db_session, FRI_2027_01_01, False, "元旦", None)
    db_session.commit()
    rows = db_session.scalars(select(HolidayOverride)).all()
    assert [(r.day, r.is_working_day, r.note) for r in rows] == [(FRI_2027_01_01, False, "元旦")]


def test_set_override_refuses_overlong_note(db_session) -> None:
    with pytest.raises(ValueError, match="at most 100"):
        set_override(db_session, FRI_2027_01_01, False, "节" * 101, None)


def test_remove_override(db_session) -> None:
    set_override(db_session, FRI_2027_01_01, False, "元旦", None)
    db_session.commit()
    remove_override(db_session, FRI_2027_01_01)
    db_session.commit()
    assert load_calendar(db_session).is_working_day(FRI_2027_01_01)
    with pytest.raises(LookupError, match="2027-01-01"):
        remove_override(db_session, FRI_2027_01_01)


def test_calendar_warnings_for_unentered_year(db_session, caplog: pytest.LogCaptureFixture) -> None:
    """Rule: warn (banner text and log) while a year within the horizon has no schedule."""
    with caplog.at_level(logging.WARNING, logger="workflow.calendar"):
        warnings = calendar_warnings(db_session, at(dt.date(2026, 11, 27), 10), horizon_days=60)
    assert warnings == ["2027年的法定节假日安排尚未录入，期限暂按周末计算，请平台管理员录入节假日与调休"]
    assert any("2027" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize(
    ("now", "horizon", "expected_years"),
    [
        (at(dt.date(2026, 6, 1)), 60, []),  # 2026 is known
        (at(dt.date(2026, 11, 2)), 60, [2027]),  # reaches 2027-01-01 exactly
        (at(dt.date(2026, 11, 1)), 60, []),  # stops at 2026-12-31
        (at(dt.date(2026, 11, 1)), 61, [2027]),
    ],
)
def test_calendar_warnings_horizon(
    db_session, now: dt.datetime, horizon: int, expected_years: list[int]
) -> None:
    warnings = calendar_warnings(db_session, now, horizon_days=horizon)
    assert [int(text[:4]) for text in warnings] == expected_years


def test_calendar_warnings_stop_once_year_has_overrides(db_session) -> None:
    """Rule: the warning lasts until the year has a schedule (any override row entered for it)."""
    set_override(db_session, FRI_2027_01_01, False, "2027年元旦", None)
    db_session.commit()
    assert calendar_warnings(db_session, at(dt.date(2026, 11, 27)), horizon_days=60) == []
    assert [w[:5] for w in calendar_warnings(db_session, at(dt.date(2027, 12, 1)), horizon_days=60)] == [
        "2028年"
    ]


def test_calendar_warnings_need_aware_now(db_session) -> None:
    with pytest.raises(ValueError, match="naive"):
        calendar_warnings(db_session, dt.datetime(2026, 11, 27, 10))


def test_special_days_lists_holidays_make_up_days_and_overrides(db_session) -> None:
    set_override(db_session, MON_2026_09_28, False, "台风停工", None)
    db_session.commit()
    days = {entry.day: entry for entry in special_days(db_session, 2026, 9)}
    assert days[SUN_2026_09_20].is_working_day and days[SUN_2026_09_20].holiday_name == "国庆节"
    assert not days[FRI_2026_09_25].is_working_day and days[FRI_2026_09_25].holiday_name == "中秋"
    assert days[MON_2026_09_28].official_working is True
    assert not days[MON_2026_09_28].is_working_day and days[MON_2026_09_28].override_note == "台风停工"
    assert FRI_2026_09_18 not in days and THU_2026_10_01 not in days


# --- `qingsu calendar` -------------------------------------------------------------------------------------


def test_cli_check_warns_for_unentered_year(runner) -> None:
    """Rule: the CLI warns about unknown years within the next N days and exits 0."""
    result = runner.invoke(calendar_group, ["check", "--on", "2026-11-27", "--days", "60"])
    assert result.exit_code == 0, result.output
    assert "2027年的法定节假日安排尚未录入" in result.output


def test_cli_check_quiet_when_covered(runner) -> None:
    result = runner.invoke(calendar_group, ["check", "--on", "2026-06-01", "--days", "60"])
    assert result.exit_code == 0, result.output
    assert "尚未录入" not in result.output
    assert "2026-07-31" in result.output


def committed_calendar(app) -> WorkingCalendar:
    """The calendar as another process sees it: through a session of its own, so only committed rows count."""
    with session_scope(app) as other:
        return load_calendar(other)


def test_cli_override_add_list_remove(app, runner) -> None:
    """Rule: managers add, list and remove overrides from the CLI, and they are committed."""
    added = runner.invoke(
        calendar_group, ["override", "add", "2027-01-01", "--holiday", "--note", "2027年元旦"]
    )
    assert added.exit_code == 0, added.output
    made_up = runner.invoke(calendar_group, ["override", "add", "2027-01-09", "--working"])
    assert made_up.exit_code == 0, made_up.output
    assert committed_calendar(app).is_working_day(SAT_2027_01_09)

    listed = runner.invoke(calendar_group, ["override", "list"])
    assert listed.output.splitlines() == ["2027-01-01  星期五  休息  2027年元旦", "2027-01-09  星期六  上班"]

    removed = runner.invoke(calendar_group, ["override", "remove", "2027-01-09"])
    assert removed.exit_code == 0, removed.output
    assert not committed_calendar(app).is_working_day(SAT_2027_01_09)

    again = runner.invoke(calendar_group, ["override", "remove", "2027-01-09"])
    assert again.exit_code != 0
    assert "没有管理员录入" in again.output


@pytest.mark.parametrize(
    "args",
    [
        ["override", "add", "2027-01-01"],  # neither --working nor --holiday
        ["override", "add", "2027-13-01", "--holiday"],
        ["override", "add", "2027-01-01", "--holiday", "--note", "节" * 101],
    ],
)
def test_cli_override_add_refuses_bad_input(runner, db_session, args: list[str]) -> None:
    result = runner.invoke(calendar_group, args)
    assert result.exit_code == 2, result.output
    assert db_session.scalars(select(HolidayOverride)).all() == []


def test_cli_show_known_month(runner, db_session) -> None:
    set_override(db_session, MON_2026_09_28, False, "台风停工", None)
    db_session.commit()
    result = runner.invoke(calendar_group, ["show", "2026", "9"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "2026-09-20  星期日  上班（调休）  国庆节  来源: 官方安排（chinesecalendar）" in lines
    assert "2026-09-25  星期五  休息  中秋  来源: 官方安排（chinesecalendar）" in lines
    assert "2026-09-28  星期一  休息  来源: 管理员录入，更正官方安排（官方：上班）：台风停工" in lines
    assert not any(line.startswith("2026-10") for line in lines)


def test_cli_show_unknown_year(runner, db_session) -> None:
    bare = runner.invoke(calendar_group, ["show", "2027"])
    assert bare.exit_code == 0, bare.output
    assert "2027年的法定节假日安排尚未录入" in bare.output

    set_override(db_session, FRI_2027_01_01, False, "2027年元旦", None)
    db_session.commit()
    entered = runner.invoke(calendar_group, ["show", "2027", "1"])
    assert "尚未录入" not in entered.output
    assert "2027-01-01  星期五  休息  来源: 管理员录入：2027年元旦" in entered.output.splitlines()
