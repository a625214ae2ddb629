"""Time for generated petitions: instants as integer UTC epoch seconds, working hours, deadlines and lights.

Deadlines and lights come from the workflow's own functions (`workflow.deadlines.compute_deadline`,
`extend_deadline`, `workflow.lights.light_for`) on the database's working calendar; what depends only on a day is
cached per day (and limit), never computed per row.
"""

from __future__ import annotations

import datetime as dt
import random

from workflow.calendar import WorkingCalendar
from workflow.deadlines import compute_deadline, extend_deadline
from workflow.lights import light_for

DAY_SECONDS = 86_400
EPOCH = dt.datetime(1970, 1, 1)
EPOCH_AWARE = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
DAY0 = dt.date(1970, 1, 1).toordinal()
# Staff act between 08:30 and 17:30 local time on working days; a working day's work is these nine hours.
WORK_START = 8 * 3600 + 1800
WORK_END = 17 * 3600 + 1800
WORK_SECONDS = WORK_END - WORK_START


def aware(t: int) -> dt.datetime:
    """The aware UTC datetime of epoch second `t`."""
    return EPOCH_AWARE + dt.timedelta(seconds=t)


def epoch(instant: dt.datetime) -> int:
    """Epoch seconds of an aware datetime."""
    return int((instant - EPOCH_AWARE).total_seconds())


class Clock:
    """The working calendar seen from generated data: local days, working hours, deadlines and lights at `now`.

    The calendar's time zone must keep one UTC offset over the generated period (Asia/Shanghai has had no daylight
    saving time since 1991); `Clock` checks that and refuses otherwise.

    :raises ValueError: if the offset changes between `start` and `now`.
    """

    def __init__(
        self, calendar: WorkingCalendar, now: dt.datetime, start: dt.datetime, yellow_fraction: float
    ):
        self.calendar = calendar
        self.now = epoch(now)
        self.now_aware = now.astimezone(dt.UTC)
        self.yellow_fraction = yellow_fraction
        offsets = {
            (start + dt.timedelta(days=d)).astimezone(calendar.tz).utcoffset()
            for d in range(0, (now - start).days + 60, 15)
        }
        if len(offsets) != 1:
            raise ValueError(f"time zone {calendar.tz} changes its UTC offset within the generated period")
        offset = offsets.pop()
        assert offset is not None
        self.offset = int(offset.total_seconds())
        self._working: dict[int, bool] = {}
        self._next_working: dict[int, int] = {}
        self._add: dict[tuple[int, int], int] = {}
        self._deadline: dict[tuple[int, int], tuple[int, str, tuple[int, ...]]] = {}
        self._extended: dict[tuple[int, int], tuple[int, str]] = {}
        self.uncertain_years: set[int] = set()

    # --- days -----------------------------------------------------------------------------------------------------

    def day(self, t: int) -> int:
        """The local day of `t`, as days since 1970-01-01."""
        return (t + self.offset) // DAY_SECONDS

    def date(self, day: int) -> dt.date:
        return dt.date.fromordinal(DAY0 + day)

    def day_start(self, day: int) -> int:
        """Epoch second of local midnight starting `day`."""
        return day * DAY_SECONDS - self.offset

    def working(self, day: int) -> bool:
        cached = self._working.get(day)
        if cached is None:
            cached = self._working[day] = self.calendar.is_working_day(self.date(day))
        return cached

    def next_working(self, day: int) -> int:
        """The first working day after `day`."""
        cached = self._next_working.get(day)
        if cached is None:
            cached = day + 1
            while not self.working(cached):
                cached += 1
            self._next_working[day] = cached
        return cached

    def add_working_days(self, day: int, n: int) -> int:
        key = (day, n)
        cached = self._add.get(key)
        if cached is None:
            cached = day
            for _ in range(n):
                cached = self.next_working(cached)
            self._add[key] = cached
        return cached

    # --- when staff act -------------------------------------------------------------------------------------------

    def staff(self, t: int, rng: random.Random) -> int:
        """`t` if it falls in working hours, else the start of the next working hours plus up to 90 minutes.

        Always draws one random number, so the draws of a petition do not depend on where its times fall.
        """
        jitter = int(rng.random() * 5400)
        day, second = divmod(t + self.offset, DAY_SECONDS)
        if self.working(day):
            if WORK_START <= second < WORK_END:
                return t
            if second < WORK_START:
                return self.day_start(day) + WORK_START + jitter
        return self.day_start(self.next_working(day)) + WORK_START + jitter

    def after_working(self, t: int, working_days: float, rng: random.Random) -> int:
        """About `working_days` of working time after `t` (whole working days, then a share of nine hours), in
        working hours."""
        whole = int(working_days)
        if whole:
            day = self.day(t)
            t += (self.add_working_days(day, whole) - day) * DAY_SECONDS
        t += int((working_days - whole) * WORK_SECONDS)
        return self.staff(t, rng)

    # --- deadlines and lights -------------------------------------------------------------------------------------

    def deadline(self, accepted: int, limit: int) -> tuple[int, str, tuple[int, ...]]:
        """(due, due as ISO text, years counted on plain weekends) for a petition accepted at `accepted`."""
        key = (self.day(accepted), limit)
        cached = self._deadline.get(key)
        if cached is None:
            found = compute_deadline(aware(accepted), limit, self.calendar)
            self.uncertain_years.update(found.uncertain_years)
            cached = self._deadline[key] = (epoch(found.due), found.due.isoformat(), found.uncertain_years)
        return cached

    def extended(self, due: int, extra: int) -> tuple[int, str]:
        key = (due, extra)
        cached = self._extended.get(key)
        if cached is None:
            found = extend_deadline(aware(due), extra, self.calendar)
            self.uncertain_years.update(found.uncertain_years)
            cached = self._extended[key] = (epoch(found.due), found.due.isoformat())
        return cached

    def light(self, accepted: int, due: int) -> str:
        """The light's enum name at `now` (BLUE, YELLOW, RED)."""
        return light_for(
            self.now_aware, aware(accepted), aware(due), self.calendar, self.yellow_fraction
        ).name
