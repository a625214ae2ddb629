"""Page numbers for long lists (`?page=`, or another parameter when a page has several lists)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, request
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

# Beyond this a page number is a typo or a probe, not a place in a list (20 a page: two million rows).
MAX_PAGE = 100_000


def requested_page(param: str = "page") -> int:
    """The page number asked for in ``?<param>=`` (1 when absent).

    :raises werkzeug.exceptions.BadRequest: not a whole number, below 1 or above `MAX_PAGE`.
    """
    raw = request.args.get(param, "").strip()
    if not raw:
        return 1
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        abort(400, description=f"页码「{raw[:20]}」无效：须为 1 到 {MAX_PAGE} 之间的整数")
    return int(raw)


@dataclass(frozen=True)
class Page:
    number: int
    per_page: int
    total: int
    param: str = "page"

    @classmethod
    def from_request(cls, total: int, per_page: int, param: str = "page") -> Page:
        """The page asked for in ``?<param>=``, past the last page clamped to the last.

        :raises werkzeug.exceptions.BadRequest: as `requested_page`.
        """
        last = max(1, -(-total // per_page))
        return cls(min(requested_page(param), last), per_page, total, param)

    @classmethod
    def of(cls, session: Session, query: Select, per_page: int, param: str = "page") -> Page:  # type: ignore[type-arg]
        """The page of `query`'s rows asked for in the request, after counting them (one statement)."""
        total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
        return cls.from_request(total, per_page, param)

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
