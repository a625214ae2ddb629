"""The database engine and sessions: SQLite in WAL with writers that queue, PostgreSQL, and how failures are told."""

from __future__ import annotations

import copy
import datetime as dt
import logging
import os
import re
import sqlite3
import time
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Dialect, Engine, Executable, Result, create_engine, event
from sqlalchemy.engine import Compiled
from sqlalchemy.engine.result import IteratorResult, SimpleResultMetaData
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

import models

log = logging.getLogger(__name__)


# How long a writer waits for the database's write lock (SQLite) or a row lock (PostgreSQL) before the request
# gives up with 503; `[database] busy_timeout_seconds` overrides it.
DEFAULT_BUSY_TIMEOUT = 30.0
# The first keyword of statements that only read, or that end or nest a transaction that has begun already.
_NOT_A_WRITE = frozenset(
    {"SELECT", "PRAGMA", "EXPLAIN", "VALUES", "BEGIN", "COMMIT", "END", "ROLLBACK", "RELEASE"}
)
# A pooled connection older than this is closed and replaced at its next checkout.
POOL_RECYCLE_SECONDS = 1800
# Where a pooled SQLite connection keeps its engine's busy timeout (for `lock_for_write`).
_BUSY_TIMEOUT = "qingsu.busy_timeout"
# Set on a pooled SQLite connection opened while its file could not be written.
_OPENED_READ_ONLY = "qingsu.opened_read_only"
_WRITES_IN_CTE = re.compile(r"\b(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


def _starts_a_write(statement: str) -> bool:
    keyword = statement.lstrip(" \n\t(").split(None, 1)[0].upper() if statement.strip() else ""
    if keyword == "WITH":
        return bool(_WRITES_IN_CTE.search(statement))
    return keyword not in _NOT_A_WRITE


def make_engine(url: str, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> Engine:
    """An engine for `url`; concurrent writers queue for up to `busy_timeout` seconds instead of failing.

    SQLite: WAL journal (readers never block the writer nor it them) with ``synchronous=NORMAL`` (durable at each
    checkpoint, never corrupt), foreign keys on, and transactions that never turn from reading into writing.
    pysqlite's own transaction handling is switched off: it begins a deferred transaction before the first DML but
    none before a SAVEPOINT, so `Session.begin_nested` (every workflow action) read inside a deferred transaction
    and then asked for the write lock mid-transaction — which SQLite refuses at once with "database is locked"
    while another connection writes, whatever the busy timeout (it cannot wait without risking a deadlock).
    Here the first statement that writes (DML, DDL or a SAVEPOINT) is preceded by ``BEGIN IMMEDIATE``: the
    transaction takes the write lock before anything else, waiting for it (`begin_immediate`), so writers queue.

    Reads before that first write run each in its own implicit transaction — like PostgreSQL's default READ
    COMMITTED, every statement sees what was committed when it started — and after it they see the transaction's
    own state. Chosen over a ``BEGIN IMMEDIATE`` for every transaction (or a second, deferred session for GET
    requests): a request's session lives until the request ends, so a page view would hold the one write lock (or a
    snapshot that can no longer be turned into a write) for as long as it renders; this way readers never wait nor
    make anyone wait, the lock is held only from the first write to the commit, and a GET that records something
    (an audit row, a token's last use) still just writes. A read that must happen under the write lock (a check
    then a write the check decides) calls `lock_for_write` first; petitions carry a version column, so a stale read
    of a petition ends in a conflict, never a lost update. Recipe: SQLAlchemy's pysqlite documentation,
    "Serializable isolation / Savepoints / Transactional DDL", with the BEGIN moved to the first write.

    A pooled SQLite connection that cannot work any more is replaced, as a lost connection is on a server
    database: one opened while the file was read-only (SQLite then opens it read-only for good; replaced at its
    next checkout once the file is writable again) and one whose statement failed with a read-only, I/O or
    cannot-open error (SQLAlchemy then discards it and every connection opened before; the request answers 503).
    Without this, connections opened during an outage kept failing with "attempt to write a readonly database"
    after it until the workers restarted.

    PostgreSQL: lock waits (row locks of concurrent updates) end after `busy_timeout` with a lock-timeout error,
    which the web layer answers with 503 like SQLite's "database is locked". Pooled connections are not pinged at
    checkout (a round trip on every request): a connection the server closed (a restart, an administrator's
    `pg_terminate_backend`) fails the statement that meets it, SQLAlchemy then discards it and every other
    connection of the pool opened before, and the request answers 503 (`classify_failure`: busy) or, in the
    webhook, handles the message again on a new connection. Connections are renewed after `POOL_RECYCLE_SECONDS`,
    before any idle timeout of the server or a firewall on the way closes them.
    """
    timeout_ms = int(busy_timeout * 1000)
    if url.startswith("sqlite"):
        in_memory = url in ("sqlite://", "sqlite:///:memory:")
        if url.startswith("sqlite:///") and not url.startswith("sqlite:////") and not in_memory:
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = _sqlite_engine(url, busy_timeout, in_memory)
        if not in_memory:
            # Another pool on an in-memory database would be another database.
            # No reset on return: `execute_alone` ends every transaction it begins.
            _make_alone_engine(
                engine,
                lambda **_options: _sqlite_engine(url, busy_timeout, in_memory, pool_reset_on_return=None),
            )
        return engine
    engine = _server_engine(url, timeout_ms)
    if engine.dialect.name == "postgresql":
        _make_alone_engine(engine, lambda **options: _server_engine(url, timeout_ms, **options))
    return engine


def _sqlite_engine(url: str, busy_timeout: float, in_memory: bool, **options: Any) -> Engine:
    timeout_ms = int(busy_timeout * 1000)
    engine = create_engine(url, connect_args={"timeout": busy_timeout, "check_same_thread": False}, **options)
    path = None if in_memory else engine.url.database

    @event.listens_for(engine, "connect")
    def _sqlite_connect(dbapi_connection, record):  # type: ignore[no-untyped-def]
        record.info[_BUSY_TIMEOUT] = busy_timeout
        # SQLite opens a file it may not write read-only, and the connection stays so for its whole life.
        record.info[_OPENED_READ_ONLY] = path is not None and not os.access(path, os.W_OK)
        # No implicit BEGIN from pysqlite: `_sqlite_begin_writes` emits it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={timeout_ms}")
        if not in_memory and cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            # Persistent in the file; the -wal and -shm files live next to it.
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "checkout")
    def _sqlite_checkout(_dbapi_connection, record, _proxy):  # type: ignore[no-untyped-def]
        if record.info.get(_OPENED_READ_ONLY) and os.access(path, os.W_OK):
            # The file is writable again: replace the connection that cannot write (the pool opens another).
            raise DisconnectionError("opened while the database file was read-only")

    @event.listens_for(engine, "handle_error")
    def _sqlite_discard_failed(context):  # type: ignore[no-untyped-def]
        if _connection_failed(context.original_exception):
            # Like a lost server connection: this connection and every other one opened before are replaced.
            context.is_disconnect = True

    @event.listens_for(engine, "before_cursor_execute")
    def _sqlite_begin_writes(conn, cursor, statement, _parameters, _context, _executemany):  # type: ignore[no-untyped-def]
        if not cursor.connection.in_transaction and _starts_a_write(statement):
            try:
                begin_immediate(cursor.connection, busy_timeout)
            except OperationalError as exc:
                # Raised before SQLAlchemy's own error handling (`handle_error` does not see it): replace
                # a connection that cannot write here.
                if _connection_failed(exc):
                    conn.invalidate(exc)
                    exc.connection_invalidated = True
                raise

    return engine


def _server_engine(url: str, timeout_ms: int, **options: Any) -> Engine:
    engine = create_engine(url, pool_recycle=POOL_RECYCLE_SECONDS, **options)
    if engine.dialect.name == "postgresql":

        @event.listens_for(engine, "connect")
        def _postgresql_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            autocommit = dbapi_connection.autocommit
            dbapi_connection.autocommit = False
            with dbapi_connection.cursor() as cursor:
                cursor.execute(f"SET lock_timeout = {timeout_ms}")
            dbapi_connection.commit()
            dbapi_connection.autocommit = autocommit

    return engine


# How long a writer waiting for SQLite's write lock sleeps between attempts: from the first value, doubling up to
# the second. SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20, 25 … ms, so a writer that finds the lock taken
# sleeps at least a millisecond even when the holder (a short transaction of a few INSERTs) is done a tenth of a
# millisecond later, and two busy workers spend much of their time asleep; polling finely costs a few microseconds
# an attempt.
_FIRST_WAIT, _LONGEST_WAIT = 0.00005, 0.001


def begin_immediate(dbapi_connection: sqlite3.Connection, busy_timeout: float) -> None:
    """``BEGIN IMMEDIATE`` on a pysqlite connection: take the write lock, waiting up to `busy_timeout` seconds.

    The wait polls the lock in short sleeps (see `_FIRST_WAIT`), with SQLite's busy handler off for these attempts;
    it stays on for every other statement (a reader that meets a checkpoint or a recovery waits as before).

    :raises sqlalchemy.exc.OperationalError: "database is locked" once `busy_timeout` has run out.
    """
    execute = dbapi_connection.execute
    execute("PRAGMA busy_timeout=0")
    try:
        deadline = None
        wait = _FIRST_WAIT
        while True:
            try:
                execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                now = time.monotonic()
                if deadline is None:
                    deadline = now + busy_timeout
                if not _is_busy(exc) or now >= deadline:
                    # Raised outside SQLAlchemy's own execution: wrap it as SQLAlchemy would.
                    raise OperationalError("BEGIN IMMEDIATE", None, exc) from exc
            time.sleep(wait)
            wait = min(wait * 2, _LONGEST_WAIT)
    finally:
        execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")


def _is_busy(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)


# --- statements that need no transaction ---------------------------------------------------------------------------

# Each PostgreSQL engine's own pool of connections in autocommit mode, and each SQLite file's second pool (pysqlite's
# connections are in autocommit mode already), for `execute_alone` and `write_alone` (made with the engine).
_ALONE_ENGINES: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


def _make_alone_engine(engine: Engine, make: Callable[..., Engine]) -> None:
    """Give `engine` a second engine whose pooled connections are in autocommit mode from the start (PostgreSQL; a
    SQLite file's connections all are, see `make_engine`).

    Sharing the engine's pool instead would switch each connection's isolation level at every checkout and back at
    every return: some 270 Python calls of SQLAlchemy's per statement, as many as the statement's execution. The
    second pool is disposed of with the engine, and when a statement on either meets a connection the server closed
    (a restart closes them all: a message must not meet a stale connection in each pool in turn).
    """
    # Nothing to reset when a connection is returned: in autocommit mode no transaction outlives its statement.
    alone = _ALONE_ENGINES[engine] = make(isolation_level="AUTOCOMMIT", pool_reset_on_return=None)

    @event.listens_for(engine, "engine_disposed")
    def _dispose_alone(_engine):  # type: ignore[no-untyped-def]
        alone.dispose()

    @event.listens_for(engine, "handle_error")
    def _lost_connection(context):  # type: ignore[no-untyped-def]
        if context.is_disconnect:
            alone.dispose()


@dataclass(frozen=True)
class _Compiled:
    """A statement compiled once for a dialect, as `execute_alone` sends it with the driver."""

    compiled: Compiled
    sql: str
    # Each bound parameter's conversion for the driver (JSON, enums), if its type has one.
    processors: tuple[tuple[str, Callable[[Any], Any]], ...]
    # Each result column's conversion from the driver's value (enums, time zones), by position; None if no column
    # has one.
    results: tuple[Callable[[Any], Any] | None, ...] | None
    # The result columns' names, as SQLAlchemy's result would key them; None when the statement returns no rows or
    # SQLAlchemy does not know its columns (then the driver's `description` says). Known beforehand, the names spare
    # psycopg building a description of each result (some 40 Python calls for ten columns).
    keys: tuple[str, ...] | None = None


# Per statement object and set of parameter names (an INSERT's columns): its compiled form, or None when it needs
# SQLAlchemy's own execution (Python-side column defaults, expanding parameters).
_COMPILED: weakref.WeakKeyDictionary[Executable, dict[tuple[str, ...], _Compiled | None]] = (
    weakref.WeakKeyDictionary()
)


_NAMED: weakref.WeakKeyDictionary[Dialect, Dialect] = weakref.WeakKeyDictionary()


def _named(dialect: Dialect) -> Dialect:
    """`dialect` compiling with named parameters."""
    named = _NAMED.get(dialect)
    if named is None:
        named = _NAMED[dialect] = copy.copy(dialect)
        named.paramstyle = "named"
        named.positional = False
    return named


def _compiled(statement: Executable, names: tuple[str, ...], dialect: Dialect) -> _Compiled | None:
    forms = _COMPILED.get(statement)
    if forms is None:
        forms = _COMPILED[statement] = {}
    if names in forms:
        return forms[names]
    if dialect.positional:
        # pysqlite's paramstyle is qmark; it takes named parameters (``:name``) too, which `construct_params` gives.
        dialect = _named(dialect)
    compiled = statement.compile(dialect=dialect, column_keys=list(names))  # type: ignore[attr-defined]
    plain = (
        not compiled.positional
        and not compiled.insert_prefetch
        and not compiled.update_prefetch
        and not compiled.post_compile_params
    )
    form = None
    if plain:
        processors = []
        for bind in compiled.binds.values():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                processors.append((compiled.bind_names[bind], processor))
        results = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in getattr(statement, "exported_columns", ())
        )
        keys = tuple(entry[0] for entry in getattr(compiled, "_result_columns", ()))
        form = _Compiled(
            compiled, str(compiled), tuple(processors), results if any(results) else None, keys or None
        )
    forms[names] = form
    return form


