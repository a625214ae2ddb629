"""Citizens and enterprises as known to one district account, and their chat conversations."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, enum_type
from models.clock import utcnow
from models.enums import CitizenKind


class Citizen(Base):
    """A petitioner (诉求人): one WeChat openid under one district account."""

    __tablename__ = "citizen"
    __table_args__ = (UniqueConstraint("district_code", "openid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # No index of its own: the unique key's, whose first column it is, serves lookups by district.
    district_code: Mapped[str] = mapped_column(ForeignKey("district.code"))
    openid: Mapped[str] = mapped_column(String(64))
    kind: Mapped[CitizenKind] = mapped_column(
        enum_type(CitizenKind, 20), default=CitizenKind.PERSON
    )
    name: Mapped[str | None] = mapped_column(String(100))
    # 统一社会信用代码, for enterprises.
    credit_code: Mapped[str | None] = mapped_column(String(18))
    phone: Mapped[str | None] = mapped_column(String(20))
    subscribed: Mapped[bool] = mapped_column(default=True)
    # When the citizen last wrote to the account: customer-service messages are allowed for 48 hours after it.
    last_message_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    conversation: Mapped[Conversation | None] = relationship(back_populates="citizen", uselist=False)


class Conversation(Base):
    """Where a citizen is in a chat dialog; kept in the database so any worker can continue it."""

    __tablename__ = "conversation"

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizen.id"), unique=True)
    flow: Mapped[str] = mapped_column(String(30), default="idle")
    step: Mapped[str] = mapped_column(String(30), default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime | None]

    citizen: Mapped[Citizen] = relationship(back_populates="conversation")


class InboundMessage(Base):
    """A message or event already handled, so that WeChat's retries get the same reply and change nothing."""

    __tablename__ = "inbound_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    district_code: Mapped[str] = mapped_column(String(20))
    dedupe_key: Mapped[str] = mapped_column(String(160), unique=True)
    reply: Mapped[str | None] = mapped_column(String(4000))
    done: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class WebhookNonce(Base):
    """A plain-mode request's signed (timestamp, nonce) the webhook accepted, with a digest of its body.

    In plain mode WeChat's signature covers the token, timestamp and nonce but not the body, so a captured query
    string would carry any message for as long as its timestamp is inside the replay window. The same query with
    the same body is WeChat retrying (answered by `InboundMessage`); with another body it is refused. Rows older
    than a day are deleted with the handled messages.
    """

    __tablename__ = "webhook_nonce"

    # sha256 of the district, the timestamp and the nonce (a nonce may be long).
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    body_digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
