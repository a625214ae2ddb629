"""Information added to a petition after it was filed (补充材料): the 12345 hotline passing on what its petitioner
calls back to add.

A supplement is a history row (action ``supplement``, the state unchanged, the text as its note) plus the web
addresses it brings as the petition's attachments, so the petition page and the handler see it with the rest of the
trail. It is idempotent by the sender's `client_id`: the same id again returns the first row and adds nothing.
A finished petition (`FINISHED_STATES`) takes no supplement: nobody handles it any more, and its rating is given.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Attachment, Petition, PetitionEvent, User
from models.enums import PetitionState
from workflow.actors import actor_label
from workflow.errors import IntakeConflict, InvalidInput, StateConflict
from workflow.intake import check_intake

SUPPLEMENT = "supplement"
SUPPLEMENT_LABEL = "补充材料"
MAX_SUPPLEMENT = 2000
MAX_CLIENT_ID = 64
# Finished: closed, closed unrated, handed to accountability, or not admitted.
FINISHED_STATES = frozenset(
    {PetitionState.CLOSED, PetitionState.UNRATED, PetitionState.ACCOUNTABILITY, PetitionState.REJECTED}
)


def find_supplement(session: Session, petition: Petition, client_id: str) -> PetitionEvent | None:
    """The supplement `client_id` added to `petition` before, or None."""
    rows = session.scalars(
        select(PetitionEvent).where(
            PetitionEvent.petition_id == petition.id,
            PetitionEvent.action == SUPPLEMENT,
            PetitionEvent.data["client_id"].as_string() == client_id,
        )
    )
    return rows.first()


def add_supplement(
    session: Session,
    petition: Petition,
    actor: User,
    now: dt.datetime,
    *,
    text: str,
    client_id: str,
    attachments: Sequence[dict[str, Any]] = (),
) -> tuple[PetitionEvent, bool]:
    """Record `actor`'s supplement to `petition`: `(event, True)` when added now, `(event, False)` for a repeat of
    `client_id` with the same text (a retry), which adds nothing. Touches the petition (its version and updated_at),
    so two concurrent supplements cannot both pass the state check on a stale row. Flushes; the caller commits.

    :raises InvalidInput: empty or oversized text, a bad client id, attachments that are not web addresses.
    :raises StateConflict: the petition is finished (`FINISHED_STATES`).
    :raises IntakeConflict: `client_id` was used on this petition before with another text.
    """
    body = (text or "").strip()
    key = (client_id or "").strip()
    if not key or len(key) > MAX_CLIENT_ID:
        raise InvalidInput(f"请提供 client_id（1–{MAX_CLIENT_ID} 个字符）", "client_id")
    existing = find_supplement(session, petition, key)
    if existing is not None:
        if existing.note != body:
            raise IntakeConflict(
                f"client_id「{key}」已用于另一条补充材料：新的补充请使用新的 client_id", petition
            )
        return existing, False
    if not body:
        raise InvalidInput("补充内容不能为空", "text")
    if len(body) > MAX_SUPPLEMENT:
        raise InvalidInput(f"补充内容过长（最多{MAX_SUPPLEMENT}字）", "text")
    check_intake(content="", attachments=attachments)
    if petition.state in FINISHED_STATES:
        raise StateConflict(f"诉求 {petition.number} 已{petition.state.label}，不能再补充材料")
    for item in attachments:
        petition.attachments.append(
            Attachment(kind=item.get("kind") or "image", url=item["url"], created_at=now)
        )
    event = PetitionEvent(
        action=SUPPLEMENT,
        from_state=petition.state,
        to_state=petition.state,
        actor_user_id=actor.id,
        actor_label=actor_label(actor),
        note=body,
        data={"client_id": key, "attachments": [item["url"] for item in attachments]},
        created_at=now,
    )
    petition.events.append(event)
    petition.updated_at = now
    session.flush()
    return event, True
