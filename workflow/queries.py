"""Read-only questions about petitions that several front ends ask (the bot, the admin site, the API)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Citizen, Evaluation, Petition, PetitionEvent, Reply
from models.enums import PetitionState, ReplyState

# How each action is told to the citizen in "我的诉求" (internal steps such as reviews are summarised).
CITIZEN_STEP_LABELS: dict[str, str] = {
    "submit": "已提交",
    "dispatch": "平台已受理并转办",
    "city_dispatch": "市级平台已转市直部门办理",
    "reject": "不予受理",
    "send_to_city": "已流转市级平台",
    "return_to_district": "已退回区(市)平台",
    "accept": "承办单位已签收",
    "return": "承办单位退回平台重新分拨",
    "escalate": "已逐级上报",
    "submit_reply": "承办单位已形成答复，审核中",
    "send_reply": "已答复",
    "evaluate": "您已评价",
    "expire_evaluation": "评价期限已过，按未评价办结",
    "assess": "履职评估已完成",
    "decide_extension": "办理期限审批",
    "link": "与同一问题的诉求合并办理",
    "unlink": "恢复单独办理",
    "linked_reply": "已答复",
}
# The rating that sends a petition back for a second round.
SECOND_HANDLING_STEP_LABEL = "您已评价，诉求转入二次办理"


def petition_by_number(session: Session, number: str) -> Petition | None:
    """The petition with this number (case and surrounding spaces ignored), or None."""
    return session.scalars(select(Petition).where(Petition.number == number.strip().upper())).first()


def petitions_of_citizen(session: Session, citizen: Citizen, limit: int = 10) -> list[Petition]:
    """The citizen's most recent petitions, newest first."""
    return list(
        session.scalars(
            select(Petition)
            .where(Petition.citizen_id == citizen.id)
            .order_by(Petition.created_at.desc(), Petition.id.desc())
            .limit(limit)
        )
    )


def awaiting_evaluation_of(session: Session, citizen: Citizen) -> list[Petition]:
    """The citizen's petitions whose reply has been sent and that the citizen has not rated yet, oldest first."""
    return list(
        session.scalars(
            select(Petition)
            .where(Petition.citizen_id == citizen.id, Petition.state == PetitionState.AWAITING_EVALUATION)
            .order_by(Petition.updated_at, Petition.id)
        )
    )


@dataclass(frozen=True)
class TimelineStep:
    at: dt.datetime
    label: str
    note: str
    # The handling round the step belongs to (2: second handling, 二次办理).
    round: int = 1


def citizen_timeline(petition: Petition) -> list[TimelineStep]:
    """The steps of a petition as the citizen is shown them: no reviewers' names, no internal notes. The rating
    that starts a second round says so, and the steps after it carry their round."""
    steps = []
    handling_round = 1
    for event in petition.events:
        label = CITIZEN_STEP_LABELS.get(event.action)
        if label is None:
            continue
        note = event.note if event.action in ("reject", "return_to_district") else ""
        second_round = event.action == "evaluate" and event.to_state == PetitionState.PENDING_DISPATCH
        if second_round:
            label = SECOND_HANDLING_STEP_LABEL
        steps.append(TimelineStep(at=event.created_at, label=label, note=note, round=handling_round))
        if second_round:
            handling_round += 1
    return steps


def second_handling_feedback(session: Session, petitions: list[Petition]) -> dict[int, Evaluation]:
    """For each petition in a later handling round, the citizen's rating that sent it back (the last round's
    evaluation, with the citizen's comment on what is still wrong), by petition id; one query for all."""
    again = {p.id: p.handling_round - 1 for p in petitions if p.handling_round > 1}
    if not again:
        return {}
    rows = session.scalars(
        select(Evaluation).where(Evaluation.petition_id.in_(again)).order_by(Evaluation.handling_round)
    )
    return {e.petition_id: e for e in rows if e.handling_round == again[e.petition_id]}


def history(session: Session, petition: Petition) -> list[PetitionEvent]:
    """Every event of a petition, oldest first (the audit trail)."""
    return list(
        session.scalars(select(PetitionEvent).where(PetitionEvent.petition_id == petition.id).order_by(PetitionEvent.id))
    )


def latest_sent_reply(session: Session, petition: Petition) -> Reply | None:
    """The last reply the citizen received (of the latest round that has one), or None."""
    return session.scalars(
        select(Reply)
        .where(Reply.petition_id == petition.id, Reply.state == ReplyState.SENT)
        .order_by(Reply.handling_round.desc(), Reply.id.desc())
        .limit(1)
    ).first()
