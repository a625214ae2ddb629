"""``GET /api/v1/hot-issues``: the hot issues (clusters of similar petitions) the scheduler last computed.

For the dashboard's roles; a district role reads the hot issues with petitions in its district, and only those
petitions' numbers.
"""

from __future__ import annotations

from flask import current_app, jsonify, request
from flask.typing import ResponseReturnValue

from admin_web.api.blueprint import api, api_user
from admin_web.api.errors import ApiError
from admin_web.api.petitions import int_arg
from admin_web.dashboard import DASHBOARD_ROLES
from admin_web.scoping import district_codes_visible
from models.db import get_session
from workflow.hot_issues import HotIssueView, read_hot_issues, windows

DEFAULT_LIMIT = 20
MAX_LIMIT = 200


def hot_issue_dict(view: HotIssueView) -> dict:
    """A hot issue as the API shows it."""
    issue = view.issue
    return {
        "id": issue.id,
        "rank": issue.rank,
        "title": issue.title,
        "terms": issue.terms,
        "size": issue.size,
        "previous": issue.previous,
        "trend": view.trend,
        "daily": issue.daily,
        "districts": issue.districts,
        "dept_type": issue.dept_type,
        "street": issue.street,
        "first_at": issue.first_at.isoformat(),
        "last_at": issue.last_at.isoformat(),
        "petitions": view.numbers,
    }


@api.get("/hot-issues")
def list_hot_issues() -> ResponseReturnValue:
    """The largest hot issues of the last ``days`` days (one of ``[hot_issues] windows``, 7 by default), optionally
    of one ``district``."""
    user = api_user()
    if user.role not in DASHBOARD_ROLES:
        raise ApiError(403, "forbidden", "当前角色不能查看热点问题")
    allowed = windows(current_app)
    days = int_arg("days", 7 if 7 in allowed else allowed[0], 1, 366)
    if days not in allowed:
        raise ApiError(
            422, "invalid_input", f"参数 days 须为 {'、'.join(map(str, allowed))} 之一", field="days"
        )
    limit = int_arg("limit", DEFAULT_LIMIT, 1, MAX_LIMIT) or DEFAULT_LIMIT
    visible = district_codes_visible(user)
    district = request.args.get("district", "").strip()
    if district:
        if visible is not None and district not in visible:
            raise ApiError(404, "not_found", f"区(市)「{district}」不在可见范围")
        visible = [district]
    computed, views = read_hot_issues(get_session(), days, visible, limit)
    return jsonify(
        days=days,
        computed_at=computed.isoformat() if computed else None,
        items=[hot_issue_dict(v) for v in views],
    )
