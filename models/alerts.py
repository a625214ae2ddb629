"""Reminders and alerts for staff: a unit's petition turning yellow, a platform's turning red, the daily summary."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base
from models.clock import utcnow
from models.petition import Petition
from models.unit import Unit
from models.user import User
from models.warning import WarningRule


class StaffAlert(Base):
    """One reminder shown on the admin site to the staff of a unit, or to a district's managers.

    `audience` says who reads it: ``unit`` (the handling unit, yellow light), ``platform`` (the district or city
    platform, red light) or ``district_manager`` (the daily summary). `dedupe_key` makes each alert happen once
    (e.g. one yellow reminder per petition, round and deadline).

    An early warning (``kind`` ``warning``, `workflow.warnings`) is one alert per rule and subject (a street's
    department type, a unit, a district, a citizen's matter) while the condition lasts: `rule_id` and `subject` name
    it, `created_at` is when it started, `last_seen_at` the last run that still found it, `resolved_at` the first
    run that no longer did. Being read is being acknowledged: `read_by_id` says by whom.
    """

    __tablename__ = "staff_alert"
    # A reader's alerts, newest first (the alert box and the alerts page).
    __table_args__ = (
        Index("ix_staff_alert_unit_created", "unit_id", "created_at"),
        # The warnings job: a rule's alerts still open.
        Index("ix_staff_alert_rule_resolved", "rule_id", "resolved_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    audience: Mapped[str] = mapped_column(String(20))
    district_code: Mapped[str | None] = mapped_column(ForeignKey("district.code"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    petition_id: Mapped[int | None] = mapped_column(ForeignKey("petition.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    dedupe_key: Mapped[str] = mapped_column(String(160), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    read_at: Mapped[dt.datetime | None]
    read_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("warning_rule.id"))
    subject: Mapped[str | None] = mapped_column(String(200))
    last_seen_at: Mapped[dt.datetime | None]
    resolved_at: Mapped[dt.datetime | None]

    unit: Mapped[Unit | None] = relationship()
    petition: Mapped[Petition | None] = relationship()
    read_by: Mapped[User | None] = relationship()
    rule: Mapped[WarningRule | None] = relationship()
