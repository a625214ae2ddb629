"""Early-warning rules (预警规则) a city manager sets: what the scheduler looks for in the petitions, and where."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base
from models.clock import utcnow


class WarningRule(Base):
    """One rule of `workflow.warnings`: its kind, its thresholds and its scope (the city, or one district).

    `threshold` is a count (petitions, red lights) or, for the on-time kind, a percentage; `window_hours` is how far
    back the rule looks (unused by the red-light kind, which counts petitions overdue now); `min_volume` is the
    fewest replies an on-time rate must rest on before it can warn.
    """

    __tablename__ = "warning_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    name: Mapped[str] = mapped_column(String(80))
    enabled: Mapped[bool] = mapped_column(default=True)
    # None: the whole city.
    district_code: Mapped[str | None] = mapped_column(ForeignKey("district.code"), index=True)
    threshold: Mapped[int]
    window_hours: Mapped[int] = mapped_column(default=0)
    min_volume: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<WarningRule {self.id} {self.kind} {self.district_code or 'city'}>"
