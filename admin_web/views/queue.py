"""The dispatcher queue (研判队列): new petitions with the classifier's suggestion and the forms to confirm or correct
the routing, reject with a code, choose 执法 lead and cooperating units, or send to the city platform.

District dispatchers see their district's 待研判 petitions; the city dispatcher sees those sent to the city. Above them,
the platform's unread alerts (petitions overdue, or due soon with no unit yet), from `admin_web.views.alerts`.
"""

from __future__ import annotations

from typing import Any

from flask import render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from admin_web.auth import role_required, staff
from admin_web.blueprint import admin
from admin_web.navigation import nav_item
from admin_web.scoping import scoped_petitions
from admin_web.views.alerts import open_alerts
from admin_web.views.forms import CHOICES, LABELS, action_forms
from admin_web.views.paging import Page
from models import District, Petition, Unit
from models.enums import PetitionState, Role
from qingsu.db import get_session
from workflow.engine import available_actions

QUEUE_STATE = {Role.DISPATCHER: PetitionState.PENDING_DISPATCH, Role.CITY_DISPATCHER: PetitionState.AT_CITY}
PER_PAGE = 20


@admin.get("/queue")
@role_required(Role.DISPATCHER, Role.CITY_DISPATCHER)
def queue() -> ResponseReturnValue:
    """Petitions waiting for this platform's decision, oldest first (second-handling rounds flagged)."""
    user = staff()
    session = get_session()
    query = scoped_petitions(user).where(Petition.state == QUEUE_STATE[user.role])
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = Page.from_request(total, PER_PAGE)
    petitions = list(session.scalars(query.order_by(Petition.created_at, Petition.id).offset(page.offset).limit(PER_PAGE)))
    items = []
    units_cache: dict[tuple[Any, ...], list[Unit]] = {}
    for petition in petitions:
        forms = action_forms(session, petition, available_actions(petition, user), units_cache=units_cache)
        # Confirming the suggested routing is the usual decision, so its form starts open.
        forms.open_action = next((t.action for t in forms.transitions if t.action.endswith("dispatch")), None)
        items.append((petition, forms))
    return render_template(
        "admin/queue.html",
        items=items,
        page=page,
        choices=CHOICES,
        labels=LABELS,
        district_names=district_names(session),
        next_url=url_for("admin.queue", page=request.args.get("page")),
        alerts=open_alerts(session, user),
    )


def district_names(session: Session) -> dict[str, str]:
    """District code → Chinese name, for pages that list petitions of several districts."""
    return dict(session.execute(select(District.code, District.name)).tuples().all())


nav_item("admin.queue", "研判队列", {Role.DISPATCHER, Role.CITY_DISPATCHER}, order=10)