def execute_alone(session: Session, statement: Executable, parameters: Mapping[str, Any]) -> Result[Any]:
    """Run one statement that needs no transaction around it: a read, or a write that is atomic by itself.

    While `session` has not begun a transaction, it runs on a connection of the engine's second pool (no BEGIN and
    no COMMIT on PostgreSQL, in autocommit mode: two round trips of three; a write on SQLite takes the write lock as
    any other, `begin_immediate`, and commits), compiled once and sent with the driver (prepared on PostgreSQL):
    about 115 Python calls with the pool's checkout and return, where SQLAlchemy's execution took 280 on such a pool
    and 550 when it also switched a shared connection to autocommit and back (`benchmarks/webhook_profile.md`, third
    and fourth passes). Its errors are SQLAlchemy's as from any other execution (`IntegrityError`, a `DBAPIError`
    with `connection_invalidated` when the server closed the connection, whose pool is then renewed), and the
    engine's ``before_cursor_execute`` listeners see the statement (with no `Connection`: statement counters in
    tests and the profile). Otherwise (an in-memory SQLite database, or a session that has begun a transaction) on
    the session's connection, in its transaction. Its rows can be read after it returns.
    """
    bind = session.get_bind()
    alone = _ALONE_ENGINES.get(bind) if isinstance(bind, Engine) else None
    if alone is None or session.in_transaction():
        return session.connection().execute(statement, parameters)
    form = _compiled(statement, tuple(parameters), alone.dialect)
    if form is None:
        with alone.connect() as connection:
            result = connection.execute(statement, parameters)
            frozen = result.freeze() if result.returns_rows else None
            connection.commit()  # SQLite: a write began a transaction (on PostgreSQL, in autocommit, nothing)
            return frozen() if frozen is not None else result
    return _run_alone(bind, alone, [(form, parameters)])


