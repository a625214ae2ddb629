"""The official Chinese working-day calendar: weekends, public holidays and make-up working days (调休).

Each day's status has one source (`DaySource`), in order of precedence:

1. ``override``: a `HolidayOverride` row that a platform manager entered by hand or by importing the State
   Council's notice (a correction wins over everything else);
2. ``official``: the `chinesecalendar` package, for the years it carries the State Council's schedule of
   (`OFFICIAL_YEARS`, 2004–2026 in version 1.11.0);
3. ``statutory``: for any other year that no manager has confirmed, the holidays of 《全国年节及纪念日放假办法》 as
   revised in 2025 (`statutory_holidays`): 元旦 1 day, 春节 4 (除夕 to 初三), 清明节 1 (the solar term), 劳动节 2,
   端午节 1, 中秋节 1, 国庆节 3, the lunar dates from the `lunardate` package, and for a holiday that falls on a
   Saturday or Sunday a 补假 on the next working day (the law's rule). The notice's make-up working days cannot be
   guessed, so they are missing until a manager enters them;
4. ``weekend``: every other day, Monday to Friday working.

A year "has a schedule" (is known) when the package carries it or a platform manager has confirmed it
(`HolidayYear`: imported the notice, or checked the days shown and confirmed them); entering a single override does
not make a year known. In a confirmed year the manager's days are the whole schedule: the statutory fallback stops
and the other days follow the weekend rule (confirming writes the statutory days shown as overrides, so nothing
shown changes). Every caller that relies on an unconfirmed year is told: `Deadline.uncertain_years`,
`calendar_warnings` (the managers' banner and `qingsu calendar check`) and a logged warning.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from types import MappingProxyType
from zoneinfo import ZoneInfo

import chinese_calendar
from lunardate import LunarDate
from sqlalchemy import Boolean, Date, Integer, null, select
from sqlalchemy.orm import Session

from models.messaging import HolidayOverride, HolidayYear

log = logging.getLogger(__name__)

DEFAULT_TZ = "Asia/Shanghai"
DAY = dt.timedelta(days=1)
WORKING_DAY_LENGTH = dt.timedelta(hours=24)

# The package raises for years outside its data; a year with no holiday entry at all carries no official schedule.
OFFICIAL_YEARS: frozenset[int] = frozenset(day.year for day in chinese_calendar.holidays)
# A digest of the package's whole schedule, so a package upgrade that corrects a day is noticed (`fingerprint`).
_PACKAGE_SCHEDULE = hashlib.sha256(
    repr(
        (
            sorted(d.isoformat() for d in chinese_calendar.holidays),
            sorted(d.isoformat() for d in chinese_calendar.workdays),
        )
    ).encode()
).hexdigest()
# Which statutory rules `statutory_holidays` implements (part of `fingerprint`: a new revision changes the days).
STATUTORY_RULES = "全国年节及纪念日放假办法（2025年修订）"
NOTE_MAX_LENGTH = HolidayOverride.__table__.c.note.type.length
WEEKDAYS = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")
SHORT_WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


class DaySource(StrEnum):
    """Where a day's working or holiday status comes from (the `qingsu calendar show --json` values)."""

    OFFICIAL = "official"
    OVERRIDE = "override"
    STATUTORY = "statutory"
    WEEKEND = "weekend"

    @property
    def label(self) -> str:
        return _SOURCE_LABELS[self]


_SOURCE_LABELS = {
    DaySource.OFFICIAL: "官方安排（chinesecalendar）",
    DaySource.OVERRIDE: "管理员录入",
    DaySource.STATUTORY: "法定节假日（未经确认）",
    DaySource.WEEKEND: "周末规则",
}


