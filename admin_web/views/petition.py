"""The petition page: everything about one petition, its full timeline, its light and deadline, and the forms of
exactly the actions the signed-in user may perform now."""

from __future__ import annotations

from typing import Any

from flask import render_template
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from admin_web.auth import role_required, staff
from admin_web.blueprint import admin
from admin_web.media import attachment_response
from admin_web.rendering import live_lights
from admin_web.scoping import petition_or_404
from admin_web.views.forms import CHOICES, LABELS, action_forms
from models import Assessment, CooperationTask, Evaluation, ExtensionRequest, Petition, Reply, User, utcnow
from models.db import get_session
from workflow.calendar_changes import RECOMPUTED, RECOMPUTED_LABEL
from workflow.duplicates import NEW_STATES, candidates_for
from workflow.engine import TRANSITIONS, available_actions
from workflow.queries import history, second_handling_feedback
from workflow.supplements import SUPPLEMENT, SUPPLEMENT_LABEL

EVENT_LABELS = {
    "submit": "提交诉求",
    RECOMPUTED: RECOMPUTED_LABEL,
    SUPPLEMENT: SUPPLEMENT_LABEL,
    **{name: t.label for name, t in TRANSITIONS.items()},
}


def render_petition(
    petition: Petition,
    user: User,
    *,
    status: int = 200,
    posted: dict[str, Any] | None = None,
    open_action: str | None = None,
    error: str | None = None,
    error_field: str | None = None,
) -> ResponseReturnValue:
    """The petition page; after a refused action it reopens that action's form with the values and the reason."""
    session = get_session()
    forms = action_forms(session, petition, available_actions(petition, user), posted, viewer=user)
    forms.open_action, forms.error, forms.error_field = open_action, error, error_field

    def rows(model: Any) -> list[Any]:
        return list(session.scalars(select(model).where(model.petition_id == petition.id).order_by(model.id)))

    now = utcnow()
    return (
        render_template(
            "admin/petition.html",
            p=petition,
            forms=forms,
            choices=CHOICES,
            labels=LABELS,
            light=live_lights([petition], now)[petition.id],
            now=now,
            events=history(session, petition),
            event_labels=EVENT_LABELS,
            replies=rows(Reply),
            extensions=rows(ExtensionRequest),
            evaluations=rows(Evaluation),
            feedback=second_handling_feedback(session, [petition]).get(petition.id),
            assessments=rows(Assessment),
            # A 执法 petition's cooperating units' parts, for the lead unit to put into its reply.
            tasks=rows(CooperationTask),
            # 可能重复: only while the petition waits for its dispatch (linking replaces dispatching it).
            duplicates=candidates_for(session, [petition.id]).get(petition.id, [])
            if petition.state in NEW_STATES
            else [],
        ),
        status,
    )


@admin.get("/petitions/<number>")
@role_required()
def petition_page(number: str) -> ResponseReturnValue:
    """One petition (404 when it is outside the user's scope)."""
    user = staff()
    return render_petition(petition_or_404(get_session(), user, number), user)


@admin.get("/petitions/<number>/attachments/<int:attachment_id>")
@role_required()
def petition_attachment(number: str, attachment_id: int) -> ResponseReturnValue:
    """An image or voice message a citizen sent with the petition (404 outside the user's scope)."""
    return attachment_response(petition_or_404(get_session(), staff(), number), attachment_id)
