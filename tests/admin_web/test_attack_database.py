"""Issue 12, attack 6: SQLite did not recover. After the database file was read-only for a while and writable again,
10 of 40 token requests still failed ("attempt to write a readonly database") until the workers restarted, and
meanwhile `/healthz` said the database was ok. Now connections that cannot write are replaced, `/healthz` and
`/readyz` write to check, and `/readyz` says why the database is not ready."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text

from admin_web.api.tokens import issue_token
from models import utcnow
from qingsu import create_app
from tests.admin_web.conftest import World
from tests.conftest import PG_URL, make_test_config

sqlite_only = pytest.mark.skipif(PG_URL is not None, reason="the database file is SQLite's")


@contextmanager
def read_only(path: Path) -> Iterator[bool]:
    """The database file and its write-ahead log cannot be written while inside.

    For an ordinary user by their mode: connections opened before keep writing through their open log file, only
    new ones cannot (yields False). For root, whom modes do not stop, by the file system's immutable attribute, as
    on a disk remounted read-only: no connection can write (yields True). The shared-memory file is left alone (an
    immutable mapped file kills the process).
    """
    files = [p for p in (path, path.with_name(path.name + "-wal")) if p.exists()]
    if os.geteuid() != 0:
        modes = [p.stat().st_mode for p in files]
        for p in files:
            p.chmod(0o444)
        try:
            yield False
        finally:
            for p, mode in zip(files, modes, strict=True):
                p.chmod(mode)
        return
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", *map(str, files)]).returncode != 0:
        pytest.skip("cannot make the database file read-only as root here (no chattr +i)")
    try:
        yield True
    finally:
        subprocess.run(["chattr", "-i", *map(str, files)], check=True)


def _database_file(client) -> Path:  # type: ignore[no-untyped-def]
    return Path(client.application.extensions["qingsu.engine"].url.database)


def _writer(client, world: World):  # type: ignore[no-untyped-def]
    """A work-app client that takes a new petition in with each call (one write) and returns the status.

    (The attack used token requests; they write the same way but each verifies a password, a second apiece.)
    """
    raw = issue_token(world.session, world.dispatcher, utcnow()).raw
    world.session.commit()
    calls = iter(range(1, 1000))

    def write() -> int:
        body = {"external_id": f"app-{next(calls)}", "kind": "livelihood", "content": "小区路灯不亮，晚上出行不便。"}
        return client.post("/api/v1/petitions", json=body, headers={"Authorization": f"Bearer {raw}"}).status_code

    return write


@sqlite_only
def test_attack_6_token_requests_all_succeed_once_the_file_is_writable_again(client, world: World) -> None:
    engine = client.application.extensions["qingsu.engine"]
    write = _writer(client, world)
    assert write() == 201
    with read_only(_database_file(client)) as nothing_writes:
        # Requests go on while the file is read-only: the pool opens connections for them (reads work) …
        held = [engine.connect() for _ in range(5)]
        for connection in held:
            assert connection.execute(text("SELECT count(*) FROM user_account")).scalar() > 0
        for connection in held:
            connection.close()
        # … and every write is refused with a clear 503, and the health checks say so.
        during = [write() for _ in range(5)]
        health = client.get("/healthz")
        ready = client.get("/readyz")
    assert 503 in during and set(during) <= {201, 503}
    if nothing_writes:
        assert during == [503] * 5
        assert health.status_code == 503 and health.get_json()["database"] == "read_only"
        assert ready.status_code == 503
        assert ready.get_json()["database"] == "read_only"
        assert ready.get_json()["reason"].startswith("数据库只读，无法写入")
        assert "readonly" in ready.get_json()["detail"]

    assert [write() for _ in range(40)] == [201] * 40
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").get_json() == {"status": "ready", "database": "ok", "reason": "数据库正常"}


@sqlite_only
def test_attack_6_a_pooled_connection_that_fails_to_write_is_discarded(client, world: World) -> None:
    """Whatever made a connection refuse writes (here SQLite's own per-connection switch), the pool does not hand it
    out again after it failed (it answered every request on it with a 500 before)."""
    engine = client.application.extensions["qingsu.engine"]
    write = _writer(client, world)
    engine.dispose()
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA query_only = ON")
    assert engine.pool.checkedin() == 1
    # The first request meets it when recording its token's use; that write is given up (it is only bookkeeping),
    # the connection replaced, and the petition taken in on a new one.
    assert [write() for _ in range(3)] == [201] * 3
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA query_only").scalar() == 0


def test_readyz_is_ready_with_a_working_database(client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ready"


def test_readyz_says_the_schema_is_not_upgraded(tmp_path, classifier_model_path) -> None:
    config = make_test_config(tmp_path, classifier_model_path,
                              DATABASE={"url": PG_URL or f"sqlite:///{tmp_path}/empty.db"})
    app = create_app(config)
    engine = app.extensions["qingsu.engine"]
    if PG_URL:
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS health_probe"))
    try:
        response = app.test_client().get("/readyz")
    finally:
        if PG_URL:
            from models import HealthProbe

            HealthProbe.__table__.create(engine)
        engine.dispose()
    assert response.status_code == 503
    assert response.get_json()["database"] == "schema"
    assert "qingsu db upgrade" in response.get_json()["reason"]


def test_readyz_says_the_server_is_unreachable() -> None:
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SECURITY": {"data_key": "k"},
                      "DATABASE": {"url": "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1"}})
    body = app.test_client().get("/readyz")
    assert body.status_code == 503
    assert body.get_json()["database"] == "unreachable" and body.get_json()["reason"] == "无法连接数据库"


@pytest.mark.skipif(PG_URL is None, reason="a read-only PostgreSQL session")
def test_readyz_on_a_read_only_postgresql_server(tmp_path, classifier_model_path, app) -> None:
    """A standby, or a server set to read-only: it answers every query, and /healthz used to say it was ok."""
    url = PG_URL + "%20-cdefault_transaction_read_only%3Don"
    read_only_app = create_app(make_test_config(tmp_path, classifier_model_path, DATABASE={"url": url}))
    try:
        client = read_only_app.test_client()
        health, ready = client.get("/healthz"), client.get("/readyz")
    finally:
        read_only_app.extensions["qingsu.engine"].dispose()
    assert health.status_code == 503 and health.get_json()["database"] == "read_only"
    assert ready.status_code == 503 and "只读" in ready.get_json()["reason"]
