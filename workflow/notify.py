"""Writing citizen-facing notifications into the outbox, in the same transaction as the change that causes them.

Delivery (template or customer-service message, retries, dead letters) is the scheduler's job; here we only record
what the citizen must hear, with the facts needed to render it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from models import Notification, Petition
from models.enums import NotificationState

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
    "accountability": "承办单位移交问责",
    "closed": "诉求已办结",
    "linked": "诉求已合并办理",
    "unlinked": "诉求恢复单独办理",
}


def enqueue(
    session: Session, petition: Petition, event: str, now: dt.datetime, **facts: Any
) -> Notification | None:
    """Queue a notification of `event` for the petitioner; None when the petition has no WeChat citizen.

    :raises ValueError: for an event that is not in EVENTS.
    """
    values = notification_values(petition, event, now, **facts)
    if values is None:
        return None
    notification = Notification(**values)
    session.add(notification)
    return notification


def enqueue_many(
    session: Session, notifications: Iterable[tuple[Petition, str, dict[str, Any]]], now: dt.datetime
) -> int:
    """Queue many notifications with one INSERT (a scheduled job's batch): ``(petition, event, facts)`` each, as
    `enqueue` would; petitions without a WeChat citizen are skipped. Returns how many were queued.

    :raises ValueError: for an event that is not in EVENTS.
    """
    rows = [notification_values(petition, event, now, **facts) for petition, event, facts in notifications]
    rows = [row for row in rows if row is not None]
    if rows:
        session.execute(insert(Notification), rows)
    return len(rows)


def notification_values(
    petition: Petition, event: str, now: dt.datetime, **facts: Any
) -> dict[str, Any] | None:
    """The column values of the notification of `event` for the petitioner; None when there is no WeChat citizen.

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
    return {
        "district_code": petition.district_code,
        "citizen_id": petition.citizen_id,
        "petition_id": petition.id,
        "event": event,
        "payload": payload,
        "state": NotificationState.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "client_msg_id": uuid.uuid4().hex,
        "created_at": now,
    }
