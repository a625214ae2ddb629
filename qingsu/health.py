"""`GET /healthz`: 200 when the database answers, 503 when it does not."""

from __future__ import annotations

from flask import Flask, jsonify

from qingsu.db import database_reachable


def init_app(app: Flask) -> None:
    @app.get("/healthz")
    def healthz():  # type: ignore[no-untyped-def]
        if database_reachable():
            return jsonify(status="ok", database="ok")
        return jsonify(status="unavailable", database="unreachable"), 503
