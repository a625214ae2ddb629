"""The outbox's backlog per district, and the notifications that could not be delivered, with a retry button."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from admin_web.audit import audit
from admin_web.auth import role_required, staff
from admin_web.manage.scope import (
    MANAGE_PER_PAGE,
    MANAGER_ROLES,
    is_city_manager,
    manage,
)
from admin_web.views.paging import Page
from models import (
    Notification,
    utcnow,
)
from models.db import get_session
from models.enums import NotificationState
from workflow.hotline import PUSH_EVENT, PUSH_LABEL
from workflow.notify import EVENTS
from workflow.outbox import backlog, retry_dead

# --- dead letters ----------------------------------------------------------------------------------------------------


@manage.get("/dead-letters")
@role_required(*MANAGER_ROLES)
def dead_letters() -> ResponseReturnValue:
    """The outbox's backlog per district, and the citizen notifications that could not be delivered, newest first,
    with the last error and a retry button."""
    user = staff()
    session = get_session()
    query = select(Notification).where(Notification.state == NotificationState.DEAD)
    if not is_city_manager(user):
        query = query.where(Notification.district_code == user.district_code)
    page = Page.of(session, query, MANAGE_PER_PAGE)
    rows = list(
        session.scalars(page.apply(query.order_by(Notification.created_at.desc(), Notification.id.desc())))
    )
    waiting = backlog(session, None if is_city_manager(user) else [user.district_code], utcnow())
    return render_template(
        "manage/dead_letters.html",
        notifications=rows,
        events={**EVENTS, PUSH_EVENT: PUSH_LABEL},
        page=page,
        backlog=waiting,
        now=utcnow(),
    )


@manage.post("/dead-letters/<int:notification_id>/retry")
@role_required(*MANAGER_ROLES)
def retry_notification(notification_id: int) -> ResponseReturnValue:
    """Put a dead-lettered notification back in the outbox, due now."""
    user = staff()
    session = get_session()
    notification = session.get(Notification, notification_id)
    if notification is None or not (
        is_city_manager(user) or notification.district_code == user.district_code
    ):
        abort(404)
    try:
        retry_dead(session, notification_id, utcnow())
    except ValueError as exc:
        flash(str(exc), "error")
    else:
        audit(session, user, "notification_retried", f"notification:{notification_id}", notification.event)
        session.commit()
        flash(f"消息 {notification_id} 已重新排队发送", "success")
    return redirect(url_for("manage.dead_letters"))
