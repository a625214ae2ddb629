"""The official Chinese working-day calendar: weekends, public holidays and make-up working days (调休).

Where the days come from, in order of precedence:

1. `HolidayOverride` rows that platform managers enter (a correction wins over everything else);
2. the `chinesecalendar` package, for the years it carries the State Council's schedule of
   (`OFFICIAL_YEARS`, 2004–2026 in version 1.11.0);
3. for any other year, plain weekends (Monday–Friday work). That is a guess, so every caller that relies on it
   is told: `Deadline.uncertain_years`, `calendar_warnings` (the dashboard banner and `qingsu calendar check`)
   and a logged warning.

A year "has a schedule" when the package knows it or a manager has entered at least one override day in it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import chinese_calendar
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.messaging import HolidayOverride

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
NOTE_MAX_LENGTH = HolidayOverride.__table__.c.note.type.length
WEEKDAYS = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")


def missing_schedule_message(year: int) -> str:
    """The Chinese banner text for a year whose holidays nobody has entered yet."""
    return f"{year}年的法定节假日安排尚未录入，期限暂按周末计算，请平台管理员录入节假日与调休"


class WorkingCalendar:
    """Which days are working days, and counting on them.

    Holds no database session: build it with `load_calendar` (or directly, in tests) and pass it to the
    deadline and light functions. It caches its answers, so build a new one after overrides change.
    """

    def __init__(self, overrides: Mapping[dt.date, bool] | None = None, tz: str = DEFAULT_TZ) -> None:
        self.overrides: dict[dt.date, bool] = dict(overrides or {})
        self.tz = ZoneInfo(tz)
        self._override_years = frozenset(day.year for day in self.overrides)
        self._cache: dict[dt.date, bool] = {}

    def fingerprint(self) -> str:
        """A digest of everything that decides working time: the package's schedule, the overrides, the time zone.

        Two calendars with the same fingerprint count every interval the same, so anything derived from one (a
        petition's `yellow_at`) stays valid under the other.
        """
        overrides = sorted((day.isoformat(), working) for day, working in self.overrides.items())
        raw = repr((_PACKAGE_SCHEDULE, str(self.tz), overrides))
        return hashlib.sha256(raw.encode()).hexdigest()

    def knows_year(self, year: int) -> bool:
        """Whether the `chinesecalendar` package carries the official schedule of `year` (overrides aside)."""
        return year in OFFICIAL_YEARS

    def has_schedule(self, year: int) -> bool:
        """Whether `year` has an official schedule or at least one override entered by a manager."""
        return self.knows_year(year) or year in self._override_years

    def is_working_day(self, day: dt.date) -> bool:
        """Whether people work on `day`: override, else the official schedule, else Monday to Friday."""
        cached = self._cache.get(day)
        if cached is None:
            if day in self.overrides:
                cached = self.overrides[day]
            elif self.knows_year(day.year):
                cached = bool(chinese_calendar.is_workday(day))
            else:
                cached = day.weekday() < 5
            self._cache[day] = cached
        return cached

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
    """A `WorkingCalendar` with every `HolidayOverride` row of the database."""
    rows = session.execute(select(HolidayOverride.day, HolidayOverride.is_working_day)).all()
    return WorkingCalendar({day: is_working for day, is_working in rows}, tz=tz)


def calendar_warnings(
    session: Session, now: dt.datetime, horizon_days: int = 60, tz: str = DEFAULT_TZ
) -> list[str]:
    """Chinese banner texts, one per year from today to `horizon_days` ahead that has no schedule.

    A year needs a warning when the package lacks it and no manager has entered any override day in it;
    deadlines in such a year are counted on plain weekends. Each warning is also logged.

    :raises ValueError: if `now` is naive or `horizon_days` is negative.
    """
    if horizon_days < 0:
        raise ValueError(f"horizon_days must not be negative, got {horizon_days}")
    calendar = load_calendar(session, tz)
    today = calendar.local_date(now)
    messages = []
    for year in calendar.unknown_years_between(today, today + dt.timedelta(days=horizon_days)):
        message = missing_schedule_message(year)
        log.warning("holiday schedule missing for %s: %s", year, message)
        messages.append(message)
    return messages


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
    counts; `override_note` is set when a manager's override decides the day.
    """

    day: dt.date
    is_working_day: bool
    official_working: bool | None
    holiday_name: str | None
    override_note: str | None

    @property
    def weekday_name(self) -> str:
        """The Chinese name of the day's weekday (星期一 … 星期日)."""
        return WEEKDAYS[self.day.weekday()]


def special_days(session: Session, year: int, month: int | None = None) -> list[SpecialDay]:
    """The holidays, make-up working days and overrides of `year` (or of one month of it), by day.

    :raises ValueError: if `month` is not 1–12.
    """
    if month is not None and not 1 <= month <= 12:
        raise ValueError(f"month must be 1–12, got {month}")
    first = dt.date(year, month or 1, 1)
    after = dt.date(year + 1, 1, 1) if month in (None, 12) else dt.date(year, month + 1, 1)
    overrides = {
        row.day: row
        for row in session.scalars(
            select(HolidayOverride).where(HolidayOverride.day >= first, HolidayOverride.day < after)
        )
    }
    calendar = WorkingCalendar({day: row.is_working_day for day, row in overrides.items()})
    days = set(overrides)
    if calendar.knows_year(year):
        days.update(day for day in chinese_calendar.holidays if first <= day < after)
        days.update(day for day in chinese_calendar.workdays if first <= day < after)
    result = []
    for day in sorted(days):
        official: bool | None = None
        name: str | None = None
        if calendar.knows_year(year):
            official = bool(chinese_calendar.is_workday(day))
            english = chinese_calendar.get_holiday_detail(day)[1]
            name = chinese_calendar.Holiday(english).chinese if english else None
        override = overrides.get(day)
        result.append(
            SpecialDay(
                day=day,
                is_working_day=calendar.is_working_day(day),
                official_working=official,
                holiday_name=name,
                override_note=override.note if override is not None else None,
            )
        )
    return result