def write_alone(session: Session, writes: Sequence[tuple[Executable, Mapping[str, Any]]]) -> Result[Any]:
    """Run `writes` (statements and their parameters, in order) in one transaction of their own, committed when
    this returns: `execute_alone` for several statements that must be kept together, for a session that has begun
    no transaction. Otherwise (or when a statement needs SQLAlchemy's own execution) they run on the session's
    connection, in its transaction, and the caller commits. Returns the last statement's result."""
    bind = session.get_bind()
    alone = _ALONE_ENGINES.get(bind) if isinstance(bind, Engine) else None
    forms = []
    if alone is not None and not session.in_transaction():
        for statement, parameters in writes:
            form = _compiled(statement, tuple(parameters), alone.dialect)
            if form is None:
                break
            forms.append((form, parameters))
    if alone is None or len(forms) < len(writes):
        connection = session.connection()
        for statement, parameters in writes:
            result = connection.execute(statement, parameters)
        return result
    return _run_alone(bind, alone, forms)


def _run_alone(bind: Engine, alone: Engine, forms: list[tuple[_Compiled, Mapping[str, Any]]]) -> Result[Any]:
    """Send `forms` with the driver on a connection of the `alone` pool, in one transaction if there are several
    (SQLite: one for a write as well, taking the write lock up front), and return the last one's result."""
    listeners = bind.dispatch.before_cursor_execute  # type: ignore[attr-defined]
    sqlite = alone.dialect.name == "sqlite"
    dbapi_error = alone.dialect.loaded_dbapi.Error
    pooled = alone.raw_connection()
    try:
        driver: Any = pooled.driver_connection
        cursor = driver.cursor()
        sql, values = "", {}
        try:
            if sqlite:
                if len(forms) > 1 or _starts_a_write(forms[0][0].sql):
                    begin_immediate(driver, pooled.info[_BUSY_TIMEOUT])
            elif len(forms) > 1:
                cursor.execute("BEGIN")
            for form, parameters in forms:
                sql = form.sql
                values = form.compiled.construct_params(parameters)
                for name, processor in form.processors:
                    values[name] = processor(values[name])
                if listeners:
                    listeners(None, cursor, sql, values, None, False)
                if sqlite:
                    cursor.execute(sql, values)
                else:
                    cursor.execute(sql, values, prepare=True)
            keys = forms[-1][0].keys
            if keys is not None:
                rows = cursor.fetchall()
            else:
                description = cursor.description
                if description is not None:
                    keys = tuple(column[0] for column in description)
                    rows = cursor.fetchall()
                else:
                    rows = None
            if sqlite:
                if driver.in_transaction:
                    driver.commit()
            elif len(forms) > 1:
                cursor.execute("COMMIT")
        except (dbapi_error, OperationalError) as exc:
            orig = exc.orig if isinstance(exc, OperationalError) else exc
            try:
                if sqlite:
                    driver.rollback()
                elif len(forms) > 1 and not driver.closed:
                    cursor.execute("ROLLBACK")
            except dbapi_error:
                pass
            lost = _connection_failed(orig) if sqlite else alone.dialect.is_disconnect(orig, driver, cursor)
            if lost:
                # As SQLAlchemy does for its own pool: this connection is closed, and so are the others, opened
                # before (both pools: `_make_alone_engine`).
                pooled.invalidate(orig)
                bind.dispose()
            if isinstance(exc, OperationalError):  # `begin_immediate`'s, wrapped already
                exc.connection_invalidated = lost
                raise
            raise DBAPIError.instance(sql, values, exc, dbapi_error, lost, alone.dialect) from exc
        finally:
            cursor.close()
    finally:
        pooled.close()
    if rows is None or keys is None:
        return IteratorResult(SimpleResultMetaData([]), iter(()))
    results = forms[-1][0].results
    if results is not None:
        rows = [
            tuple(
                value if convert is None else convert(value)
                for convert, value in zip(results, row, strict=True)
            )
            for row in rows
        ]
    return IteratorResult(SimpleResultMetaData(keys), iter(rows))


