"""Page numbers for long lists (`?page=`, or another parameter when a page has several lists)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import abort, request
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from models.bounds import parse_id

# Beyond this a page number is a typo or a probe, not a place in a list (20 a page: two million rows).
MAX_PAGE = 100_000


def requested_page(param: str = "page") -> int:
    """The page number asked for in ``?<param>=`` (1 when absent).

    :raises werkzeug.exceptions.BadRequest: not a whole number, below 1 or above `MAX_PAGE`.
    """
    raw = request.args.get(param, "").strip()
    if not raw:
        return 1
    number = parse_id(raw)
    if number is None or number > MAX_PAGE:
        abort(400, description=f"页码「{raw[:20]}」无效：须为 1 到 {MAX_PAGE} 之间的整数")
    return number


@dataclass(frozen=True)
class Page:
    number: int
    per_page: int
    total: int
    param: str = "page"
    # True when the count stopped at a limit: there are more than `total` rows.
    capped: bool = False

    @classmethod
    def from_request(cls, total: int, per_page: int, param: str = "page", capped: bool = False) -> Page:
        """The page asked for in ``?<param>=``, past the last page clamped to the last.

        :raises werkzeug.exceptions.BadRequest: as `requested_page`.
        """
        last = max(1, -(-total // per_page))
        return cls(min(requested_page(param), last), per_page, total, param, capped)

    @classmethod
    def of(
        cls,
        session: Session,
        query: Select,  # type: ignore[type-arg]
        per_page: int,
        param: str = "page",
        count_limit: int | None = None,
    ) -> Page:
        """The page of `query`'s rows asked for in the request, after counting them (one statement).

        With `count_limit` the count stops there (a city-wide search need not count a million rows to show 20):
        the page is then `capped` and only the first `count_limit` rows can be paged through.
        """
        counted = query.order_by(None)
        if count_limit is not None:
            counted = counted.limit(count_limit + 1)
        total = session.scalar(select(func.count()).select_from(counted.subquery())) or 0
        if count_limit is not None and total > count_limit:
            return cls.from_request(count_limit, per_page, param, capped=True)
        return cls.from_request(total, per_page, param)

    @classmethod
    def with_rows(
        cls,
        session: Session,
        query: Select,  # type: ignore[type-arg]
        per_page: int,
        param: str = "page",
    ) -> tuple[Page, list[Any]]:
        """The page of `query` (already ordered, one entity) asked for in the request and its rows, counted in the
        same statement (an uncorrelated ``(SELECT count(*) …)`` beside each row, which the database computes once):
        one statement instead of `of`'s count and then the rows.

        Only a page past the end (or of an empty list past page 1) costs more: it is counted and clamped as `of`
        does, then read.
        """
        number = requested_page(param)
        total = select(func.count()).select_from(query.order_by(None).subquery()).scalar_subquery()
        rows = session.execute(
            query.add_columns(total.label("page_total")).offset((number - 1) * per_page).limit(per_page)
        ).all()
        if rows:
            return cls(number, per_page, rows[0][-1], param), [row[0] for row in rows]
        if number == 1:
            return cls(1, per_page, 0, param), []
        page = cls.of(session, query, per_page, param)
        return page, list(session.scalars(page.apply(query))) if page.total else []

    def apply(self, query: Select) -> Select:  # type: ignore[type-arg]
        """`query` (already ordered) limited to this page's rows."""
        return query.offset(self.offset).limit(self.per_page)

    def link_args(self, args: dict[str, str], number: int) -> dict[str, str | int]:
        """The query arguments of the link to page `number`, keeping the list's other arguments (filters)."""
        return {**args, self.param: number}

    @property
    def window(self) -> list[int | None]:
        """The page numbers to link: the first, the last and two either side of this one; None marks a gap."""
        shown = sorted({1, self.pages, *range(max(1, self.number - 2), min(self.pages, self.number + 2) + 1)})
        out: list[int | None] = []
        for n in shown:
            if out and n - (out[-1] or 0) > 1:
                out.append(None)
            out.append(n)
        return out

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.per_page

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages
