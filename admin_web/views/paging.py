"""Page numbers for long lists (`?page=`)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import request


@dataclass(frozen=True)
class Page:
    number: int
    per_page: int
    total: int

    @classmethod
    def from_request(cls, total: int, per_page: int) -> Page:
        """The page asked for in ``?page=``, clamped to the pages that exist."""
        raw = request.args.get("page", "1")
        number = int(raw) if raw.isdigit() else 1
        last = max(1, -(-total // per_page))
        return cls(min(max(number, 1), last), per_page, total)

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