def lock_for_write(session: Session) -> None:
    """Make `session`'s transaction a writing one now, so what it reads next cannot change before it commits.

    SQLite: ``BEGIN IMMEDIATE`` unless the transaction has written already (waits for the write lock like any
    writer). PostgreSQL needs nothing here: use ``SELECT … FOR UPDATE`` (``with_for_update=True``) on the rows.
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    proxied = connection.connection
    dbapi_connection = proxied.dbapi_connection
    if dbapi_connection is not None and not dbapi_connection.in_transaction:
        begin_immediate(dbapi_connection, proxied.info[_BUSY_TIMEOUT])  # type: ignore[arg-type]


def init_app(app: Flask) -> None:
    """Create the engine and session factory (no connection is opened here)."""
    settings = app.config["DATABASE"]
    engine = make_engine(
        app.config["DATABASE_URL"], float(settings.get("busy_timeout_seconds", DEFAULT_BUSY_TIMEOUT))
    )
    app.extensions["qingsu.engine"] = engine
    app.extensions["qingsu.sessionmaker"] = sessionmaker(bind=engine, expire_on_commit=False)
    app.teardown_appcontext(_close_session)


def get_engine() -> Engine:
    return current_app.extensions["qingsu.engine"]


def get_session() -> Session:
    """The session of the current app context (one per request, CLI command or job)."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["qingsu.sessionmaker"]()
    return g.db_session


