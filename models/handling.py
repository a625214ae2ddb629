"""What happens to a petition while it is handled: replies, evaluations, extensions and assessments."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, LenientEnum, enum_type
from models.clock import utcnow
from models.enums import AssessmentOutcome, ReplyState, RequestState, Resolution, Satisfaction, TaskState
from models.petition import Petition
from models.unit import Unit
from models.user import User


def _enum(cls: type) -> LenientEnum:
    return enum_type(cls)


class Reply(Base):
    """A unit's reply (答复件) with the elements the work rules require, and its review state."""

    __tablename__ = "reply"
    # The on-time rate: replies sent in a period, with what it counts, so the rate reads the index and not the
    # replies' long texts.
    __table_args__ = (
        Index("ix_reply_state_sent_at", "state", "sent_at", "petition_id", "unit_id", "on_time"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petition.id", ondelete="CASCADE"), index=True)
    handling_round: Mapped[int] = mapped_column(default=1)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    petitioner_info: Mapped[str] = mapped_column(Text)
    policy_basis: Mapped[str] = mapped_column(Text)
    result: Mapped[str] = mapped_column(Text)
    responsible_person: Mapped[str] = mapped_column(String(60))
    contact_phone: Mapped[str] = mapped_column(String(30))
    state: Mapped[ReplyState] = mapped_column(_enum(ReplyState), default=ReplyState.UNIT_REVIEW)
    review_note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]
    # The deadline in force when the reply reached the citizen, and whether it was met (the on-time rate).
    deadline: Mapped[dt.datetime | None]
    on_time: Mapped[bool | None]
    # A linked duplicate's copy of its master's reply (`workflow.links`): the master's reply row. Such a copy has no
    # deadline of its own and is not in the on-time rate (the handling is counted once, on the master).
    linked_from_id: Mapped[int | None] = mapped_column(ForeignKey("reply.id"))

    petition: Mapped[Petition] = relationship()
    unit: Mapped[Unit] = relationship()
    author: Mapped[User | None] = relationship()


class Evaluation(Base):
    """The petitioner's rating of one handling round."""

    __tablename__ = "evaluation"
    __table_args__ = (
        UniqueConstraint("petition_id", "handling_round"),
        # The resolution and satisfaction rates: ratings given in a period, with what they count.
        Index(
            "ix_evaluation_created_at",
            "created_at",
            "petition_id",
            "handling_round",
            "unit_id",
            "satisfaction",
            "resolution",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petition.id", ondelete="CASCADE"), index=True)
    handling_round: Mapped[int]
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    satisfaction: Mapped[Satisfaction] = mapped_column(_enum(Satisfaction))
    resolution: Mapped[Resolution] = mapped_column(_enum(Resolution))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    petition: Mapped[Petition] = relationship()

    @property
    def passed(self) -> bool:
        """Satisfied or basically satisfied, and resolved or basically resolved: the petition is closed."""
        return rating_passes(self.satisfaction, self.resolution)


def rating_passes(satisfaction: Satisfaction, resolution: Resolution) -> bool:
    """Whether a rating closes the petition: neither 不满意 nor 未解决 (see `Evaluation.passed`)."""
    return satisfaction != Satisfaction.UNSATISFIED and resolution != Resolution.UNRESOLVED


class ExtensionRequest(Base):
    """A unit's application for more time (延期申请), decided by the district or city platform."""

    __tablename__ = "extension_request"
    # The platforms' 延期审批 list: petitions with a pending request.
    __table_args__ = (Index("ix_extension_request_state_petition", "state", "petition_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petition.id", ondelete="CASCADE"), index=True)
    # The handling round it was asked in: the caps (one approved extension a round, a total) count per round.
    handling_round: Mapped[int] = mapped_column(default=1, server_default="1")
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    # A request beyond the round's allowance of approved extensions: only the city platform may decide it.
    needs_city: Mapped[bool] = mapped_column(default=False, server_default=false())
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    extra_working_days: Mapped[int]
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[RequestState] = mapped_column(_enum(RequestState), default=RequestState.PENDING)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[dt.datetime | None]
    decision_note: Mapped[str] = mapped_column(Text, default="")
    old_deadline: Mapped[dt.datetime | None]
    new_deadline: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    petition: Mapped[Petition] = relationship()
    unit: Mapped[Unit] = relationship()


class Assessment(Base):
    """A performance assessment (履职评估) of the handling unit after a failed second handling."""

    __tablename__ = "assessment"

    id: Mapped[int] = mapped_column(primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petition.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    handling_round: Mapped[int]
    outcome: Mapped[AssessmentOutcome] = mapped_column(_enum(AssessmentOutcome))
    assessor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    petition: Mapped[Petition] = relationship()
    unit: Mapped[Unit] = relationship()
    assessor: Mapped[User | None] = relationship()


class CooperationTask(Base):
    """A cooperating unit's part of a 执法 petition (配合任务): the district platform names the lead unit, the
    cooperating units and the time limit; each cooperating unit accepts its task and submits its part before its own
    deadline, which lies inside the lead unit's. One task per unit and handling round."""

    __tablename__ = "cooperation_task"
    __table_args__ = (
        UniqueConstraint("petition_id", "handling_round", "unit_id"),
        # A unit's workbench: its open tasks by deadline.
        Index("ix_cooperation_task_unit_state", "unit_id", "state", "deadline"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petition.id", ondelete="CASCADE"), index=True)
    handling_round: Mapped[int]
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    state: Mapped[TaskState] = mapped_column(_enum(TaskState), default=TaskState.ASSIGNED)
    deadline: Mapped[dt.datetime]
    accepted_at: Mapped[dt.datetime | None]
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # The unit's part: what it did, for the lead unit to put into the reply.
    part: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[dt.datetime | None]
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    petition: Mapped[Petition] = relationship()
    unit: Mapped[Unit] = relationship()

    @property
    def open(self) -> bool:
        """Still expected: assigned or accepted, not yet submitted (nor withdrawn)."""
        return self.state in (TaskState.ASSIGNED, TaskState.ACCEPTED)
