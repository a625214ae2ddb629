"""The lights job over many running petitions: seconds and SQL statements, first run and steady state.

The petitions are written with bulk INSERTs (no workflow call each), as an upgrade or `qingsu seed-volume` leaves
them: accepted, with a deadline, no `yellow_at` yet. The first run computes every `yellow_at`, writes the lights
and the reminders and alerts; a steady-state run at the same instant finds nothing to do; a run five minutes later
(the scheduler's period) moves the few lights that changed.

``QINGSU_BENCH_PETITIONS`` (default 50,000) sets the number; ``QINGSU_BENCH_LIGHTS_PG_URL`` a PostgreSQL database to
run on besides SQLite (its ``public`` schema is replaced by a fresh one: give it a database of its own, e.g.
``createdb -h 127.0.0.1 -U postgres qingsu_bench``).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, func, insert, select, text

from models import Base, District, Petition, StaffAlert, Unit
from models.enums import Complexity, DeptType, Nature, PetitionKind, UnitLevel
from qingsu import create_app
from workflow import jobs
from workflow.calendar import WorkingCalendar
from workflow.deadlines import compute_deadline
from workflow.lights import CLOCK_RUNNING

SECTION = "Lights job (set-wise)"
SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 25, 12, tzinfo=SH)  # a Wednesday
PETITIONS = int(os.environ.get("QINGSU_BENCH_PETITIONS", "50000"))
PG_URL = os.environ.get("QINGSU_BENCH_LIGHTS_PG_URL")


def _databases(tmp: Path) -> list[tuple[str, str]]:
    found = [("SQLite", f"sqlite:///{tmp}/lights.db")]
    if PG_URL:
        found.append(("PostgreSQL", PG_URL))
    return found


@contextmanager
def _counting(engine) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    statements: list[str] = []

    def count(_conn, _cursor, statement, _params, _context, _executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _fill(app, count: int) -> None:  # type: ignore[no-untyped-def]
    """`count` running petitions of the ten-district kind mix, accepted over the last four weeks, in bulk."""
    engine = app.extensions["qingsu.engine"]
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    Base.metadata.create_all(engine)
    rnd = random.Random(9)
    calendar = WorkingCalendar()
    with engine.begin() as conn:
        conn.execute(
            insert(District),
            [
                {
                    "code": "shinan",
                    "name": "市南区",
                    "abbreviation": "SN",
                    "platform_name": "暖南诉办",
                    "position": 1,
                }
            ],
        )
        conn.execute(
            insert(Unit),
            [
                {
                    "name": "市南区暖南诉办平台",
                    "level": UnitLevel.DISTRICT_PLATFORM,
                    "district_code": "shinan",
                },
                {
                    "name": "市南区城市管理局",
                    "level": UnitLevel.DISTRICT_DEPARTMENT,
                    "district_code": "shinan",
                    "dept_type": DeptType.URBAN_MGMT,
                },
            ],
        )
        unit_id = conn.scalar(select(func.max(Unit.id)))
        rows = []
        for i in range(count):
            accepted = NOW - dt.timedelta(seconds=rnd.randrange(28 * 86400))
            kind, nature, complexity, days = rnd.choice(
                [
                    (PetitionKind.LIVELIHOOD, Nature.CONSULT, Complexity.SIMPLE, 1),
                    (PetitionKind.LIVELIHOOD, Nature.COMPLAINT, Complexity.SIMPLE, 2),
                    (PetitionKind.LIVELIHOOD, Nature.COMPLAINT, Complexity.COMPLEX, 5),
                    (PetitionKind.DEVELOPMENT, Nature.SUGGEST, Complexity.SIMPLE, 10),
                    (PetitionKind.ENFORCEMENT, Nature.COMPLAINT, Complexity.ESPECIALLY_COMPLEX, 20),
                ]
            )
            rows.append(
                {
                    "number": f"SN{20260000 + i // 10000:08d}{i % 10000:04d}",
                    "district_code": "shinan",
                    "kind": kind,
                    "nature": nature,
                    "complexity": complexity,
                    "title": "小区楼下烧烤摊油烟扰民",
                    "content": "小区楼下烧烤摊每天营业到凌晨两点，油烟和噪音严重扰民。",
                    "state": rnd.choice(CLOCK_RUNNING),
                    "level": UnitLevel.DISTRICT_DEPARTMENT,
                    "current_unit_id": unit_id,
                    "accepted_at": accepted,
                    "time_limit_days": days,
                    "deadline": compute_deadline(accepted, days, calendar).due,
                    "created_at": accepted,
                    "updated_at": accepted,
                }
            )
            if len(rows) == 5000:
                conn.execute(insert(Petition), rows)
                rows = []
        if rows:
            conn.execute(insert(Petition), rows)


def _run(app, now: dt.datetime) -> tuple[float, int, jobs.LightsReport]:  # type: ignore[no-untyped-def]
    with _counting(app.extensions["qingsu.engine"]) as statements:
        started = time.perf_counter()
        report = jobs.recompute_lights(app, now)
        seconds = time.perf_counter() - started
    return seconds, len(statements), report


@pytest.mark.parametrize("database", ["SQLite", "PostgreSQL"])
def test_lights_job_over_many_running_petitions(database: str, tmp_path: Path, record) -> None:  # type: ignore[no-untyped-def]
    urls = dict(_databases(tmp_path))
    if database not in urls:
        pytest.skip("set QINGSU_BENCH_LIGHTS_PG_URL to a PostgreSQL database of its own")
    app = create_app(
        {
            "SECRET_KEY": "bench",
            "TESTING": True,
            "DATABASE": {"url": urls[database]},
            "SECURITY": {"data_key": "bench"},
            "SCHEDULER": {"embedded": False},
        }
    )
    try:
        with app.app_context():
            started = time.perf_counter()
            _fill(app, PETITIONS)
            fill_seconds = time.perf_counter() - started
            first = _run(app, NOW)
            steady = _run(app, NOW)
            tick = _run(app, NOW + dt.timedelta(minutes=5))
            engine = app.extensions["qingsu.engine"]
            with engine.connect() as conn:
                alerts = conn.scalar(select(func.count(StaffAlert.id)))
    finally:
        app.extensions["qingsu.engine"].dispose()
    assert first[2].computed == PETITIONS and steady[2] == jobs.LightsReport() and alerts
    label = f"{database}, {PETITIONS:,} running petitions"
    record(SECTION, f"{label}: bulk insert (setup, not the job)", f"{fill_seconds:.1f} s")
    record(
        SECTION,
        f"{label}: first run (every yellow_at computed, {first[2].changed:,} lights, {alerts:,} reminders/alerts)",
        f"{first[0]:.2f} s, {first[1]} statements",
    )
    record(
        SECTION,
        f"{label}: steady state (same instant, nothing to do)",
        f"{steady[0]:.3f} s, {steady[1]} statements",
        "< 10 s at 1 M (issue 9)",
    )
    record(
        SECTION,
        f"{label}: five minutes later ({tick[2].changed} lights changed)",
        f"{tick[0]:.3f} s, {tick[1]} statements",
    )
