"""The notification outbox, per-account message templates, and the shared access-token store."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, enum_type
from models.citizen import Citizen
from models.clock import utcnow
from models.crypto import EncryptedString
from models.enums import NotificationState


class Notification(Base):
    """A citizen-facing message, written with the state change that causes it and delivered later: to the citizen on
    WeChat, or (``channel`` "hotline") a hotline petition's change pushed to the 12345 hotline's endpoint."""

    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    district_code: Mapped[str] = mapped_column(ForeignKey("district.code"), index=True)
    # None for a push to the hotline (its petitioners have no WeChat).
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizen.id"), index=True)
    petition_id: Mapped[int | None] = mapped_column(ForeignKey("petition.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(40))
    # Who receives it: "wechat" (the citizen, by template or customer-service message) or "hotline" (an HTTP push).
    # A server default only, so inserts written for older schemas (the migration tests) still work.
    channel: Mapped[str] = mapped_column(String(20), server_default="wechat")
    # The facts of the message (number, state, reason, summary, …); rendered into a template or text at delivery.
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[NotificationState] = mapped_column(
        enum_type(NotificationState, 20), default=NotificationState.PENDING, index=True
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    # Idempotency key for WeChat (client_msg_id) so a retried send is not delivered twice.
    client_msg_id: Mapped[str] = mapped_column(String(64), unique=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    channel_used: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]
    # A lease: the worker delivering it and until when, so two schedulers never send the same row at once.
    locked_by: Mapped[str | None] = mapped_column(String(80))
    locked_until: Mapped[dt.datetime | None]

    citizen: Mapped[Citizen | None] = relationship()


class NotificationTemplate(Base):
    """Which WeChat template message an account uses for an event, and how payload fields map onto it."""

    __tablename__ = "notification_template"
    __table_args__ = (UniqueConstraint("district_code", "event"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    district_code: Mapped[str] = mapped_column(ForeignKey("district.code"))
    event: Mapped[str] = mapped_column(String(40))
    template_id: Mapped[str] = mapped_column(String(64))
    # {"template field": {"source": "payload key", "type": "thing|phrase|character_string|time|…"}}
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    enabled: Mapped[bool] = mapped_column(default=True)


class AccessToken(Base):
    """The current access token of one account, shared by every process."""

    __tablename__ = "access_token"

    appid: Mapped[str] = mapped_column(String(40), primary_key=True)
    # Encrypted at rest like the accounts' secrets: a copy of the database must not let anyone call WeChat.
    token: Mapped[str] = mapped_column(EncryptedString())
    expires_at: Mapped[dt.datetime]
    refreshed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class HolidayOverride(Base):
    """A day a platform manager marks as a holiday or a make-up working day (by hand or by importing a notice)."""

    __tablename__ = "holiday_override"

    day: Mapped[dt.date] = mapped_column(primary_key=True)
    is_working_day: Mapped[bool]
    note: Mapped[str] = mapped_column(String(100), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class HolidayYear(Base):
    """A year whose holidays and make-up days a platform manager has confirmed (imported the State Council's notice,
    or checked the days one by one): only then does the year count as known (`workflow.calendar`)."""

    __tablename__ = "holiday_year"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    # How it was confirmed, shown on the calendar page: e.g. 导入国务院办公厅通知.
    note: Mapped[str] = mapped_column(String(100), default="")
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    confirmed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SchedulerLease(Base):
    """Who runs the scheduler: a lease row renewed by the active scheduler, taken over when it lapses."""

    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(120))
    expires_at: Mapped[dt.datetime]


class JobState(Base):
    """What a scheduled job remembers between runs, by name (e.g. the basis its derived columns were computed on)."""

    __tablename__ = "job_state"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class HealthProbe(Base):
    """The row `/healthz` and `/readyz` write to check that the database accepts a write (one row per probe name)."""

    __tablename__ = "health_probe"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    checked_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
