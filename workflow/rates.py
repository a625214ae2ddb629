"""The rates the dashboard shows, defined once.

- Resolution rate (解决率): of the petitions rated in the period, the share whose latest rating says resolved or
  basically resolved. Each petition counts once, a linked duplicate's petitioner's rating for that petition.
- Satisfaction rate (满意率): of the same petitions, the share whose latest rating says satisfied or basically satisfied.
- On-time rate (按期办结率): of the replies that reached citizens in the period, the share sent by the deadline in force
  (extensions approved by the platform move the deadline). A linked duplicate's copy of its master's reply is not
  counted: the handling is one, counted once on the master (`workflow.links`).
- Unrated (未评价): petitions closed in the period because the citizen did not rate the reply in time; they are in
  neither the resolution nor the satisfaction rate, and are counted apart.

Each rate can be grouped by district, unit, kind or month (Asia/Shanghai), and limited to a district and a period
[start, end). The database does the counting: one GROUP BY with conditional counts per question, so the cost does
not depend on how many rows Python would otherwise have to read. The same queries grouped by local day fill the
daily tallies of `workflow.tallies`, which the dashboard sums instead of counting a whole year again.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Integer, Select, and_, cast, exists, func, null, or_, select, text
from sqlalchemy.orm import Session, aliased

from models import Evaluation, Petition, Reply
from models.enums import PetitionState, ReplyState, Resolution, Satisfaction
from workflow.sqltime import local_date, local_month, month_label

SHANGHAI = ZoneInfo("Asia/Shanghai")
GroupBy = Literal["district", "unit", "kind", "month"] | None
GROUPINGS: tuple[Literal["district", "unit", "kind", "month"], ...] = ("district", "unit", "kind", "month")
# Beyond the groupings: the local day, by which the daily tallies are filled.
DAY = "day"
# Instants [start, end): the parts of a period a query counts, when it is not one span.
Spans = Sequence[tuple[dt.datetime, dt.datetime]]
ALL = "all"
AGGREGATE_WORK_MEM = "32MB"


@dataclass(frozen=True)
class Rate:
    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        """The rate in [0, 1], or None when nothing was counted."""
        return self.numerator / self.denominator if self.denominator else None

    def percent(self) -> str:
        return "—" if self.value is None else f"{self.value * 100:.2f}%"


@dataclass(frozen=True)
class Rates:
    """The three rates of one grouping, each keyed like `resolution_rates` and friends."""

    resolution: dict[str, Rate]
    satisfaction: dict[str, Rate]
    on_time: dict[str, Rate]


# --- what counts ---------------------------------------------------------------------------------------------------


def _resolved() -> ColumnElement[bool]:
    return Evaluation.resolution != Resolution.UNRESOLVED


def _satisfied() -> ColumnElement[bool]:
    return Evaluation.satisfaction != Satisfaction.UNSATISFIED


def _on_time() -> ColumnElement[bool]:
    # A reply without a recorded verdict counts as late, as it always has.
    return Reply.on_time.is_(True)


def _latest_rating() -> ColumnElement[bool]:
    """The evaluation is the petition's latest (highest handling round).

    A rating of the petition's current round is the latest: a round's rating is only ever given in that round,
    and rounds only grow. Only a rating of an earlier round (a petition in second handling or rated again) needs
    the look-up of a later rating, through the unique (petition_id, handling_round) index.
    """
    later = aliased(Evaluation)
    return or_(
        Evaluation.handling_round >= Petition.handling_round,
        ~exists().where(
            later.petition_id == Evaluation.petition_id, later.handling_round > Evaluation.handling_round
        ),
    )


# --- the queries ---------------------------------------------------------------------------------------------------


def _dimension(name: str, unit: ColumnElement[Any], at: ColumnElement[Any]) -> ColumnElement[Any]:
    return {
        "district": Petition.district_code,
        "unit": unit,
        "kind": Petition.kind,
        "month": local_month(at),
        DAY: local_date(at),
    }[name]


def group_label(name: str, value: Any) -> str:
    """The key of a group in the rates: a unit id as text ("none" for no unit), a kind's value, "YYYY-MM"."""
    if name == "unit":
        return str(value) if value is not None else "none"
    if name == "kind":
        return str(value.value if hasattr(value, "value") else value)
    if name == "month":
        return month_label(value)
    return str(value)


