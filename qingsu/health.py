"""`GET /healthz` and `GET /readyz`: 200 when the database accepts a write, else 503 saying why; and `GET /`, which
sends visitors to the admin site.

Both write the probe row (`models.db.check_database`), so a database that answers reads but refuses writes (a file
made read-only, a full disk, a standby server) is not reported healthy. `/healthz` answers with the problem's code;
`/readyz`, meant for load balancers and operators, adds the reason in words and the database's own message.
"""

from __future__ import annotations

from flask import Flask, jsonify, redirect, url_for

from models import utcnow
from models.db import check_database, get_engine


def init_app(app: Flask) -> None:
    @app.get("/healthz")
    def healthz():  # type: ignore[no-untyped-def]
        status = check_database(get_engine(), utcnow())
        if status.ok:
            return jsonify(status="ok", database="ok")
        return jsonify(status="unavailable", database=status.problem), 503

    @app.get("/readyz")
    def readyz():  # type: ignore[no-untyped-def]
        status = check_database(get_engine(), utcnow())
        body = {"status": "ready" if status.ok else "not_ready", "database": status.problem or "ok",
                "reason": status.reason}
        if not status.ok:
            body["detail"] = status.detail
        return jsonify(body), 200 if status.ok else 503

    @app.get("/")
    def root():  # type: ignore[no-untyped-def]
        # Citizens never come here (they use WeChat); whoever opens the bare address is staff.
        return redirect(url_for("admin.home"))
