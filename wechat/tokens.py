"""Access tokens shared by every process, and the one way to renew them without stampeding WeChat.

A WeChat access token is per account and every process (web workers, the scheduler) must use the same one: each
refresh may invalidate the previous token elsewhere, and the token endpoint is rate-limited. So the token lives in a
shared store — the database (`DatabaseTokenStore`) or Redis (`RedisTokenStore`) — and whoever renews it first takes
the store's per-account lock, then re-reads: the others wait on the lock and find the fresh token instead of asking
WeChat again (`obtain_token`). The scheduler renews every account ahead of expiry (`refresh_token`), so web workers
normally only read.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Protocol

import redis
from flask import Flask
from redis.exceptions import LockError
from sqlalchemy import Engine, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError

from models import AccessToken, utcnow

if TYPE_CHECKING:
    from models import WechatAccount

# The scheduler renews a token this long before it runs out, so callers never meet an expired one.
REFRESH_AHEAD = dt.timedelta(minutes=10)
# How long a caller waits for another process that is renewing the same account's token.
LOCK_WAIT_SECONDS = 30.0
# Redis: a crashed holder's lock lapses after this (a renewal is one HTTP call with a 5-second timeout).
REDIS_LOCK_TTL_SECONDS = 30.0
# How often a renewal waiting for another process's file lock (SQLite) looks again.
FILE_LOCK_POLL_SECONDS = 0.01

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class StoredToken(NamedTuple):
    """An access token and the instant it stops working."""

    token: str
    expires_at: dt.datetime


class TokenLockTimeout(RuntimeError):
    """Another process held an account's token lock for longer than we were prepared to wait."""


class TokenStore(Protocol):
    """Where access tokens live, shared by every process."""

    def get(self, appid: str) -> StoredToken | None:
        """The stored token of `appid`, expired or not; None if there is none."""

    def set(self, appid: str, token: str, expires_at: dt.datetime) -> None:
        """Store `appid`'s new token."""

    def lock(self, appid: str) -> AbstractContextManager[None]:
        """Hold `appid`'s renewal lock: one holder at a time across all processes; `get`/`set` work inside it.

        :raises TokenLockTimeout: when the lock is not obtained within the store's wait.
        """


# ------------------------------------------------------------------------------------------------ the database


