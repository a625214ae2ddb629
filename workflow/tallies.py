"""Daily tallies of the dashboard's figures, so a year's rates cost a few hundred rows a day, not a year of ratings.

A tally row holds one local day's (Asia/Shanghai) counts for a district, unit and kind: ratings, resolved,
satisfied, replies sent, on time and petitions closed unrated (`models.RateTally`), and per suggested department
the petitions a dispatcher decided on and how many kept the suggestion (`models.AcceptanceTally`). They are counted
by the very queries that count them live (`workflow.rates`, `classifier.stats`) grouped by day: no rate is defined
twice.

The figures of a period are then the tallies of its complete past days plus the live count of the rest (today,
usually: small). "Past" is measured against the last refresh (the watermark in `JobState` "tallies"): days before
the local day of the last refresh come from the tallies, everything from that day on is counted live. So a day's
tallies may miss what changed since the last refresh (a rating of today that supersedes one of last month is in
today's live count at once, but last month's tally still counts the superseded one until the next refresh, a few
minutes later) — the dashboard says when they were last brought up to date. Before the first refresh or rebuild
there is no watermark and everything is counted live: slower, never wrong.

`refresh_tallies` (the scheduler job) recomputes exactly the days that may have changed since its last run: every
day on which a petition touched since then (changed, rated, replied to, closed) has a rating, a sent reply, its
closing or its creation — so a later round's rating also fixes the day of the rating it supersedes. A day is
recomputed by deleting its rows and inserting them again from the aggregate queries, `BATCH_DAYS` days per short
transaction. `rebuild` (``qingsu tallies rebuild``) recomputes every day.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import (
    ColumnElement,
    DateTime,
    Integer,
    Select,
    String,
    and_,
    cast,
    delete,
    func,
    insert,
    literal,
    literal_column,
    null,
    or_,
    select,
    true,
    union,
    union_all,
)
from sqlalchemy.orm import Session

from models import (
    AcceptanceTally,
    Evaluation,
    JobState,
    Petition,
    RateTally,
    Reply,
    VolumeTally,
    utcnow,
)
from models.db import lock_for_write, session_scope
from models.enums import ReplyState
from workflow.rates import (
    ALL,
    DAY,
    SHANGHAI,
    GroupBy,
    Rate,
    Rates,
    dimensions_of,
    evaluation_counts_query,
    group_label,
    reply_counts_query,
    roomy_aggregates,
    unrated_counts_query,
)
from workflow.sqltime import day_month, local_clock, local_date, month_start
from workflow.volumes import DAY as VOLUME_DAY
from workflow.volumes import VOLUME_GROUPINGS, VolumeBy, volume_counts_query, volume_key

log = logging.getLogger(__name__)

TALLIES = "tallies"
# Changes are looked for from this long before the last refresh: a transaction that stamped its rows just before
# the refresh read the database, and committed just after, is still found by the next one.
MARGIN = dt.timedelta(minutes=10)
# Days recomputed per transaction: short enough not to hold the write lock for long on SQLite.
BATCH_DAYS = 14
_DAY = dt.timedelta(days=1)
_TALLY_DIMENSIONS = ("district", "unit", "kind", DAY)
_RATE_COUNTS = ("rated", "resolved", "satisfied", "sent", "on_time", "unrated")
_RATE_COLUMNS = ["district_code", "unit_id", "kind", "day", *_RATE_COUNTS]


# --- when the tallies were last brought up to date ---------------------------------------------------------------


def refreshed_at(session: Session) -> dt.datetime | None:
    """The instant of the last refresh or rebuild (the watermark), or None when the tallies are not to be used."""
    value = session.scalar(select(JobState.value).where(JobState.name == TALLIES))
    return dt.datetime.fromisoformat(value) if value else None


def forget_tallies(session: Session, now: dt.datetime) -> None:
    """Stop trusting the tallies (after rows were written in bulk with past instants, which the refresh cannot see):
    the dashboard counts live until the next `refresh_tallies` run, which then rebuilds them all. Does not commit."""
    _set_watermark(session, None, now)


def _set_watermark(session: Session, at: dt.datetime | None, now: dt.datetime) -> None:
    state = session.get(JobState, TALLIES)
    value = at.isoformat() if at else ""
    if state is None:
        session.add(JobState(name=TALLIES, value=value, updated_at=now))
    else:
        state.value, state.updated_at = value, now


def local_midnight(day: dt.date) -> dt.datetime:
    """The instant (aware UTC) at which local day `day` begins."""
    return dt.datetime.combine(day, dt.time(), tzinfo=SHANGHAI).astimezone(dt.UTC)


def _local_day(instant: dt.datetime) -> dt.date:
    return local_clock(instant).date()


# --- reading: tallies for the past days, live counts for the rest ------------------------------------------------


@dataclass(frozen=True)
class Split:
    """A period cut into the local days [first_day, last_day) read from the tallies and the spans counted live."""

    first_day: dt.date | None
    last_day: dt.date | None
    live: tuple[tuple[dt.datetime | None, dt.datetime | None], ...]


def split_period(start: dt.datetime | None, end: dt.datetime | None, refreshed: dt.datetime | None) -> Split:
    """Which part of [start, end) the tallies answer: the whole local days in it before the day of `refreshed`."""
    if refreshed is None or start is None:
        return Split(None, None, ((start, end),))
    first = _local_day(start)
    if local_midnight(first) < start:
        first += _DAY
    last = _local_day(refreshed)
    if end is not None:
        last = min(last, _local_day(end))
    if first >= last:
        return Split(None, None, ((start, end),))
    head, tail = local_midnight(first), local_midnight(last)
    live = ((start, head),) if start < head else ()
    if end is None or tail < end:
        live += ((tail, end),)
    return Split(first, last, live)


@dataclass(frozen=True)
class PeriodRates:
    """The rates of a period per grouping, the petitions closed unrated in it, and how fresh the tallies were."""

    rates: dict[GroupBy, Rates]
    unrated: int
    refreshed_at: dt.datetime | None


def _tally_key(name: str) -> ColumnElement[Any]:
    return {
        "district": RateTally.district_code,
        "unit": RateTally.unit_id,
        "kind": RateTally.kind,
        "month": day_month(RateTally.day),
    }[name].label(name)


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def _tally_days(query: Select[Any], model: Any, district_code: str | None, split: Split) -> Select[Any]:
    """Limit a query of a tally table to the days of `split`: the month roll-ups of its whole months, the daily
    rows of the days before and after them."""
    first, last = split.first_day, split.last_day
    assert first is not None and last is not None
    months_from = first if first.day == 1 else _next_month(first)
    months_until = last.replace(day=1)
    daily = ~model.whole_month
    if months_from < months_until:
        query = query.where(
            or_(
                and_(model.whole_month, model.day >= months_from, model.day < months_until),
                and_(daily, model.day >= first, model.day < months_from),
                and_(daily, model.day >= months_until, model.day < last),
            )
        )
    else:
        query = query.where(daily, model.day >= first, model.day < last)
    if district_code:
        query = query.where(model.district_code == district_code)
    return query


def period_rates(
    session: Session,
    group_bys: Sequence[GroupBy],
    *,
    district_code: str | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    refreshed: dt.datetime | None = None,
) -> PeriodRates:
    """What `workflow.rates.rates_by` and `unrated_count` give for the period, from the tallies of its past days
    (as of the refresh at `refreshed`, see `refreshed_at`; None: everything live) and live counts of the rest.

    One statement: the tallied days' rows and the live counts (three queries per part counted live, usually one
    part: today) put together, then summed by the database once per grouping — a few hundred rows come back for a
    city's year, not the ten thousand groups of every district, unit, kind and month.
    """
    dimensions = dimensions_of(group_bys)
    split = split_period(start, end, refreshed)
    roomy_aggregates(session, small=split.first_day is not None)
    parts: list[Select[Any]] = []
    if split.first_day is not None:
        keys = [_tally_key(name) for name in dimensions]
        counts = [getattr(RateTally, name).label(name) for name in _RATE_COUNTS]
        parts.append(_tally_days(select(*keys, *counts), RateTally, district_code, split))
    for live_start, live_end in split.live:
        parts += [
            _padded(query.subquery(), dimensions)
            for query in (
                evaluation_counts_query(dimensions, district_code, live_start, live_end),
                reply_counts_query(dimensions, district_code, live_start, live_end),
                unrated_counts_query(dimensions, district_code, live_start, live_end),
            )
        ]
    counted = (union_all(*parts) if len(parts) > 1 else parts[0]).cte("counted")
    sums = [func.coalesce(func.sum(counted.c[name]), 0) for name in _RATE_COUNTS]
    per_grouping = [
        select(
            literal(i),
            *(counted.c[name] if name == group_by else _typed_null(session, name) for name in dimensions),
            *sums,
        ).group_by(*([counted.c[group_by]] if group_by is not None else []))
        for i, group_by in enumerate(group_bys)
    ]
    rows = session.execute(union_all(*per_grouping) if len(per_grouping) > 1 else per_grouping[0]).all()
    return _fold_groupings(dimensions, group_bys, rows, refreshed)


def _typed_null(session: Session, dimension: str) -> ColumnElement[Any]:
    """NULL of the dimension's SQL type: a UNION on PostgreSQL takes the type of a column from its first rows."""
    if dimension == "unit":
        return cast(null(), Integer)
    if dimension == "kind":
        return cast(null(), RateTally.kind.type)  # so the rows read back as PetitionKind members
    if dimension == "month" and session.get_bind().dialect.name == "postgresql":
        return cast(null(), DateTime)  # what local_month and day_month give there
    return cast(null(), String)


