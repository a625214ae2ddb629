"""Error pages for the admin site: 400 (including a missing CSRF token), 403, 404, 409, 413, 422, 429, 503.

Only paths under /admin get these pages; JSON clients get the API's error shape and every other path (the
webhook, the health check) keeps Flask's default answers.

Database failures that are not bugs are answered on every path (`_on_database_error`): a lost race (409) or a
busy database (503 with Retry-After), never a 500.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, current_app, g, make_response, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from admin_web.api.errors import too_large_message
from admin_web.auth import json_error, wants_json
from models.db import BUSY, CONFLICT, classify_failure

log = logging.getLogger(__name__)

CONFLICT_MESSAGE = "您操作的内容刚被他人修改，未能保存。请刷新页面，查看最新情况后再操作。"
BUSY_MESSAGE = "系统繁忙，您的操作未能完成，也没有保存任何内容。请稍后重试。"

TITLES = {
    400: "请求无效",
    401: "请先登录",
    403: "无权访问",
    404: "页面不存在",
    405: "不支持的请求方式",
    409: "状态已变化",
    413: "内容过大",
    422: "填写有误",
    429: "操作过于频繁",
    503: "系统繁忙",
}

JSON_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    422: "invalid",
    429: "too_many_requests",
    503: "database_busy",
}


def render_error(status: int, message: str, petition_url: str | None = None) -> ResponseReturnValue:
    """The error page (or JSON error) with `status` and a message meant for the user; `petition_url` adds a link
    back to the petition the failed action was about."""
    if wants_json():
        return json_error(status, JSON_CODES.get(status, "error"), message)
    title = TITLES.get(status, "出错了")
    page = render_template(
        "admin/error.html", status=status, title=title, message=message, petition_url=petition_url
    )
    return page, status


def _on_http_error(exc: HTTPException) -> ResponseReturnValue:
    if exc.code is None or not (request.path.startswith("/admin") or wants_json()):
        return exc
    messages = {
        403: "您的角色无权访问此页面。",
        404: "没有找到该页面或诉求，或它不在您的管辖范围内。",
        413: too_large_message() + "，请缩短填写的内容后重新提交。",
    }
    return render_error(exc.code, messages.get(exc.code, exc.description or ""))


def _on_csrf_error(exc: CSRFError) -> ResponseReturnValue:
    if not request.path.startswith("/admin") and not wants_json():
        return exc
    return render_error(400, "表单已过期或缺少安全校验码（CSRF），请刷新页面后重新提交。")


def _on_database_error(exc: SQLAlchemyError) -> ResponseReturnValue:
    """A lost race is a 409 and a busy database a 503 with Retry-After, on every path; other errors stay 500s.

    Nothing of the failed request's transaction is kept (rolled back); rendering the page only reads, and reads
    never wait for the lock the request could not get.
    """
    kind = classify_failure(exc)
    if kind is None:
        raise exc
    session = g.get("db_session")
    if session is not None:
        session.rollback()
    status = 409 if kind == CONFLICT else 503
    log.warning(
        "%s %s answered %d: %s", request.method, request.path, status, type(exc.__cause__ or exc).__name__
    )
    if request.path.startswith("/admin") or wants_json():
        message = CONFLICT_MESSAGE if kind == CONFLICT else BUSY_MESSAGE
        if wants_json():
            code = "conflict" if kind == CONFLICT else "database_busy"
            response = make_response(json_error(status, code, message))
        else:
            response = make_response(render_error(status, message))
    else:
        # The webhook, the health check, …: plain text, like Flask's own answers there.
        text = (
            "conflict: the data changed meanwhile, retry"
            if kind == CONFLICT
            else "database busy, retry later"
        )
        response = Response(text, status=status, mimetype="text/plain")
    if kind == BUSY:
        response.headers["Retry-After"] = str(
            int(current_app.config["DATABASE"].get("retry_after_seconds", 5))
        )
    return response


def init_app(app: Flask) -> None:
    """Register the handlers on the application (before_request failures such as CSRF reach no blueprint's)."""
    app.register_error_handler(CSRFError, _on_csrf_error)
    app.register_error_handler(HTTPException, _on_http_error)
    app.register_error_handler(SQLAlchemyError, _on_database_error)
