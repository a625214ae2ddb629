"""The dispatcher queue (研判队列): new petitions with the classifier's suggestion and the forms to confirm or correct
the routing, reject with a code, choose 执法 lead and cooperating units, or send to the city platform. A petition
like an open one is marked 可能重复, with those open petitions (`workflow.duplicates`), to link it instead.

District dispatchers see their district's 待研判 petitions; the city dispatcher sees those sent to the city. Above them,
the platform's unread alerts (petitions overdue, or due soon with no unit yet), from `admin_web.views.alerts`.
"""

from __future__ import annotations

from flask import render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from admin_web.auth import role_required, staff
from admin_web.blueprint import admin
from admin_web.navigation import nav_item
from admin_web.scoping import scoped_petitions
from admin_web.views.alerts import open_alerts
from admin_web.views.forms import CHOICES, LABELS, UnitChoices, action_forms
from admin_web.views.paging import Page
from models import District, Petition
from models.db import get_session
from models.enums import PetitionState, Role
from workflow.duplicates import candidates_for
from workflow.engine import available_actions, facts_for
from workflow.queries import second_handling_feedback

QUEUE_STATE = {Role.DISPATCHER: PetitionState.PENDING_DISPATCH, Role.CITY_DISPATCHER: PetitionState.AT_CITY}
PER_PAGE = 20


@admin.get("/queue")
@role_required(Role.DISPATCHER, Role.CITY_DISPATCHER)
def queue() -> ResponseReturnValue:
    """Petitions waiting for this platform's decision, oldest first (second-handling rounds flagged), 20 a page.

    The statements do not grow with the rows: what a row shows and what its forms and guards need (its units, its
    history for the 民生 chain, the unit choices) is loaded for the whole page at once.
    """
    user = staff()
    session = get_session()
    query = scoped_petitions(user).where(Petition.state == QUEUE_STATE[user.role])
    page = Page.of(session, query, PER_PAGE)
    petitions = list(
        session.scalars(
            page.apply(query.order_by(Petition.created_at, Petition.id)).options(
                selectinload(Petition.current_unit),
                selectinload(Petition.origin_unit),
                selectinload(Petition.cooperating_units),
                # The 民生 chain: whether this round already reached the district platform (`routing`).
                selectinload(Petition.events),
            )
        )
    )
    units = UnitChoices(session, [user.district_code])
    facts = facts_for(session, petitions)
    feedback = second_handling_feedback(session, petitions)
    items = []
    for petition in petitions:
        forms = action_forms(session, petition, available_actions(petition, user, facts), units=units, facts=facts)
        # Confirming the suggested routing is the usual decision, so its form starts open.
        forms.open_action = next((t.action for t in forms.transitions if t.action.endswith("dispatch")), None)
        items.append((petition, forms))
    return render_template(
        "admin/queue.html",
        items=items,
        feedback=feedback,
        duplicates=candidates_for(session, [p.id for p in petitions]),
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