def _padded(part: Any, dimensions: Sequence[str]) -> Select[Any]:
    """A count query's rows with every count column, those it does not count as zeros."""
    return select(
        *(part.c[name] for name in dimensions),
        *(part.c[name] if name in part.c else literal_column("0").label(name) for name in _RATE_COUNTS),
    )


def _fold_groupings(
    dimensions: Sequence[str],
    group_bys: Sequence[GroupBy],
    rows: Sequence[Sequence[Any]],
    refreshed: dt.datetime | None,
) -> PeriodRates:
    """`PeriodRates` from rows of (grouping's index, the dimensions with only that grouping's filled in, the
    counts), as `period_rates` asks for them; rows whose keys read the same (a month the tallies and the live
    count spell differently) add up."""
    n = len(dimensions)
    counts: list[dict[str, list[int]]] = [defaultdict(lambda: [0] * len(_RATE_COUNTS)) for _ in group_bys]
    unrated = 0
    for row in rows:
        index = row[0]
        group_by = group_bys[index]
        key = ALL if group_by is None else group_label(group_by, row[1 + dimensions.index(group_by)])
        counted = counts[index][key]
        for i, value in enumerate(row[1 + n :]):
            counted[i] += value
        if index == 0:
            unrated += row[-1]
    rated, resolved, satisfied, sent, on_time = range(5)  # the places of the counts in _RATE_COUNTS
    rates: dict[GroupBy, Rates] = {}
    for group_by, by_key in zip(group_bys, counts, strict=True):
        rates[group_by] = Rates(
            resolution={k: Rate(c[resolved], c[rated]) for k, c in sorted(by_key.items()) if c[rated]},
            satisfaction={k: Rate(c[satisfied], c[rated]) for k, c in sorted(by_key.items()) if c[rated]},
            on_time={k: Rate(c[on_time], c[sent]) for k, c in sorted(by_key.items()) if c[sent]},
        )
    return PeriodRates(rates, unrated, refreshed)


