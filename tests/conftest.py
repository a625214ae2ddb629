"""Shared fixtures: an application on a fresh database per test (SQLite, or PostgreSQL in CI)."""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import importlib.metadata
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import inspect, text
from sqlalchemy.orm import Session

from models import Base
from models.clock import Clock, ShiftedClock, system_clock, use_clock
from qingsu import create_app
from qingsu.config import merge

# The instant every test starts at: Wednesday 2026-11-25 10:00 Asia/Shanghai, a plain working week. The suite never
# reads the system's date; set QINGSU_TEST_NOW (ISO 8601 with an offset) to run it on another day, e.g. in a holiday
# week: QINGSU_TEST_NOW=2026-10-01T10:00+08:00 make test.
TEST_NOW = dt.datetime.fromisoformat(os.environ.get("QINGSU_TEST_NOW") or "2026-11-25T10:00:00+08:00")
if TEST_NOW.tzinfo is None:
    raise RuntimeError("QINGSU_TEST_NOW needs a UTC offset, e.g. 2026-10-01T10:00+08:00")

PG_BASE_URL = os.environ.get("QINGSU_TEST_DATABASE_URL")
# Each test process works in its own PostgreSQL schema, so parallel runs on one server never see each other's tables:
# every pytest-xdist worker (`make test` runs one per core) is a process of its own, and so is each run on the machine.
PG_SCHEMA = f"qingsu_test_{os.getpid()}"
PG_URL = f"{PG_BASE_URL}{'&' if '?' in PG_BASE_URL else '?'}options=-csearch_path%3D{PG_SCHEMA}" if PG_BASE_URL else None