@contextmanager
def session_scope(app: Flask) -> Iterator[Session]:
    """A session outside any request (scheduler jobs, threads); commits on success, rolls back on error."""
    session: Session = app.extensions["qingsu.sessionmaker"]()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    # A session that holds nothing (no transaction, hence no connection, and no object: a webhook first contact,
    # whose statements ran alone) has nothing to close.
    if session is not None and (session.in_transaction() or session.identity_map or session.new):
        session.close()


# --- what a database failure means to the caller ----------------------------------------------------------------

CONFLICT = "conflict"
BUSY = "busy"
# SQLSTATEs (PostgreSQL appendix A). A lost race: serialization failure, deadlock, unique violation. A database
# that is there but cannot serve us now: lock or statement timeout, too many connections, too little memory
# (53000 insufficient resources), starting up; and class 08, connection exceptions.
_CONFLICT_SQLSTATES = frozenset({"40001", "40P01", "23505"})
_BUSY_SQLSTATES = frozenset({"55P03", "57014", "53300", "53000", "57P03"})
_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6
_SQLITE_UNIQUE = frozenset({1555, 2067})  # SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE


def classify_failure(exc: BaseException) -> str | None:
    """`CONFLICT` when `exc` means another transaction won a race (the user should reload and decide again),
    `BUSY` when the database could not serve us in time (worth retrying as it is), None for anything else (a bug).

    Conflicts: the optimistic lock (`StaleDataError`), a unique key taken by a concurrent insert (a double submit),
    PostgreSQL's serialization failures and deadlocks. Busy: SQLite's "database is locked" once the busy timeout
    ran out or a file it cannot write or read now (read-only, I/O error), PostgreSQL's lock or statement timeouts
    and connection limits, a lost or refused connection, and an exhausted connection pool.
    """
    if isinstance(exc, StaleDataError):
        return CONFLICT
    if isinstance(exc, PoolTimeoutError):
        return BUSY
    if isinstance(exc, sqlite3.Error):
        return _classify_dbapi(exc, isinstance(exc, sqlite3.OperationalError))
    if not isinstance(exc, DBAPIError):
        return None
    if exc.connection_invalidated:
        return BUSY
    return _classify_dbapi(exc.orig, isinstance(exc, OperationalError))


