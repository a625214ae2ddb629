"""Staff alerts (提醒) on the admin site: what the scheduler writes as `StaffAlert` rows (`workflow.jobs`) — the
yellow-light reminder to the handling unit, the red-light alert to its platform, the daily summary for district
managers — shown to the people they are addressed to, each with a button to mark it read.

Who reads which alert:

* unit staff (承办人, 承办单位科室负责人): the alerts addressed to their unit;
* a district dispatcher (区平台调度): those addressed to the district's platform unit — red lights, and yellow ones
  for petitions no unit holds yet;
* the city dispatcher (市级平台调度): those addressed to the city platform (petitions handled at city level);
* a district manager (区平台管理员): the district's daily summaries.

Early warnings (`workflow.warnings`, kind ``warning``) go further: a district's warning to its dispatchers and
district managers, a unit's to the unit's reviewers (its leaders, not every handler); every warning to the city
platform's roles — city dispatcher, city manager and leader. The warnings page lists them with their history
(when each started, was last seen, was resolved, and who acknowledged it).

No other role is the audience of any alert. An alert outside the reader's scope answers 404, like a petition
outside the scope, so alert ids cannot be probed. Being read is shared by everyone the alert is addressed to (one
``read_at``); `read_by_id` and the audit log say who marked it (for a warning, who acknowledged it).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import ColumnElement, false, func, or_, select, update
from sqlalchemy.orm import Session, joinedload

from admin_web.audit import audit
from admin_web.auth import role_required, safe_next, staff
from admin_web.blueprint import admin
from admin_web.navigation import nav_item
from admin_web.scoping import UNIT_ROLES
from admin_web.views.paging import Page
from models import Petition, StaffAlert, Unit, User, utcnow
from models.db import get_session
from models.enums import Role, UnitLevel
from workflow.warnings import DISTRICT_AUDIENCE, KINDS, UNIT_AUDIENCE, WARNING

ALERT_ROLES = frozenset(
    {
        *UNIT_ROLES,
        Role.DISPATCHER,
        Role.CITY_DISPATCHER,
        Role.DISTRICT_MANAGER,
        Role.CITY_MANAGER,
        Role.LEADER,
    }
)
# Who reads early warnings: a unit's leaders, the district platforms' and the city's roles.
WARNING_ROLES = (
    Role.UNIT_REVIEWER,
    Role.DISPATCHER,
    Role.DISTRICT_MANAGER,
    Role.CITY_DISPATCHER,
    Role.CITY_MANAGER,
    Role.LEADER,
)
CITY_WARNING_ROLES = frozenset({Role.CITY_DISPATCHER, Role.CITY_MANAGER, Role.LEADER})
# `StaffAlert.audience` of the daily summary (see `workflow.jobs.daily_summary`).
MANAGER_AUDIENCE = "district_manager"
DAILY_SUMMARY = "daily_summary"
ALERTS_SHOWN = 20


def alert_scope(user: User) -> ColumnElement[bool]:
    """A WHERE clause on StaffAlert that admits exactly the alerts addressed to `user` (read or not)."""
    if not user.active:
        return false()
    if user.role in UNIT_ROLES:
        if user.unit_id is None:
            return false()
        if user.role == Role.UNIT_REVIEWER:
            return StaffAlert.unit_id == user.unit_id
        # A unit's warnings are for its leaders, not for every handler.
        return (StaffAlert.unit_id == user.unit_id) & (StaffAlert.audience != UNIT_AUDIENCE)
    district_warnings = (
        (StaffAlert.audience == DISTRICT_AUDIENCE) & (StaffAlert.district_code == user.district_code)
        if user.district_code is not None
        else false()
    )
    if user.role == Role.DISPATCHER and user.district_code is not None:
        platform = select(Unit.id).where(
            Unit.level == UnitLevel.DISTRICT_PLATFORM, Unit.district_code == user.district_code
        )
        return or_(StaffAlert.unit_id.in_(platform), district_warnings)
    if user.role == Role.CITY_DISPATCHER:
        return or_(
            StaffAlert.unit_id.in_(select(Unit.id).where(Unit.level == UnitLevel.CITY_PLATFORM)),
            StaffAlert.kind == WARNING,
        )
    if user.role == Role.DISTRICT_MANAGER and user.district_code is not None:
        return or_(
            (StaffAlert.audience == MANAGER_AUDIENCE) & (StaffAlert.district_code == user.district_code),
            district_warnings,
        )
    if user.role in CITY_WARNING_ROLES:
        return StaffAlert.kind == WARNING
    return false()


@dataclass(frozen=True)
class OpenAlerts:
    """The unread alerts of a reader: how many there are, and the newest of them."""

    total: int
    items: list[StaffAlert]


def open_alerts(
    session: Session, user: User, kinds: tuple[str, ...] | None = None, limit: int = ALERTS_SHOWN
) -> OpenAlerts:
    """`user`'s unread alerts, newest first (at most `limit`), optionally only of the given `kinds`."""
    condition = [alert_scope(user), StaffAlert.read_at.is_(None)]
    if kinds is not None:
        condition.append(StaffAlert.kind.in_(kinds))
    total = session.scalar(select(func.count(StaffAlert.id)).where(*condition)) or 0
    if not total:
        return OpenAlerts(0, [])
    items = session.scalars(
        select(StaffAlert)
        .where(*condition)
        .options(joinedload(StaffAlert.petition).load_only(Petition.number))
        .order_by(StaffAlert.created_at.desc(), StaffAlert.id.desc())
        .limit(limit)
    )
    return OpenAlerts(total, list(items))