@cache
def statutory_holidays(year: int) -> Mapping[dt.date, str]:
    """The days off of `year` by 《全国年节及纪念日放假办法》 (2025 revision), with their Chinese names.

    元旦 1 January; 春节 除夕 to 正月初三 (4 days); 清明节 the day of the 清明 solar term; 劳动节 1–2 May; 端午节
    五月初五; 中秋节 八月十五; 国庆节 1–3 October. A holiday falling on a Saturday or Sunday gets a 补假 on the next
    weekday that is not itself a holiday (named "…补假"). Two holidays on the same day count once. No make-up
    working days: those come only with the State Council's notice. Lunar holidays outside the `lunardate` range
    (1900–2099) are left out.
    """
    days: dict[dt.date, str] = {}

    def add(day: dt.date, name: str) -> None:
        if day.year == year:
            days.setdefault(day, name)

    add(dt.date(year, 1, 1), "元旦")
    try:
        new_year = LunarDate(year, 1, 1).to_solar_date()
        dragon_boat = LunarDate(year, 5, 5).to_solar_date()
        mid_autumn = LunarDate(year, 8, 15).to_solar_date()
    except ValueError:
        log.warning("no lunar dates for %s: the statutory fallback has only the fixed-date holidays", year)
    else:
        for offset in range(-1, 3):
            add(new_year + offset * DAY, "春节")
        add(dragon_boat, "端午节")
        add(mid_autumn, "中秋节")
    for day, term in chinese_calendar.get_solar_terms(dt.date(year, 4, 1), dt.date(year, 4, 10)):
        if term == "清明":
            add(day, "清明节")
    add(dt.date(year, 5, 1), "劳动节")
    add(dt.date(year, 5, 2), "劳动节")
    for day in range(1, 4):
        add(dt.date(year, 10, day), "国庆节")
    for day, name in sorted(days.items()):
        if day.weekday() >= 5 and not name.endswith("补假"):
            lieu = day + DAY
            while lieu.weekday() >= 5 or lieu in days:
                lieu += DAY
            add(lieu, f"{name}补假")
    return MappingProxyType(dict(sorted(days.items())))


def missing_schedule_message(year: int) -> str:
    """The Chinese banner text for a year whose holidays no platform manager has confirmed yet."""
    return (
        f"{year}年的节假日安排尚未确认，期限暂按法定节假日和周末计算（不含调休），"
        "请平台管理员导入国务院办公厅放假通知并确认"
    )


class WorkingCalendar:
    """Which days are working days, where each day's status comes from, and counting on them.

    Holds no database session: build it with `load_calendar` (or directly, in tests) and pass it to the
    deadline and light functions. It caches its answers, so build a new one after the days change.
    """

    def __init__(
        self,
        overrides: Mapping[dt.date, bool] | None = None,
        tz: str = DEFAULT_TZ,
        confirmed_years: Iterable[int] = (),
    ) -> None:
        self.overrides: dict[dt.date, bool] = dict(overrides or {})
        self.tz = ZoneInfo(tz)
        self.confirmed_years = frozenset(confirmed_years)
        self._cache: dict[dt.date, bool] = {}

    def fingerprint(self) -> str:
        """A digest of everything that decides working time: the package's schedule, the statutory rules, the
        confirmed years, the overrides, the time zone.

        Two calendars with the same fingerprint count every interval the same, so anything derived from one (a
        petition's `yellow_at`) stays valid under the other.
        """
        overrides = sorted((day.isoformat(), working) for day, working in self.overrides.items())
        raw = repr((_PACKAGE_SCHEDULE, STATUTORY_RULES, str(self.tz), sorted(self.confirmed_years), overrides))
        return hashlib.sha256(raw.encode()).hexdigest()

    def knows_year(self, year: int) -> bool:
        """Whether the `chinesecalendar` package carries the official schedule of `year` (overrides aside)."""
        return year in OFFICIAL_YEARS

    def has_schedule(self, year: int) -> bool:
        """Whether `year` is known: the package carries it or a platform manager has confirmed it."""
        return self.knows_year(year) or year in self.confirmed_years

    def source_of(self, day: dt.date) -> DaySource:
        """Where `day`'s status comes from (see the module docstring for the order)."""
        if day in self.overrides:
            return DaySource.OVERRIDE
        if self.knows_year(day.year):
            return DaySource.OFFICIAL
        if day.year not in self.confirmed_years and day in statutory_holidays(day.year):
            return DaySource.STATUTORY
        return DaySource.WEEKEND

    def is_working_day(self, day: dt.date) -> bool:
        """Whether people work on `day`: override, else the official schedule, else the statutory holidays of an
        unconfirmed year, else Monday to Friday."""
        cached = self._cache.get(day)
        if cached is None:
            source = self.source_of(day)
            if source == DaySource.OVERRIDE:
                cached = self.overrides[day]
            elif source == DaySource.OFFICIAL:
                cached = bool(chinese_calendar.is_workday(day))
            elif source == DaySource.STATUTORY:
                cached = False
            else:
                cached = day.weekday() < 5
            self._cache[day] = cached
        return cached

    def holiday_name(self, day: dt.date) -> str | None:
        """The holiday `day` belongs to by the package (known years) or the statutory rules (others), if any."""
        if self.knows_year(day.year):
            english = chinese_calendar.get_holiday_detail(day)[1]
            return chinese_calendar.Holiday(english).chinese if english else None
        return statutory_holidays(day.year).get(day)

    def add_working_days(self, day: dt.date, n: int) -> dt.date:
        """The `n`-th working day after `day`; `day` itself never counts, working or not.

        :raises ValueError: if `n` < 1.
        """
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        current = day
        while n:
            current += DAY
            if self.is_working_day(current):
                n -= 1
        return current

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """The number of working days in (start, end]: after `start`, up to and including `end`.

        Antisymmetric: when `end` is before `start` the answer is minus the count in (end, start].
        """
        if end < start:
            return -self.working_days_between(end, start)
        count = 0
        current = start
        while current < end:
            current += DAY
            count += self.is_working_day(current)
        return count

    def unknown_years_between(self, start: dt.date, end: dt.date) -> list[int]:
        """The years from `start` to `end` (inclusive, either order) that have no schedule (see `has_schedule`)."""
        first, last = sorted((start.year, end.year))
        return [year for year in range(first, last + 1) if not self.has_schedule(year)]

    def local_date(self, instant: dt.datetime) -> dt.date:
        """The calendar day of `instant` in the calendar's time zone.

        :raises ValueError: if `instant` is naive.
        """
        return require_aware(instant).astimezone(self.tz).date()

    def end_of_day(self, day: dt.date) -> dt.datetime:
        """24:00 of `day` in the calendar's time zone (the next day's midnight), as an aware UTC datetime."""
        return dt.datetime.combine(day + DAY, dt.time(), tzinfo=self.tz).astimezone(dt.UTC)

    def working_time_between(self, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        """The working time from `start` to `end`: only working days count, each as 24 hours of wall-clock time.

        Antisymmetric like `working_days_between`, so it is negative when `end` is before `start`.

        :raises ValueError: if either datetime is naive.
        """
        require_aware(start)
        require_aware(end)
        if end < start:
            return -self.working_time_between(end, start)
        local_start = start.astimezone(self.tz)
        local_end = end.astimezone(self.tz)
        start_day, end_day = local_start.date(), local_end.date()
        if start_day == end_day:
            if not self.is_working_day(start_day):
                return dt.timedelta()
            return _since_midnight(local_end) - _since_midnight(local_start)
        total = dt.timedelta()
        if self.is_working_day(start_day):
            total += WORKING_DAY_LENGTH - _since_midnight(local_start)
        # Whole working days strictly between the two days, then the part of the last day up to `end`.
        total += WORKING_DAY_LENGTH * self.working_days_between(start_day, end_day - DAY)
        if self.is_working_day(end_day):
            total += _since_midnight(local_end)
        return total


def _since_midnight(local: dt.datetime) -> dt.timedelta:
    # Wall-clock time since local midnight, so every working day is 24 hours even across a DST change.
    return dt.timedelta(
        hours=local.hour, minutes=local.minute, seconds=local.second, microseconds=local.microsecond
    )


def require_aware(instant: dt.datetime) -> dt.datetime:
    """Return `instant` unchanged if it carries a time zone.

    :raises ValueError: if it is naive (a programming error: every instant in qingsu is aware).
    """
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"naive datetime {instant!r}: pass an aware datetime")
    return instant


