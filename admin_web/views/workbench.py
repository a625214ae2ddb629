"""The unit workbench (工作台): the unit's petitions ordered by light (red, yellow, blue), then by deadline.

Handlers accept, escalate, return, draft the reply and ask for extensions from here (one-click accept inline, the
rest on the petition page); 执法 petitions the unit cooperates on are listed separately, read-only. Above them, the
unit's unread reminders (a petition turning yellow), from `admin_web.views.alerts`.
"""

from __future__ import annotations

from flask import render_template, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from admin_web.auth import role_required, staff
from admin_web.blueprint import admin
from admin_web.navigation import nav_item
from admin_web.rendering import live_lights
from admin_web.views.alerts import open_alerts
from admin_web.views.forms import CHOICES, action_forms
from models import Petition, petition_cooperating_unit, utcnow
from models.enums import Light, PetitionState, Role
from qingsu.db import get_session
from workflow.engine import available_actions

OPEN_AT_UNIT = (
    PetitionState.ASSIGNED,
    PetitionState.HANDLING,
    PetitionState.UNIT_REVIEW,
    PetitionState.CITY_REVIEW,
    PetitionState.PLATFORM_REVIEW,
)
LIGHT_ORDER = {Light.RED: 0, Light.YELLOW: 1, Light.BLUE: 2, None: 3}


@admin.get("/workbench")
@role_required(Role.HANDLER, Role.UNIT_REVIEWER)
def workbench() -> ResponseReturnValue:
    """The signed-in user's unit's open petitions, most urgent first."""
    user = staff()
    session = get_session()
    now = utcnow()
    own = list(
        session.scalars(
            select(Petition).where(Petition.current_unit_id == user.unit_id, Petition.state.in_(OPEN_AT_UNIT))
        )
    )
    cooperating_ids = select(petition_cooperating_unit.c.petition_id).where(
        petition_cooperating_unit.c.unit_id == user.unit_id
    )
    cooperating = list(
        session.scalars(
            select(Petition)
            .where(Petition.id.in_(cooperating_ids), Petition.state.in_(OPEN_AT_UNIT))
            .order_by(Petition.deadline)
        )
    )
    lights = live_lights(own + cooperating, now)
    far_future = now.replace(year=now.year + 100)
    own.sort(key=lambda p: (LIGHT_ORDER[lights[p.id]], p.deadline or far_future, p.id))
    items = [(p, action_forms(session, p, available_actions(p, user))) for p in own]
    return render_template(
        "admin/workbench.html",
        items=items,
        cooperating=cooperating,
        lights=lights,
        choices=CHOICES,
        next_url=url_for("admin.workbench"),
        alerts=open_alerts(session, user),
    )


nav_item("admin.workbench", "工作台", {Role.HANDLER, Role.UNIT_REVIEWER}, order=30)
