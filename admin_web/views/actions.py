"""Performing a workflow action from a form: one endpoint for every action, named as the workflow names it.

The form carries the state the user saw (`expected_state`): if someone acted first, the answer is a 409 page that
says so, not a crash and not a second transition.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue

from admin_web.auth import role_required, safe_next, staff
from admin_web.blueprint import admin
from admin_web.errors import render_error
from admin_web.scoping import petition_or_404
from admin_web.views.forms import posted_params
from admin_web.views.petition import render_petition
from models import Petition, utcnow
from models.db import get_session
from models.enums import PetitionState
from workflow.engine import TRANSITIONS, perform
from workflow.errors import InvalidInput, LinkConflict, StateConflict, TransitionRefused, UnknownPetition
from workflow.links import link_duplicate

STATE_VALUES = frozenset(state.value for state in PetitionState)
# What the workflow may refuse an action with; `_refused` says each to the user.
ACTION_REFUSALS = (StateConflict, LinkConflict, TransitionRefused, UnknownPetition, InvalidInput)


def _refused(
    petition: Petition, action: str, params: dict[str, Any], refusal: Exception, petition_url: str
) -> ResponseReturnValue:
    """Roll back and answer a refused action: 409 when someone acted first or the link may not be made, 403 when the
    user may not, 404 for an unknown petition, 422 (the form again, with the reason) when a field is wrong."""
    get_session().rollback()
    if isinstance(refusal, StateConflict | LinkConflict):
        return render_error(409, str(refusal), petition_url=petition_url)
    if isinstance(refusal, TransitionRefused):
        moved_on = petition.state not in TRANSITIONS[action].sources
        return render_error(409 if moved_on else 403, str(refusal), petition_url=petition_url)
    if isinstance(refusal, UnknownPetition):
        return render_error(404, str(refusal), petition_url=petition_url)
    assert isinstance(refusal, InvalidInput)
    return render_petition(
        petition,
        staff(),
        status=422,
        posted=params,
        open_action=action,
        error=str(refusal),
        error_field=refusal.field,
    )


@admin.post("/petitions/<number>/actions/<action>")
@role_required()
def perform_action(number: str, action: str) -> ResponseReturnValue:
    """Run `action` on the petition; 404 for an unknown action or a petition outside the scope, 409 when the state
    moved on, 403 when not allowed, 422 (the form again, with the reason) when a field is wrong."""
    if action not in TRANSITIONS:
        abort(404)
    user = staff()
    session = get_session()
    petition = petition_or_404(session, user, number)
    petition_url = url_for("admin.petition_page", number=petition.number)
    expected_state = request.form.get("expected_state") or None
    if expected_state is not None and expected_state not in STATE_VALUES:
        # Not a state at all: the form was tampered with or comes from another version of the site.
        return render_error(400, "表单内容无效，请刷新页面后重试。", petition_url=petition_url)
    params = posted_params(action, request.form)
    try:
        perform(session, petition, action, user, utcnow(), expected_state=expected_state, **params)
    except ACTION_REFUSALS as refusal:
        return _refused(petition, action, params, refusal, petition_url)
    session.commit()
    flash(f"诉求 {petition.number}：「{TRANSITIONS[action].label}」已完成", "success")
    return redirect(safe_next(request.form.get("next")) or petition_url)


@admin.post("/petitions/<number>/link")
@role_required()
def link_petition(number: str) -> ResponseReturnValue:
    """Link the petition, a duplicate, to the open petition whose number is the form's ``target``
    (`workflow.links`); the "可能重复" suggestions post here too. 404 for an unknown petition or target, 409 when
    the petition was dispatched or linked to another meanwhile or the target may not be a master, 403 when not
    allowed, 422 (the form again) for no target or the petition itself. A repeat of the same link changes nothing
    and says so."""
    user = staff()
    session = get_session()
    petition = petition_or_404(session, user, number)
    petition_url = url_for("admin.petition_page", number=petition.number)
    expected_state = request.form.get("expected_state") or None
    if expected_state is not None and expected_state not in STATE_VALUES:
        return render_error(400, "表单内容无效，请刷新页面后重试。", petition_url=petition_url)
    params = posted_params("link", request.form)
    try:
        event = link_duplicate(
            session,
            petition,
            str(params.get("target") or ""),
            user,
            utcnow(),
            note=str(params.get("note") or ""),
            expected_state=expected_state,
        )
    except ACTION_REFUSALS as refusal:
        return _refused(petition, "link", params, refusal, petition_url)
    master = petition.duplicate_of
    master_number = master.number if master is not None else ""
    if event is None:
        flash(f"诉求 {petition.number} 已关联至 {master_number}，无需重复操作", "info")
    else:
        session.commit()
        flash(f"诉求 {petition.number}：已关联至 {master_number}，主诉求答复时一并答复", "success")
    return redirect(safe_next(request.form.get("next")) or petition_url)
