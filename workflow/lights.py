"""Red / yellow / blue lights (红黄蓝灯): how much of a petition's working time is left.

Blue: in time. Yellow: at most `yellow_fraction_left` (config ``[lights] yellow_fraction_left``) of the working
time from acceptance to the deadline is left. Red: ``now > deadline``. Working time counts working days only,
24 hours each, so a weekend or holiday does not eat into a petition's time and does not change its light.
Closed petitions have no light: the workflow does not ask for one (see `petition_light`).

`light_for` is the definition. The lights job cannot evaluate it in SQL (working time needs the calendar), so each
petition stores the instant its light turns yellow, `Petition.yellow_at` (`yellow_from`): then the light at any
instant `now` is red when ``deadline < now``, yellow when ``yellow_at <= now <= deadline`` and blue before
``yellow_at`` — exactly `light_for`, as tests check over weekends, holidays and the threshold instants themselves.
Every write of a petition's clock goes through `set_deadline`, which resets `yellow_at` for the job to recompute.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Select,
    String,
    and_,
    column,
    exists,
    false,
    func,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from models.enums import Light, PetitionState
from models.messaging import JobState
from models.petition import Petition
from workflow.calendar import DAY, WORKING_DAY_LENGTH, WorkingCalendar, require_aware
from workflow.deadlines import is_overdue, working_time_left
from workflow.sqltime import LOCAL_OFFSET, local_clock, local_day, local_seconds

# The states in which a petition's working time runs and its light means something: from intake until the reply
# reaches the citizen.
CLOCK_RUNNING: tuple[PetitionState, ...] = (
    PetitionState.PENDING_DISPATCH,
    PetitionState.AT_CITY,
    PetitionState.ASSIGNED,
    PetitionState.HANDLING,
    PetitionState.UNIT_REVIEW,
    PetitionState.CITY_REVIEW,
    PetitionState.PLATFORM_REVIEW,
)

# The `JobState` row holding what the stored `yellow_at` instants were computed with (see `lights_basis`).
LIGHTS_BASIS = "lights_basis"

# How far `yellow_from` looks back for a working day before giving up (no calendar has a year without one).
_LOOK_BACK_DAYS = 400


def light_for(
    now: dt.datetime,
    accepted_at: dt.datetime,
    deadline: dt.datetime,
    calendar: WorkingCalendar,
    yellow_fraction_left: float,
) -> Light:
    """The light of a petition accepted at `accepted_at` and due at `deadline`, seen at `now`.

    Yellow when the working time left is at most `yellow_fraction_left` of the working time between acceptance
    and deadline (the threshold instant itself is yellow); red when `now` is after the deadline.

    :raises ValueError: if a datetime is naive, `deadline` is not after `accepted_at`, or the fraction is not
        within 0–1.
    """
    require_aware(now)
    if require_aware(deadline) <= require_aware(accepted_at):
        raise ValueError(f"deadline {deadline.isoformat()} is not after acceptance {accepted_at.isoformat()}")
    if not 0 <= yellow_fraction_left <= 1:
        raise ValueError(f"yellow_fraction_left must be within 0–1, got {yellow_fraction_left}")
    if is_overdue(now, deadline):
        return Light.RED
    total = calendar.working_time_between(accepted_at, deadline)
    if working_time_left(now, deadline, calendar) <= total * yellow_fraction_left:
        return Light.YELLOW
    return Light.BLUE


def petition_light(
    petition: Petition, now: dt.datetime, calendar: WorkingCalendar, yellow_fraction_left: float
) -> Light | None:
    """The light of `petition` at `now`, or None when no time limit runs: not accepted, no deadline, or closed.

    :raises ValueError: as `light_for`.
    """
    if petition.accepted_at is None or petition.deadline is None or petition.closed_at is not None:
        return None
    return light_for(now, petition.accepted_at, petition.deadline, calendar, yellow_fraction_left)


def yellow_from(
    accepted_at: dt.datetime,
    deadline: dt.datetime,
    calendar: WorkingCalendar,
    yellow_fraction_left: float,
) -> dt.datetime:
    """The first instant at which `light_for` says yellow (or red) for a petition accepted at `accepted_at` and due
    at `deadline`, as an aware UTC datetime; at or before `deadline`.

    For every instant ``now``: ``light_for(now, …)`` is RED when ``now > deadline``, YELLOW when
    ``yellow_from(…) <= now <= deadline``, else BLUE. The working time left shrinks while working days run and
    stands still on days off, so the threshold is found by walking back from the deadline, day by day, until the
    working time counted reaches the threshold ``working time × yellow_fraction_left`` (the same timedelta
    `light_for` compares against, so the two agree to the microsecond). When the threshold is reached exactly at the
    start of a working day, the days off before it are yellow too, and the answer is the end of the working day
    before them.

    :raises ValueError: as `light_for`.
    """
    require_aware(accepted_at)
    if require_aware(deadline) <= accepted_at:
        raise ValueError(f"deadline {deadline.isoformat()} is not after acceptance {accepted_at.isoformat()}")
    if not 0 <= yellow_fraction_left <= 1:
        raise ValueError(f"yellow_fraction_left must be within 0–1, got {yellow_fraction_left}")
    remaining = calendar.working_time_between(accepted_at, deadline) * yellow_fraction_left
    local_deadline = deadline.astimezone(calendar.tz)
    day = local_deadline.date()
    # On the deadline's own day only the part up to the deadline counts; every earlier day counts whole.
    portion = dt.timedelta(
        hours=local_deadline.hour,
        minutes=local_deadline.minute,
        seconds=local_deadline.second,
        microseconds=local_deadline.microsecond,
    )
    for _ in range(_LOOK_BACK_DAYS):
        if calendar.is_working_day(day):
            if remaining < portion:
                # Wall-clock arithmetic on the local day, as `WorkingCalendar.working_time_between` counts.
                start = dt.datetime.combine(day, dt.time(), tzinfo=calendar.tz)
                return (start + (portion - remaining)).astimezone(dt.UTC)
            remaining -= portion
        day -= dt.timedelta(days=1)
        portion = WORKING_DAY_LENGTH
    raise ValueError(f"no working day within {_LOOK_BACK_DAYS} days before {deadline.isoformat()}")


def set_deadline(
    petition: Petition,
    *,
    accepted_at: dt.datetime | None,
    time_limit_days: int | None,
    deadline: dt.datetime | None,
) -> None:
    """Set the petition's clock: acceptance, time limit and deadline (all None when a new round starts).

    The one place a petition's deadline is written: it also resets the derived `Petition.yellow_at`, which the
    lights job recomputes with the configured ``[lights] yellow_fraction_left`` at its next run (the workflow's
    effects do not know the settings, and rows written in bulk or a changed calendar need the same path anyway).
    """
    petition.accepted_at = accepted_at
    petition.time_limit_days = time_limit_days
    petition.deadline = deadline
    petition.yellow_at = None
    # Written even when this object still holds NULL from before the job computed the column behind its back.
    flag_modified(petition, "yellow_at")


# --- the same lights, counted by the database ----------------------------------------------------------------------
#
# Working time as a running total: W(t) = 24 h × (working days before t's local day) + (the part of t's day since
# local midnight, if that day is a working day). Then `calendar.working_time_between(a, b)` is W(b) − W(a), and the
# light of a petition needs W at acceptance, at the deadline and now. The working days come from the calendar (in
# Python: official schedule and overrides) as a small table of days joined to the petitions by local day.


def lit_petitions(district_code: str | None = None) -> list[ColumnElement[bool]]:
    """The conditions under which `petition_light` gives a petition a light: its clock runs, it was accepted, has
    a deadline after acceptance and is not closed (a deadline before acceptance has no light, see `light_for`)."""
    conditions = [
        Petition.state.in_(CLOCK_RUNNING),
        Petition.accepted_at.is_not(None),
        Petition.deadline.is_not(None),
        Petition.closed_at.is_(None),
        Petition.deadline > Petition.accepted_at,
    ]
    if district_code:
        conditions.append(Petition.district_code == district_code)
    return conditions


def overdue(district_code: str | None, now: dt.datetime) -> list[ColumnElement[bool]]:
    """The conditions of a red light at `now` (see `light_for`): lit, and past its deadline."""
    return [*lit_petitions(district_code), Petition.deadline < require_aware(now)]


class _WorkingClock:
    """W(t) for the local days `first`..`last`: as a table for SQL, and for one instant in Python."""

    def __init__(self, calendar: WorkingCalendar, first: dt.date, last: dt.date) -> None:
        self.before: dict[dt.date, int] = {}
        self.working: dict[dt.date, bool] = {}
        count, day = 0, first
        while day <= last:
            self.before[day] = count
            self.working[day] = calendar.is_working_day(day)
            count += self.working[day]
            day += DAY

    def table(self) -> Any:
        # Literal rows (dates and integers made here, nothing from outside); VALUES names its columns column1..3 on
        # both SQLite and PostgreSQL.
        rows = ", ".join(
            f"('{day.isoformat()}', {self.before[day]}, {int(self.working[day])})" for day in self.before
        )
        return (
            text(f"VALUES {rows}")
            .columns(column("column1", String), column("column2", Integer), column("column3", Integer))
            .cte("working_day")
        )

    def at(self, instant: dt.datetime) -> float:
        clock = local_clock(instant)
        since_midnight = clock - dt.datetime.combine(clock.date(), dt.time())
        seconds = WORKING_DAY_LENGTH.total_seconds() * self.before[clock.date()]
        return seconds + (since_midnight.total_seconds() if self.working[clock.date()] else 0.0)


def lights_basis(calendar: WorkingCalendar, yellow_fraction_left: float) -> str:
    """What every stored `Petition.yellow_at` depends on: the threshold and the calendar. The lights job stores it
    (`JobState` ``lights_basis``) with the instants it computes, and recomputes them all when it changes."""
    return f"{yellow_fraction_left!r}:{calendar.fingerprint()}"


def light_counts(
    session: Session,
    district_code: str | None,
    now: dt.datetime,
    calendar: WorkingCalendar,
    yellow_fraction_left: float,
) -> dict[str, dict[Light, int]]:
    """How many petitions have each light at `now`, per district: `petition_light` for every petition, counted by
    the database in one or two statements.

    A petition whose stored `yellow_at` was computed on the settings in force (`lights_basis`) is counted from it
    (red: ``deadline < now``, yellow: ``yellow_at <= now <= deadline``, blue: otherwise — exact at any `now`, see
    `yellow_from`). The others — a deadline moved since the lights job last ran, a changed threshold or calendar,
    rows written in bulk — are few, and counted from the calendar itself by a second statement (`_calendar_counts`).

    :raises ValueError: if `now` is naive, the fraction is not within 0–1, or the calendar's time zone is not
        UTC+8 all year (the SQL works on the stored UTC instants plus eight hours).
    """
    require_aware(now)
    if not 0 <= yellow_fraction_left <= 1:
        raise ValueError(f"yellow_fraction_left must be within 0–1, got {yellow_fraction_left}")
    for probe in (dt.datetime(now.year, 1, 1, tzinfo=dt.UTC), dt.datetime(now.year, 7, 1, tzinfo=dt.UTC)):
        if calendar.tz.utcoffset(probe.replace(tzinfo=None)) != LOCAL_OFFSET:
            raise ValueError(f"the lights are counted in UTC+8; the calendar's time zone is {calendar.tz}")
    lit = lit_petitions(district_code)
    basis = lights_basis(calendar, yellow_fraction_left)
    trusted = and_(
        Petition.yellow_at.is_not(None),
        exists().where(JobState.name == LIGHTS_BASIS, JobState.value == basis),
    )
    red = Petition.deadline < now
    rows = session.execute(
        select(
            Petition.district_code,
            func.count().filter(trusted, red),
            func.count().filter(trusted, ~red, Petition.yellow_at <= now),
            func.count().filter(trusted),
            func.count().filter(~trusted),
            func.min(Petition.accepted_at).filter(~trusted),
            func.max(Petition.deadline).filter(~trusted),
        )
        .where(*lit)
        .group_by(Petition.district_code)
    ).all()
    counts = {
        district: {Light.RED: reds, Light.YELLOW: yellows, Light.BLUE: n - reds - yellows}
        for district, reds, yellows, n, *_ in rows
    }
    untrusted = [row for row in rows if row[4]]
    if untrusted:
        earliest = min(row[5] for row in untrusted)
        latest = max(row[6] for row in untrusted)
        exact = _calendar_counts(
            session, [*lit, ~trusted], now, calendar, yellow_fraction_left, earliest, latest
        )
        for district, by_light in exact.items():
            for light, n in by_light.items():
                counts[district][light] += n
    return counts


def _calendar_counts(
    session: Session,
    conditions: list[ColumnElement[bool]],
    now: dt.datetime,
    calendar: WorkingCalendar,
    yellow_fraction_left: float,
    earliest: dt.datetime,
    latest: dt.datetime,
) -> dict[str, dict[Light, int]]:
    """`petition_light` of the petitions meeting `conditions` (accepted from `earliest`, due by `latest`), counted
    per district in one statement from the calendar's working days."""
    red, yellow, joined = _calendar_lights(now, calendar, yellow_fraction_left, earliest, latest)
    query: Select[Any] = joined(
        select(
            Petition.district_code,
            func.count().filter(red),
            func.count().filter(yellow),
            func.count(),
        )
    )
    query = query.where(*conditions).group_by(Petition.district_code)
    return {
        district: {Light.RED: reds, Light.YELLOW: yellows, Light.BLUE: n - reds - yellows}
        for district, reds, yellows, n in session.execute(query)
    }


