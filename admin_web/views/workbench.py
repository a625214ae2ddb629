"""The unit workbench (工作台): the unit's petitions ordered by urgency (overdue, yellow, the rest), then by deadline.

Handlers accept, escalate, return, draft the reply and ask for extensions from here (one-click accept inline, the
rest on the petition page); 执法 petitions the unit cooperates on are listed separately with the unit's own task (its
state and deadline; one-click accept inline, the part on the petition page). Above them, the unit's unread reminders
(a petition turning yellow), from `admin_web.views.alerts`.
"""

from __future__ import annotations

import datetime as dt

from flask import render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import ColumnElement, case, select
from sqlalchemy.orm import joinedload

from admin_web.auth import role_required, staff
from admin_web.blueprint import admin
from admin_web.navigation import nav_item
from admin_web.rendering import live_lights
from admin_web.views.alerts import open_alerts
from admin_web.views.forms import CHOICES, action_forms
from admin_web.views.paging import Page
from models import Petition, petition_cooperating_unit, utcnow
from models.db import get_session
from models.enums import Light, Role
from models.petition import OPEN_AT_UNIT
from workflow.engine import available_actions, facts_for

PER_PAGE = 20


def urgency(now: dt.datetime) -> ColumnElement[int]:
    """Sort key, most urgent first: overdue, then yellow, then the rest with a deadline, then none.

    Overdue is decided here from the deadline; yellow is the stored light (recomputed by the lights job), since
    yellow needs the working calendar, which SQL cannot read. The page still shows each row's live light.
    """
    return case(
        (Petition.deadline < now, 0),
        (Petition.light.in_((Light.YELLOW, Light.RED)), 1),
        (Petition.deadline.is_not(None), 2),
        else_=3,
    )


@admin.get("/workbench")
@role_required(Role.HANDLER, Role.UNIT_REVIEWER)
def workbench() -> ResponseReturnValue:
    """The signed-in user's unit's open petitions, most urgent first, 20 a page; below them, 20 a page, the 执法
    petitions the unit cooperates on."""
    user = staff()
    session = get_session()
    now = utcnow()
    # Each list is counted in the statement that reads its page, and its unit comes in the same statement.
    own_query = select(Petition).where(Petition.current_unit_id == user.unit_id, Petition.state.in_(OPEN_AT_UNIT))
    page, own = Page.with_rows(
        session,
        own_query.order_by(urgency(now), Petition.deadline, Petition.id).options(joinedload(Petition.current_unit)),
        PER_PAGE,
    )
    cooperating_ids = select(petition_cooperating_unit.c.petition_id).where(
        petition_cooperating_unit.c.unit_id == user.unit_id
    )
    cooperating_query = select(Petition).where(Petition.id.in_(cooperating_ids), Petition.state.in_(OPEN_AT_UNIT))
    cooperating_page, cooperating = Page.with_rows(
        session,
        cooperating_query.order_by(Petition.deadline, Petition.id).options(joinedload(Petition.lead_unit)),
        PER_PAGE,
        param="coop_page",
    )
    lights = live_lights(own + cooperating, now)
    facts = facts_for(session, own + cooperating)
    items = [(p, action_forms(session, p, available_actions(p, user, facts), facts=facts)) for p in own]
    cooperating_items = [
        (
            p,
            action_forms(session, p, available_actions(p, user, facts), facts=facts, viewer=user),
        )
        for p in cooperating
    ]
    return render_template(
        "admin/workbench.html",
        items=items,
        page=page,
        cooperating=cooperating_items,
        cooperating_page=cooperating_page,
        lights=lights,
        now=now,
        choices=CHOICES,
        next_url=url_for("admin.workbench", page=request.args.get("page"), coop_page=request.args.get("coop_page")),
        alerts=open_alerts(session, user),
    )


nav_item("admin.workbench", "工作台", {Role.HANDLER, Role.UNIT_REVIEWER}, order=30)