def _volume_key(name: str) -> ColumnElement[Any]:
    return {
        "district": VolumeTally.district_code,
        "kind": VolumeTally.kind,
        "dept": VolumeTally.dept_type,
        "month": day_month(VolumeTally.day),
    }[name].label(name)


def _volume_null(session: Session, dimension: str) -> ColumnElement[Any]:
    if dimension == "kind":
        return cast(null(), VolumeTally.kind.type)
    if dimension == "dept":
        return cast(null(), VolumeTally.dept_type.type)
    return _typed_null(session, dimension)


def period_volumes(
    session: Session,
    group_bys: Sequence[VolumeBy],
    *,
    district_code: str | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    refreshed: dt.datetime | None = None,
) -> dict[VolumeBy, dict[str, int]]:
    """Petitions received in the period (`workflow.volumes`) per group of each of `group_bys` (None: the total,
    key `ALL`), from the tallies of its past days (as of the refresh at `refreshed`; None: everything live) and
    a live count of the rest; groups without petitions are left out.

    One statement, summed by the database per grouping, as `period_rates`.
    """
    dimensions = [name for name in VOLUME_GROUPINGS if name in group_bys]
    split = split_period(start, end, refreshed)
    roomy_aggregates(session, small=split.first_day is not None)
    parts: list[Select[Any]] = []
    if split.first_day is not None:
        keys = [_volume_key(name) for name in dimensions]
        parts.append(
            _tally_days(
                select(*keys, VolumeTally.petitions.label("petitions")), VolumeTally, district_code, split
            )
        )
    for live_start, live_end in split.live:
        parts.append(volume_counts_query(dimensions, district_code, live_start, live_end))
    counted = (union_all(*parts) if len(parts) > 1 else parts[0]).cte("counted")
    per_grouping = [
        select(
            literal(i),
            *(counted.c[name] if name == group_by else _volume_null(session, name) for name in dimensions),
            func.coalesce(func.sum(counted.c.petitions), 0),
        ).group_by(*([counted.c[group_by]] if group_by is not None else []))
        for i, group_by in enumerate(group_bys)
    ]
    rows = session.execute(union_all(*per_grouping) if len(per_grouping) > 1 else per_grouping[0]).all()
    result: dict[VolumeBy, dict[str, int]] = {group_by: defaultdict(int) for group_by in group_bys}
    for row in rows:
        group_by = group_bys[row[0]]
        key = ALL if group_by is None else volume_key(group_by, row[1 + dimensions.index(group_by)])
        result[group_by][key] += int(row[-1])
    return {group_by: {k: n for k, n in sorted(by_key.items()) if n} for group_by, by_key in result.items()}