def _calendar_lights(
    now: dt.datetime,
    calendar: WorkingCalendar,
    yellow_fraction_left: float,
    earliest: dt.datetime,
    latest: dt.datetime,
) -> tuple[ColumnElement[bool], ColumnElement[bool], Any]:
    """Red and yellow at `now` from the calendar's working days, for petitions accepted from `earliest` and due by
    `latest`, and how to join those days to a query of petitions."""
    today = local_clock(now).date()
    # A month's margin for petitions written between the two statements.
    clock = _WorkingClock(
        calendar,
        min(local_clock(earliest).date(), today) - 31 * DAY,
        max(local_clock(latest).date(), today) + 31 * DAY,
    )
    days = clock.table()
    accepted_day, deadline_day = days.alias("accepted_day"), days.alias("deadline_day")

    def w(day: Any, instant: Any) -> ColumnElement[float]:
        return day.c.column2 * WORKING_DAY_LENGTH.total_seconds() + day.c.column3 * local_seconds(instant)

    left = w(deadline_day, Petition.deadline) - clock.at(now)
    total = w(deadline_day, Petition.deadline) - w(accepted_day, Petition.accepted_at)
    red = Petition.deadline < now
    # `light_for` compares timedeltas, whose product with the fraction is rounded to the microsecond.
    yellow = ~red & (left <= total * func.cast(yellow_fraction_left, Float) + 5e-7)

    def joined(query: Select[Any]) -> Select[Any]:
        return (
            query.select_from(Petition)
            .join(accepted_day, accepted_day.c.column1 == local_day(Petition.accepted_at))
            .join(deadline_day, deadline_day.c.column1 == local_day(Petition.deadline))
        )

    return red, yellow, joined


