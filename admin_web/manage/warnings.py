"""The early-warning rules (预警规则): the city manager lists, adds, edits, enables and disables them; the scheduler
evaluates them (`workflow.warnings`). Every change is audited. A rule is never deleted (its alerts' history names it):
it is disabled, which resolves what it had raised at the next run."""

from __future__ import annotations

from collections.abc import Mapping

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from admin_web.audit import audit
from admin_web.auth import role_required, staff
from admin_web.manage.scope import manage, managed_districts
from models import StaffAlert, User, WarningRule
from models.db import get_session
from models.enums import Role
from workflow.warnings import (
    HOURLY_KINDS,
    KINDS,
    ON_TIME,
    WINDOWED_KINDS,
    RuleSettings,
    apply_settings,
    describe,
    settings_errors,
)

RULE_MANAGERS = (Role.CITY_MANAGER,)
_AUDITED = ("kind", "name", "enabled", "district_code", "threshold", "window_hours", "min_volume")


def _integer(form: Mapping[str, str], name: str, errors: dict[str, str], field: str | None = None) -> int:
    raw = (form.get(name) or "").strip()
    try:
        value = int(raw)
    except ValueError:
        errors[field or name] = "请填写整数"
        return 0
    return value


def settings_from_form(form: Mapping[str, str], kind: str) -> tuple[RuleSettings, dict[str, str]]:
    """A rule's settings from the form (the window in hours for the hourly kinds, else in days), and the errors of
    reading it (numbers that are not numbers)."""
    errors: dict[str, str] = {}
    threshold = _integer(form, "threshold", errors)
    window = _integer(form, "window", errors) if kind in WINDOWED_KINDS else 0
    min_volume = _integer(form, "min_volume", errors) if kind == ON_TIME else 0
    district = (form.get("district") or "").strip()
    settings = RuleSettings(
        kind=kind,
        name=(form.get("name") or "").strip(),
        enabled=bool(form.get("enabled")),
        district_code=None if district in ("", "city") else district,
        threshold=threshold,
        window_hours=window if kind in HOURLY_KINDS else window * 24,
        min_volume=min_volume,
    )
    return settings, errors


def _rule_or_404(session: Session, rule_id: int) -> WarningRule:
    rule = session.get(WarningRule, rule_id)
    if rule is None:
        abort(404)
    return rule


def _snapshot(rule: WarningRule) -> dict[str, object]:
    return {name: getattr(rule, name) for name in _AUDITED}


def _save(session: Session, user: User, rule: WarningRule | None, kind: str) -> ResponseReturnValue:
    """Show the form for a new rule of `kind` or for `rule`; on POST save it (422 with the errors if it cannot be)."""
    districts = managed_districts(session, user)
    errors: dict[str, str] = {}
    if request.method == "POST":
        settings, errors = settings_from_form(request.form, kind)
        if not errors:
            errors = settings_errors(settings, {d.code for d in districts})
        if not errors:
            before = _snapshot(rule) if rule is not None else {}
            if rule is None:
                rule = WarningRule(kind=kind)
                session.add(rule)
            apply_settings(rule, settings)
            session.flush()
            after = _snapshot(rule)
            changed = [f"{k}={after[k]}" for k in _AUDITED if before.get(k, None) != after[k] or not before]
            audit(
                session,
                user,
                "warning_rule_created" if not before else "warning_rule_saved",
                f"warning_rule:{rule.id}",
                " ".join(changed),
            )
            session.commit()
            flash(f"预警规则「{rule.name}」已保存", "success")
            return redirect(url_for("manage.warning_rules"))
    return render_template(
        "manage/warning_form.html",
        rule=rule,
        kind=kind,
        kind_label=KINDS[kind],
        hourly=kind in HOURLY_KINDS,
        windowed=kind in WINDOWED_KINDS,
        needs_volume=kind == ON_TIME,
        districts=districts,
        errors=errors,
        form=request.form if request.method == "POST" else None,
    ), (422 if errors else 200)


@manage.get("/warnings")
@role_required(*RULE_MANAGERS)
def warning_rules() -> ResponseReturnValue:
    """Every rule with its condition, its scope, whether it is on, and how many of its alerts are in force."""
    session = get_session()
    rules = list(session.scalars(select(WarningRule).order_by(WarningRule.kind, WarningRule.id)))
    active = dict(
        session.execute(
            select(StaffAlert.rule_id, func.count())
            .where(StaffAlert.rule_id.is_not(None), StaffAlert.resolved_at.is_(None))
            .group_by(StaffAlert.rule_id)
        )
        .tuples()
        .all()
    )
    districts = {d.code: d.name for d in managed_districts(session, staff())}
    return render_template(
        "manage/warnings.html",
        rules=rules,
        kinds=KINDS,
        describe=describe,
        active=active,
        district_names=districts,
    )


@manage.route("/warnings/new/<kind>", methods=["GET", "POST"])
@role_required(*RULE_MANAGERS)
def new_warning_rule(kind: str) -> ResponseReturnValue:
    """Add a rule of `kind` (surge, red_lights, on_time, repeat)."""
    if kind not in KINDS:
        abort(404)
    return _save(get_session(), staff(), None, kind)


@manage.route("/warnings/<int:rule_id>", methods=["GET", "POST"])
@role_required(*RULE_MANAGERS)
def edit_warning_rule(rule_id: int) -> ResponseReturnValue:
    """Change a rule's thresholds, scope, name, or switch it on or off (its kind stays)."""
    session = get_session()
    rule = _rule_or_404(session, rule_id)
    return _save(session, staff(), rule, rule.kind)