# SQLite result codes after which a connection is replaced: READONLY (its file was opened read-only, or moved),
# IOERR, CANTOPEN. Extended codes (SQLITE_READONLY_DBMOVED, …) share the low byte.
_SQLITE_CONNECTION_FAILURES = frozenset({8, 10, 14})


def _connection_failed(exc: BaseException | None) -> bool:
    if isinstance(exc, DBAPIError):  # raised by `begin_immediate`, already wrapped
        exc = exc.orig
    code = getattr(exc, "sqlite_errorcode", None) if isinstance(exc, sqlite3.Error) else None
    return code is not None and code & 0xFF in _SQLITE_CONNECTION_FAILURES


def _classify_dbapi(orig: BaseException, operational: bool) -> str | None:
    if isinstance(orig, sqlite3.Error):
        code = getattr(orig, "sqlite_errorcode", None)
        if code in _SQLITE_UNIQUE:
            return CONFLICT
        if code is not None and code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED, *_SQLITE_CONNECTION_FAILURES):
            # Locked, or a file that cannot be written or read now (the connection is replaced): retry later.
            return BUSY
        return None
    sqlstate = getattr(orig, "sqlstate", None) or ""
    if sqlstate in _CONFLICT_SQLSTATES:
        return CONFLICT
    if sqlstate in _BUSY_SQLSTATES or sqlstate.startswith("08"):
        return BUSY
    if operational and not sqlstate:
        # psycopg raises OperationalError without a SQLSTATE when the server cannot be reached at all.
        return BUSY
    return None