def period_acceptance(
    session: Session,
    district_code: str | None = None,
    since: dt.datetime | None = None,
    refreshed: dt.datetime | None = None,
) -> dict:
    """What `classifier.stats.acceptance_stats` gives, from the tallies of the past days since `since` (as of the
    refresh at `refreshed`; None: everything live) and a live count of the rest."""
    from classifier.stats import acceptance_counts_query, fold_acceptance

    split = split_period(since, None, refreshed)
    rows: list[tuple[str, int, int]] = []
    if split.first_day is not None:
        department = AcceptanceTally.department
        query = select(department, func.sum(AcceptanceTally.decided), func.sum(AcceptanceTally.accepted))
        rows += session.execute(
            _tally_days(query, AcceptanceTally, district_code, split).group_by(department)
        ).tuples()
    for live_start, live_end in split.live:
        rows += session.execute(acceptance_counts_query((), district_code, live_start, live_end)).tuples()
    return fold_acceptance(rows)


# --- writing: recomputing days -------------------------------------------------------------------------------------


def _spans(days: Sequence[dt.date]) -> list[tuple[dt.datetime, dt.datetime]]:
    """The instants [start, end) of `days` (sorted), consecutive days joined into one span."""
    spans: list[tuple[dt.date, dt.date]] = []
    for day in days:
        if spans and spans[-1][1] == day:
            spans[-1] = (spans[-1][0], day + _DAY)
        else:
            spans.append((day, day + _DAY))
    return [(local_midnight(first), local_midnight(last)) for first, last in spans]


def _rate_rows(spans: Sequence[tuple[dt.datetime, dt.datetime]]) -> Select[Any]:
    """The rate tally rows of the days in `spans`: the three live queries grouped by day, summed per key."""
    names = list(_TALLY_DIMENSIONS)
    counts = _RATE_COUNTS
    parts = [
        query.subquery()
        for query in (
            evaluation_counts_query(names, None, None, None, spans),
            reply_counts_query(names, None, None, None, spans),
            unrated_counts_query(names, None, None, None, spans),
        )
    ]

    union = union_all(*(_padded(part, names) for part in parts)).subquery()
    keys = [union.c[name] for name in names]
    return select(*keys, *(func.sum(union.c[name]) for name in counts)).group_by(*keys)


