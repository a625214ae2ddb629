"""`GET /healthz`: 200 when the database answers, 503 when it does not; and `GET /`, which sends visitors to the
admin site."""

from __future__ import annotations

from flask import Flask, jsonify, redirect, url_for

from models.db import database_reachable


def init_app(app: Flask) -> None:
    @app.get("/healthz")
    def healthz():  # type: ignore[no-untyped-def]
        if database_reachable():
            return jsonify(status="ok", database="ok")
        return jsonify(status="unavailable", database="unreachable"), 503

    @app.get("/")
    def root():  # type: ignore[no-untyped-def]
        # Citizens never come here (they use WeChat); whoever opens the bare address is staff.
        return redirect(url_for("admin.home"))