@pytest.fixture(scope="session", autouse=True)
def _postgres_schema() -> Iterator[None]:
    if not PG_BASE_URL:
        yield
        return
    from sqlalchemy import create_engine, text

    engine = create_engine(PG_BASE_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {PG_SCHEMA}"))
    yield
    with engine.connect() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
    engine.dispose()


@pytest.fixture(autouse=True)
def clock(request: pytest.FixtureRequest) -> Iterator[Clock]:
    """The application's clock for one test: it starts at TEST_NOW and runs at the speed of real time.

    A test that must run on other days parametrizes it: ``@pytest.mark.parametrize("clock", [instant, ...],
    indirect=True)``. A test marked ``system_clock`` keeps the system's clock: its other processes read that one.
    """
    if request.node.get_closest_marker("system_clock"):
        yield system_clock
        return
    shifted = ShiftedClock(getattr(request, "param", TEST_NOW))
    previous = use_clock(shifted)
    yield shifted
    use_clock(previous)


def make_test_config(tmp_path: Path, model_path: Path | None = None, **overrides: Any) -> dict[str, Any]:
    """The configuration every test app starts from; `overrides` merge section by section."""
    base = {
        "SECRET_KEY": "test-secret-key-of-the-test-suite-only",
        "TESTING": True,
        "DEMO": False,
        # A writer that waits longer than this for a lock is a deadlock in the test, not load: fail fast.
        "DATABASE": {"url": PG_URL or f"sqlite:///{tmp_path}/test.db", "busy_timeout_seconds": 10},
        "SECURITY": {"data_key": "test-data-key-of-the-test-suite-only", "secure_cookies": False},
        # One model file for the whole run: the default model is trained once, on first use.
        "CLASSIFIER": {"model_path": str(model_path or tmp_path / "classifier.joblib")},
        "SCHEDULER": {"embedded": False},
        # Kept images and voice messages (workflow.media) go to the test's own folder.
        "MEDIA": {"folder": str(tmp_path / "media")},
        "WTF_CSRF_ENABLED": True,
    }
    return merge(base, overrides)


_PREPARED: set[str] = set()


def _fresh_schema(app: Flask) -> None:
    """Give the test an empty database with the current schema.

    SQLite: a copy of a template file made once per run. PostgreSQL: the schema is created once per run and every
    table emptied before each test (tables that are not ours, such as APScheduler's job store, are dropped).
    """
    engine = app.extensions["qingsu.engine"]
    url = app.config["DATABASE_URL"]
    if engine.dialect.name != "postgresql":
        Base.metadata.create_all(engine)
        return
    if url not in _PREPARED:
        Base.metadata.drop_all(engine)
        Base.metadata.create_all(engine)
        _PREPARED.add(url)
        return
    with engine.begin() as conn:
        for table in inspect(conn).get_table_names():
            if table not in Base.metadata.tables:
                conn.execute(text(f'DROP TABLE IF EXISTS "{table}" CASCADE'))
        # DELETE, children first, then every sequence back to 1: on the test's near-empty tables this is some 20 ms
        # where one TRUNCATE of all of them took 300 ms to 1 s (it makes new files for every table and index).
        conn.execute(text("; ".join(f'DELETE FROM "{t.name}"' for t in reversed(Base.metadata.sorted_tables))))
        conn.execute(
            text(
                "SELECT setval(c.oid::regclass, 1, false) FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE c.relkind = 'S' AND n.nspname = current_schema()"
            )
        )


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file with the schema, copied for each test (faster than creating 25 tables every time)."""
    from sqlalchemy import create_engine

    path = tmp_path_factory.mktemp("template") / "schema.db"
    engine = create_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def classifier_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("model") / "classifier.joblib"


ROOT = Path(__file__).resolve().parent.parent
# Default models trained by test runs, by what they are trained from; shared by every pytest process on the machine
# (the xdist workers, the runs of tests/test_any_day.py, `make test` then `make test-pg`): training takes some 15 s.
MODEL_CACHE = Path(tempfile.gettempdir()) / f"qingsu-test-models-{os.getuid()}"
MODEL_CACHE_DAYS = 7
CACHED_MODEL = "classifier.joblib"


def _default_model_key() -> str:
    """What the default model is made of: the classifier's code and shipped corpus, the models' enums, the libraries."""
    digest = hashlib.sha256()
    for package in ("classifier", "models"):
        for file in sorted((ROOT / package).rglob("*")):
            if file.is_file() and "__pycache__" not in file.parts:
                digest.update(str(file.relative_to(ROOT)).encode() + b"\0" + file.read_bytes() + b"\0")
    for library in ("scikit-learn", "numpy", "scipy", "jieba", "joblib"):
        digest.update(f"{library}=={importlib.metadata.version(library)}\0".encode())
    digest.update(sys.version.encode())
    return digest.hexdigest()[:20]


def _prune_model_cache(keep: str) -> None:
    """Forget the cached models nobody has used for a week (an entry being copied is locked; it is left alone)."""
    for entry in MODEL_CACHE.iterdir():
        if not entry.is_dir() or entry.name == keep or time.time() - entry.stat().st_mtime < MODEL_CACHE_DAYS * 86400:
            continue
        with (MODEL_CACHE / f"{entry.name}.lock").open("a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            shutil.rmtree(entry, ignore_errors=True)


def provide_default_model(path: Path) -> None:
    """Put the default model (as `train_default` serves it: the file, its metadata and its versions) at `path`.

    Trained once per content and kept under MODEL_CACHE; the lock makes a second process wait for the first's
    training rather than train the same model again.
    """
    from classifier.lifecycle import train_default

    key = _default_model_key()
    MODEL_CACHE.mkdir(parents=True, exist_ok=True)
    entry = MODEL_CACHE / key
    with (MODEL_CACHE / f"{key}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (entry / CACHED_MODEL).exists():
            building = Path(tempfile.mkdtemp(prefix=f"{key}-", dir=MODEL_CACHE))
            try:
                train_default(building / CACHED_MODEL)
                shutil.rmtree(entry, ignore_errors=True)
                building.rename(entry)
            finally:
                shutil.rmtree(building, ignore_errors=True)
        os.utime(entry)
        path.parent.mkdir(parents=True, exist_ok=True)
        # classifier.joblib, classifier.joblib.json (its metadata), classifier.joblib.versions/ (what it was chosen from)
        for item in entry.iterdir():
            target = path.with_name(path.name + item.name.removeprefix(CACHED_MODEL))
            if item.is_dir():
                shutil.copytree(item, target)
            else:
                shutil.copy2(item, target)
    _prune_model_cache(keep=key)


@pytest.fixture(scope="session")
def trained_classifier(classifier_model_path: Path) -> Path:
    """The run's shared default classifier model at `classifier_model_path` (pages and the webhook never train one)."""
    if not classifier_model_path.exists():
        provide_default_model(classifier_model_path)
    return classifier_model_path


@pytest.fixture
def app_config(tmp_path: Path, classifier_model_path: Path) -> dict[str, Any]:
    return make_test_config(tmp_path, classifier_model_path)


@pytest.fixture
def app(app_config: dict[str, Any], _sqlite_template: Path) -> Iterator[Flask]:
    url = app_config["DATABASE"]["url"]
    if url.startswith("sqlite:///") and url != "sqlite://":
        target = Path(url.removeprefix("sqlite:///"))
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(_sqlite_template, target)
    app = create_app(app_config)
    _fresh_schema(app)
    with app.app_context():
        yield app
    app.extensions["qingsu.engine"].dispose()


@pytest.fixture
def db_session(app: Flask) -> Session:
    from models.db import get_session

    return get_session()


@pytest.fixture
def client(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def runner(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


# Tests that each run part of the suite again in a child process (a minute or more each).
LONG = ("tests/test_any_day.py::",)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist, the long tests start first and are shared out evenly: its work-stealing scheduler first
    gives each worker one contiguous share of the collection, so each share begins with its part of them (and they
    never end the run alone on one worker while the others have finished)."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or getattr(config.option, "numprocesses", 0) or 0)
    long = [item for item in items if item.nodeid.startswith(LONG)]
    if workers < 2 or not long:
        return
    rest = [item for item in items if not item.nodeid.startswith(LONG)]
    ordered: list[pytest.Item] = []
    for worker in range(workers):
        ordered += long[worker::workers]
        ordered += rest[len(rest) * worker // workers : len(rest) * (worker + 1) // workers]
    items[:] = ordered