def _acceptance_rows(spans: Sequence[tuple[dt.datetime, dt.datetime]]) -> Select[Any]:
    from classifier.stats import acceptance_counts_query

    query = acceptance_counts_query(
        (local_date(Petition.created_at).label("day"), Petition.district_code.label("district")), None, None
    )
    return query.where(or_(*(and_(Petition.created_at >= s, Petition.created_at < e) for s, e in spans)))


def recompute_days(session: Session, days: Sequence[dt.date]) -> None:
    """Replace the tallies of `days`, and the roll-ups of their months, with what the database counts now (a few
    statements whatever their number).

    Locks the "tallies" job state first, so two refreshes never interleave their deletes and inserts (which could
    count a day twice). The caller commits.
    """
    if not days:
        return
    days = sorted(set(days))
    lock_for_write(session)
    session.scalar(select(JobState.name).where(JobState.name == TALLIES).with_for_update())
    spans = _spans(days)
    roomy_aggregates(session)
    session.execute(delete(RateTally).where(~RateTally.whole_month, RateTally.day.in_(days)))
    session.execute(
        delete(AcceptanceTally).where(~AcceptanceTally.whole_month, AcceptanceTally.day.in_(days))
    )
    session.execute(
        insert(RateTally).from_select(
            _RATE_COLUMNS,
            _rate_rows(spans),
        )
    )
    session.execute(
        insert(AcceptanceTally).from_select(
            ["day", "district_code", "department", "decided", "accepted"], _acceptance_rows(spans)
        )
    )
    session.execute(delete(VolumeTally).where(~VolumeTally.whole_month, VolumeTally.day.in_(days)))
    session.execute(
        insert(VolumeTally).from_select(
            ["day", "district_code", "kind", "dept_type", "petitions"],
            volume_counts_query((VOLUME_DAY, "district", "kind", "dept"), None, None, None, spans),
        )
    )
    months = sorted({day.replace(day=1) for day in days})
    for model, keys, counts in (
        (RateTally, ("district_code", "unit_id", "kind"), _RATE_COUNTS),
        (AcceptanceTally, ("district_code", "department"), ("decided", "accepted")),
        (VolumeTally, ("district_code", "kind", "dept_type"), ("petitions",)),
    ):
        session.execute(delete(model).where(model.whole_month, model.day.in_(months)))
        month = month_start(model.day)
        columns = [getattr(model, key) for key in keys]
        rolled = (
            select(month, true(), *columns, *(func.sum(getattr(model, name)) for name in counts))
            .where(
                ~model.whole_month,
                model.day >= months[0],
                model.day < _next_month(months[-1]),
                month.in_(months),
            )
            .group_by(month, *columns)
        )
        session.execute(insert(model).from_select(["day", "whole_month", *keys, *counts], rolled))


def changed_days(session: Session, since: dt.datetime) -> list[dt.date]:
    """The local days whose tallies may have changed since `since`, in one statement.

    The petitions touched since then — changed (`updated_at`), rated, replied to or closed — and every day on which
    one of them has a rating (so the day of a rating superseded by a later round's), a sent reply, its closing or
    its creation (suggestion acceptance counts by creation day).
    """
    touched = union(
        select(Petition.id).where(Petition.updated_at >= since),
        select(Petition.id).where(Petition.closed_at >= since),
        select(Evaluation.petition_id).where(Evaluation.created_at >= since),
        select(Reply.petition_id).where(Reply.state == ReplyState.SENT, Reply.sent_at >= since),
    ).subquery()
    ids = select(touched.c[0])
    days = union(
        select(local_date(Evaluation.created_at)).where(Evaluation.petition_id.in_(ids)),
        select(local_date(Reply.sent_at)).where(
            Reply.petition_id.in_(ids), Reply.state == ReplyState.SENT, Reply.sent_at.is_not(None)
        ),
        select(local_date(Petition.closed_at)).where(Petition.id.in_(ids), Petition.closed_at.is_not(None)),
        select(local_date(Petition.created_at)).where(Petition.id.in_(ids)),
    ).subquery()
    return sorted(_as_date(day) for day in session.scalars(select(days.c[0])))


