"""After an unsatisfied evaluation: second handling (二次办理), performance assessments (履职评估) and the
accountability list (问责) — two consecutive assessments that found the unit's duty not done."""

from __future__ import annotations

from typing import Any

from flask import render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload, selectinload

from admin_web.auth import role_required, staff
from admin_web.blueprint import admin
from admin_web.navigation import nav_item
from admin_web.scoping import scoped_petitions
from admin_web.views.forms import CHOICES, action_forms
from admin_web.views.paging import Page
from models import Assessment, Petition
from models.db import get_session
from models.enums import PetitionState, Role
from workflow.engine import available_actions, facts_for

FINISHED = (
    PetitionState.CLOSED,
    PetitionState.UNRATED,
    PetitionState.REJECTED,
    PetitionState.ACCOUNTABILITY,
    PetitionState.ASSESSMENT,
)
IN_SECOND_ROUND = tuple(state for state in PetitionState if state not in FINISHED)
PER_PAGE = 20
FOLLOWUP_ROLES = (Role.DISPATCHER, Role.CITY_DISPATCHER, Role.DISTRICT_MANAGER, Role.CITY_MANAGER, Role.LEADER)


@admin.get("/followup")
@role_required(*FOLLOWUP_ROLES)
def followup() -> ResponseReturnValue:
    """Three lists, 20 a page each: petitions in a second (or later) round (later rounds first), assessments to
    make, units referred for accountability."""
    user = staff()
    session = get_session()
    base = scoped_petitions(user)

    def page_of(query: Select[tuple[Petition]], param: str, *order: Any) -> tuple[Page, list[Petition]]:
        return Page.with_rows(
            session,
            query.order_by(*order, Petition.id).options(joinedload(Petition.current_unit)),
            PER_PAGE,
            param=param,
        )

    # Later rounds first. The open states are named (not "not finished") and the order starts with the round, so
    # the partial index ix_petition_second_round answers both instead of a walk along the updated_at index.
    second_page, second = page_of(
        base.where(Petition.handling_round > 1, Petition.state.in_(IN_SECOND_ROUND)),
        "second_page",
        Petition.handling_round.desc(),
        Petition.updated_at,
    )
    assess_page, to_assess = page_of(
        base.where(Petition.state == PetitionState.ASSESSMENT), "assess_page", Petition.updated_at
    )
    referred_page, referred = page_of(
        base.where(Petition.state == PetitionState.ACCOUNTABILITY), "referred_page", Petition.closed_at.desc()
    )
    facts = facts_for(session, to_assess)
    assessing = []
    for petition in to_assess:
        transitions = [t for t in available_actions(petition, user, facts) if t.action == "assess"]
        forms = action_forms(session, petition, transitions, facts=facts)
        forms.open_action = "assess"
        assessing.append((petition, forms))
    findings: dict[int, list[Assessment]] = {p.id: [] for p in referred}
    if referred:
        for row in session.scalars(
            select(Assessment)
            .where(Assessment.petition_id.in_(findings))
            .options(selectinload(Assessment.unit))
            .order_by(Assessment.id)
        ):
            findings[row.petition_id].append(row)
    pages = {"second_page": second_page, "assess_page": assess_page, "referred_page": referred_page}
    return render_template(
        "admin/followup.html",
        second=second,
        assessing=assessing,
        referred=referred,
        findings=findings,
        pages=pages,
        page_args={name: page.number for name, page in pages.items() if page.number > 1},
        choices=CHOICES,
        next_url=url_for("admin.followup", **{name: request.args.get(name) for name in pages}),
    )


nav_item("admin.followup", "二次办理与问责", set(FOLLOWUP_ROLES), order=50)