def load_calendar(session: Session, tz: str = DEFAULT_TZ) -> WorkingCalendar:
    """A `WorkingCalendar` with every `HolidayOverride` row and every confirmed year (`HolidayYear`)."""
    # One statement for both tables (the lights job counts its statements): override rows carry a day, confirmed
    # years a year.
    rows = session.execute(
        select(HolidayOverride.day, HolidayOverride.is_working_day, null().cast(Integer)).union_all(
            select(null().cast(Date), null().cast(Boolean), HolidayYear.year)
        )
    ).all()
    return WorkingCalendar(
        {day: bool(working) for day, working, _ in rows if day is not None},
        tz=tz,
        confirmed_years=[year for day, _, year in rows if day is None],
    )


def calendar_warnings(
    session: Session, now: dt.datetime, horizon_days: int = 60, tz: str = DEFAULT_TZ
) -> list[str]:
    """Chinese banner texts, one per year from today to `horizon_days` ahead that has no schedule.

    A year needs a warning when the package lacks it and no manager has confirmed it; deadlines in such a year are
    counted on the statutory holidays and weekends. Each warning is also logged.

    :raises ValueError: if `now` is naive or `horizon_days` is negative.
    """
    if horizon_days < 0:
        raise ValueError(f"horizon_days must not be negative, got {horizon_days}")
    calendar = load_calendar(session, tz)
    messages = []
    for year in unconfirmed_years_ahead(calendar, now, horizon_days):
        message = missing_schedule_message(year)
        log.warning("holiday schedule not confirmed for %s: %s", year, message)
        messages.append(message)
    return messages


