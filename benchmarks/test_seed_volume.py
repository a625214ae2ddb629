"""`qingsu seed-volume` at full size: a year of petitions on PostgreSQL (target: 1 M within 10 minutes) and the seed's
155 k on SQLite, run as an operator would, through the command line.

PostgreSQL: ``QINGSU_BENCH_PG_URL`` (default the local server's ``postgres`` database); the volume goes into a schema
of its own, ``seed_volume_bench``, dropped afterwards unless ``QINGSU_BENCH_KEEP=1``. Sizes:
``QINGSU_BENCH_PG_PETITIONS`` (default 1,000,000) and ``QINGSU_BENCH_SQLITE_PETITIONS`` (default 155,000).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from qingsu.schema import upgrade

REPO = Path(__file__).resolve().parents[1]
SECTION = "seed-volume"
PG_URL = os.environ.get("QINGSU_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
SCHEMA = "seed_volume_bench"
SUMMARY = re.compile(
    r"seed-volume: (\d+) petitions, (\d+) events, (\d+) replies, (\d+) evaluations, .* in ([\d.]+) s"
)


def _seed(url: str, petitions: int) -> tuple[float, str]:
    """Run the command; returns the wall-clock seconds and its summary line."""
    env = {**os.environ, "DATABASE_URL": url}
    started = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from qingsu.cli import main; main()",
            "seed-volume",
            "--petitions",
            str(petitions),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = time.perf_counter() - started
    summary = done.stdout.strip().splitlines()[-1]
    assert SUMMARY.match(summary), done.stdout
    return seconds, summary


def _rows(summary: str) -> str:
    match = SUMMARY.match(summary)
    assert match
    petitions, events, replies, evaluations, _ = match.groups()
    return f"{int(petitions):,} petitions, {int(events):,} events, {int(replies):,} replies, {int(evaluations):,} ratings"


def test_a_year_on_postgresql(record: Callable[..., None]) -> None:
    petitions = int(os.environ.get("QINGSU_BENCH_PG_PETITIONS", 1_000_000))
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    except OperationalError:
        pytest.skip(f"no PostgreSQL server at {PG_URL}")
    url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{SCHEMA}"
    try:
        upgrade(url)
        seconds, summary = _seed(url, petitions)
        with admin.connect() as conn:
            size = conn.execute(
                text(
                    "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :schema AND c.relkind = 'r'"
                ),
                {"schema": SCHEMA},
            ).scalar_one()
        load = os.getloadavg()[0]
        record(
            SECTION,
            f"PostgreSQL, {petitions:,} petitions over 12 months: wall time",
            f"{seconds:.0f} s",
            "< 600 s for 1,000,000",
        )
        record(SECTION, "PostgreSQL: rows written", _rows(summary))
        record(SECTION, "PostgreSQL: tables and indexes", f"{int(size) / 1e9:.2f} GB")
        record(SECTION, "PostgreSQL: load average at the end", f"{load:.1f}")
    finally:
        if os.environ.get("QINGSU_BENCH_KEEP") != "1":
            with admin.connect() as conn:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        admin.dispose()


def test_the_seeds_volume_on_sqlite(record: Callable[..., None], tmp_path: Path) -> None:
    petitions = int(os.environ.get("QINGSU_BENCH_SQLITE_PETITIONS", 155_000))
    path = tmp_path / "volume.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    seconds, summary = _seed(url, petitions)
    record(SECTION, f"SQLite, {petitions:,} petitions over 12 months: wall time", f"{seconds:.0f} s")
    record(SECTION, "SQLite: rows written", _rows(summary))
    record(SECTION, "SQLite: file size", f"{path.stat().st_size / 1e9:.2f} GB")
