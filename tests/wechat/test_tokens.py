"""The shared access-token store: database (SQLite/PostgreSQL) and Redis, its lock, and the no-stampede renewal."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from sqlalchemy import text
from sqlalchemy.orm import Session

from qingsu.config import merge
from tests.factories import make_account
from wechat.tokens import (
    DatabaseTokenStore,
    RedisTokenStore,
    StoredToken,
    TokenLockTimeout,
    TokenStore,
    obtain_token,
    refresh_token,
    token_store_for,
)

REDIS_URL = "redis://127.0.0.1:6379/0"
T0 = dt.datetime(2026, 11, 27, 1, 0, tzinfo=dt.UTC)  # Friday 09:00 in Qingdao
APPID = "wxstore0000000000001"


def _redis_or_skip() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5)
    try:
        client.ping()
    except redis.ConnectionError:
        client.close()
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    return client


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = _redis_or_skip()
    yield client
    client.close()


@pytest.fixture
def redis_prefix(redis_client: redis.Redis) -> Iterator[str]:
    """A key prefix of this test's own, removed afterwards."""
    prefix = f"qingsu-test:{uuid.uuid4().hex}"
    yield prefix
    keys = list(redis_client.scan_iter(f"{prefix}:*"))
    if keys:
        redis_client.delete(*keys)


def make_store(kind: str, app: Flask, request: pytest.FixtureRequest, lock_wait: float = 5.0) -> TokenStore:
    """A fresh store of `kind`; two calls give two independent stores over the same storage."""
    if kind == "database":
        return DatabaseTokenStore(app.extensions["qingsu.engine"], lock_wait=lock_wait)
    client: redis.Redis = request.getfixturevalue("redis_client")
    prefix: str = request.getfixturevalue("redis_prefix")
    return RedisTokenStore(client, prefix=prefix, lock_wait=lock_wait)


KINDS = ["database", "redis"]


@pytest.mark.parametrize("kind", KINDS)
def test_get_and_set(kind: str, app: Flask, request: pytest.FixtureRequest) -> None:
    store = make_store(kind, app, request)
    assert store.get(APPID) is None
    store.set(APPID, "token-1", T0)
    assert store.get(APPID) == StoredToken("token-1", T0)
    later = T0 + dt.timedelta(hours=2)
    store.set(APPID, "token-2", later)
    token, expires_at = store.get(APPID) or ("", T0)
    assert (token, expires_at, expires_at.tzinfo) == ("token-2", later, dt.UTC)
    assert store.get("wxanother") is None


def test_tokens_are_encrypted_at_rest(app: Flask, request: pytest.FixtureRequest) -> None:
    """Issue 12, attack 4: the access_token table held WeChat tokens in plain text."""
    store = make_store("database", app, request)
    store.set(APPID, "token-in-the-clear", T0)
    with app.extensions["qingsu.engine"].connect() as conn:
        stored = conn.execute(text("SELECT token FROM access_token WHERE appid = :appid"), {"appid": APPID}).scalar()
    assert stored and "token-in-the-clear" not in stored
    assert store.get(APPID) == StoredToken("token-in-the-clear", T0)


@pytest.mark.parametrize("kind", KINDS)
def test_lock_excludes_a_second_store_and_times_out(
    kind: str, app: Flask, request: pytest.FixtureRequest
) -> None:
    # Two stores share nothing in memory, like two processes: only the database or Redis lock stands between them.
    first = make_store(kind, app, request)
    second = make_store(kind, app, request, lock_wait=0.2)
    with first.lock(APPID):
        started = time.monotonic()
        with pytest.raises(TokenLockTimeout), second.lock(APPID):
            pass
        assert time.monotonic() - started >= 0.1
    with second.lock(APPID):
        pass