@admin.get("/alerts")
@role_required(*ALERT_ROLES)
def alerts_page() -> ResponseReturnValue:
    """All of the reader's unread alerts, newest first, 20 a page (the queue and the workbench show the newest)."""
    user = staff()
    session = get_session()
    condition = (alert_scope(user), StaffAlert.read_at.is_(None))
    page = Page.from_request(
        session.scalar(select(func.count(StaffAlert.id)).where(*condition)) or 0, ALERTS_SHOWN
    )
    items = list(
        session.scalars(
            page.apply(
                select(StaffAlert)
                .where(*condition)
                .options(joinedload(StaffAlert.petition).load_only(Petition.number))
                .order_by(StaffAlert.created_at.desc(), StaffAlert.id.desc())
            )
        )
    )
    return render_template(
        "admin/alerts.html",
        alerts=OpenAlerts(page.total, items),
        page=page,
        next_url=url_for("admin.alerts_page", page=request.args.get("page")),
    )


@admin.post("/alerts/<int:alert_id>/read")
@role_required(*ALERT_ROLES)
def mark_alert_read(alert_id: int) -> ResponseReturnValue:
    """Mark an alert addressed to the signed-in user read, then go back to the page it was shown on.

    404 for an alert that does not exist or is addressed to someone else; marking a read alert again changes
    nothing (the first reader's time stays).
    """
    user = staff()
    session = get_session()
    alert = session.scalars(select(StaffAlert).where(StaffAlert.id == alert_id, alert_scope(user))).first()
    if alert is None:
        abort(404)
    # A conditional UPDATE, so two colleagues clicking at once record one reading (and one audit row), not two.
    marked = session.execute(
        update(StaffAlert)
        .where(StaffAlert.id == alert.id, StaffAlert.read_at.is_(None))
        .values(read_at=utcnow(), read_by_id=user.id)
        .execution_options(synchronize_session=False)
    )
    if marked.rowcount:
        audit(session, user, "alert_read", f"alert:{alert.id}", alert.title)
    session.commit()
    flash("提醒已标记为已读", "success")
    return redirect(safe_next(request.form.get("next")) or url_for("admin.home"))


WARNING_STATES = {"open": "预警中", "resolved": "已解除", "all": "全部"}


@admin.get("/alerts/warnings")
@role_required(*WARNING_ROLES)
def warnings_page() -> ResponseReturnValue:
    """The early warnings addressed to the reader, read or not, with their history: the ones still in force first
    (newest first), or only the resolved ones, or all (``?state=open|resolved|all``), 20 a page."""
    user = staff()
    session = get_session()
    state = request.args.get("state") or "open"
    if state not in WARNING_STATES:
        abort(400, description="state 须为 open、resolved 或 all")
    condition = [alert_scope(user), StaffAlert.kind == WARNING]
    if state == "open":
        condition.append(StaffAlert.resolved_at.is_(None))
    elif state == "resolved":
        condition.append(StaffAlert.resolved_at.is_not(None))
    page = Page.from_request(
        session.scalar(select(func.count(StaffAlert.id)).where(*condition)) or 0, ALERTS_SHOWN
    )
    items = list(
        session.scalars(
            page.apply(
                select(StaffAlert)
                .where(*condition)
                .options(
                    joinedload(StaffAlert.petition).load_only(Petition.number),
                    joinedload(StaffAlert.read_by).load_only(User.display_name),
                    joinedload(StaffAlert.unit).load_only(Unit.name),
                )
                .order_by(
                    StaffAlert.resolved_at.is_not(None), StaffAlert.created_at.desc(), StaffAlert.id.desc()
                )
            )
        )
    )
    return render_template(
        "admin/warnings.html",
        items=items,
        page=page,
        state=state,
        states=WARNING_STATES,
        kinds=KINDS,
        next_url=url_for("admin.warnings_page", state=state, page=request.args.get("page")),
    )


nav_item("admin.warnings_page", "预警", set(WARNING_ROLES), order=65)
