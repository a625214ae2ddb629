"""Early warning (预警): rules a city manager sets, evaluated by the scheduler, each finding an alert with history.

The kinds of rule, each one GROUP BY over the petitions (or the replies), whatever their number:

- ``surge`` (同街道同类诉求激增): at least `threshold` petitions of one department type placed in one street (the
  street the classifier read from the text with the gazetteer of `classifier.places`, kept in
  ``Petition.suggestion["place"]``) created within the last `window_hours`;
- ``red_lights`` (单位红灯过多): a unit holding at least `threshold` petitions whose light is red now
  (`workflow.lights.overdue`);
- ``on_time`` (按期办结率偏低): a district whose on-time rate (`workflow.rates`: the replies sent in the window that
  met their deadline) over the last `window_hours` is below `threshold` %, once it rests on `min_volume` replies;
- ``repeat`` (重复诉求): one citizen with at least `threshold` petitions of one department type within the last
  `window_hours`.

The department type of a petition is the one the dispatcher chose, else the classifier's first suggestion.
A rule's scope is the city (every district) or one district.

Each finding is a `StaffAlert` of kind ``warning`` named by its rule and subject (the district, street and department
type; the unit; the district; the citizen and department type). While a run still finds it, the one alert stays and
its `last_seen_at` moves on (its figures are brought up to date); the first run that no longer finds it resolves it.
If the condition comes back later, a new alert starts. A district's warnings are addressed to its platform (the
dispatchers and the district managers) and the city; a unit's to its reviewers (科室负责人, the unit's leaders) and
the city. Who may read what is `admin_web.views.alerts.alert_scope`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import ColumnElement, String, case, func, insert, select, type_coerce, update
from sqlalchemy.orm import Session

from models import District, Petition, StaffAlert, Unit, WarningRule
from models.db import session_scope
from models.enums import DeptType
from workflow.lights import overdue
from workflow.rates import reply_counts_query, roomy_aggregates

WARNING = "warning"
# `StaffAlert.audience` of a district's warning and of a unit's.
DISTRICT_AUDIENCE = "district_platform"
UNIT_AUDIENCE = "unit_leaders"

SURGE, RED_LIGHTS, ON_TIME, REPEAT = "surge", "red_lights", "on_time", "repeat"
KINDS: dict[str, str] = {
    SURGE: "同一街道同类诉求激增",
    RED_LIGHTS: "单位红灯过多",
    ON_TIME: "区(市)按期办结率偏低",
    REPEAT: "同一诉求人重复诉求",
}
# Kinds whose window is set in hours on the form; the others in days.
HOURLY_KINDS = frozenset({SURGE})
# Kinds that look back over a window at all.
WINDOWED_KINDS = frozenset({SURGE, ON_TIME, REPEAT})

# What a rule may be set to (the form's limits): counts, a percentage, and how far back in hours.
COUNT_RANGE = (2, 100_000)
PERCENT_RANGE = (1, 100)
WINDOW_RANGE = {SURGE: (1, 24 * 7), ON_TIME: (24, 24 * 92), REPEAT: (24, 24 * 366)}
MIN_VOLUME_RANGE = (1, 100_000)
NAME_MAX = 80

DEFAULT_RULES: tuple[dict[str, Any], ...] = (
    {"kind": SURGE, "name": "同一街道同类诉求24小时内5件以上", "threshold": 5, "window_hours": 24},
    {"kind": RED_LIGHTS, "name": "单位红灯诉求5件以上", "threshold": 5},
    {
        "kind": ON_TIME,
        "name": "近7天按期办结率低于90%",
        "threshold": 90,
        "window_hours": 24 * 7,
        "min_volume": 20,
    },
    {"kind": REPEAT, "name": "同一诉求人30天内同类诉求3次以上", "threshold": 3, "window_hours": 24 * 30},
)


def ensure_default_rules(session: Session) -> int:
    """Add the default city-wide rules when there are no rules at all (a manager's later choices are kept).

    Returns how many were added.
    """
    if session.scalar(select(func.count(WarningRule.id))):
        return 0
    for values in DEFAULT_RULES:
        session.add(WarningRule(enabled=True, district_code=None, **values))
    session.flush()
    return len(DEFAULT_RULES)


# --- the rules' settings -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleSettings:
    """What a manager sets on a rule, as the form gives it (windows in hours)."""

    kind: str
    name: str
    enabled: bool
    district_code: str | None
    threshold: int
    window_hours: int
    min_volume: int


def settings_errors(settings: RuleSettings, districts: set[str]) -> dict[str, str]:
    """Each field of `settings` that cannot be saved, with why (empty: all fine). `districts`: the known codes."""
    errors: dict[str, str] = {}
    if settings.kind not in KINDS:
        errors["kind"] = "请选择预警类型"
        return errors
    if not 1 <= len(settings.name.strip()) <= NAME_MAX:
        errors["name"] = f"请填写规则名称（最多{NAME_MAX}个字符）"
    if settings.district_code is not None and settings.district_code not in districts:
        errors["district"] = "请选择全市或一个区(市)"
    low, high = PERCENT_RANGE if settings.kind == ON_TIME else COUNT_RANGE
    if not low <= settings.threshold <= high:
        errors["threshold"] = f"阈值须在 {low} 到 {high} 之间"
    if settings.kind in WINDOWED_KINDS:
        low, high = WINDOW_RANGE[settings.kind]
        if not low <= settings.window_hours <= high:
            errors["window"] = (
                f"时间窗须在 {low} 到 {high} 小时之间"
                if settings.kind in HOURLY_KINDS
                else f"时间窗须在 {low // 24} 到 {high // 24} 天之间"
            )
    if settings.kind == ON_TIME and not MIN_VOLUME_RANGE[0] <= settings.min_volume <= MIN_VOLUME_RANGE[1]:
        errors["min_volume"] = f"最少答复件数须在 {MIN_VOLUME_RANGE[0]} 到 {MIN_VOLUME_RANGE[1]} 之间"
    return errors


def apply_settings(rule: WarningRule, settings: RuleSettings) -> None:
    """Put valid `settings` on `rule` (a window or volume the kind does not use is stored as 0)."""
    rule.kind = settings.kind
    rule.name = settings.name.strip()
    rule.enabled = settings.enabled
    rule.district_code = settings.district_code
    rule.threshold = settings.threshold
    rule.window_hours = settings.window_hours if settings.kind in WINDOWED_KINDS else 0
    rule.min_volume = settings.min_volume if settings.kind == ON_TIME else 0


def describe(rule: WarningRule) -> str:
    """The rule's condition in words, as the manage page lists it."""
    if rule.kind == SURGE:
        return f"同一街道、同一部门类型 {rule.window_hours} 小时内 ≥ {rule.threshold} 件"
    if rule.kind == RED_LIGHTS:
        return f"一个承办单位红灯诉求 ≥ {rule.threshold} 件"
    if rule.kind == ON_TIME:
        return (
            f"近 {rule.window_hours // 24} 天按期办结率 < {rule.threshold}%（至少 {rule.min_volume} 件答复）"
        )
    if rule.kind == REPEAT:
        return f"同一诉求人同类诉求 {rule.window_hours // 24} 天内 ≥ {rule.threshold} 次"
    return rule.kind


# --- what each kind finds --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One subject a rule finds now: who the alert goes to, and what it says."""

    subject: str
    district_code: str | None
    unit_id: int | None
    petition_id: int | None
    title: str
    body: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Names:
    """District and department type names for the alerts' words."""

    districts: dict[str, str]

    def district(self, code: str | None) -> str:
        return "市级" if code is None else self.districts.get(code, code)

    @staticmethod
    def dept(value: str) -> str:
        return DEPT_LABELS.get(value, value)


DEPT_LABELS = {d.value: d.label for d in DeptType}


def department() -> ColumnElement[str]:
    """A petition's department type (its value, e.g. ``urban_mgmt``): the dispatcher's, else the suggestion's."""
    suggested = func.nullif(Petition.suggestion[("departments", 0, "type")].as_string(), "")
    # The column stores the member's name (URBAN_MGMT), the suggestion its value (urban_mgmt).
    stored = case({d.name: d.value for d in DeptType}, value=type_coerce(Petition.dept_type, String))
    return func.coalesce(stored, suggested)


def street() -> ColumnElement[str]:
    """The street (镇/街道) of the gazetteer the classifier placed a petition's matter in, or NULL."""
    return func.nullif(Petition.suggestion[("place", "street")].as_string(), "")


def _in_scope(rule: WarningRule) -> list[ColumnElement[bool]]:
    return [Petition.district_code == rule.district_code] if rule.district_code else []


def _surge(session: Session, rule: WarningRule, now: dt.datetime, names: Names) -> list[Finding]:
    dept, place, n = department().label("dept"), street().label("street"), func.count().label("n")
    rows = session.execute(
        select(Petition.district_code, place, dept, n, func.max(Petition.id).label("latest"))
        .where(
            Petition.created_at > now - dt.timedelta(hours=rule.window_hours),
            Petition.created_at <= now,
            *_in_scope(rule),
        )
        .group_by(Petition.district_code, place, dept)
        .having(place.is_not(None), dept.is_not(None), func.count() >= rule.threshold)
    ).all()
    return [
        Finding(
            subject=f"{row.district_code}/{row.street}/{row.dept}",
            district_code=row.district_code,
            unit_id=None,
            petition_id=row.latest,
            title=f"{names.district(row.district_code)}{row.street}{names.dept(row.dept)}类诉求激增",
            body=f"{rule.window_hours}小时内{row.street}收到{names.dept(row.dept)}类诉求{row.n}件"
            f"（预警阈值{rule.threshold}件）。",
            data={"count": row.n, "street": row.street, "dept_type": row.dept},
        )
        for row in rows
    ]


def _red_lights(session: Session, rule: WarningRule, now: dt.datetime, names: Names) -> list[Finding]:
    n = func.count().label("n")
    rows = session.execute(
        select(Petition.current_unit_id, Unit.district_code, Unit.name, n)
        .join(Unit, Unit.id == Petition.current_unit_id)
        .where(*overdue(rule.district_code, now))
        .group_by(Petition.current_unit_id, Unit.district_code, Unit.name)
        .having(func.count() >= rule.threshold)
    ).all()
    return [
        Finding(
            subject=f"unit/{row.current_unit_id}",
            district_code=row.district_code,
            unit_id=row.current_unit_id,
            petition_id=None,
            title=f"{row.name}红灯诉求{row.n}件",
            body=f"{row.name}在办诉求中已超期（红灯）{row.n}件（预警阈值{rule.threshold}件），请尽快办理。",
            data={"count": row.n, "light": "red"},
        )
        for row in rows
    ]


def _on_time(session: Session, rule: WarningRule, now: dt.datetime, names: Names) -> list[Finding]:
    start = now - dt.timedelta(hours=rule.window_hours)
    counts = reply_counts_query(["district"], rule.district_code, start, now).subquery()
    rows = session.execute(
        select(counts.c.district, counts.c.sent, counts.c.on_time).where(
            counts.c.sent >= max(rule.min_volume, 1), counts.c.on_time * 100 < counts.c.sent * rule.threshold
        )
    ).all()
    days = rule.window_hours // 24
    findings = []
    for row in rows:
        percent = row.on_time * 100 / row.sent
        findings.append(
            Finding(
                subject=f"district/{row.district}",
                district_code=row.district,
                unit_id=None,
                petition_id=None,
                title=f"{names.district(row.district)}近{days}天按期办结率{percent:.1f}%",
                body=f"近{days}天答复{row.sent}件，按期{row.on_time}件，按期办结率{percent:.1f}%，"
                f"低于预警线{rule.threshold}%。",
                data={"sent": row.sent, "on_time": row.on_time, "percent": round(percent, 2)},
            )
        )
    return findings


def _repeat(session: Session, rule: WarningRule, now: dt.datetime, names: Names) -> list[Finding]:
    dept, n = department().label("dept"), func.count().label("n")
    rows = session.execute(
        select(Petition.district_code, Petition.citizen_id, dept, n, func.max(Petition.id).label("latest"))
        .where(
            Petition.created_at > now - dt.timedelta(hours=rule.window_hours),
            Petition.created_at <= now,
            Petition.citizen_id.is_not(None),
            *_in_scope(rule),
        )
        .group_by(Petition.district_code, Petition.citizen_id, dept)
        .having(dept.is_not(None), func.count() >= rule.threshold)
    ).all()
    days = rule.window_hours // 24
    return [
        Finding(
            subject=f"{row.district_code}/citizen/{row.citizen_id}/{row.dept}",
            district_code=row.district_code,
            unit_id=None,
            petition_id=row.latest,
            title=f"同一诉求人{days}天内{names.dept(row.dept)}类诉求{row.n}次",
            body=f"{names.district(row.district_code)}同一诉求人{days}天内就{names.dept(row.dept)}类事项"
            f"提交诉求{row.n}次（预警阈值{rule.threshold}次），请合并研判、一并答复。",
            data={"count": row.n, "citizen_id": row.citizen_id, "dept_type": row.dept},
        )
        for row in rows
    ]


FINDERS: dict[str, Callable[[Session, WarningRule, dt.datetime, Names], list[Finding]]] = {
    SURGE: _surge,
    RED_LIGHTS: _red_lights,
    ON_TIME: _on_time,
    REPEAT: _repeat,
}


def findings(
    session: Session, rule: WarningRule, now: dt.datetime, names: Names | None = None
) -> list[Finding]:
    """What `rule` finds at `now` (nothing for a disabled rule): one statement."""
    if not rule.enabled or rule.kind not in FINDERS:
        return []
    if names is None:
        names = Names(dict(session.execute(select(District.code, District.name)).tuples().all()))
    return FINDERS[rule.kind](session, rule, now, names)


# --- the job -------------------------------------------------------------------------------------------------------


@dataclass
class WarningsReport:
    """Alerts a run raised, kept (still found) and resolved (the rows it touched)."""

    raised: int = 0
    kept: int = 0
    resolved: int = 0


def _dedupe_key(rule_id: int, subject: str, now: dt.datetime) -> str:
    digest = hashlib.sha256(subject.encode()).hexdigest()[:24]
    return f"warning:{rule_id}:{digest}:{now.astimezone(dt.UTC):%Y%m%dT%H%M%S}"


def evaluate_rule(session: Session, rule: WarningRule, now: dt.datetime, names: Names) -> WarningsReport:
    """Bring `rule`'s alerts in line with what it finds at `now`: raise the new, keep the lasting, resolve the
    ended (all of them, for a disabled rule). The caller commits."""
    found = {f.subject: f for f in findings(session, rule, now, names)}
    open_alerts = {
        alert.subject: alert
        for alert in session.scalars(
            select(StaffAlert).where(StaffAlert.rule_id == rule.id, StaffAlert.resolved_at.is_(None))
        )
    }
    report = WarningsReport()
    new = [f for subject, f in found.items() if subject not in open_alerts]
    if new:
        session.execute(
            insert(StaffAlert),
            [
                {
                    "kind": WARNING,
                    "audience": UNIT_AUDIENCE if f.unit_id is not None else DISTRICT_AUDIENCE,
                    "district_code": f.district_code,
                    "unit_id": f.unit_id,
                    "petition_id": f.petition_id,
                    "title": f.title[:200],
                    "body": f.body,
                    "data": {**f.data, "rule": rule.name, "rule_kind": rule.kind},
                    "dedupe_key": _dedupe_key(rule.id, f.subject, now),
                    "rule_id": rule.id,
                    "subject": f.subject,
                    "created_at": now,
                    "last_seen_at": now,
                }
                for f in new
            ],
        )
        report.raised = len(new)
    kept = [(alert, found[subject]) for subject, alert in open_alerts.items() if subject in found]
    if kept:
        session.execute(
            update(StaffAlert),
            [
                {
                    "id": alert.id,
                    "title": f.title[:200],
                    "body": f.body,
                    "data": {**f.data, "rule": rule.name, "rule_kind": rule.kind},
                    "last_seen_at": now,
                }
                for alert, f in kept
            ],
        )
        report.kept = len(kept)
    ended = [alert.id for subject, alert in open_alerts.items() if subject not in found]
    if ended:
        session.execute(
            update(StaffAlert)
            .where(StaffAlert.id.in_(ended), StaffAlert.resolved_at.is_(None))
            .values(resolved_at=now)
            .execution_options(synchronize_session=False)
        )
        report.resolved = len(ended)
    return report


def evaluate_all(session: Session, now: dt.datetime) -> WarningsReport:
    """Evaluate every rule at `now` (disabled ones only resolve what they had raised). The caller commits."""
    roomy_aggregates(session)
    names = Names(dict(session.execute(select(District.code, District.name)).tuples().all()))
    total = WarningsReport()
    for rule in session.scalars(select(WarningRule).order_by(WarningRule.id)).all():
        report = evaluate_rule(session, rule, now, names)
        total.raised += report.raised
        total.kept += report.kept
        total.resolved += report.resolved
    return total


def evaluate_warnings(app: Flask, now: dt.datetime) -> WarningsReport:
    """The scheduler's job: evaluate every early-warning rule at `now` and commit (idempotent at one `now`)."""
    with session_scope(app) as session:
        return evaluate_all(session, now)
