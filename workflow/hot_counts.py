"""Department and term counts (热点部门, 热点词, the monthly report's), defined once: the most frequent department types and
suggestion terms of the petitions submitted since an instant. (The hot issues themselves, petitions clustered by
meaning and place, are `workflow.hot_issues`.)

- Department (热点部门): the department type the dispatcher chose, else the first the classifier suggested; petitions
  with neither are not counted.
- Term (热点词): each term the classifier listed behind its suggestion (`Petition.suggestion["terms"]`), once per
  petition that lists it.

`counts_query` counts either, grouped by the keys asked for (the monthly report's hot departments, `workflow.report`);
`hot_issues` is the week's figure, counted over the petitions themselves. (A daily tally of both, `issue_tally`, fed
the dashboard's panel until the clusters replaced it; migration 5b0e2c7d9a41 dropped it.)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, String, case, func, select, true, type_coerce
from sqlalchemy.orm import Session

from models import Petition
from models.enums import DeptType
from workflow.sqltime import local_date
from workflow.volumes import created_in

Facet = Literal["department", "term"]
FACETS: tuple[Facet, ...] = ("department", "term")
HOT_WINDOW = dt.timedelta(days=7)
# How many of each are shown.
SHOWN: dict[Facet, int] = {"department": 8, "term": 15}
# The keys `counts_query` groups by besides the name: the local day of creation, the district.
DAY = "day"
DISTRICT = "district"


def chosen_department() -> ColumnElement[str]:
    """A petition's department type (its value, urban_mgmt): the dispatcher's choice, else the first suggested."""
    suggested = func.nullif(Petition.suggestion[("departments", 0, "type")].as_string(), "")
    # The column stores the member's name (URBAN_MGMT), the suggestion its value (urban_mgmt).
    stored = case({d.name: d.value for d in DeptType}, value=type_coerce(Petition.dept_type, String))
    return func.coalesce(stored, suggested)


def _term_rows(session: Session) -> tuple[Any, ColumnElement[bool]]:
    """The terms of each petition's suggestion as a table function joined to the petition, per dialect."""
    if session.get_bind().dialect.name == "postgresql":
        terms = func.json_array_elements_text(Petition.suggestion["terms"]).table_valued("value")
        return terms, func.json_typeof(Petition.suggestion["terms"]) == "array"
    terms = func.json_each(Petition.suggestion, "$.terms").table_valued("value")
    return terms, func.json_type(Petition.suggestion, "$.terms") == "array"


def counts_query(
    session: Session,
    facet: Facet,
    keys: Sequence[str],
    district_code: str | None,
    start: dt.datetime | None,
    end: dt.datetime | None = None,
    spans: Sequence[tuple[dt.datetime, dt.datetime]] = (),
) -> Select[Any]:
    """Petitions created in [start, end) (and in one of `spans`, when given) per department or term, grouped by
    `keys` (`DAY`, `DISTRICT`): the keys, then ``name`` and ``n``."""
    columns = [
        {DAY: local_date(Petition.created_at), DISTRICT: Petition.district_code}[key].label(key)
        for key in keys
    ]
    n = func.count().label("n")
    if facet == "department":
        name = chosen_department().label("name")
        query = select(*columns, name, n).where(name.is_not(None))
    else:
        terms, is_list = _term_rows(session)
        name = terms.c.value.label("name")
        query = (
            select(*columns, name, n)
            .select_from(Petition)
            .join(terms, true())
            .where(Petition.suggestion.is_not(None), is_list)
        )
    return created_in(query, district_code, start, end, spans).group_by(*columns, name)


def top(query: Select[Any], facet: Facet) -> Select[Any]:
    """The most frequent names of `query` (rows of name and n, the same name possibly in several rows, some of
    them counts taken off), most frequent first, ties by name: as many as the dashboard shows, none counted 0."""
    rows = query.subquery()
    n = func.sum(rows.c.n).label("n")
    return (
        select(rows.c.name, n)
        .group_by(rows.c.name)
        .having(n > 0)
        .order_by(n.desc(), rows.c.name)
        .limit(SHOWN[facet])
    )


def labelled(facet: Facet, rows: Sequence[Any]) -> list[tuple[str, int]]:
    """(label, count) pairs for the page: a department's Chinese name, a term as it is."""
    if facet == "department":
        labels = {d.value: d.label for d in DeptType}
        return [(labels.get(key, key), int(count)) for key, count in rows]
    return [(str(term), int(count)) for term, count in rows]


def hot_issues(
    session: Session, district_code: str | None, since: dt.datetime
) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """The most frequent departments and terms of the petitions created since `since`, counted live over the
    petitions: two GROUP BYs, each cut to the few shown."""
    found = [
        labelled(
            facet, session.execute(top(counts_query(session, facet, (), district_code, since), facet)).all()
        )
        for facet in FACETS
    ]
    return found[0], found[1]
