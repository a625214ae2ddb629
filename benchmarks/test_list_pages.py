"""List pages and the API's change polling over a large database (issue 9).

Runs against an existing database, filled by ``qingsu seed-volume --petitions 1000000`` (on PostgreSQL for the
targets): ``QINGSU_BENCH_DATABASE_URL=postgresql+psycopg://…/db make bench``. Each page is asked for
`ROUNDS` times through the application (the test client, so templates and serialisation count, the network does
not); the median and the 95th percentile are recorded. Targets: a queue / workbench / search page < 200 ms, the API
list with ``updated_from`` < 100 ms.

The benchmark reads only, except one API token it issues for the hotline user and revokes at the end.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from admin_web.api.tokens import issue_token, revoke_token
from admin_web.auth import login_id
from models import Petition, User, utcnow
from models.enums import PetitionState, Role
from qingsu import create_app

SECTION = "List pages (issue 9)"
URL = os.environ.get("QINGSU_BENCH_DATABASE_URL")
ROUNDS = 15
PAGE_TARGET_MS = 200
POLL_TARGET_MS = 100

pytestmark = pytest.mark.skipif(
    not URL,
    reason="QINGSU_BENCH_DATABASE_URL is unset: point it at a database filled by `qingsu seed-volume` to measure",
)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    import admin_web

    app = create_app(
        {
            "SECRET_KEY": "bench",
            "TESTING": True,
            "DEMO": False,
            "DATABASE": {"url": URL},
            "SECURITY": {
                "data_key": os.environ.get("QINGSU_BENCH_DATA_KEY", "bench-data-key"),
                "secure_cookies": False,
            },
            "CLASSIFIER": {"model_path": str(tmp_path_factory.mktemp("model") / "none.joblib")},
            "SCHEDULER": {"embedded": False},
            "WTF_CSRF_ENABLED": False,
        }
    )
    if "admin" not in app.blueprints:
        admin_web.init_app(app)
    yield app
    app.extensions["qingsu.engine"].dispose()


def _session(app: Flask) -> Any:
    return app.extensions["qingsu.sessionmaker"]()


def _busiest(app: Flask, role: Role, by: Any, where: Any) -> User | None:
    """An active user of `role` whose district or unit (`by`) holds the most petitions matching `where`."""
    with _session(app) as session:
        ranked = session.execute(
            select(by, func.count()).where(where).group_by(by).order_by(func.count().desc()).limit(20)
        ).all()
        for key, _count in ranked:
            column = User.district_code if by is Petition.district_code else User.unit_id
            user = session.scalars(
                select(User).where(User.role == role, User.active.is_(True), column == key)
            ).first()
            if user is not None:
                session.expunge(user)
                return user
    return None


def _any(app: Flask, *roles: Role) -> User | None:
    with _session(app) as session:
        user = session.scalars(
            select(User).where(User.role.in_(roles), User.active.is_(True)).order_by(User.id)
        ).first()
        if user is not None:
            session.expunge(user)
        return user


def _signed_in(app: Flask, user: User) -> FlaskClient:
    client = app.test_client()
    with client.session_transaction() as cookie:
        cookie["_user_id"] = login_id(user)
        cookie["_fresh"] = True
    return client


def _time(app: Flask, ask: Callable[[], Any]) -> tuple[float, float]:
    """Median and 95th percentile in ms of `ROUNDS` requests, after one to warm up."""
    timings = []
    for i in range(ROUNDS + 1):
        started = time.perf_counter()
        response = ask()
        body = response.get_data()
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, body[:300]
        if i:
            timings.append(elapsed)
    timings.sort()
    return statistics.median(timings), timings[min(len(timings) - 1, int(len(timings) * 0.95))]


def _report(record: Callable[..., None], name: str, figures: tuple[float, float], target_ms: int) -> None:
    median, p95 = figures
    record(SECTION, name, f"median {median:.0f} ms, p95 {p95:.0f} ms", f"< {target_ms} ms")


def test_petition_count(app: Flask, record: Callable[..., None]) -> None:
    with _session(app) as session:
        total = session.scalar(select(func.count(Petition.id))) or 0
    record(SECTION, "petitions in the database", f"{total:,}", "1,000,000 (PostgreSQL)")
    if total < 1000:
        pytest.skip(f"only {total} petitions: fill the database with `qingsu seed-volume` first")


PAGES = [
    (
        "dispatcher queue (busiest district)",
        Role.DISPATCHER,
        "/admin/queue",
        "district",
        Petition.state == PetitionState.PENDING_DISPATCH,
    ),
    (
        "dispatcher queue, page 5",
        Role.DISPATCHER,
        "/admin/queue?page=5",
        "district",
        Petition.state == PetitionState.PENDING_DISPATCH,
    ),
    ("city dispatcher queue", Role.CITY_DISPATCHER, "/admin/queue", None, None),
    (
        "handler workbench (busiest unit)",
        Role.HANDLER,
        "/admin/workbench",
        "unit",
        Petition.state.in_((PetitionState.ASSIGNED, PetitionState.HANDLING)),
    ),
    (
        "reviewer review list (busiest unit)",
        Role.UNIT_REVIEWER,
        "/admin/review",
        "unit",
        Petition.state == PetitionState.UNIT_REVIEW,
    ),
    (
        "dispatcher review list",
        Role.DISPATCHER,
        "/admin/review",
        "district",
        Petition.state == PetitionState.PLATFORM_REVIEW,
    ),
    (
        "dispatcher extension approvals",
        Role.DISPATCHER,
        "/admin/extensions",
        "district",
        Petition.state == PetitionState.HANDLING,
    ),
    ("dispatcher follow-up", Role.DISPATCHER, "/admin/followup", "district", Petition.handling_round > 1),
    ("leader follow-up, all districts", Role.LEADER, "/admin/followup", None, None),
    ("search, district dispatcher, no filter", Role.DISPATCHER, "/admin/search", "district", Petition.id > 0),
    (
        "search, district dispatcher, page 100",
        Role.DISPATCHER,
        "/admin/search?page=100",
        "district",
        Petition.id > 0,
    ),
    ("search, leader, all districts", Role.LEADER, "/admin/search", None, None),
    ("search, leader, state filter", Role.LEADER, "/admin/search?state=handling", None, None),
    (
        "search, leader, text filter",
        Role.LEADER,
        "/admin/search?q=%E7%83%A7%E7%83%A4&district=shinan",
        None,
        None,
    ),
]


@pytest.mark.parametrize(("name", "role", "path", "scope", "where"), PAGES, ids=[p[0] for p in PAGES])
def test_list_page(
    app: Flask, record: Callable[..., None], name: str, role: Role, path: str, scope: str | None, where: Any
) -> None:
    if scope == "district":
        user = _busiest(app, role, Petition.district_code, where)
    elif scope == "unit":
        user = _busiest(app, role, Petition.current_unit_id, where)
    else:
        user = _any(app, role)
    if user is None:
        pytest.skip(f"no active {role.value} user in the database")
    client = _signed_in(app, user)
    _report(record, f"{name} ({user.username})", _time(app, lambda: client.get(path)), PAGE_TARGET_MS)


@pytest.fixture(scope="module")
def hotline(app: Flask) -> Iterator[dict[str, str]]:
    user = _any(app, Role.HOTLINE, Role.CITY_DISPATCHER)
    if user is None:
        pytest.skip("no hotline or city dispatcher user in the database")
    with _session(app) as session:
        issued = issue_token(session, session.merge(user), utcnow(), "benchmark")
        session.commit()
        token_id = issued.row.id
    yield {"Authorization": f"Bearer {issued.raw}"}
    with _session(app) as session:
        from models import ApiToken

        revoke_token(session.get(ApiToken, token_id))
        session.commit()


def _latest_change(app: Flask) -> Any:
    with _session(app) as session:
        return session.scalar(select(func.max(Petition.updated_at)))


@pytest.mark.parametrize(
    ("name", "hours"), [("last 10 minutes", 1 / 6), ("last day", 24), ("last 30 days", 720)]
)
def test_api_change_polling(
    app: Flask, record: Callable[..., None], hotline: dict[str, str], name: str, hours: float
) -> None:
    import datetime as dt
    from urllib.parse import quote

    since = quote((_latest_change(app) - dt.timedelta(hours=hours)).isoformat())
    client = app.test_client()
    first = f"/api/v1/petitions?updated_from={since}&per_page=100"
    _report(
        record,
        f"API updated_from, {name}, first page of 100",
        _time(app, lambda: client.get(first, headers=hotline)),
        POLL_TARGET_MS,
    )
    cursor = client.get(first, headers=hotline).get_json()["next_cursor"]
    if cursor:
        following = f"/api/v1/petitions?updated_from={since}&per_page=100&cursor={cursor}"
        _report(
            record,
            f"API updated_from, {name}, next page by cursor",
            _time(app, lambda: client.get(following, headers=hotline)),
            POLL_TARGET_MS,
        )


def test_api_list_newest(app: Flask, record: Callable[..., None], hotline: dict[str, str]) -> None:
    client = app.test_client()
    _report(
        record,
        "API list, newest first, page 1 of 20",
        _time(app, lambda: client.get("/api/v1/petitions", headers=hotline)),
        PAGE_TARGET_MS,
    )
