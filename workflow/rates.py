"""The rates the dashboard shows, defined once.

- Resolution rate (解决率): of the petitions rated in the period, the share whose latest rating says resolved or
  basically resolved.
- Satisfaction rate (满意率): of the same petitions, the share whose latest rating says satisfied or basically satisfied.
- On-time rate (按期办结率): of the replies that reached citizens in the period, the share sent by the deadline in force
  (extensions approved by the platform move the deadline).

Each can be grouped by district, unit, kind or month (Asia/Shanghai), and limited to a district and a period
[start, end).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from models import Evaluation, Petition, Reply
from models.enums import ReplyState, Resolution, Satisfaction

SHANGHAI = ZoneInfo("Asia/Shanghai")
GroupBy = Literal["district", "unit", "kind", "month"] | None
ALL = "all"


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


def _aggregate(rows: Iterable[tuple[str, bool]]) -> dict[str, Rate]:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for key, hit in rows:
        counts[key][0] += int(bool(hit))
        counts[key][1] += 1
    return {key: Rate(hit, total) for key, (hit, total) in sorted(counts.items())}


def _key(group_by: GroupBy, district: str, unit_id: int | None, kind: str, at: dt.datetime) -> str:
    if group_by == "district":
        return district
    if group_by == "unit":
        return str(unit_id) if unit_id is not None else "none"
    if group_by == "kind":
        return kind
    if group_by == "month":
        return at.astimezone(SHANGHAI).strftime("%Y-%m")
    return ALL


def _latest_evaluations(
    district_code: str | None, start: dt.datetime | None, end: dt.datetime | None
) -> Select[tuple[Evaluation, Petition]]:
    latest = (
        select(Evaluation.petition_id, func.max(Evaluation.handling_round).label("round"))
        .group_by(Evaluation.petition_id)
        .subquery()
    )
    query = (
        select(Evaluation, Petition)
        .join(latest, (latest.c.petition_id == Evaluation.petition_id) & (latest.c.round == Evaluation.handling_round))
        .join(Petition, Petition.id == Evaluation.petition_id)
    )
    if district_code:
        query = query.where(Petition.district_code == district_code)
    if start:
        query = query.where(Evaluation.created_at >= start)
    if end:
        query = query.where(Evaluation.created_at < end)
    return query


def _evaluation_rates(
    session: Session,
    counts: Callable[[Evaluation], bool],
    group_by: GroupBy,
    district_code: str | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
) -> dict[str, Rate]:
    rows = session.execute(_latest_evaluations(district_code, start, end))
    return _aggregate(
        (_key(group_by, p.district_code, e.unit_id, p.kind.value, e.created_at), counts(e)) for e, p in rows
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
    return _evaluation_rates(
        session, lambda e: e.resolution != Resolution.UNRESOLVED, group_by, district_code, start, end
    )


def satisfaction_rates(
    session: Session,
    group_by: GroupBy = None,
    *,
    district_code: str | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> dict[str, Rate]:
    """Satisfaction rate per group (key "all" without grouping)."""
    return _evaluation_rates(
        session, lambda e: e.satisfaction != Satisfaction.UNSATISFIED, group_by, district_code, start, end
    )


def on_time_rates(
    session: Session,
    group_by: GroupBy = None,
    *,
    district_code: str | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> dict[str, Rate]:
    """On-time rate per group over the replies sent in the period (key "all" without grouping)."""
    query = select(Reply, Petition).join(Petition, Petition.id == Reply.petition_id).where(
        Reply.state == ReplyState.SENT
    )
    if district_code:
        query = query.where(Petition.district_code == district_code)
    if start:
        query = query.where(Reply.sent_at >= start)
    if end:
        query = query.where(Reply.sent_at < end)
    return _aggregate(
        (_key(group_by, p.district_code, r.unit_id, p.kind.value, r.sent_at or r.created_at), bool(r.on_time))
        for r, p in session.execute(query)
    )
