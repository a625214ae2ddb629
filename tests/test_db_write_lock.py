"""SQLite writers wait for the write lock by polling it (`models.db.begin_immediate`), not in SQLite's busy handler,
and give up with "database is locked" once the busy timeout has run out."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from models.db import begin_immediate, classify_failure, lock_for_write, make_engine


def _connect(path: Path, busy_timeout_ms: int) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
    connection.execute("PRAGMA journal_mode=WAL")
    return connection


def _busy_timeout(connection: sqlite3.Connection) -> int:
    return int(connection.execute("PRAGMA busy_timeout").fetchone()[0])


def test_a_writer_waits_for_the_lock_and_takes_it_when_the_holder_commits(tmp_path: Path) -> None:
    holder, waiter = _connect(tmp_path / "db", 5000), _connect(tmp_path / "db", 5000)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO t VALUES (1)")
    started, done = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            started.set()
            begin_immediate(waiter, 5.0)
            waiter.execute("INSERT INTO t VALUES (2)")
            waiter.execute("COMMIT")
        except BaseException as exc:
            errors.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=write)
    thread.start()
    assert started.wait(5)
    # Still waiting while the lock is held (the holder has not committed, so the waiter cannot have written).
    assert not done.wait(0.2)
    holder.execute("COMMIT")
    assert done.wait(5)
    thread.join(5)
    assert errors == []
    assert [row[0] for row in holder.execute("SELECT x FROM t ORDER BY x")] == [1, 2]
    # The busy handler is on again for the waiter's other statements.
    assert _busy_timeout(waiter) == 5000


def test_a_writer_gives_up_with_database_is_locked_when_the_timeout_runs_out(tmp_path: Path) -> None:
    holder, waiter = _connect(tmp_path / "db", 3000), _connect(tmp_path / "db", 3000)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    with pytest.raises(OperationalError, match="database is locked") as raised:
        begin_immediate(waiter, 0.2)
    assert classify_failure(raised.value) == "busy"
    assert not waiter.in_transaction
    assert _busy_timeout(waiter) == 200
    holder.execute("COMMIT")
    begin_immediate(waiter, 0.2)
    assert waiter.in_transaction
    waiter.execute("ROLLBACK")


def test_the_engine_begins_writes_and_lock_for_write_with_the_polling_wait(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/db", busy_timeout=0.2)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x)"))
    holder = _connect(tmp_path / "db", 0)
    holder.execute("BEGIN IMMEDIATE")
    with engine.connect() as conn, pytest.raises(OperationalError, match="database is locked"):
        conn.execute(text("INSERT INTO t VALUES (1)"))
    with Session(engine) as session, pytest.raises(OperationalError, match="database is locked"):
        lock_for_write(session)
    holder.execute("ROLLBACK")
    with Session(engine) as session:
        lock_for_write(session)
        session.execute(text("INSERT INTO t VALUES (1)"))
        session.commit()
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM t")) == 1
    engine.dispose()
