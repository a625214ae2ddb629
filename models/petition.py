"""The petition (诉求), its audit trail, its attachments and the number sequence."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, LenientEnum, enum_type
from models.citizen import Citizen
from models.clock import utcnow
from models.enums import (
    Channel,
    Complexity,
    DeptType,
    InadmissibleCode,
    Light,
    MediaState,
    Nature,
    PetitionKind,
    PetitionState,
    UnitLevel,
)
from models.unit import Unit
from models.user import User


def _enum(cls: type) -> LenientEnum:
    return enum_type(cls)


# The states in which a petition is open at a unit, on its workbench (`admin_web.views.workbench`); the partial
# index ix_petition_open_at_unit holds exactly these (stored as the members' names).
OPEN_AT_UNIT = (
    PetitionState.ASSIGNED,
    PetitionState.HANDLING,
    PetitionState.UNIT_REVIEW,
    PetitionState.CITY_REVIEW,
    PetitionState.PLATFORM_REVIEW,
)
_OPEN_AT_UNIT_SQL = "state IN ({})".format(", ".join(f"'{state.name}'" for state in OPEN_AT_UNIT))

petition_cooperating_unit = Table(
    "petition_cooperating_unit",
    Base.metadata,
    Column("petition_id", ForeignKey("petition.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", ForeignKey("unit.id"), primary_key=True),
    # The unit scope and the workbench ask "which petitions does this unit cooperate on".
    Index("ix_petition_cooperating_unit_unit", "unit_id", "petition_id"),
)


class Petition(Base):
    __tablename__ = "petition"
    __table_args__ = (
        UniqueConstraint("channel", "external_id"),
        Index("ix_petition_district_state", "district_code", "state"),
        # The lights job: running petitions by the instant they turn yellow (NULL: not computed yet).
        Index("ix_petition_state_yellow_at", "state", "yellow_at"),
        # The evaluation jobs: petitions awaiting a rating, by when the reply reached the citizen.
        Index("ix_petition_state_reply_delivered_at", "state", "reply_delivered_at"),
        # The list pages' orders (admin_web.views, admin_web.api): a district's queue and review lists, the city's
        # queues, a district's search, a unit's workbench, and the hotline polling changes by (updated_at, id).
        Index("ix_petition_district_state_created", "district_code", "state", "created_at", "id"),
        Index("ix_petition_state_created", "state", "created_at", "id"),
        Index("ix_petition_district_created", "district_code", "created_at", "id"),
        Index("ix_petition_current_unit_state", "current_unit_id", "state", "deadline"),
        Index("ix_petition_updated_at_id", "updated_at", "id"),
        # Petitions in a second or later round (二次办理), a few of them: without this partial index the follow-up
        # list, ordered by updated_at, walks the whole updated_at index looking for them; the state in it skips
        # the finished ones without reading their rows.
        Index(
            "ix_petition_second_round",
            "district_code",
            "state",
            "updated_at",
            postgresql_where=text("handling_round > 1"),
            sqlite_where=text("handling_round > 1"),
        ),
        # Lights: running petitions by state, red ones by deadline (the overdue list's order), stored colours.
        Index("ix_petition_state_deadline", "state", "deadline"),
        Index("ix_petition_state_light", "state", "light"),
        # Petitions closed in a period, by how they were closed (the dashboard's 未评价).
        Index("ix_petition_state_closed_at", "state", "closed_at"),
        # The dashboard's light counts: open petitions with all that their light is counted from, so the count
        # reads this small index only.
        Index(
            "ix_petition_running_lights",
            "state",
            "district_code",
            "deadline",
            "yellow_at",
            "accepted_at",
            postgresql_where=text("closed_at IS NULL"),
            sqlite_where=text("closed_at IS NULL"),
        ),
        # The petitions open at some unit (about 1 % of them): the 执法 petitions a unit cooperates on that are still
        # open are found by probing this small index with the unit's cooperating ids, instead of reading each of
        # them (a busy unit has cooperated on a thousand over a year), and ordered by deadline from it.
        Index(
            "ix_petition_open_at_unit",
            "id",
            "deadline",
            postgresql_where=text(_OPEN_AT_UNIT_SQL),
            sqlite_where=text(_OPEN_AT_UNIT_SQL),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    district_code: Mapped[str] = mapped_column(ForeignKey("district.code"))
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizen.id"), index=True)
    kind: Mapped[PetitionKind] = mapped_column(_enum(PetitionKind))
    nature: Mapped[Nature | None] = mapped_column(_enum(Nature))
    complexity: Mapped[Complexity] = mapped_column(_enum(Complexity), default=Complexity.SIMPLE)
    dept_type: Mapped[DeptType | None] = mapped_column(_enum(DeptType))
    title: Mapped[str] = mapped_column(String(60), default="")
    content: Mapped[str] = mapped_column(Text)
    location: Mapped[str] = mapped_column(String(300), default="")
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    contact_name: Mapped[str | None] = mapped_column(String(100))
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    channel: Mapped[Channel] = mapped_column(_enum(Channel), default=Channel.WECHAT)
    external_id: Mapped[str | None] = mapped_column(String(64))
    # A digest of what another channel sent with `external_id`: a repeat with the same digest is a retry, with
    # another a conflict (`workflow.intake.take_in`).
    intake_digest: Mapped[str | None] = mapped_column(String(64))

    state: Mapped[PetitionState] = mapped_column(_enum(PetitionState), default=PetitionState.PENDING_DISPATCH)
    level: Mapped[UnitLevel] = mapped_column(_enum(UnitLevel), default=UnitLevel.DISTRICT_PLATFORM)
    current_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    # The 执法 lead unit; cooperating units are in petition_cooperating_unit.
    lead_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    # Whether the petition went through the city platform (district → city → city department).
    via_city: Mapped[bool] = mapped_column(default=False)
    # The township or department that raised a 执法 petition, and the staff member who entered it.
    origin_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    accepted_at: Mapped[dt.datetime | None]
    time_limit_days: Mapped[int | None]
    deadline: Mapped[dt.datetime | None] = mapped_column(index=True)
    light: Mapped[Light | None] = mapped_column(_enum(Light))
    # The first instant the light is yellow (`workflow.lights.yellow_from`): derived from accepted_at, deadline, the
    # calendar and ``[lights] yellow_fraction_left`` by the lights job; NULL until it has computed it, and reset to
    # NULL whenever the deadline moves (`workflow.lights.set_deadline`).
    yellow_at: Mapped[dt.datetime | None]
    handling_round: Mapped[int] = mapped_column(default=1)
    closed_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    # This round's evaluation (bookkeeping of the evaluation jobs, reset when a reply is sent): when the reply
    # reached the citizen (the start of the evaluation window), when the rating was asked for, and when the one
    # reminder was queued.
    reply_delivered_at: Mapped[dt.datetime | None]
    evaluation_requested_at: Mapped[dt.datetime | None]
    evaluation_reminded_at: Mapped[dt.datetime | None]

    inadmissible_code: Mapped[InadmissibleCode | None] = mapped_column(_enum(InadmissibleCode))
    reject_note: Mapped[str | None] = mapped_column(String(500))
    # What the classifier suggested at intake, and whether the dispatcher kept it.
    suggestion: Mapped[dict[str, Any] | None]
    suggestion_accepted: Mapped[bool | None]
    # The open petition this duplicate was linked to (its master, `workflow.links`): set while it is 已关联 and kept
    # after the master's reply reached it ("handled together with"); cleared by an unlink or its own second handling.
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("petition.id"), index=True)

    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    # Indexed for the 12345 platform, which polls for petitions changed since its last call.
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Optimistic lock: every UPDATE checks it, so two concurrent transitions cannot both win.
    version: Mapped[int] = mapped_column(default=1)
    __mapper_args__ = {"version_id_col": version}

    citizen: Mapped[Citizen | None] = relationship()
    current_unit: Mapped[Unit | None] = relationship(foreign_keys=[current_unit_id])
    lead_unit: Mapped[Unit | None] = relationship(foreign_keys=[lead_unit_id])
    origin_unit: Mapped[Unit | None] = relationship(foreign_keys=[origin_unit_id])
    created_by: Mapped[User | None] = relationship()
    duplicate_of: Mapped[Petition | None] = relationship(remote_side=[id], foreign_keys=[duplicate_of_id])
    cooperating_units: Mapped[list[Unit]] = relationship(secondary=petition_cooperating_unit)
    events: Mapped[list[PetitionEvent]] = relationship(
        back_populates="petition", order_by="PetitionEvent.id", cascade="all, delete-orphan"
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="petition", order_by="Attachment.id", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Petition {self.number} {self.state}>"


class PetitionEvent(Base):
    """One line of the audit trail: who did what, when, and from which state to which."""

    __tablename__ = "petition_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petition.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[PetitionState | None] = mapped_column(_enum(PetitionState))
    to_state: Mapped[PetitionState] = mapped_column(_enum(PetitionState))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    actor_citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizen.id"))
    # How the actor is shown: a user's name, "诉求人", "系统".
    actor_label: Mapped[str] = mapped_column(String(100))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    petition: Mapped[Petition] = relationship(back_populates="events")
    actor_user: Mapped[User | None] = relationship()
    unit: Mapped[Unit | None] = relationship()


class Attachment(Base):
    """An image, voice message or file sent with a petition: its WeChat media id, and the copy kept of it.

    WeChat deletes temporary media after three days, so `workflow.media.fetch_media` downloads each one (a job with
    retries and a lease like the outbox's) into ``[media] folder``, named by the SHA-256 of its content.
    """

    __tablename__ = "attachment"
    # The media job: attachments still to fetch, by when they are due.
    __table_args__ = (Index("ix_attachment_media_state_next", "media_state", "next_fetch_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petition.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="image")
    media_id: Mapped[str | None] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # The kept copy: NULL state for attachments that have no WeChat media id (e.g. links given through the API).
    media_state: Mapped[MediaState | None] = mapped_column(_enum(MediaState))
    sha256: Mapped[str | None] = mapped_column(String(64))
    content_type: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[int | None]
    fetch_attempts: Mapped[int] = mapped_column(default=0)
    next_fetch_at: Mapped[dt.datetime | None]
    fetched_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    # A lease, as on notifications: the worker fetching it and until when.
    locked_by: Mapped[str | None] = mapped_column(String(80))
    locked_until: Mapped[dt.datetime | None]

    petition: Mapped[Petition] = relationship(back_populates="attachments")


class PetitionSequence(Base):
    """The last petition number handed out per district and day; numbers are never reused."""

    __tablename__ = "petition_sequence"

    district_code: Mapped[str] = mapped_column(ForeignKey("district.code"), primary_key=True)
    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(default=0)