def _limit(
    query: Select[Any],
    at: ColumnElement[Any],
    district_code: str | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    spans: Spans = (),
) -> Select[Any]:
    if district_code:
        query = query.where(Petition.district_code == district_code)
    if start:
        query = query.where(at >= start)
    if end:
        query = query.where(at < end)
    if spans:
        query = query.where(or_(*(and_(at >= first, at < last) for first, last in spans)))
    return query


def evaluation_counts_query(
    dimensions: Sequence[str],
    district_code: str | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    spans: Spans = (),
) -> Select[Any]:
    """Latest ratings given in the period, grouped by `dimensions`: the keys, then rated, resolved, satisfied.

    `spans`, when given, limits the period further to the union of those [start, end) spans.
    """
    keys = [_dimension(name, Evaluation.unit_id, Evaluation.created_at).label(name) for name in dimensions]
    query = (
        select(
            *keys,
            func.count().label("rated"),
            func.count().filter(_resolved()).label("resolved"),
            func.count().filter(_satisfied()).label("satisfied"),
        )
        .select_from(Evaluation)
        .join(Petition, Petition.id == Evaluation.petition_id)
        .where(_latest_rating())
        .group_by(*keys)
    )
    return _limit(query, Evaluation.created_at, district_code, start, end, spans)


def reply_counts_query(
    dimensions: Sequence[str],
    district_code: str | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    spans: Spans = (),
) -> Select[Any]:
    """Replies sent in the period, grouped by `dimensions`: the keys, then sent and on time.

    Without any limit in time, a reply marked sent whose sending instant was not recorded counts by its creation.
    """
    at = Reply.sent_at if (start or end or spans) else func.coalesce(Reply.sent_at, Reply.created_at)
    keys = [_dimension(name, Reply.unit_id, at).label(name) for name in dimensions]
    query = (
        select(*keys, func.count().label("sent"), func.count().filter(_on_time()).label("on_time"))
        .select_from(Reply)
        .join(Petition, Petition.id == Reply.petition_id)
        .where(Reply.state == ReplyState.SENT, Reply.linked_from_id.is_(None))
        .group_by(*keys)
    )
    return _limit(query, Reply.sent_at, district_code, start, end, spans)


def unrated_counts_query(
    dimensions: Sequence[str],
    district_code: str | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    spans: Spans = (),
) -> Select[Any]:
    """Petitions closed as unrated (未评价) in the period, grouped by `dimensions`: the keys (the unit NULL: an
    unrated petition is nobody's rating), then unrated."""
    keys = {
        name: _dimension(name, Petition.current_unit_id, Petition.closed_at).label(name)
        for name in dimensions
        if name != "unit"
    }
    columns = [keys[name] if name in keys else cast(null(), Integer).label(name) for name in dimensions]
    query = (
        select(*columns, func.count().label("unrated"))
        .select_from(Petition)
        .where(Petition.state == PetitionState.UNRATED)
        .group_by(*keys.values())
    )
    return _limit(query, Petition.closed_at, district_code, start, end, spans)


def _fold(rows: Iterable[tuple[str, int, int]]) -> dict[str, Rate]:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for key, hits, total in rows:
        counts[key][0] += hits
        counts[key][1] += total
    return _rates(counts)


