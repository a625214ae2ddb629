"""Error pages for the admin site: 400 (including a missing CSRF token), 403, 404, 409, 413, 422, 429.

Only paths under /admin get these pages; JSON clients get the API's error shape and every other path (the
webhook, the health check) keeps Flask's default answers.
"""

from __future__ import annotations

from flask import Flask, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from admin_web.api.errors import too_large_message
from admin_web.auth import json_error, wants_json

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
}


def render_error(status: int, message: str, petition_url: str | None = None) -> ResponseReturnValue:
    """The error page (or JSON error) with `status` and a message meant for the user; `petition_url` adds a link
    back to the petition the failed action was about."""
    if wants_json():
        return json_error(status, JSON_CODES.get(status, "error"), message)
    title = TITLES.get(status, "出错了")
    page = render_template("admin/error.html", status=status, title=title, message=message, petition_url=petition_url)
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


def init_app(app: Flask) -> None:
    """Register the handlers on the application (before_request failures such as CSRF reach no blueprint's)."""
    app.register_error_handler(CSRFError, _on_csrf_error)
    app.register_error_handler(HTTPException, _on_http_error)