class DatabaseTokenStore:
    """Tokens in the ``access_token`` table, renewed under a lock that holds no database transaction.

    A renewal is an HTTP call to WeChat, and no transaction may stay open across a network call: on SQLite it would
    hold the one write lock and stop every other writer (the webhook, the dispatchers) for as long as WeChat takes.
    So the lock lives outside the transactions:

    - PostgreSQL: a session-level advisory lock (``pg_advisory_lock``) on a connection in autocommit mode. It blocks
      only other renewals of the same account and is released with the connection, also when the process dies.
    - SQLite (one host by nature): an exclusive ``flock`` on a file beside the database, one per account, released
      by the kernel when the process dies. An in-memory database has no other process: the thread lock suffices.

    Threads of one process queue on an in-process lock first. Inside `lock`, `set` keeps the new token aside and
    `get` returns it; the token is written in one short transaction when the block ends without error, before the
    lock is released, so the next holder finds it and a failed renewal leaves nothing behind.
    """

    def __init__(self, engine: Engine, lock_wait: float = LOCK_WAIT_SECONDS) -> None:
        self.engine = engine
        self.lock_wait = lock_wait
        self._table = AccessToken.__table__
        self._process_locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._held = threading.local()

    def _pending(self) -> dict[str, StoredToken | None]:
        if not hasattr(self._held, "pending"):
            self._held.pending = {}
        return self._held.pending

    def get(self, appid: str) -> StoredToken | None:
        pending = self._pending()
        if pending.get(appid) is not None:
            return pending[appid]
        query = select(self._table.c.token, self._table.c.expires_at).where(self._table.c.appid == appid)
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        if row is None or not row.token:
            return None
        return StoredToken(row.token, row.expires_at)

    def set(self, appid: str, token: str, expires_at: dt.datetime) -> None:
        pending = self._pending()
        if appid in pending:
            pending[appid] = StoredToken(token, expires_at)
            return
        self._write(appid, token, expires_at)

    def _write(self, appid: str, token: str, expires_at: dt.datetime) -> None:
        values = {"appid": appid, "token": token, "expires_at": expires_at, "refreshed_at": utcnow()}
        with self.engine.begin() as connection:
            dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
            statement = dialect.insert(self._table).values(values)
            connection.execute(
                statement.on_conflict_do_update(
                    index_elements=["appid"],
                    set_={"token": token, "expires_at": expires_at, "refreshed_at": values["refreshed_at"]},
                )
            )

    def _process_lock(self, appid: str) -> threading.Lock:
        with self._guard:
            return self._process_locks.setdefault(appid, threading.Lock())

    @contextmanager
    def lock(self, appid: str) -> Iterator[None]:
        deadline = time.monotonic() + self.lock_wait
        process_lock = self._process_lock(appid)
        if not process_lock.acquire(timeout=self.lock_wait):
            raise TokenLockTimeout(
                f"token lock of {appid} still held by another thread after {self.lock_wait}s"
            )
        try:
            with self._shared_lock(appid, deadline):
                pending = self._pending()
                pending[appid] = None
                try:
                    yield
                    stored = pending[appid]
                    if stored is not None:
                        self._write(appid, stored.token, stored.expires_at)
                finally:
                    del pending[appid]
        finally:
            process_lock.release()

    def _shared_lock(self, appid: str, deadline: float) -> AbstractContextManager[None]:
        if self.engine.dialect.name == "postgresql":
            return self._advisory_lock(appid, deadline)
        database = self.engine.url.database
        if not database or database == ":memory:":
            return nullcontext()
        return _file_lock(Path(f"{database}-token-{_safe(appid)}.lock"), deadline, appid)

    @contextmanager
    def _advisory_lock(self, appid: str, deadline: float) -> Iterator[None]:
        key = int.from_bytes(
            hashlib.sha256(f"qingsu.access_token:{appid}".encode()).digest()[:8], signed=True
        )
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            wait_ms = max(int((deadline - time.monotonic()) * 1000), 1)
            usual = connection.exec_driver_sql("SHOW lock_timeout").scalar()
            connection.execute(select(func.set_config("lock_timeout", f"{wait_ms}ms", False)))
            try:
                connection.execute(select(func.pg_advisory_lock(key)))
            except OperationalError as exc:
                raise TokenLockTimeout(f"token lock of {appid} not obtained: {exc.orig}") from exc
            finally:
                connection.execute(select(func.set_config("lock_timeout", str(usual), False)))
            try:
                yield
            finally:
                try:
                    connection.execute(select(func.pg_advisory_unlock(key)))
                except Exception:
                    # A connection that may still hold the lock must not go back to the pool.
                    connection.invalidate()
                    raise


def _safe(appid: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in appid)


@contextmanager
def _file_lock(path: Path, deadline: float, appid: str) -> Iterator[None]:
    """An exclusive `flock` on `path`, waiting until `deadline` (time.monotonic)."""
    with open(path, "a+b") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise TokenLockTimeout(f"token lock of {appid} still held by another process") from None
                time.sleep(FILE_LOCK_POLL_SECONDS)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# ------------------------------------------------------------------------------------------------------- Redis


