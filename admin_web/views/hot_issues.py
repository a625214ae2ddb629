"""A hot issue's petitions (/admin/hot-issues/<id>): what the dashboard's hot issues panel links to."""

from __future__ import annotations

from flask import abort, render_template
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from admin_web.auth import role_required, staff
from admin_web.blueprint import admin
from admin_web.dashboard import DASHBOARD_ROLES
from admin_web.scoping import district_codes_visible
from admin_web.views.queue import district_names
from models import HotIssue, Petition
from models.db import get_session
from models.enums import DeptType
from workflow.hot_issues import hot_issue_petitions


@admin.get("/hot-issues/<int:issue_id>")
@role_required(*DASHBOARD_ROLES)
def hot_issue(issue_id: int) -> ResponseReturnValue:
    """The petitions of one hot issue in the user's districts, oldest first (404 when it has none there)."""
    session = get_session()
    issue = session.get(HotIssue, issue_id)
    ids = hot_issue_petitions(session, issue_id, district_codes_visible(staff())) if issue else []
    if not ids:
        abort(404)
    petitions = list(
        session.scalars(select(Petition).where(Petition.id.in_(ids)).order_by(Petition.created_at))
    )
    return render_template(
        "admin/hot_issue.html",
        issue=issue,
        petitions=petitions,
        district_names=district_names(session),
        dept_labels={d.value: d.label for d in DeptType},
    )
