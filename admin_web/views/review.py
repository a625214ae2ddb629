"""Review queues and extension approvals.

* 答复审核: the unit reviewer approves the unit's reply; the city platform reviews city departments' replies; the
  district platform reviews every reply and sends it to the citizen (统一答复).
* 延期审批: the platform that supervises the handling unit decides pending extension requests.
"""

from __future__ import annotations

from flask import render_template, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from admin_web.auth import role_required, staff
from admin_web.blueprint import admin
from admin_web.navigation import nav_item
from admin_web.rendering import live_lights
from admin_web.scoping import scoped_petitions
from admin_web.views.forms import CHOICES, action_forms, needs_review_of
from models import ExtensionRequest, Petition, Reply, utcnow
from models.enums import ReplyState, RequestState, Role
from qingsu.db import get_session
from workflow.engine import available_actions

REVIEW_TITLES = {
    Role.UNIT_REVIEWER: "单位答复审核",
    Role.CITY_DISPATCHER: "市直部门答复审核",
    Role.DISPATCHER: "答复审核与统一答复",
}
UNDER_REVIEW = (ReplyState.UNIT_REVIEW, ReplyState.CITY_REVIEW, ReplyState.PLATFORM_REVIEW)


@admin.get("/review")
@role_required(Role.UNIT_REVIEWER, Role.DISPATCHER, Role.CITY_DISPATCHER)
def review() -> ResponseReturnValue:
    """Replies waiting for this user's review, oldest first, each with its reply and the approve / return forms."""
    user = staff()
    session = get_session()
    query = scoped_petitions(user).where(Petition.state.in_(needs_review_of(user)))
    if user.role == Role.UNIT_REVIEWER:
        query = query.where(Petition.current_unit_id == user.unit_id)
    petitions = list(session.scalars(query.order_by(Petition.updated_at, Petition.id)))
    replies = {
        r.petition_id: r
        for r in session.scalars(
            select(Reply)
            .where(Reply.petition_id.in_([p.id for p in petitions]), Reply.state.in_(UNDER_REVIEW))
            .order_by(Reply.id)
        )
    }
    items = [(p, replies.get(p.id), action_forms(session, p, available_actions(p, user))) for p in petitions]
    return render_template(
        "admin/review.html",
        title=REVIEW_TITLES[user.role],
        items=items,
        lights=live_lights(petitions, utcnow()),
        choices=CHOICES,
        next_url=url_for("admin.review"),
    )


@admin.get("/extensions")
@role_required(Role.DISPATCHER, Role.CITY_DISPATCHER)
def extensions() -> ResponseReturnValue:
    """Pending extension requests this platform decides (the district's own units, or the city departments)."""
    user = staff()
    session = get_session()
    scoped = scoped_petitions(user).where(
        Petition.id.in_(select(ExtensionRequest.petition_id).where(ExtensionRequest.state == RequestState.PENDING))
    )
    petitions = list(session.scalars(scoped.order_by(Petition.deadline, Petition.id)))
    items = []
    for petition in petitions:
        transitions = [t for t in available_actions(petition, user) if t.action == "decide_extension"]
        if transitions:
            forms = action_forms(session, petition, transitions)
            forms.open_action = "decide_extension"
            items.append((petition, forms))
    return render_template(
        "admin/extensions.html",
        items=items,
        lights=live_lights(petitions, utcnow()),
        choices=CHOICES,
        next_url=url_for("admin.extensions"),
    )



nav_item("admin.review", "答复审核", {Role.UNIT_REVIEWER, Role.DISPATCHER, Role.CITY_DISPATCHER}, order=20)
nav_item("admin.extensions", "延期审批", {Role.DISPATCHER, Role.CITY_DISPATCHER}, order=40)
