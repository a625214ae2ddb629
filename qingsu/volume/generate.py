"""Generating the volume: when petitions arrive, the coverage petitions, numbering, and the chunk loop.

Regular petitions arrive day by day over the period (more on working days, a slow rise over the year, the hours
citizens write), in time order, so ids and the `<abbr><YYYYMMDD><seq>` numbers follow submission time. A few
coverage petitions come first in the plan: one for every state (and each light of a running petition, a pending
extension, a second handling round, an assessment that closes), placed in time so that the lifecycle leaves them in
that state at `now`; they make every state appear even in a small volume. A few in a hundred petitions report again
what a recent open petition of their district reports, and the platform links them to it (`workflow.links`): they
wait 已关联 for its reply and get their copy of it (a coverage pair of each guarantees both). Everything is drawn
from `random.Random` seeded with the run's seed, so a seed and an instant give the same rows.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import random
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models import PetitionSequence
from models.enums import PetitionKind
from qingsu.volume import texts
from qingsu.volume.clock import DAY_SECONDS, Clock, epoch
from qingsu.volume.lifecycle import (
    ACCOUNTABILITY,
    ASSESSMENT,
    ASSIGNED,
    AT_CITY,
    AWAITING,
    CITY_REVIEW,
    CLOSED,
    EVALUATION_REMINDER_HOURS,
    HANDLING,
    LINKED,
    PD,
    PLATFORM_REVIEW,
    REJECTED,
    UNIT_REVIEW,
    UNRATED,
    Force,
    Lifecycle,
    Master,
    Outcome,
    Sink,
    Spec,
)
from qingsu.volume.specs import SpecDrawer
from qingsu.volume.world import World
from qingsu.volume.writer import writer_for
from workflow.calendar import WorkingCalendar

MAX_PER_DAY = 9999
# Relative number of petitions written in each local hour.
HOUR_WEIGHTS = (1, 0.5, 0.3, 0.2, 0.2, 0.4, 1, 3, 6, 9, 9, 8, 6, 6, 8, 8, 7, 6, 5, 5, 5, 4, 3, 2)
WEEKDAY_WEIGHTS = (1.15, 1.05, 1.05, 1.0, 1.0, 0.75, 0.7)
HOLIDAY_WEIGHT = 0.55
# The share of petitions that report again what a recent petition of their district reports (linked when that one is
# still open when the platform decides), and how recent (days) that one is.
DUPLICATE_SHARE = 0.02
DUPLICATE_WITHIN_DAYS = 7

LIV, DEV, ENF = PetitionKind.LIVELIHOOD, PetitionKind.DEVELOPMENT, PetitionKind.ENFORCEMENT


class TooManyPerDay(Exception):
    """More than 9,999 petitions in one district and day: the number has four digits."""


@dataclass(frozen=True)
class Target:
    """A coverage petition: the state (and light, and round) it must be in at `now`, and how to get there.

    `during` names the action (and which occurrence of it) that puts the petition in the state; None for a final
    state. `master`: the index in `TARGETS` of the target whose petition this one is a linked duplicate of (its kind
    is the master's).
    """

    state: str
    kind: PetitionKind
    force: Force = field(default_factory=Force)
    during: tuple[str, int] | None = None
    light: str | None = None
    handling_round: int = 1
    reject: bool = False
    via_city: bool = False
    master: int | None = None


TARGETS: tuple[Target, ...] = (
    Target(PD, LIV, during=("submit", 1)),
    Target(REJECTED, LIV, reject=True),
    Target(AT_CITY, LIV, via_city=True, during=("send_to_city", 1)),
    Target(ASSIGNED, DEV, during=("dispatch", 1)),
    Target(HANDLING, LIV, Force(handling_factor=2.0), ("accept", 1), light="BLUE"),
    Target(HANDLING, DEV, Force(handling_factor=2.0), ("accept", 1), light="YELLOW"),
    Target(HANDLING, ENF, Force(handling_factor=3.0), ("accept", 1), light="RED"),
    Target(HANDLING, DEV, Force(extension=True), ("request_extension", 1)),
    Target(UNIT_REVIEW, LIV, during=("submit_reply", 1)),
    Target(CITY_REVIEW, DEV, via_city=True, during=("approve_reply", 1)),
    Target(PLATFORM_REVIEW, ENF, during=("approve_reply", 1)),
    Target(AWAITING, LIV, Force(rated=False), ("send_reply", 1)),
    Target(PD, LIV, Force(rated=True, fail_rounds=1), ("evaluate", 1), handling_round=2),
    Target(ASSESSMENT, LIV, Force(rated=True, fail_rounds=2), ("evaluate", 2), handling_round=2),
    Target(CLOSED, DEV, Force(rated=True)),
    Target(CLOSED, ENF, Force(rated=True, fail_rounds=2), handling_round=2),
    Target(UNRATED, LIV, Force(rated=False)),
    Target(ACCOUNTABILITY, LIV, Force(rated=True, fail_rounds=3, not_completed=2), handling_round=3),
    # Linked duplicates: one waiting for the reply of the 单位审核 petition above, one that got the 待评价 one's.
    Target(LINKED, LIV, during=("link", 1), master=8),
    Target(AWAITING, LIV, Force(rated=False), ("linked_reply", 1), master=11),
)


@dataclass
class Cover:
    """A placed coverage petition: its spec, when it was submitted, and the seed of its life's draws."""

    created: int
    spec: Spec
    force: Force
    life_seed: str
    index: int = 0
    master: int | None = None


@dataclass
class Report:
    petitions: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    uncertain_years: list[int] = field(default_factory=list)
    missed_targets: list[str] = field(default_factory=list)


def period_start(now: dt.datetime, months: int) -> dt.datetime:
    """`months` months before `now` (a month being a twelfth of a year)."""
    return now - dt.timedelta(days=round(months * 365.25 / 12))


def daily_counts(clock: Clock, start: int, total: int) -> list[tuple[int, int]]:
    """How many petitions arrive on each local day from `start` to now: `total` in all, split by weight and rounded
    cumulatively so the counts add up exactly."""
    first, last = clock.day(start), clock.day(clock.now)
    span = max(last - first, 1)
    weights = []
    for day in range(first, last + 1):
        weekday = clock.date(day).weekday()
        weight = (0.85 + 0.3 * (day - first) / span) * WEEKDAY_WEIGHTS[weekday]
        if weekday < 5 and not clock.working(day):
            weight *= HOLIDAY_WEIGHT
        lo, hi = max(clock.day_start(day), start), min(clock.day_start(day + 1), clock.now)
        weights.append(weight * max(hi - lo, 0) / DAY_SECONDS)
    whole = sum(weights) or 1.0
    counts, cumulative, before = [], 0.0, 0
    for day, weight in zip(range(first, last + 1), weights, strict=True):
        cumulative += weight
        upto = round(cumulative / whole * total)
        counts.append((day, upto - before))
        before = upto
    return counts


def _chunks(counts: list[tuple[int, int]], size: int) -> Iterator[list[tuple[int, int]]]:
    chunk: list[tuple[int, int]] = []
    filled = 0
    for day, n in counts:
        chunk.append((day, n))
        filled += n
        if filled >= size:
            yield chunk
            chunk, filled = [], 0
    if chunk:
        yield chunk


_HOUR_CUMULATIVE = list(itertools.accumulate(HOUR_WEIGHTS))


def _arrivals(rng: random.Random, clock: Clock, day: int, n: int, start: int) -> list[int]:
    """`n` submission instants on `day`, by the hours citizens write (uniform within a partial first or last day)."""
    lo, hi = max(clock.day_start(day), start), min(clock.day_start(day + 1), clock.now)
    times = []
    partial = hi - lo < DAY_SECONDS
    for _ in range(n):
        if partial:
            times.append(lo + int(rng.random() * (hi - lo)))
        else:
            hour = bisect.bisect_right(_HOUR_CUMULATIVE, rng.random() * _HOUR_CUMULATIVE[-1])
            times.append(lo + hour * 3600 + int(rng.random() * 3600))
    times.sort()
    return times


def _place(trial: Lifecycle, target: Target, spec: Spec, life_seed: str, now: int) -> Cover | None:
    """A start at which the life drawn from `life_seed` is in the target's state (light, round) at `now`, or None."""

    def attempt(created: int, until: int | None = None) -> Outcome:
        return trial.run(spec, 0, "", created, random.Random(life_seed), Sink(), target.force, until)

    def fits(outcome: Outcome) -> bool:
        return (
            outcome.state == target.state
            and outcome.handling_round == target.handling_round
            and (target.light is None or outcome.light == target.light)
        )

    # The whole life (its actions do not depend on when it starts, only their times do), and how many of its
    # actions must have happened by `now`.
    whole = attempt(now - 300 * DAY_SECONDS, until=now + 400 * DAY_SECONDS).times
    need = len(whole)
    if target.during is not None:
        action, occurrence = target.during
        found = [i for i, (name, _) in enumerate(whole) if name == action]
        if len(found) < occurrence:
            return None
        need = found[occurrence - 1] + 1
    # A later start leaves fewer actions done by `now`: bisect for a start with exactly `need` of them, then look
    # around it for the wanted light.
    lo, hi = now - 400 * DAY_SECONDS, now
    while hi - lo > 60:
        middle = (lo + hi) // 2
        done = len(attempt(middle).times)
        if done > need:
            lo = middle
        elif done < need:
            hi = middle
        else:
            step = DAY_SECONDS // 16
            if need < len(whole):
                step = max(step, (whole[need][1] - whole[need - 1][1]) // 32)
            for offset in sorted(range(-64, 65), key=abs):
                if fits(attempt(middle + offset * step)):
                    return Cover(middle + offset * step, spec, target.force, life_seed)
            return None
    return None


def _place_duplicate(
    trial: Lifecycle, target: Target, spec: Spec, life_seed: str, now: int, master: Master
) -> Cover | None:
    """A start, after its master's, at which the life drawn from `life_seed` linked to `master` is in the target's
    state at `now`, or None."""
    first = master.spans[0]
    lo, hi = master.created, min(first[1] if first[1] is not None else now, now)
    action = target.during[0] if target.during is not None else "link"
    for k in range(1, 64):
        created = lo + (hi - lo) * k // 64
        outcome = trial.run(
            spec, 0, "", created, random.Random(life_seed), Sink(), target.force, link_to=master
        )
        if (
            outcome.state == target.state
            and outcome.handling_round == target.handling_round
            and any(name == action for name, _ in outcome.times)
        ):
            return Cover(created, spec, target.force, life_seed)
    return None


def place_targets(
    targets: tuple[Target, ...], drawer: SpecDrawer, world: World, clock: Clock, seed: int, window_days: int
) -> tuple[list[Cover], list[str]]:
    """Find, for each target, a submission time at which the lifecycle leaves its petition in the target's state
    (and light and round) at `now`. Returns the placed petitions and the targets that could not be placed."""
    trial = Lifecycle(world, clock, lambda t: t, lambda _table: 0, window_days)
    now = clock.now
    month = clock.date(clock.day(now)).month
    placed: list[Cover] = []
    missed: list[str] = []
    # The placed petitions that may be masters, as the trial lifecycle leaves them.
    masters: dict[int, Master] = {}
    for j, target in enumerate(targets):
        master = masters.get(target.master) if target.master is not None else None
        if target.master is not None and master is None:
            missed.append(f"{target.state}/{target.light or '-'}/{target.kind.name}")
            continue
        rng = random.Random(f"{seed}:cover:{j}")
        if master is not None:
            spec = drawer.duplicate(rng, month, master.spec)
        else:
            spec = drawer.draw(
                rng,
                month,
                kind=target.kind,
                reject=target.reject,
                via_city=target.via_city,
                new_petitioner=True,
            )
        placed_one = None
        # Working hours make the times of a life depend on when it starts, and a weekend can swallow a short state
        # whole: if no start leaves this life in the state, try the life of another seed.
        for retry in range(16):
            life_seed = f"{seed}:life:{j}:{retry}"
            if master is not None:
                placed_one = _place_duplicate(trial, target, spec, life_seed, now, master)
            else:
                placed_one = _place(trial, target, spec, life_seed, now)
            if placed_one is not None:
                break
        if placed_one is None:
            missed.append(f"{target.state}/{target.light or '-'}/{target.kind.name}")
            continue
        placed_one.index, placed_one.master = j, target.master
        placed.append(placed_one)
        outcome = trial.run(
            spec, 0, "", placed_one.created, random.Random(placed_one.life_seed), Sink(), target.force
        )
        if outcome.spans is not None:
            masters[j] = Master(0, "", placed_one.created, spec, outcome.spans)
    return placed, missed


class RecentMasters:
    """The petitions of the last `DUPLICATE_WITHIN_DAYS` days that a new petition may be a duplicate of, in
    submission order."""

    def __init__(self) -> None:
        self.recent: deque[Master] = deque()

    def add(self, master: Master) -> None:
        self.recent.append(master)

    def pick(self, rng: random.Random, created: int) -> Master | None:
        """A recent petition still open to links at `created` and for a while after (the platform decides on the
        duplicate within a day or two), or None when a few draws find none."""
        recent = self.recent
        oldest = created - DUPLICATE_WITHIN_DAYS * DAY_SECONDS
        while recent and recent[0].created < oldest:
            recent.popleft()
        for _ in range(8):
            if not recent:
                return None
            master = recent[int(rng.random() * len(recent))]
            span = master.span_at(created)
            if (
                master.created < created
                and span is not None
                and (span[1] is None or span[1] > created + DAY_SECONDS)
            ):
                return master
        return None


def generate_volume(
    engine: Engine,
    session: Session,
    world: World,
    calendar: WorkingCalendar,
    *,
    now: dt.datetime,
    months: int,
    count: int,
    seed: int,
    chunk_size: int,
    yellow_fraction: float,
    window_days: int,
    progress: Callable[[int], None],
    reminder_hours: float = EVALUATION_REMINDER_HOURS,
) -> Report:
    """Write `count` petitions submitted over the `months` months up to `now`, in chunks of about `chunk_size`.

    :raises TooManyPerDay: a district and day would need a fifth digit (use more months).
    """
    start_at = period_start(now, months)
    clock = Clock(calendar, now, start_at, yellow_fraction)
    start = epoch(start_at)
    drawer = SpecDrawer(world, texts.TextBank())
    covers, missed = place_targets(TARGETS[:count], drawer, world, clock, seed, window_days)
    covers.sort(key=lambda c: c.created)
    counts = daily_counts(clock, start, count - len(covers))
    counters = {(row.district_code, row.day): row.last for row in session.scalars(select(PetitionSequence))}
    session.rollback()
    writer = writer_for(engine)
    lifecycle = Lifecycle(world, clock, writer.ts, writer.take_id, window_days, reminder_hours)
    rng = random.Random(seed)
    recent = RecentMasters()
    cover_masters: dict[int, Master] = {}
    day_text: dict[int, str] = {}
    report = Report(missed_targets=missed)
    try:
        chunks = list(_chunks(counts, chunk_size))
        for index, chunk in enumerate(chunks):
            last_day = chunk[-1][0]
            arrivals: list[tuple[int, int, Cover | None]] = [
                (t, 0, None) for day, n in chunk for t in _arrivals(rng, clock, day, n, start)
            ]
            # Coverage petitions join the chunk of their day; the last chunk takes any still left.
            while covers and (clock.day(covers[0].created) <= last_day or index == len(chunks) - 1):
                cover = covers.pop(0)
                arrivals.append((cover.created, 1, cover))
            arrivals.sort(key=lambda a: (a[0], a[1]))
            sink = Sink()
            sequences: dict[tuple[str, str], int] = {}
            for created, _, cover in arrivals:
                day = clock.day(created)
                text = day_text.get(day)
                if text is None:
                    text = day_text[day] = clock.date(day).strftime("%Y%m%d")
                if cover is None:
                    master = recent.pick(rng, created) if rng.random() < DUPLICATE_SHARE else None
                    if master is not None:
                        spec = drawer.duplicate(rng, int(text[4:6]), master.spec)
                    else:
                        spec = drawer.draw(rng, int(text[4:6]))
                    life, force = rng, None
                else:
                    spec, life, force = cover.spec, random.Random(cover.life_seed), cover.force
                    master = cover_masters.get(cover.master) if cover.master is not None else None
                key = (spec.district.code, text)
                seq = counters.get(key, 0) + 1
                if seq > MAX_PER_DAY:
                    raise TooManyPerDay(
                        f"more than {MAX_PER_DAY} petitions in {spec.district.code} on {text}: use more --months"
                    )
                counters[key] = sequences[key] = seq
                pid = writer.take_id("petition")
                number = f"{spec.district.abbreviation}{text}{seq:04d}"
                outcome = lifecycle.run(spec, pid, number, created, life, sink, force, link_to=master)
                if outcome.spans is not None:
                    master = Master(pid, number, created, spec, outcome.spans)
                    recent.add(master)
                    if cover is not None:
                        cover_masters[cover.index] = master
                if spec.new_citizen is not None and outcome.citizen_id is not None:
                    kind, name, phone = spec.new_citizen[0], spec.new_citizen[1], spec.new_citizen[2]
                    drawer.remember(spec.district.code, kind, outcome.citizen_id, name, phone)
            writer.submit(sink, sequences)
            report.petitions += len(arrivals)
            progress(len(arrivals))
    except BaseException:
        writer.abandon()
        raise
    writer.close()
    report.rows = dict(writer.rows)
    report.uncertain_years = sorted(clock.uncertain_years)
    return report
