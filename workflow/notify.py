"""Writing citizen-facing notifications into the outbox, in the same transaction as the change that causes them.

Delivery (template or customer-service message, retries, dead letters) is the scheduler's job; here we only record
what the citizen must hear, with the facts needed to render it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy.orm import Session

from models import Notification, Petition

# The events a citizen is told about, with the Chinese name shown on the admin site.
EVENTS: dict[str, str] = {
    "accepted": "诉求已受理",
    "rejected": "诉求不予受理",
    "assigned": "诉求已转办",
    "extended": "办理期限已延长",
    "replied": "诉求已答复",
    "evaluation_request": "请评价办理结果",
    "evaluation_reminder": "评价提醒",
    "second_handling": "诉求进入二次办理",
    "assessment_started": "诉求进入履职评估",
    "closed": "诉求已办结",
}


def enqueue(session: Session, petition: Petition, event: str, now: dt.datetime, **facts: Any) -> Notification | None:
    """Queue a notification of `event` for the petitioner; None when the petition has no WeChat citizen.

    :raises ValueError: for an event that is not in EVENTS.
    """
    if event not in EVENTS:
        raise ValueError(f"unknown notification event {event!r}")
    if petition.citizen_id is None:
        return None
    payload: dict[str, Any] = {
        "number": petition.number,
        "state": petition.state.value,
        "state_label": petition.state.label,
        "title": petition.title,
        "round": petition.handling_round,
        **facts,
    }
    notification = Notification(
        district_code=petition.district_code,
        citizen_id=petition.citizen_id,
        petition_id=petition.id,
        event=event,
        payload=payload,
        next_attempt_at=now,
        client_msg_id=uuid.uuid4().hex,
        created_at=now,
    )
    session.add(notification)
    return notification
