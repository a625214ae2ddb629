"""The `api` blueprint (/api/v1) and its bearer-token authentication.

Every endpoint needs ``Authorization: Bearer <token>`` except obtaining a token and reading the OpenAPI document.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, request
from sqlalchemy.exc import OperationalError

from admin_web.api.errors import ApiError, register_error_handlers
from admin_web.api.tokens import bearer_token, find_token
from admin_web.auth import SYSTEM_ROLES
from models import ApiToken, User, utcnow
from models.db import BUSY, classify_failure, get_session

api = Blueprint("api", __name__, url_prefix="/api/v1")
register_error_handlers(api)

# Endpoints reachable without a token.
PUBLIC_ENDPOINTS = frozenset({"api.create_token", "api.openapi_document"})


@api.before_request
def _authenticate() -> None:
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    session = get_session()
    row = find_token(session, bearer_token(request.headers.get("Authorization")) or "", utcnow())
    if row is None:
        raise ApiError(401, "unauthenticated", "缺少或无效的访问令牌")
    if session.dirty:
        # Only the token's last use (at most every few minutes): if the database stays busy, the request goes on
        # without recording it rather than failing, and a later request records it.
        try:
            session.commit()
        except OperationalError as exc:
            if classify_failure(exc) != BUSY:
                raise
            session.rollback()  # discards the new last_used_at; `row` reloads as stored
    if row.user.role in SYSTEM_ROLES:
        raise ApiError(403, "forbidden", "Open311 接入系统的 api_key 只能用于 /open311/v2")
    g.api_token = row
    g.api_user = row.user


def api_user() -> User:
    """The user whose token authenticated this request."""
    return g.api_user


def api_token() -> ApiToken:
    """The token row that authenticated this request."""
    return g.api_token


def json_body() -> dict[str, Any]:
    """The request's JSON object.

    :raises ApiError: 422 when the body is not a JSON object.
    :raises admin_web.input_limits.UnreadableJSON: 400 when it is JSON that cannot be read (broken, or nested deeper
        than the limit), with the reason.
    """
    body = request.get_json(silent=True) if not request.is_json else request.get_json()
    if not isinstance(body, dict):
        raise ApiError(422, "invalid_input", "请求体须为 JSON 对象")
    return body