def rates_by(
    session: Session,
    group_bys: Sequence[GroupBy],
    *,
    district_code: str | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> dict[GroupBy, Rates]:
    """The three rates for each of `group_bys` (None: no grouping), in two statements whatever their number.

    The database groups by every dimension asked for at once (a bounded set of rows: units × kinds × months at
    most); each grouping is then the sum of those groups.
    """
    dimensions = dimensions_of(group_bys)
    roomy_aggregates(session)
    ratings = session.execute(evaluation_counts_query(dimensions, district_code, start, end)).all()
    replies = session.execute(reply_counts_query(dimensions, district_code, start, end)).all()
    return fold_rates(dimensions, group_bys, ratings, replies)


def dimensions_of(group_bys: Sequence[GroupBy]) -> list[str]:
    """The dimensions to group by at once for `group_bys`, in the order the count rows have them."""
    return [name for name in GROUPINGS if name in group_bys]


def roomy_aggregates(session: Session, *, small: bool = False) -> None:
    """On PostgreSQL, room to hash the groups (thousands of them) and the petitions they join, rather than sort
    them on disk (the default 4 MB halves the speed at 150 k petitions); for this transaction only.

    `small`: the queries to come read a few thousand rows (tallies, today's live counts), so no parallel workers
    either: starting one costs more than such a query (tens of milliseconds on a busy machine).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SET LOCAL work_mem = '{AGGREGATE_WORK_MEM}'"))
        if small:
            session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))


def fold_rates(
    dimensions: Sequence[str],
    group_bys: Sequence[GroupBy],
    ratings: Iterable[Sequence[Any]],
    replies: Iterable[Sequence[Any]],
) -> dict[GroupBy, Rates]:
    """Each grouping's rates from count rows grouped by `dimensions`: rating rows (keys, rated, resolved,
    satisfied) and reply rows (keys, sent, on time), as `evaluation_counts_query` and `reply_counts_query` give
    them. Rows with the same key add up, so counts of several parts of a period can be given together.

    One pass over the rows per grouping, each key's label made once (a city's year is some ten thousand rows).
    """
    ratings, replies = list(ratings), list(replies)
    n = len(dimensions)
    labels: dict[tuple[str, Any], str] = {}

    def label(name: str, value: Any) -> str:
        found = labels.get((name, value))
        if found is None:
            found = labels[(name, value)] = group_label(name, value)
        return found

    result: dict[GroupBy, Rates] = {}
    for group_by in group_bys:
        at = dimensions.index(group_by) if group_by is not None else None
        resolved: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        satisfied: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        on_time: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for row in ratings:
            key = ALL if at is None else label(group_by, row[at])  # type: ignore[arg-type]
            counted = resolved[key]
            counted[0] += row[n + 1]
            counted[1] += row[n]
            counted = satisfied[key]
            counted[0] += row[n + 2]
            counted[1] += row[n]
        for row in replies:
            key = ALL if at is None else label(group_by, row[at])  # type: ignore[arg-type]
            counted = on_time[key]
            counted[0] += row[n + 1]
            counted[1] += row[n]
        result[group_by] = Rates(
            resolution=_rates(resolved), satisfaction=_rates(satisfied), on_time=_rates(on_time)
        )
    return result


def _rates(counts: dict[str, list[int]]) -> dict[str, Rate]:
    """The rates of (hits, total) counts by key; an ungrouped count over nothing (one row of zeros) is no key, as
    when grouped."""
    return {key: Rate(hits, total) for key, (hits, total) in sorted(counts.items()) if total}


def _evaluation_rates(
    session: Session,
    column: str,
    group_by: GroupBy,
    district_code: str | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
) -> dict[str, Rate]:
    dimensions = [group_by] if group_by else []
    rows = session.execute(evaluation_counts_query(dimensions, district_code, start, end)).mappings()
    return _fold(
        (group_label(group_by, row[group_by]) if group_by else ALL, row[column], row["rated"]) for row in rows
    )


def resolution_rates(
    session: Session,
    group_by: GroupBy = None,
    *,
    district_code: str | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> dict[str, Rate]:
    """Resolution rate per group (key "all" without grouping)."""
    return _evaluation_rates(session, "resolved", group_by, district_code, start, end)


def satisfaction_rates(
    session: Session,
    group_by: GroupBy = None,
    *,
    district_code: str | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> dict[str, Rate]:
    """Satisfaction rate per group (key "all" without grouping)."""
    return _evaluation_rates(session, "satisfied", group_by, district_code, start, end)


def on_time_rates(
    session: Session,
    group_by: GroupBy = None,
    *,
    district_code: str | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> dict[str, Rate]:
    """On-time rate per group over the replies sent in the period (key "all" without grouping)."""
    dimensions = [group_by] if group_by else []
    rows = session.execute(reply_counts_query(dimensions, district_code, start, end)).mappings()
    return _fold(
        (group_label(group_by, row[group_by]) if group_by else ALL, row["on_time"], row["sent"]) for row in rows
    )


def unrated_count(
    session: Session,
    *,
    district_code: str | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> int:
    """Petitions closed as unrated (未评价) in the period: the citizen let the evaluation window pass."""
    return session.scalar(unrated_counts_query([], district_code, start, end)) or 0
