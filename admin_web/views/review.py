"""Review queues and extension approvals.

* 答复审核: the unit reviewer approves the unit's reply; the city platform reviews city departments' replies; the
  district platform reviews every reply and sends it to the citizen (统一答复).
* 延期审批: the platform that supervises the handling unit decides pending extension requests.
"""

from __future__ import annotations

from flask import render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import joinedload

from admin_web.auth import role_required, staff
from admin_web.blueprint import admin
from admin_web.navigation import nav_item
from admin_web.rendering import live_lights
from admin_web.scoping import petition_scope, scoped_petitions
from admin_web.views.forms import CHOICES, action_forms, needs_review_of
from admin_web.views.paging import Page
from models import ExtensionRequest, Petition, Reply, Unit, User, utcnow
from models.db import get_session
from models.enums import ReplyState, RequestState, Role, UnitLevel
from workflow.engine import OPEN_HANDLING, available_actions, facts_for

REVIEW_TITLES = {
    Role.UNIT_REVIEWER: "单位答复审核",
    Role.CITY_DISPATCHER: "市直部门答复审核",
    Role.DISPATCHER: "答复审核与统一答复",
}
UNDER_REVIEW = (ReplyState.UNIT_REVIEW, ReplyState.CITY_REVIEW, ReplyState.PLATFORM_REVIEW)
PER_PAGE = 20


@admin.get("/review")
@role_required(Role.UNIT_REVIEWER, Role.DISPATCHER, Role.CITY_DISPATCHER)
def review() -> ResponseReturnValue:
    """Replies waiting for this user's review, oldest first, 20 a page, each with its reply and the approve / return
    forms."""
    user = staff()
    session = get_session()
    if user.role == Role.UNIT_REVIEWER:
        # The few the unit holds: the scope as a filter on them (its list form would gather all the unit's ids).
        query = select(Petition).where(Petition.current_unit_id == user.unit_id, petition_scope(user))
    else:
        query = scoped_petitions(user)
    query = query.where(Petition.state.in_(needs_review_of(user)))
    page, petitions = Page.with_rows(
        session,
        query.order_by(Petition.updated_at, Petition.id).options(joinedload(Petition.current_unit)),
        PER_PAGE,
    )
    replies: dict[int, Reply] = {}
    if petitions:
        for r in session.scalars(
            select(Reply)
            .where(Reply.petition_id.in_([p.id for p in petitions]), Reply.state.in_(UNDER_REVIEW))
            .order_by(Reply.id)
        ):
            replies[r.petition_id] = r
    facts = facts_for(session, petitions)
    items = [
        (p, replies.get(p.id), action_forms(session, p, available_actions(p, user, facts), facts=facts))
        for p in petitions
    ]
    return render_template(
        "admin/review.html",
        title=REVIEW_TITLES[user.role],
        items=items,
        page=page,
        lights=live_lights(petitions, utcnow()),
        choices=CHOICES,
        next_url=url_for("admin.review", page=request.args.get("page")),
    )


def extension_decider_scope(user: User) -> ColumnElement[bool]:
    """Petitions whose extension requests `user` decides, as `decide_extension` allows: the platform that supervises
    the current unit (the city platform for city departments, the district platform for the district's units), and
    the city platform for a request beyond the round's allowance (`ExtensionRequest.needs_city`)."""
    city_level = select(Unit.id).where(Unit.level.in_((UnitLevel.CITY_DEPARTMENT, UnitLevel.CITY_PLATFORM)))
    beyond = select(ExtensionRequest.petition_id).where(
        ExtensionRequest.state == RequestState.PENDING, ExtensionRequest.needs_city.is_(True)
    )
    if user.role == Role.CITY_DISPATCHER:
        return or_(Petition.current_unit_id.in_(city_level), Petition.id.in_(beyond))
    return and_(Petition.current_unit_id.not_in(city_level), Petition.id.not_in(beyond))


@admin.get("/extensions")
@role_required(Role.DISPATCHER, Role.CITY_DISPATCHER)
def extensions() -> ResponseReturnValue:
    """Pending extension requests this platform decides (the district's own units, or the city departments and
    the requests beyond a round's allowance), nearest deadline first, 20 a page."""
    user = staff()
    session = get_session()
    query = scoped_petitions(user).where(
        Petition.state.in_(OPEN_HANDLING),
        extension_decider_scope(user),
        Petition.id.in_(select(ExtensionRequest.petition_id).where(ExtensionRequest.state == RequestState.PENDING)),
    )
    page, petitions = Page.with_rows(
        session,
        query.order_by(Petition.deadline, Petition.id).options(joinedload(Petition.current_unit)),
        PER_PAGE,
    )
    facts = facts_for(session, petitions)
    items = []
    for petition in petitions:
        transitions = [t for t in available_actions(petition, user, facts) if t.action == "decide_extension"]
        if transitions:
            forms = action_forms(session, petition, transitions, facts=facts)
            forms.open_action = "decide_extension"
            items.append((petition, forms))
    return render_template(
        "admin/extensions.html",
        items=items,
        page=page,
        lights=live_lights(petitions, utcnow()),
        choices=CHOICES,
        next_url=url_for("admin.extensions", page=request.args.get("page")),
    )


nav_item("admin.review", "答复审核", {Role.UNIT_REVIEWER, Role.DISPATCHER, Role.CITY_DISPATCHER}, order=20)
nav_item("admin.extensions", "延期审批", {Role.DISPATCHER, Role.CITY_DISPATCHER}, order=40)
