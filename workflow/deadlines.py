"""Time limits (办理时限) and deadlines, in working days after acceptance (受理).

The source document's rules, as a declared table (`TIME_LIMITS`):

==========  ==============================  =========================  ============
kind        nature                          complexity                 working days
==========  ==============================  =========================  ============
民生        咨询 consult, 建议 suggest       any                        1
民生        投诉 complaint                   简单 simple                 2
民生        投诉 complaint                   复杂 complex                5
发展, 执法   any (key ``None``)               简单 simple, 复杂 complex   10
发展, 执法   any (key ``None``)               特别复杂 especially complex  20 (the upper bound)
==========  ==============================  =========================  ============

A 民生 complaint marked 特别复杂 has no rule in the source document, so `time_limit` refuses it instead of
guessing; a 民生 petition needs its nature before a limit exists.

Deadline semantics: the acceptance day itself never counts (whether or not it is a working day). A limit of
N working days ends at 24:00 Asia/Shanghai of the N-th working day after the acceptance day; the deadline is that
instant (the next day's local midnight), returned as an aware UTC datetime. A petition is overdue when
``now > deadline``. Examples (2026, with the Mid-Autumn and National Day holidays):
accepted Friday 18 September, 1 day → due at the end of Sunday 20 September (a make-up working day);
accepted Thursday 24 September, 2 days → 25–27 September are off → due at the end of Tuesday 29 September.

Every audience reads a deadline the same way, from `deadline_text`: ``12月4日（周五）24时前`` (the citizen's texts,
the template messages, the staff pages and the alerts).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from models.enums import Complexity, Nature, PetitionKind
from workflow.calendar import DEFAULT_TZ, SHORT_WEEKDAYS, WorkingCalendar, require_aware

log = logging.getLogger(__name__)

_ANY_COMPLEXITY = tuple(Complexity)

TIME_LIMITS: dict[tuple[PetitionKind, Nature | None, Complexity], int] = {
    **{(PetitionKind.LIVELIHOOD, Nature.CONSULT, c): 1 for c in _ANY_COMPLEXITY},
    **{(PetitionKind.LIVELIHOOD, Nature.SUGGEST, c): 1 for c in _ANY_COMPLEXITY},
    (PetitionKind.LIVELIHOOD, Nature.COMPLAINT, Complexity.SIMPLE): 2,
    (PetitionKind.LIVELIHOOD, Nature.COMPLAINT, Complexity.COMPLEX): 5,
    **{
        (kind, None, complexity): days
        for kind in (PetitionKind.DEVELOPMENT, PetitionKind.ENFORCEMENT)
        for complexity, days in (
            (Complexity.SIMPLE, 10),
            (Complexity.COMPLEX, 10),
            (Complexity.ESPECIALLY_COMPLEX, 20),
        )
    },
}
"""(kind, nature or None for "any nature", complexity) → working days. See the module docstring."""


def time_limit(kind: PetitionKind, nature: Nature | None, complexity: Complexity) -> int:
    """The time limit in working days for a petition of this kind, nature and complexity.

    A row keyed with nature ``None`` applies to every nature of its kind.

    :raises ValueError: naming the combination, when `TIME_LIMITS` has no rule for it.
    """
    for key in ((kind, nature, complexity), (kind, None, complexity)):
        if key in TIME_LIMITS:
            return TIME_LIMITS[key]
    nature_label = nature.label if nature is not None else "未定性质"
    raise ValueError(
        f"没有办理时限规则：{kind.label}诉求、{nature_label}、{complexity.label} "
        f"(kind={kind.value}, nature={nature.value if nature else None}, complexity={complexity.value})"
    )


@dataclass(frozen=True)
class Deadline:
    """A computed deadline.

    `due` is the aware UTC instant the time runs out; `working_days` the working days it was counted from
    (for an extension, the extra days); `uncertain_years` the years the count crossed that have no holiday
    schedule, where plain weekends were assumed (empty when the whole count is on official or entered days).
    """

    due: dt.datetime
    working_days: int
    uncertain_years: tuple[int, ...]


def _count_from(day: dt.date, working_days: int, calendar: WorkingCalendar) -> Deadline:
    last = calendar.add_working_days(day, working_days)
    uncertain = tuple(calendar.unknown_years_between(day, last))
    if uncertain:
        log.warning(
            "deadline counted on the statutory holidays and weekends for %s: year not confirmed (from %s, %d working days)",
            ", ".join(map(str, uncertain)),
            day.isoformat(),
            working_days,
        )
    return Deadline(due=calendar.end_of_day(last), working_days=working_days, uncertain_years=uncertain)


def compute_deadline(accepted_at: dt.datetime, working_days: int, calendar: WorkingCalendar) -> Deadline:
    """The deadline of a petition accepted at `accepted_at` with a limit of `working_days`.

    Ends at 24:00 (calendar time zone) of the `working_days`-th working day after the acceptance day; the
    acceptance day does not count. Logs a warning when the count relies on a year without a schedule.

    :raises ValueError: if `accepted_at` is naive or `working_days` < 1.
    """
    return _count_from(calendar.local_date(accepted_at), working_days, calendar)


def extend_deadline(deadline: dt.datetime, extra_working_days: int, calendar: WorkingCalendar) -> Deadline:
    """The deadline after an approved extension of `extra_working_days` working days.

    Counts on from the day `deadline` falls on (the last day of the current limit: a deadline at local midnight
    belongs to the day before it), so the new deadline ends at 24:00 of the `extra_working_days`-th working day
    after that day. `Deadline.working_days` is `extra_working_days`.

    :raises ValueError: if `deadline` is naive or `extra_working_days` < 1.
    """
    last_day = calendar.local_date(require_aware(deadline) - dt.timedelta(microseconds=1))
    return _count_from(last_day, extra_working_days, calendar)


def working_time_left(now: dt.datetime, deadline: dt.datetime, calendar: WorkingCalendar) -> dt.timedelta:
    """The working time from `now` to `deadline` (only working days count, 24 hours each).

    Negative once working time has passed since the deadline. Right after a deadline that falls before a
    weekend or holiday, it stays at zero until the next working day begins: use `is_overdue` to tell overdue.

    :raises ValueError: if either datetime is naive.
    """
    return calendar.working_time_between(now, deadline)


def is_overdue(now: dt.datetime, deadline: dt.datetime) -> bool:
    """Whether the deadline has passed (``now > deadline``; at the deadline instant itself it is still in time).

    :raises ValueError: if either datetime is naive.
    """
    return require_aware(now) > require_aware(deadline)


def deadline_text(value: dt.datetime | str, tz: str = DEFAULT_TZ, *, now: dt.datetime | None = None) -> str:
    """A deadline as everyone reads it: ``12月4日（周五）24时前``.

    A deadline at local midnight ends the day before it, so it is that day's 24时; any other instant is shown with
    its time (``12月4日（周五）15时30分前``). When `now` is given and the deadline's day is in another year than
    `now`'s, the year is added (``2027年1月5日（周二）24时前``); without `now` the year is never shown.

    :raises ValueError: for a naive datetime, or a string that is not an ISO 8601 instant with its offset.
    """
    instant = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    zone = ZoneInfo(tz)
    local = require_aware(instant).astimezone(zone)
    if local.time() == dt.time(0, 0):
        day, clock = local.date() - dt.timedelta(days=1), "24时"
    else:
        day, clock = local.date(), f"{local.hour}时" + (f"{local.minute:02d}分" if local.minute else "")
    year = f"{day.year}年" if now is not None and require_aware(now).astimezone(zone).year != day.year else ""
    return f"{year}{day.month}月{day.day}日（{SHORT_WEEKDAYS[day.weekday()]}）{clock}前"