def light_now(
    session: Session,
    light: Light,
    now: dt.datetime,
    calendar: WorkingCalendar,
    yellow_fraction_left: float,
) -> ColumnElement[bool]:
    """The condition on `Petition` of having `light` at `now`, exactly as `light_counts` counts it (so a list
    filtered by it holds as many petitions as the dashboard's figure): the stored `yellow_at` where it was
    computed on the settings in force, else the calendar (a small look-up of the few others first).

    :raises ValueError: as `light_counts`.
    """
    require_aware(now)
    lit = and_(*lit_petitions(None))
    basis = lights_basis(calendar, yellow_fraction_left)
    trusted = and_(
        Petition.yellow_at.is_not(None),
        exists().where(JobState.name == LIGHTS_BASIS, JobState.value == basis),
    )
    red = Petition.deadline < now
    earliest, latest = session.execute(
        select(func.min(Petition.accepted_at), func.max(Petition.deadline)).where(lit, ~trusted)
    ).one()
    yellow_by_calendar: ColumnElement[bool] = false()
    if earliest is not None:
        _, calendar_yellow, joined = _calendar_lights(now, calendar, yellow_fraction_left, earliest, latest)
        yellow_by_calendar = Petition.id.in_(
            joined(select(Petition.id)).where(lit, ~trusted, calendar_yellow)
        )
    yellow = and_(~red, or_(and_(trusted, Petition.yellow_at <= now), and_(~trusted, yellow_by_calendar)))
    if light == Light.RED:
        return and_(lit, red)
    if light == Light.YELLOW:
        return and_(lit, yellow)
    return and_(lit, ~red, ~yellow)
