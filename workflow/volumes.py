"""Petitions received (诉求量), defined once: the petitions created in a period, by the local day (Asia/Shanghai)
of their creation, whatever became of them since.

They can be grouped by district, kind, department type (the one a dispatcher confirmed; none before dispatch),
month or day, and limited to a district and a period [start, end) — one GROUP BY. The same query grouped by day
fills `models.VolumeTally`, which `workflow.tallies.period_volumes` sums for the past days; the search page
(`admin_web.views.search`) finds the same petitions with its date, district, kind and department filters.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from models import Petition
from workflow.sqltime import local_date, local_month, month_label

VolumeBy = Literal["district", "kind", "dept", "month"] | None
VOLUME_GROUPINGS: tuple[Literal["district", "kind", "dept", "month"], ...] = (
    "district",
    "kind",
    "dept",
    "month",
)
DAY = "day"
# The key of the petitions without a department type.
NO_DEPT = "none"


def _dimension(name: str) -> ColumnElement[Any]:
    return {
        "district": Petition.district_code,
        "kind": Petition.kind,
        "dept": Petition.dept_type,
        "month": local_month(Petition.created_at),
        DAY: local_date(Petition.created_at),
    }[name]


def volume_key(name: str, value: Any) -> str:
    """The key of a group: a district code, a kind's or department type's value (`NO_DEPT` for none), "YYYY-MM"."""
    if name in ("kind", "dept"):
        if value is None:
            return NO_DEPT
        return str(value.value if hasattr(value, "value") else value)
    if name == "month":
        return month_label(value)
    return str(value)


def volume_counts_query(
    dimensions: Sequence[str],
    district_code: str | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    spans: Sequence[tuple[dt.datetime, dt.datetime]] = (),
) -> Select[Any]:
    """Petitions created in [start, end) (and in one of `spans`, when given), grouped by `dimensions`: the keys,
    then ``petitions``."""
    keys = [_dimension(name).label(name) for name in dimensions]
    query = select(*keys, func.count().label("petitions")).select_from(Petition).group_by(*keys)
    return created_in(query, district_code, start, end, spans)


def created_in(
    query: Select[Any],
    district_code: str | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    spans: Sequence[tuple[dt.datetime, dt.datetime]] = (),
) -> Select[Any]:
    """`query` over the petitions of the district (every one when None) created in [start, end) and, when `spans`
    are given, in one of them: the period filter every count by creation day shares."""
    if district_code:
        query = query.where(Petition.district_code == district_code)
    if start is not None:
        query = query.where(Petition.created_at >= start)
    if end is not None:
        query = query.where(Petition.created_at < end)
    if spans:
        query = query.where(
            or_(*(and_(Petition.created_at >= first, Petition.created_at < last) for first, last in spans))
        )
    return query


def volumes_by(
    session: Session,
    group_bys: Sequence[VolumeBy],
    *,
    district_code: str | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> dict[VolumeBy, dict[str, int]]:
    """Petitions received in the period per group of each of `group_bys` (None: the total, key "all"), counted
    live in one statement; groups without petitions are left out."""
    dimensions = [name for name in VOLUME_GROUPINGS if name in group_bys]
    rows = session.execute(volume_counts_query(dimensions, district_code, start, end)).all()
    result: dict[VolumeBy, dict[str, int]] = {}
    for group_by in group_bys:
        counts: dict[str, int] = defaultdict(int)
        at = dimensions.index(group_by) if group_by is not None else None
        for row in rows:
            counts["all" if at is None else volume_key(group_by, row[at])] += row[-1]  # type: ignore[arg-type]
        result[group_by] = {key: n for key, n in sorted(counts.items()) if n}
    return result
