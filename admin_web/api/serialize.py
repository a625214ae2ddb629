"""Petitions, events, replies and units as the API returns them, with phone numbers masked for the caller's role."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from admin_web.api.actions import ACTION_PARAMS
from admin_web.scoping import phone_for, text_for
from models import (
    Attachment,
    CooperationTask,
    Evaluation,
    ExtensionRequest,
    Petition,
    PetitionEvent,
    Reply,
    Unit,
    User,
)
from models.enums import LabelledEnum, MediaState, PetitionState
from workflow import routing
from workflow.calendar_changes import RECOMPUTED, RECOMPUTED_LABEL
from workflow.engine import TRANSITIONS, available_actions
from workflow.supplements import SUPPLEMENT, SUPPLEMENT_LABEL

# Event actions that are not workflow transitions (intake), with their Chinese label.
EXTRA_EVENT_LABELS = {"submit": "提交诉求", RECOMPUTED: RECOMPUTED_LABEL, SUPPLEMENT: SUPPLEMENT_LABEL}


def _time(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _enum(value: LabelledEnum | None) -> dict[str, str] | None:
    return {"value": value.value, "label": value.label} if value is not None else None


def unit_ref(unit: Unit | None) -> dict[str, Any] | None:
    """A unit as a reference inside another object: id, name and level."""
    if unit is None:
        return None
    return {"id": unit.id, "name": unit.name, "level": unit.level.value}


def petition_summary(petition: Petition, user: User) -> dict[str, Any]:
    """The fields a list shows: number, state, light, deadline, where the petition is, and its text."""
    return {
        "number": petition.number,
        "district_code": petition.district_code,
        "kind": _enum(petition.kind),
        "nature": _enum(petition.nature),
        "complexity": _enum(petition.complexity),
        "dept_type": _enum(petition.dept_type),
        "state": _enum(petition.state),
        "light": _enum(petition.light),
        "title": text_for(user, petition.title),
        "channel": petition.channel.value,
        "external_id": petition.external_id,
        "current_unit": unit_ref(petition.current_unit),
        "handling_round": petition.handling_round,
        "accepted_at": _time(petition.accepted_at),
        "deadline": _time(petition.deadline),
        "time_limit_days": petition.time_limit_days,
        "closed_at": _time(petition.closed_at),
        "created_at": _time(petition.created_at),
        "updated_at": _time(petition.updated_at),
    }


def event_dict(event: PetitionEvent, user: User) -> dict[str, Any]:
    """One timeline row: who did what, when, from which state to which."""
    transition = TRANSITIONS.get(event.action)
    return {
        "id": event.id,
        "action": event.action,
        "label": transition.label if transition else EXTRA_EVENT_LABELS.get(event.action, event.action),
        "from_state": event.from_state.value if event.from_state else None,
        "to_state": event.to_state.value,
        "actor": event.actor_label,
        "unit": unit_ref(event.unit),
        "note": text_for(user, event.note),
        "data": event.data,
        "created_at": _time(event.created_at),
    }


def reply_dict(reply: Reply, user: User) -> dict[str, Any]:
    """A unit's reply with its five required elements and its review state."""
    return {
        "id": reply.id,
        "handling_round": reply.handling_round,
        "unit": unit_ref(reply.unit),
        "state": _enum(reply.state),
        "petitioner_info": text_for(user, reply.petitioner_info),
        "policy_basis": reply.policy_basis,
        "result": reply.result,
        "responsible_person": reply.responsible_person,
        "contact_phone": reply.contact_phone,
        "review_note": reply.review_note,
        "created_at": _time(reply.created_at),
        "sent_at": _time(reply.sent_at),
        "on_time": reply.on_time,
    }


def extension_dict(request: ExtensionRequest) -> dict[str, Any]:
    """An extension request and its decision."""
    return {
        "id": request.id,
        "handling_round": request.handling_round,
        "unit": unit_ref(request.unit),
        "needs_city": request.needs_city,
        "extra_working_days": request.extra_working_days,
        "reason": request.reason,
        "state": _enum(request.state),
        "decision_note": request.decision_note,
        "old_deadline": _time(request.old_deadline),
        "new_deadline": _time(request.new_deadline),
        "created_at": _time(request.created_at),
        "decided_at": _time(request.decided_at),
    }


