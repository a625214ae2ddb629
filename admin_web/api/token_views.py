"""Obtaining and giving up an API token: ``POST /api/v1/tokens`` and ``DELETE /api/v1/tokens/current``.

Obtaining a token checks the password under the same lockout and throttling rules as the admin site's login
(`admin_web.auth.authenticate`), so the API is no back door for guessing passwords.
"""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue

from admin_web.api.blueprint import api, api_token, api_user, json_body
from admin_web.api.errors import ApiError
from admin_web.api.tokens import issue_token, revoke_token
from admin_web.audit import audit
from admin_web.auth import LoginRefused, authenticate
from models import utcnow
from models.db import get_session

_REFUSALS = {401: "invalid_credentials", 423: "account_locked", 429: "throttled"}


@api.post("/tokens")
def create_token() -> ResponseReturnValue:
    """Exchange a username and password for a bearer token (shown once)."""
    body = json_body()
    username, password, name = body.get("username"), body.get("password"), body.get("name", "")
    for field, value in (("username", username), ("password", password), ("name", name)):
        if not isinstance(value, str):
            raise ApiError(422, "invalid_input", f"{field} 须为字符串", field=field)
    session = get_session()
    now = utcnow()
    try:
        user = authenticate(session, username.strip(), password, now)
    except LoginRefused as refused:
        # The failure counters and audit rows must be kept even though the request fails.
        session.commit()
        raise ApiError(refused.status, _REFUSALS.get(refused.status, "login_refused"), str(refused)) from None
    if user.must_change_password:
        # A password someone else chose opens nothing until its owner has replaced it on the admin site.
        session.commit()
        raise ApiError(403, "password_change_required", "请先登录工作平台修改初始密码")
    issued = issue_token(session, user, now, name)
    audit(session, user, "api_token_issued", f"token:{issued.row.id}", issued.row.name)
    session.commit()
    return (
        jsonify(
            token=issued.raw,
            token_type="Bearer",
            expires_at=issued.row.expires_at.isoformat() if issued.row.expires_at else None,
            user={
                "username": user.username,
                "display_name": user.display_name,
                "role": user.role.value,
                "district_code": user.district_code,
                "unit_id": user.unit_id,
            },
        ),
        201,
    )


@api.delete("/tokens/current")
def delete_current_token() -> ResponseReturnValue:
    """Revoke the token this request was made with (signing out the work app)."""
    session = get_session()
    row = api_token()
    revoke_token(row)
    audit(session, api_user(), "api_token_revoked", f"token:{row.id}")
    session.commit()
    return "", 204