def _as_date(value: dt.date | str) -> dt.date:
    # SQLite hands back the computed day as text.
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def _batches(days: Sequence[dt.date]) -> Iterator[list[dt.date]]:
    for i in range(0, len(days), BATCH_DAYS):
        yield list(days[i : i + BATCH_DAYS])


@dataclass
class TallyReport:
    """What a refresh or rebuild did: the days recomputed and the seconds it took."""

    days: int = 0
    rebuilt: bool = False


Progress = Callable[[int, int, dt.date], None]


def rebuild(
    app: Flask, now: dt.datetime, since: dt.date | None = None, progress: Progress | None = None
) -> TallyReport:
    """Recompute the tallies of every day (from `since`, when given) up to today, `BATCH_DAYS` days per
    transaction, and set the watermark to `now`.

    Day after day is replaced, so the dashboard reads a day's old or new tallies, never a mix. A full rebuild first
    clears the watermark (the dashboard counts live until it is done, as the old tallies may be wrong after a bulk
    load) and at the end drops the tallies of days outside the data.

    :raises ValueError: for a rebuild from a day before any full rebuild (the days before it would be missing).
    """
    today = _local_day(now)
    with session_scope(app) as session:
        if since is None:
            _set_watermark(session, None, now)
            first = _first_day(session) or today
        elif refreshed_at(session) is None:
            raise ValueError("the tallies were never built: run a full rebuild (without --from) first")
        else:
            first = since
    days = [first + _DAY * i for i in range((today - first).days + 1)]
    done = 0
    for batch in _batches(days):
        with session_scope(app) as session:
            recompute_days(session, batch)
        done += len(batch)
        if progress is not None:
            progress(done, len(days), batch[-1])
    with session_scope(app) as session:
        if since is None:
            for table in (RateTally, AcceptanceTally, VolumeTally):
                session.execute(
                    delete(table).where(
                        or_(
                            and_(~table.whole_month, or_(table.day < first, table.day > today)),
                            and_(table.whole_month, or_(table.day < first.replace(day=1), table.day > today)),
                        )
                    )
                )
        _set_watermark(session, now, now)
    return TallyReport(days=len(days), rebuilt=True)


def _first_day(session: Session) -> dt.date | None:
    earliest = [
        session.scalar(select(func.min(column)))
        for column in (Petition.created_at, Petition.closed_at, Evaluation.created_at, Reply.sent_at)
    ]
    found = [instant for instant in earliest if instant is not None]
    return _local_day(min(found)) if found else None


def refresh_tallies(app: Flask, now: dt.datetime) -> TallyReport:
    """Bring the tallies up to date at `now`: recompute the days that may have changed since the last refresh
    (see `changed_days`), or rebuild everything when there was none. A few statements per batch of days, whatever
    the number of petitions behind them."""
    with session_scope(app) as session:
        last = refreshed_at(session)
        days = changed_days(session, last - MARGIN) if last is not None else None
    if days is None:
        return rebuild(app, now)
    for batch in _batches(days):
        with session_scope(app) as session:
            recompute_days(session, batch)
    with session_scope(app) as session:
        _set_watermark(session, now, now)
    return TallyReport(days=len(days))


# --- the command ---------------------------------------------------------------------------------------------------


@click.group("tallies")
def tallies_group() -> None:
    """The dashboard's daily tallies."""


@tallies_group.command("rebuild")
@click.option(
    "--from",
    "since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Recompute from this local day (YYYY-MM-DD) only; by default every day.",
)
@with_appcontext
def rebuild_command(since: dt.datetime | None) -> None:
    """Recompute the daily tallies (after a bulk load such as `qingsu seed-volume`)."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    started = utcnow()

    def progress(done: int, total: int, day: dt.date) -> None:
        click.echo(f"\rtallies: {done}/{total} days, up to {day.isoformat()}", nl=False, err=True)

    try:
        report = rebuild(app, started, since.date() if since else None, progress)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    if report.days:
        click.echo("", err=True)
    seconds = (utcnow() - started).total_seconds()
    click.echo(f"tallies rebuilt: {report.days} days in {seconds:.1f} s")
