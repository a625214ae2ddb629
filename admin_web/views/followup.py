"""After an unsatisfied evaluation: second handling (二次办理), performance assessments (履职评估) and the
accountability list (问责) — two consecutive assessments that found the unit's duty not done."""

from __future__ import annotations

from flask import render_template, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from admin_web.auth import role_required, staff
from admin_web.blueprint import admin
from admin_web.navigation import nav_item
from admin_web.scoping import scoped_petitions
from admin_web.views.forms import CHOICES, action_forms
from models import Assessment, Petition
from models.enums import PetitionState, Role
from qingsu.db import get_session
from workflow.engine import available_actions

FINISHED = (PetitionState.CLOSED, PetitionState.REJECTED, PetitionState.ACCOUNTABILITY, PetitionState.ASSESSMENT)
FOLLOWUP_ROLES = (Role.DISPATCHER, Role.CITY_DISPATCHER, Role.DISTRICT_MANAGER, Role.CITY_MANAGER, Role.LEADER)


@admin.get("/followup")
@role_required(*FOLLOWUP_ROLES)
def followup() -> ResponseReturnValue:
    """Three lists: petitions in a second (or later) round, assessments to make, units referred for accountability."""
    user = staff()
    session = get_session()
    base = scoped_petitions(user)
    second = list(
        session.scalars(
            base.where(Petition.handling_round > 1, Petition.state.not_in(FINISHED)).order_by(Petition.updated_at)
        )
    )
    to_assess = list(
        session.scalars(base.where(Petition.state == PetitionState.ASSESSMENT).order_by(Petition.updated_at))
    )
    assessing = []
    for petition in to_assess:
        forms = action_forms(session, petition, [t for t in available_actions(petition, user) if t.action == "assess"])
        forms.open_action = "assess"
        assessing.append((petition, forms))
    referred = list(
        session.scalars(base.where(Petition.state == PetitionState.ACCOUNTABILITY).order_by(Petition.closed_at.desc()))
    )
    findings: dict[int, list[Assessment]] = {p.id: [] for p in referred}
    if referred:
        for row in session.scalars(
            select(Assessment).where(Assessment.petition_id.in_(findings)).order_by(Assessment.id)
        ):
            findings[row.petition_id].append(row)
    return render_template(
        "admin/followup.html",
        second=second,
        assessing=assessing,
        referred=referred,
        findings=findings,
        choices=CHOICES,
        next_url=url_for("admin.followup"),
    )


nav_item("admin.followup", "二次办理与问责", set(FOLLOWUP_ROLES), order=50)
