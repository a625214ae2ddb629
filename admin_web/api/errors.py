"""The API's one error shape, ``{"error": {"code": ..., "message": ...}}``, and the handlers that produce it.

Status codes: 401 no or bad token, 403 the role may not do this, 404 no such thing *in the caller's scope* (another
district's petition is 404, so numbers cannot be probed), 409 the petition changed (or a business rule refuses the
action in its present condition; code ``conflict`` when a concurrent change won the race at the database), 422
invalid input (``field`` names the offending parameter), 503 ``database_busy`` with Retry-After when the database
stayed busy beyond its timeout (nothing was changed: retry as is); obtaining a token may also answer 423 (account
locked) or 429 (too many failures from one address), like the login page.
Messages are Chinese, fit to show to the work app's user.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from admin_web.input_limits import UnreadableJSON
from workflow.errors import InvalidInput, StateConflict, UnknownPetition

API_PREFIX = "/api/v1"

# Werkzeug's HTTP errors (routing, method, body size) under /api/v1, in the API's vocabulary.
_HTTP_CODES: dict[int, tuple[str, str]] = {
    400: ("bad_request", "请求格式不正确"),
    401: ("unauthenticated", "缺少或无效的访问令牌"),
    403: ("forbidden", "当前角色无权执行此操作"),
    404: ("not_found", "资源不存在"),
    405: ("method_not_allowed", "不支持该请求方法"),
    413: ("payload_too_large", "请求内容过大"),
    415: ("unsupported_media_type", "请求内容须为 JSON"),
    429: ("throttled", "请求过于频繁，请稍后再试"),
}


class ApiError(Exception):
    """An API failure with its HTTP status, a stable machine-readable `code` and a Chinese `message`."""

    def __init__(
        self, status: int, code: str, message: str, *, field: str | None = None, **extra: str
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.extra = extra


def error_response(
    status: int, code: str, message: str, field: str | None = None, extra: dict[str, str] | None = None
) -> Response:
    """The JSON error body with `status` (and `extra` members, e.g. ``petition_number``); 401 answers also carry
    ``WWW-Authenticate: Bearer``."""
    body: dict[str, str] = {"code": code, "message": message}
    if field is not None:
        body["field"] = field
    body.update(extra or {})
    response = jsonify(error=body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="qingsu"'
    return response


def _api_error(error: ApiError) -> Response:
    return error_response(error.status, error.code, error.message, error.field, error.extra)


def _invalid_input(error: InvalidInput) -> Response:
    return error_response(422, "invalid_input", str(error), error.field)


def _unknown_petition(error: UnknownPetition) -> Response:
    return error_response(404, "not_found", str(error), error.field)


def _state_conflict(error: StateConflict) -> Response:
    return error_response(409, "state_changed", str(error))


def _http_error_json(error: HTTPException) -> Response:
    status = error.code or 500
    code, message = _HTTP_CODES.get(status, ("http_error", error.description or "请求失败"))
    if status == 413:
        message = too_large_message()
    elif isinstance(error, UnreadableJSON):
        message = error.description or message
    return error_response(status, code, message)


def too_large_message() -> str:
    """The 413 message, with the configured limit (MAX_CONTENT_LENGTH)."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    return f"请求内容过大：最多 {limit // 1024} KB" if limit else "请求内容过大"


def _is_api_path() -> bool:
    return request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/")


def register_error_handlers(blueprint: Blueprint) -> None:
    """Answer the workflow's domain errors and `ApiError` as JSON in the API blueprint's views only: the admin
    site turns the same errors into pages. Call once, when the blueprint is defined."""
    blueprint.register_error_handler(ApiError, _api_error)
    blueprint.register_error_handler(InvalidInput, _invalid_input)
    blueprint.register_error_handler(UnknownPetition, _unknown_petition)
    blueprint.register_error_handler(StateConflict, _state_conflict)


def register_http_error_handler(app: Flask) -> None:
    """Answer HTTP errors (unknown path, wrong method, …) as JSON for every path under /api/v1.

    App-wide because an unknown API path matches no blueprint, so a blueprint handler would never see its 404.
    Flask keeps one app-wide handler per exception class, so the handler the admin site registered before is
    kept and called for every other path.
    """
    previous: Callable[[HTTPException], Any] | None = app.error_handler_spec[None][None].get(HTTPException)

    def handle(error: HTTPException) -> Any:
        if _is_api_path():
            return _http_error_json(error)
        return previous(error) if previous is not None else error

    app.register_error_handler(HTTPException, handle)