def unconfirmed_years_ahead(calendar: WorkingCalendar, now: dt.datetime, horizon_days: int = 60) -> list[int]:
    """The years from `now`'s day to `horizon_days` ahead that have no schedule (see `has_schedule`).

    :raises ValueError: if `now` is naive.
    """
    today = calendar.local_date(now)
    return calendar.unknown_years_between(today, today + dt.timedelta(days=horizon_days))


def set_override(
    session: Session, day: dt.date, is_working_day: bool, note: str, user_id: int | None
) -> HolidayOverride:
    """Mark `day` as a working day or a day off, replacing any earlier override of that day.

    Flushes but does not commit; the caller commits.

    :raises ValueError: if `note` is longer than the column allows.
    """
    if len(note) > NOTE_MAX_LENGTH:
        raise ValueError(f"note is {len(note)} characters, at most {NOTE_MAX_LENGTH} allowed")
    row = session.get(HolidayOverride, day)
    if row is None:
        row = HolidayOverride(day=day)
        session.add(row)
    row.is_working_day = is_working_day
    row.note = note
    row.created_by_id = user_id
    session.flush()
    return row


def remove_override(session: Session, day: dt.date) -> None:
    """Delete the override of `day`, so the official schedule (or the weekend rule) applies again.

    Flushes but does not commit; the caller commits.

    :raises LookupError: if `day` has no override.
    """
    row = session.get(HolidayOverride, day)
    if row is None:
        raise LookupError(f"{day.isoformat()} has no override")
    session.delete(row)
    session.flush()


@dataclass(frozen=True)
class SpecialDay:
    """A day that differs from the plain Monday-to-Friday rule, or that a manager has overridden.

    `official_working` is what the package says (None for a year it does not know); `is_working_day` is what
    counts and `source` where that comes from; `holiday_name` the package's or the statutory holiday's name;
    `override_note` is set when a manager's override decides the day.
    """

    day: dt.date
    is_working_day: bool
    official_working: bool | None
    holiday_name: str | None
    override_note: str | None
    source: DaySource = DaySource.WEEKEND

    @property
    def weekday_name(self) -> str:
        """The Chinese name of the day's weekday (星期一 … 星期日)."""
        return WEEKDAYS[self.day.weekday()]


def _month_bounds(year: int, month: int | None) -> tuple[dt.date, dt.date]:
    if month is not None and not 1 <= month <= 12:
        raise ValueError(f"month must be 1–12, got {month}")
    first = dt.date(year, month or 1, 1)
    after = dt.date(year + 1, 1, 1) if month in (None, 12) else dt.date(year, (month or 0) + 1, 1)
    return first, after


def special_days(session: Session, year: int, month: int | None = None) -> list[SpecialDay]:
    """The holidays, make-up working days, statutory fallback days and overrides of `year` (or of one month of it),
    by day.

    :raises ValueError: if `month` is not 1–12.
    """
    first, after = _month_bounds(year, month)
    notes = dict(
        session.execute(
            select(HolidayOverride.day, HolidayOverride.note).where(
                HolidayOverride.day >= first, HolidayOverride.day < after
            )
        ).all()
    )
    calendar = load_calendar(session)
    days = set(notes)
    if calendar.knows_year(year):
        days.update(day for day in chinese_calendar.holidays if first <= day < after)
        days.update(day for day in chinese_calendar.workdays if first <= day < after)
    elif year not in calendar.confirmed_years:
        days.update(day for day in statutory_holidays(year) if first <= day < after)
    result = []
    for day in sorted(days):
        official = bool(chinese_calendar.is_workday(day)) if calendar.knows_year(year) else None
        result.append(
            SpecialDay(
                day=day,
                is_working_day=calendar.is_working_day(day),
                official_working=official,
                holiday_name=calendar.holiday_name(day),
                override_note=notes.get(day),
                source=calendar.source_of(day),
            )
        )
    return result


@dataclass(frozen=True)
class CalendarDay:
    """One day of a month as `qingsu calendar show --json` prints it."""

    day: dt.date
    is_working_day: bool
    source: DaySource

    def as_json(self) -> dict[str, object]:
        return {"date": self.day.isoformat(), "working": self.is_working_day, "source": self.source.value}


def month_days(calendar: WorkingCalendar, year: int, month: int) -> list[CalendarDay]:
    """Every day of `month`: whether it is a working day and where that comes from.

    :raises ValueError: if `month` is not 1–12.
    """
    first, after = _month_bounds(year, month)
    days = (first + offset * DAY for offset in range((after - first).days))
    return [CalendarDay(day, calendar.is_working_day(day), calendar.source_of(day)) for day in days]