@pytest.mark.parametrize("kind", KINDS)
def test_a_waiting_store_gets_the_lock_when_it_is_released(
    kind: str, app: Flask, request: pytest.FixtureRequest
) -> None:
    first = make_store(kind, app, request)
    second = make_store(kind, app, request)
    order: list[str] = []
    holding = threading.Event()

    def hold() -> None:
        with first.lock(APPID):
            holding.set()
            time.sleep(0.2)
            order.append("first releases")

    thread = threading.Thread(target=hold)
    thread.start()
    holding.wait(5)
    with second.lock(APPID):
        order.append("second holds")
    thread.join()
    assert order == ["first releases", "second holds"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_token_set_under_the_lock_is_seen_only_once_it_is_released(
    kind: str, app: Flask, request: pytest.FixtureRequest
) -> None:
    writer = make_store(kind, app, request)
    reader = make_store(kind, app, request)
    with writer.lock(APPID):
        assert writer.get(APPID) is None  # PostgreSQL's placeholder row is not a token
        writer.set(APPID, "fresh", T0)
        assert writer.get(APPID) == StoredToken("fresh", T0)
        if kind == "database":
            assert reader.get(APPID) is None  # not committed yet
    assert reader.get(APPID) == StoredToken("fresh", T0)


def test_database_lock_rolls_back_when_the_renewal_fails(app: Flask) -> None:
    store = DatabaseTokenStore(app.extensions["qingsu.engine"])
    with pytest.raises(RuntimeError, match="boom"), store.lock(APPID):
        store.set(APPID, "half-done", T0)
        raise RuntimeError("boom")
    assert store.get(APPID) is None
    with store.lock(APPID):  # and the lock is free again
        pass


def test_redis_lock_of_a_crashed_holder_lapses(redis_client: redis.Redis, redis_prefix: str) -> None:
    store = RedisTokenStore(redis_client, prefix=redis_prefix, lock_ttl=0.3, lock_wait=2.0)
    # A holder that died without releasing: the lock key with its expiry, nobody to delete it.
    assert redis_client.lock(f"{redis_prefix}:token-lock:{APPID}", timeout=0.3).acquire(blocking=False)
    started = time.monotonic()
    with store.lock(APPID):
        waited = time.monotonic() - started
    assert 0.1 < waited < 2.0


# ------------------------------------------------------------------------------------------------ obtain_token


class CountingFetch:
    """Stands in for WeChat's stable_token: numbered tokens, a little latency, and a count of calls."""

    def __init__(self, expires_in: int = 7200, latency: float = 0.0) -> None:
        self.calls: list[bool] = []
        self.expires_in = expires_in
        self.latency = latency
        self._lock = threading.Lock()

    def __call__(self, force_refresh: bool) -> tuple[str, int]:
        time.sleep(self.latency)
        with self._lock:
            self.calls.append(force_refresh)
            return f"token-{len(self.calls)}", self.expires_in


@pytest.mark.parametrize("kind", KINDS)
def test_obtain_token_reuses_a_valid_token_and_renews_an_old_one(
    kind: str, app: Flask, request: pytest.FixtureRequest
) -> None:
    store = make_store(kind, app, request)
    fetch = CountingFetch()
    minute = dt.timedelta(minutes=1)
    assert obtain_token(store, APPID, fetch, min_valid=minute, now=lambda: T0) == "token-1"
    assert (
        obtain_token(store, APPID, fetch, min_valid=minute, now=lambda: T0 + dt.timedelta(hours=1))
        == "token-1"
    )
    near_end = T0 + dt.timedelta(seconds=7200 - 30)
    assert obtain_token(store, APPID, fetch, min_valid=minute, now=lambda: near_end) == "token-2"
    assert fetch.calls == [False, False]
    assert store.get(APPID) == StoredToken("token-2", near_end + dt.timedelta(seconds=7200))


def test_obtain_token_replaces_a_rejected_token_and_forces_if_wechat_repeats_it(app: Flask) -> None:
    store = DatabaseTokenStore(app.extensions["qingsu.engine"])
    store.set(APPID, "stale", T0 + dt.timedelta(hours=1))
    answers = iter([("stale", 3000), ("renewed", 7200)])
    asked: list[bool] = []

    def fetch(force_refresh: bool) -> tuple[str, int]:
        asked.append(force_refresh)
        return next(answers)

    token = obtain_token(
        store, APPID, fetch, min_valid=dt.timedelta(minutes=1), now=lambda: T0, rejected="stale"
    )
    assert (token, asked) == ("renewed", [False, True])


def test_obtain_token_uses_a_token_another_worker_renewed_meanwhile(app: Flask) -> None:
    store = DatabaseTokenStore(app.extensions["qingsu.engine"])
    store.set(APPID, "someone-elses-new-token", T0 + dt.timedelta(hours=2))
    fetch = CountingFetch()
    token = obtain_token(
        store, APPID, fetch, min_valid=dt.timedelta(minutes=1), now=lambda: T0, rejected="stale"
    )
    assert (token, fetch.calls) == ("someone-elses-new-token", [])


@pytest.mark.parametrize("kind", KINDS)
def test_concurrent_workers_fetch_once(kind: str, app: Flask, request: pytest.FixtureRequest) -> None:
    # Eight workers with stores of their own (as eight processes would have) find no token at the same moment.
    stores = [make_store(kind, app, request) for _ in range(8)]
    fetch = CountingFetch(latency=0.1)
    tokens: list[str] = []
    start = threading.Barrier(len(stores))

    def worker(store: TokenStore) -> None:
        start.wait()
        tokens.append(obtain_token(store, APPID, fetch, min_valid=dt.timedelta(minutes=1)))

    threads = [threading.Thread(target=worker, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert fetch.calls == [False]
    assert tokens == ["token-1"] * 8


# ------------------------------------------------------------------------------------------- app integration


def test_token_store_for_picks_the_database_by_default(app: Flask) -> None:
    store = token_store_for(app)
    assert isinstance(store, DatabaseTokenStore)
    assert token_store_for(app) is store


@pytest.fixture
def redis_app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return merge(app_config, {"WECHAT": {"token_store_redis_url": REDIS_URL}})


def test_token_store_for_picks_redis_when_configured(redis_app_config: dict[str, Any]) -> None:
    from qingsu import create_app

    app = create_app(redis_app_config)
    store = token_store_for(app)
    assert isinstance(store, RedisTokenStore)
    store.client.close()
    app.extensions["qingsu.engine"].dispose()


@pytest.fixture
def fake_app(app: Flask, fake_wechat: Any) -> Flask:
    app.config["WECHAT"]["api_base_url"] = fake_wechat.base_url
    return app


def test_refresh_token_renews_ten_minutes_ahead_and_on_demand(
    fake_app: Flask, db_session: Session, fake_wechat: Any
) -> None:
    account = make_account(db_session)
    db_session.commit()
    fake = fake_wechat.fake
    fake.register_account(account.appid, account.secret)
    calls = lambda: len(fake.api_calls("/cgi-bin/stable_token"))  # noqa: E731

    first = refresh_token(account, fake_app, now=T0)
    assert calls() == 1
    assert refresh_token(account, fake_app, now=T0 + dt.timedelta(minutes=100)) == first
    assert calls() == 1
    # Nine minutes before the stored expiry: ask WeChat again (it may hand out the same token until 5 minutes remain).
    refresh_token(account, fake_app, now=T0 + dt.timedelta(minutes=111))
    assert calls() == 2

    forced = refresh_token(account, fake_app, force=True)
    assert forced != first
    assert calls() == 3
    assert token_store_for(fake_app).get(account.appid).token == forced  # type: ignore[union-attr]
    with pytest.raises(Exception, match="40001"):
        fake.authenticate(first)


# ------------------------------------------------------------------------------------------- separate processes

WORKER = """
import pathlib, sys, time
from wechat.tokens import DatabaseTokenStore
from wechat.api import QingsuWechatClient
from models import crypto
from models.db import make_engine

database_url, base_url, appid, secret, folder, number, data_key = sys.argv[1:]
crypto.configure(data_key)  # the stored tokens are encrypted with the application's data key
folder = pathlib.Path(folder)
(folder / f"ready-{number}").touch()
while not (folder / "go").exists():
    time.sleep(0.005)
store = DatabaseTokenStore(make_engine(database_url))
with QingsuWechatClient(appid, secret, store=store, api_base_url=base_url) as client:
    client.get_callback_ip()
    print(client.access_token)
"""


def test_worker_processes_renew_the_token_once(app: Flask, fake_wechat: Any, tmp_path: Path) -> None:
    # Real processes share nothing but the database: its lock alone keeps them from all asking WeChat.
    # (Redis's lock is redis-py's SET NX lock, exercised across independent stores above.)
    fake = fake_wechat.fake
    fake.register_account(APPID, "secret")
    # WeChat answers the token request slowly, so every worker arrives while the first is still renewing.
    fake.fail_next("/cgi-bin/stable_token", delay=0.3)
    worker_arguments = [app.config["DATABASE_URL"], fake_wechat.base_url, APPID, "secret", str(tmp_path)]
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, *worker_arguments, str(n), app.config["SECURITY"]["data_key"]],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(3)
    ]
    give_up = time.monotonic() + 60
    while len(list(tmp_path.glob("ready-*"))) < len(workers) and time.monotonic() < give_up:
        time.sleep(0.01)
    (tmp_path / "go").touch()
    outputs = [worker.communicate(timeout=60) for worker in workers]
    assert [worker.returncode for worker in workers] == [0] * len(workers), outputs
    assert len({out.strip() for out, _ in outputs}) == 1
    assert len(fake.api_calls("/cgi-bin/stable_token")) == 1
    assert len(fake.api_calls("/cgi-bin/getcallbackip")) == len(workers)