class RedisTokenStore:
    """Tokens in Redis, one JSON value per account; the lock is redis-py's ``SET NX PX`` lock with an expiry."""

    def __init__(
        self,
        client: redis.Redis,
        prefix: str = "qingsu:wechat",
        lock_ttl: float = REDIS_LOCK_TTL_SECONDS,
        lock_wait: float = LOCK_WAIT_SECONDS,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.lock_ttl = lock_ttl
        self.lock_wait = lock_wait

    @classmethod
    def from_url(cls, url: str, prefix: str = "qingsu:wechat") -> RedisTokenStore:
        """A store on the Redis server at `url` (``redis://host:port/db``)."""
        return cls(redis.Redis.from_url(url), prefix=prefix)

    def _key(self, appid: str) -> str:
        return f"{self.prefix}:token:{appid}"

    def get(self, appid: str) -> StoredToken | None:
        raw = self.client.get(self._key(appid))
        if raw is None:
            return None
        value = json.loads(raw)
        return StoredToken(value["token"], dt.datetime.fromisoformat(value["expires_at"]))

    def set(self, appid: str, token: str, expires_at: dt.datetime) -> None:
        value = {"token": token, "expires_at": expires_at.astimezone(dt.UTC).isoformat()}
        self.client.set(self._key(appid), json.dumps(value))

    @contextmanager
    def lock(self, appid: str) -> Iterator[None]:
        lock = self.client.lock(
            f"{self.prefix}:token-lock:{appid}",
            timeout=self.lock_ttl,
            blocking_timeout=self.lock_wait,
            sleep=0.02,
        )
        if not lock.acquire():
            raise TokenLockTimeout(f"token lock of {appid} still held elsewhere after {self.lock_wait}s")
        try:
            yield
        finally:
            # If our lock lapsed (the renewal outlived lock_ttl) someone else may hold it now: leave theirs alone.
            with suppress(LockError):
                lock.release()


# ------------------------------------------------------------------------------------------------ using a store


def token_store_for(app: Flask) -> TokenStore:
    """The application's token store: Redis when ``[wechat] token_store_redis_url`` is set, else the database.

    One store per application, so every client of a process shares its locks and connections.
    """
    store: TokenStore | None = app.extensions.get("qingsu.token_store")
    if store is None:
        url = app.config["WECHAT"].get("token_store_redis_url")
        store = RedisTokenStore.from_url(url) if url else DatabaseTokenStore(app.extensions["qingsu.engine"])
        app.extensions["qingsu.token_store"] = store
    return store


Fetch = Callable[[bool], tuple[str, int]]


def obtain_token(
    store: TokenStore,
    appid: str,
    fetch: Fetch,
    *,
    min_valid: dt.timedelta,
    now: Callable[[], dt.datetime] = utcnow,
    force: bool = False,
    rejected: str | None = None,
) -> str:
    """`appid`'s token, valid for at least `min_valid`; renewed through `fetch` under the store's lock if not.

    `fetch(force_refresh)` asks WeChat and returns ``(token, expires_in_seconds)``. `force` renews even a valid
    token (with ``force_refresh``, which invalidates the old one at WeChat). `rejected` is a token WeChat has just
    refused (40001/42001): it is not reused, and if WeChat hands the same one out again a forced refresh follows.

    :raises TokenLockTimeout: when another process holds the lock too long.
    """

    def usable(stored: StoredToken | None) -> str | None:
        if stored is not None and stored.token != rejected and stored.expires_at - now() > min_valid:
            return stored.token
        return None

    if not force and (token := usable(store.get(appid))):
        return token
    with store.lock(appid):
        # Whoever held the lock before us has probably renewed the token already.
        if not force and (token := usable(store.get(appid))):
            return token
        token, expires_in = fetch(force)
        if rejected is not None and token == rejected:
            token, expires_in = fetch(True)
        store.set(appid, token, now() + dt.timedelta(seconds=expires_in))
        return token


def refresh_token(
    account: WechatAccount, app: Flask, force: bool = False, now: dt.datetime | None = None
) -> str:
    """Renew `account`'s token if it runs out within ten minutes (always, with `force`); the scheduler's job.

    :raises TokenLockTimeout: when another process holds the lock too long.
    :raises wechat.api.WechatApiError: when WeChat refuses (wrong secret, IP not whitelisted, …) or is down.
    """
    # Imported here: the client module itself depends on this one.
    from wechat.api import client_for

    with client_for(account, app) as client:
        return obtain_token(
            token_store_for(app),
            account.appid,
            client.fetch_token,
            min_valid=REFRESH_AHEAD,
            now=(lambda: now) if now is not None else utcnow,
            force=force,
        )
