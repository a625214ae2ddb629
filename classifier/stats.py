"""How often dispatchers kept the classifier's suggestion (shown on the admin dashboard)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from models import Petition

UNKNOWN = "unknown"


def _rate(accepted: int, total: int) -> float | None:
    return accepted / total if total else None


def suggested_department(suggestion: dict[str, Any] | None) -> str:
    """The top department type of a stored suggestion (`Suggestion.to_dict()`), or "unknown"."""
    departments = (suggestion or {}).get("departments") or []
    if departments and isinstance(departments[0], dict) and departments[0].get("type"):
        return str(departments[0]["type"])
    return UNKNOWN


def suggested_department_sql() -> ColumnElement[str]:
    """`suggested_department` of the stored suggestion, computed by the database (SQLite and PostgreSQL)."""
    first = Petition.suggestion[("departments", 0, "type")].as_string()
    return func.coalesce(func.nullif(first, ""), UNKNOWN)


def acceptance_counts_query(
    keys: Sequence[ColumnElement[Any]],
    district_code: str | None,
    since: datetime | None,
    until: datetime | None = None,
) -> Select[Any]:
    """Petitions a dispatcher has decided on (`suggestion_accepted` not null), created in [since, until), grouped by
    `keys` (columns of `Petition`) and the department the classifier suggested first: the keys, the department,
    then decided and accepted."""
    department = suggested_department_sql().label("department")
    query = (
        select(
            *keys,
            department,
            func.count().label("decided"),
            func.count().filter(Petition.suggestion_accepted.is_(True)).label("accepted"),
        )
        .where(Petition.suggestion_accepted.is_not(None))
        .group_by(*keys, department)
    )
    if district_code is not None:
        query = query.where(Petition.district_code == district_code)
    if since is not None:
        query = query.where(Petition.created_at >= since)
    if until is not None:
        query = query.where(Petition.created_at < until)
    return query


def fold_acceptance(rows: Iterable[tuple[str, int, int]]) -> dict:
    """`acceptance_stats`' answer from (department, decided, accepted) rows; rows of one department add up."""
    total = accepted = 0
    by_department: dict[str, dict[str, Any]] = {}
    for key, n, kept in rows:
        total += n
        accepted += kept
        group = by_department.setdefault(str(key), {"total": 0, "accepted": 0})
        group["total"] += n
        group["accepted"] += kept
    for group in by_department.values():
        group["rate"] = _rate(group["accepted"], group["total"])
    return {
        "total": total,
        "accepted": accepted,
        "rate": _rate(accepted, total),
        "by_department": dict(sorted(by_department.items())),
    }


def acceptance_stats(
    session: Session, district_code: str | None = None, since: datetime | None = None
) -> dict:
    """Acceptance of suggestions among petitions a dispatcher has decided on (`suggestion_accepted` not null).

    Returns `{"total": n, "accepted": k, "rate": k / n or None, "by_department": {type: {"total", "accepted",
    "rate"}}}`, where `by_department` groups by the department the classifier suggested first, so it shows which
    suggestions dispatchers trust. `since` compares with `Petition.created_at`. One GROUP BY: a row per suggested
    department type.
    """
    return fold_acceptance(session.execute(acceptance_counts_query((), district_code, since)).tuples())