def cooperation_task_dict(task: CooperationTask) -> dict[str, Any]:
    """A cooperating unit's task on a 执法 petition, with its part once submitted."""
    return {
        "id": task.id,
        "handling_round": task.handling_round,
        "unit": unit_ref(task.unit),
        "state": _enum(task.state),
        "deadline": _time(task.deadline),
        "accepted_at": _time(task.accepted_at),
        "part": task.part,
        "submitted_at": _time(task.submitted_at),
    }


def evaluation_dict(evaluation: Evaluation, user: User) -> dict[str, Any]:
    """The citizen's rating of one handling round, with what they said is still wrong (``comment``)."""
    return {
        "handling_round": evaluation.handling_round,
        "satisfaction": _enum(evaluation.satisfaction),
        "resolution": _enum(evaluation.resolution),
        "comment": text_for(user, evaluation.comment),
        "created_at": _time(evaluation.created_at),
    }


def suggested_unit(session: Session, petition: Petition) -> Unit | None:
    """While a district petition waits for its dispatcher: the unit the dispatch form starts on (the community or
    street of its place for 民生, else the department of the suggested type); otherwise None."""
    if petition.state != PetitionState.PENDING_DISPATCH:
        return None
    return routing.suggested_unit(petition, routing.dispatch_targets(session, petition, by_city=False))


def petition_detail(session: Session, petition: Petition, user: User) -> dict[str, Any]:
    """Everything about one petition as `user` may see it, with its events and the actions `user` may take now."""
    replies = session.scalars(select(Reply).where(Reply.petition_id == petition.id).order_by(Reply.id))
    extensions = session.scalars(
        select(ExtensionRequest)
        .where(ExtensionRequest.petition_id == petition.id)
        .order_by(ExtensionRequest.id)
    )
    tasks = session.scalars(
        select(CooperationTask).where(CooperationTask.petition_id == petition.id).order_by(CooperationTask.id)
    )
    evaluations = session.scalars(
        select(Evaluation).where(Evaluation.petition_id == petition.id).order_by(Evaluation.handling_round)
    )
    return {
        **petition_summary(petition, user),
        "content": text_for(user, petition.content),
        "location": petition.location,
        "latitude": petition.latitude,
        "longitude": petition.longitude,
        "contact_name": petition.contact_name,
        "contact_phone": phone_for(user, petition.contact_phone),
        "citizen_phone": phone_for(user, petition.citizen.phone) if petition.citizen else "",
        "lead_unit": unit_ref(petition.lead_unit),
        "cooperating_units": [unit_ref(u) for u in petition.cooperating_units],
        "origin_unit": unit_ref(petition.origin_unit),
        "via_city": petition.via_city,
        "inadmissible_code": _enum(petition.inadmissible_code),
        "reject_note": petition.reject_note,
        "suggestion": petition.suggestion,
        "suggested_unit": unit_ref(suggested_unit(session, petition)),
        "attachments": [attachment_dict(petition, a) for a in petition.attachments],
        "replies": [reply_dict(r, user) for r in replies],
        "extension_requests": [extension_dict(e) for e in extensions],
        "cooperation_tasks": [cooperation_task_dict(t) for t in tasks],
        "evaluations": [evaluation_dict(e, user) for e in evaluations],
        "events": [event_dict(e, user) for e in petition.events],
        "available_actions": [
            {"action": t.action, "label": t.label, "params": sorted(ACTION_PARAMS[t.action])}
            for t in available_actions(petition, user)
        ],
    }


def attachment_dict(petition: Petition, attachment: Attachment) -> dict[str, Any]:
    """An attachment: where it came from, and (once the media job has kept it) its hash and where to download it."""
    stored = attachment.media_state == MediaState.STORED
    return {
        "id": attachment.id,
        "kind": attachment.kind,
        "url": attachment.url,
        "media_state": _enum(attachment.media_state),
        "sha256": attachment.sha256 if stored else None,
        "content_type": attachment.content_type if stored else None,
        "size": attachment.size if stored else None,
        "download_url": url_for("api.petition_attachment", number=petition.number, attachment_id=attachment.id)
        if stored
        else None,
    }


def unit_dict(unit: Unit) -> dict[str, Any]:
    """A handling unit with its responsibility list (one duty per item)."""
    return {
        "id": unit.id,
        "name": unit.name,
        "level": _enum(unit.level),
        "dept_type": _enum(unit.dept_type),
        "district_code": unit.district_code,
        "parent_id": unit.parent_id,
        "phone": unit.phone,
        "active": unit.active,
        "responsibilities": [line.strip() for line in unit.responsibilities.splitlines() if line.strip()],
        "handler_self_review": unit.handler_self_review,
    }
