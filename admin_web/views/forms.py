"""What the action forms need: which fields each workflow action reads, and the choices and defaults to offer.

Forms post to one endpoint per action (`views.actions`), which hands the fields to `workflow.engine.perform` by the
workflow's own parameter names, so a field name here is exactly the effect's parameter name.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models import Petition, Unit, User
from models.enums import (
    AssessmentOutcome,
    Complexity,
    DeptType,
    InadmissibleCode,
    Nature,
    PetitionKind,
    PetitionState,
    Resolution,
    Role,
    Satisfaction,
)
from workflow import routing
from workflow.engine import Facts, Transition

CLASSIFICATION = ("kind", "nature", "complexity", "dept_type")

# The form fields each action sends (all optional ones included); anything else posted is ignored.
ACTION_FIELDS: dict[str, tuple[str, ...]] = {
    "dispatch": ("unit_id", *CLASSIFICATION, "cooperating_unit_ids", "cooperation_days", "note"),
    "city_dispatch": ("unit_id", *CLASSIFICATION, "note"),
    "reject": ("code", "note"),
    "send_to_city": (*CLASSIFICATION, "note"),
    "return_to_district": ("note",),
    "accept": ("note",),
    "return": ("note",),
    "escalate": ("note",),
    "submit_reply": (
        "petitioner_info", "policy_basis", "result", "responsible_person", "contact_phone", "missing_parts_reason",
    ),
    "approve_reply": ("note",),
    "approve_city_reply": ("note",),
    "return_reply": ("note",),
    "send_reply": ("note",),
    "evaluate": ("satisfaction", "resolution", "comment"),
    # The system's own (no staff member is offered it).
    "expire_evaluation": ("note",),
    "assess": ("outcome", "note"),
    "request_extension": ("extra_working_days", "reason"),
    "decide_extension": ("approve", "note"),
    "accept_cooperation": ("note",),
    "submit_cooperation": ("part", "note"),
    "link": ("target", "note"),
    "unlink": ("note",),
    # The system's own: the master's reply reaching a linked duplicate.
    "linked_reply": ("note",),
}
LIST_FIELDS = frozenset({"cooperating_unit_ids"})

CHOICES: dict[str, list[tuple[str, str]]] = {
    "kind": [(k.value, k.label) for k in PetitionKind],
    "nature": [(n.value, n.label) for n in Nature],
    "complexity": [(c.value, c.label) for c in Complexity],
    "dept_type": [(d.value, d.label) for d in DeptType],
    "code": [(c.value, c.label) for c in InadmissibleCode],
    "satisfaction": [(s.value, s.label) for s in Satisfaction],
    "resolution": [(r.value, r.label) for r in Resolution],
    "outcome": [(o.value, o.label) for o in AssessmentOutcome],
}

LABELS: dict[str, dict[str, str]] = {name: dict(pairs) for name, pairs in CHOICES.items()}


@dataclass
class ActionForms:
    """Everything the action-form macro renders for one petition."""

    petition: Petition
    transitions: list[Transition]
    values: dict[str, Any] = field(default_factory=dict)
    targets: list[Unit] = field(default_factory=list)
    cooperating_candidates: list[Unit] = field(default_factory=list)
    # Beside the suggestion: the dispatch targets whose responsibility lists match the petition (`workflow.routing`).
    duty_matches: list[routing.DutyMatch] = field(default_factory=list)
    open_action: str | None = None
    error: str | None = None
    error_field: str | None = None

    @property
    def expected_state(self) -> str:
        """The state the forms were shown in; the workflow refuses them with 409 once the petition has moved on."""
        return self.petition.state.value


def defaults(petition: Petition, targets: list[Unit]) -> dict[str, Any]:
    """Initial values: what the petition already says, else what the classifier suggested."""
    suggestion = petition.suggestion or {}
    dept = petition.dept_type.value if petition.dept_type else routing.suggested_department(petition)
    unit = routing.suggested_unit(petition, targets)
    unit_id = unit.id if unit is not None else None
    return {
        "kind": petition.kind.value,
        "nature": petition.nature.value if petition.nature else suggestion.get("nature"),
        "complexity": petition.complexity.value,
        "dept_type": dept,
        "unit_id": unit_id,
        "code": petition.inadmissible_code.value if petition.inadmissible_code else suggestion.get("inadmissible_code"),
    }


class UnitChoices:
    """The active units a list page's dispatch forms offer, read with one query for the whole page.

    Without it each petition's forms ask for their own unit choices.
    """

    def __init__(self, session: Session, district_codes: Iterable[str | None]) -> None:
        codes = sorted({c for c in district_codes if c is not None})
        self.units = list(
            session.scalars(
                select(Unit)
                .where(Unit.active.is_(True), or_(Unit.district_code.in_(codes), Unit.district_code.is_(None)))
                .order_by(Unit.level, Unit.name, Unit.id)
            )
        )

    def cooperating(self, district_code: str) -> list[Unit]:
        return [u for u in self.units if u.district_code == district_code and u.level in COOPERATING_LEVELS]


COOPERATING_LEVELS = routing.COOPERATING_LEVELS


def action_forms(
    session: Session,
    petition: Petition,
    transitions: list[Transition],
    posted: dict[str, Any] | None = None,
    *,
    units: UnitChoices | None = None,
    facts: Facts | None = None,
    viewer: User | None = None,
) -> ActionForms:
    """The forms for `transitions` on `petition`, prefilled with the defaults or with what was just posted.

    A list page passes one `units` (`UnitChoices`) and the `facts` (`workflow.engine.facts_for`) of all its
    petitions, so showing twenty petitions' forms costs no query per petition. `viewer`, the signed-in user, lets
    a cooperating unit's forms show its own task.
    """
    actions = {t.action for t in transitions}
    targets: list[Unit] = []
    if actions & {"dispatch", "city_dispatch"}:
        by_city = "city_dispatch" in actions
        targets = routing.dispatch_targets(
            session, petition, by_city=by_city, candidates=units.units if units is not None else None
        )
    cooperating: list[Unit] = []
    values = defaults(petition, targets)
    if "dispatch" in actions:
        if units is not None:
            cooperating = units.cooperating(petition.district_code)
        else:
            cooperating = list(
                session.scalars(
                    select(Unit)
                    .where(
                        Unit.district_code == petition.district_code,
                        Unit.level.in_(COOPERATING_LEVELS),
                        Unit.active.is_(True),
                    )
                    .order_by(Unit.level, Unit.name, Unit.id)
                )
            )
        values["cooperating_unit_ids"] = [u.id for u in petition.cooperating_units]
    facts = facts if facts is not None else Facts(session)
    if "decide_extension" in actions:
        values["pending_extension"] = facts.pending_extension(petition)
    if "submit_reply" in actions and petition.kind == PetitionKind.ENFORCEMENT:
        values["missing_parts"] = [t for t in facts.cooperation_tasks(petition) if t.open]
    if actions & {"accept_cooperation", "submit_cooperation"} and viewer is not None:
        values["own_task"] = next((t for t in facts.cooperation_tasks(petition) if t.unit_id == viewer.unit_id), None)
    if posted:
        values.update(posted)
    matches = routing.responsibility_matches(petition, targets) if targets else []
    return ActionForms(petition, transitions, values, targets, cooperating, matches)


def posted_params(action: str, form: Any) -> dict[str, Any]:
    """The workflow parameters of `action` from a submitted form (a werkzeug MultiDict)."""
    params: dict[str, Any] = {}
    for name in ACTION_FIELDS.get(action, ()):
        if name in LIST_FIELDS:
            params[name] = form.getlist(name)
        elif name in form:
            params[name] = form.get(name)
    return params


def needs_review_of(user: User) -> tuple[PetitionState, ...]:
    """The reply-review states `user`'s role acts on."""
    return {
        Role.UNIT_REVIEWER: (PetitionState.UNIT_REVIEW,),
        Role.CITY_DISPATCHER: (PetitionState.CITY_REVIEW,),
        Role.DISPATCHER: (PetitionState.PLATFORM_REVIEW,),
    }.get(user.role, ())