@dataclass(frozen=True)
class DatabaseStatus:
    """What `check_database` found: `problem` is a stable code (None when the database works), `reason` says
    it in Chinese for the operator, `detail` is the driver's own message."""

    problem: str | None
    reason: str = "数据库正常"
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.problem is None


# SQLSTATEs of a database that answers but refuses writes: read_only_sql_transaction (a standby, or
# default_transaction_read_only), disk_full, insufficient_resources.
_PG_PROBLEMS = {"25006": "read_only", "53100": "disk_full"}
_SQLITE_PROBLEMS = {8: "read_only", 13: "disk_full", 10: "io_error", 14: "unreachable", 11: "corrupt", 26: "corrupt"}
REASONS = {
    "read_only": "数据库只读，无法写入：请检查数据库文件及其目录的写权限、磁盘是否以只读方式挂载，或数据库是否为只读备库",
    "disk_full": "数据库所在磁盘已满，无法写入",
    "io_error": "数据库读写出错（磁盘 I/O 错误）",
    "corrupt": "数据库文件损坏或不是数据库文件",
    "unreachable": "无法连接数据库",
    "busy": "数据库繁忙：写入在等待时限内未能完成",
    "schema": "数据库结构不是当前版本：请运行 qingsu db upgrade",
    "error": "数据库检查失败",
}
_PROBE = "web"


def check_database(engine: Engine, now: dt.datetime) -> DatabaseStatus:
    """Whether the database accepts a write now: the probe row (`models.HealthProbe`) is written and committed on
    a connection of the pool (the one requests would get), so a read-only file, a full disk, a standby server or a
    lost connection shows here as it would to a request. Never raises."""
    from models import HealthProbe

    table = HealthProbe.__table__
    try:
        with engine.begin() as conn:
            updated = conn.execute(
                table.update().where(table.c.name == _PROBE).values(checked_at=now)
            ).rowcount
            if not updated:
                conn.execute(table.insert().values(name=_PROBE, checked_at=now))
    except Exception as exc:  # anything at all: the check answers, it does not fail
        problem = _problem_of(exc)
        log.warning("database check failed (%s): %s", problem, exc)
        return DatabaseStatus(problem, REASONS[problem], str(getattr(exc, "orig", None) or exc)[:300])
    return DatabaseStatus(None)


def _problem_of(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    if isinstance(orig, sqlite3.Error):
        message = str(orig)
        if "no such table" in message:
            return "schema"
        code = getattr(orig, "sqlite_errorcode", None)
        if code is not None and code & 0xFF in _SQLITE_PROBLEMS:
            return _SQLITE_PROBLEMS[code & 0xFF]
    sqlstate = getattr(orig, "sqlstate", None) or ""
    if sqlstate in _PG_PROBLEMS:
        return _PG_PROBLEMS[sqlstate]
    if sqlstate == "42P01":  # undefined_table
        return "schema"
    if classify_failure(exc) == BUSY:
        return "busy" if sqlstate in _BUSY_SQLSTATES or isinstance(orig, sqlite3.Error) else "unreachable"
    if isinstance(exc, OperationalError | PoolTimeoutError):
        return "unreachable"
    return "error"


__all__ = ["get_session", "init_app", "models", "session_scope"]
