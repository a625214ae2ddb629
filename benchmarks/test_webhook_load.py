"""The webhook's first intake turn under load, against a bare wechatpy + Flask echo bot for the same ten accounts.

Both are served by gunicorn with the same options (`SERVER_OPTIONS`: two workers of four threads) on loopback and
loaded by the same wrk script (16 connections), interleaved in one run: echo, app, echo, app (with a second
webhook compared, the two take turns after the echo bot). Every request is a valid signed, AES-encrypted text message from a
new citizen (a new openid), so the app creates a citizen, a conversation and a dedupe row with the stored reply
each time. Run on SQLite (a fresh file) and on PostgreSQL (the database `QINGSU_BENCH_WEBHOOK_PG`, default
`qingsu_hook` on the local server, emptied first, then vacuumed, analysed and checkpointed once the accounts are in,
so that the measured rounds start from the same state and no timed checkpoint falls in them). `QINGSU_BENCH_SECONDS` sets the length of each phase;
`QINGSU_BENCH_WEBHOOK_BEFORE` names another checkout whose webhook is loaded in the same rounds, for comparison.

Targets (issue 9): the app at 0.3× the echo bot or better on both databases, p99 under 100 ms, no errors.
"""

from __future__ import annotations

import os
import shutil
import statistics
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from benchmarks.webhook_load import (
    APP,
    ECHO,
    FIRST_MESSAGES,
    SERVER_OPTIONS,
    LoadResult,
    first_messages,
    gunicorn,
    post_one,
    prepare_database,
    run_wrk,
    write_config,
    write_requests,
)
from bot import texts
from models import Citizen, Conversation, InboundMessage

SECTION = "Webhook first intake turn vs a bare echo bot (issue 9)"
SECONDS = int(os.environ.get("QINGSU_BENCH_SECONDS", "10"))
WARM_UP_SECONDS = 5
# More requests than any phase can send, so that every one is a new citizen's (the wrk script reports a shortfall).
# The echo bot answers over 4,000 requests/s on a quiet machine; the webhooks far fewer.
MAX_RATE = {"echo": 10_000, "app": 4000, "before": 4000}
# Another checkout of the repository (e.g. `git worktree add /tmp/before <commit>`): its webhook is served and
# loaded too, in the same rounds, to show what a change did under the same load.
BEFORE = os.environ.get("QINGSU_BENCH_WEBHOOK_BEFORE")
PG_URL = os.environ.get("QINGSU_BENCH_WEBHOOK_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/qingsu_hook")
FIRST_REPLY = texts.CONTENT_NOTED + "\n" + texts.ASK_KIND


def _postgres_url() -> str:
    """The benchmark's own PostgreSQL database, created if missing and emptied; skips without a server."""
    url = make_url(PG_URL)
    server = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            if not conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}
            ):
                conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    except Exception as exc:
        pytest.skip(f"no PostgreSQL server for the webhook benchmark ({exc.__class__.__name__})")
    finally:
        server.dispose()
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url.render_as_string(hide_password=False)


def _settle(url: str) -> None:
    """Statistics for the planner and the visibility map for the new tables, and a checkpoint: the rounds then start
    alike (the server's autovacuum may be off or late, and a checkpoint in a round makes every page it writes next
    log a full image)."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("VACUUM ANALYZE"))
        conn.execute(text("CHECKPOINT"))
    engine.dispose()


def _app_rows(url: str) -> tuple[int, int, int, int]:
    """Citizens, conversations, handled messages, and handled messages whose reply is the first question, once the
    server has finished the requests wrk stopped waiting for (the counts no longer change)."""
    engine = create_engine(url)
    counts = (
        select(func.count()).select_from(Citizen).scalar_subquery(),
        select(func.count()).select_from(Conversation).scalar_subquery(),
        select(func.count())
        .select_from(InboundMessage)
        .where(InboundMessage.done.is_(True))
        .scalar_subquery(),
        select(func.count())
        .select_from(InboundMessage)
        .where(InboundMessage.reply == FIRST_REPLY)
        .scalar_subquery(),
    )
    previous: tuple[int, ...] = ()
    with engine.connect() as conn:
        for _ in range(60):
            current = tuple(conn.execute(select(*counts)).one())
            conn.rollback()
            if current == previous:
                break
            previous = current
            time.sleep(0.5)
    engine.dispose()
    return previous  # type: ignore[return-value]


def _describe(result: LoadResult) -> str:
    return f"{result.rate:,.0f} req/s, p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, {result.errors} errors"


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_first_intake_turn_against_the_echo_bot(
    database: str, record: Callable[..., None], tmp_path: Path
) -> None:
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (make bench installs it with apt-get)")
    url = f"sqlite:///{tmp_path}/bench.db" if database == "sqlite" else _postgres_url()
    config = write_config(tmp_path / "config.toml", url, tmp_path / "model.joblib")
    prepare_database(config)
    if database == "postgresql":
        _settle(url)
    results: dict[str, list[LoadResult]] = {"echo": [], "app": [], "before": []}
    # CPU seconds (user + system) of each server's master and workers over the measured phases.
    cpu = {"echo": 0.0, "app": 0.0, "before": 0.0}
    with ExitStack() as stack:
        echo = stack.enter_context(gunicorn(ECHO, config))
        app = stack.enter_context(gunicorn(APP, config))
        servers = {"echo": echo, "app": app}
        if BEFORE:
            servers["before"] = stack.enter_context(gunicorn(APP, config, cwd=Path(BEFORE)))
        # Each server answers one message correctly before it is loaded, and is warmed up for a few seconds.
        [(district, query, body)] = first_messages(1, run="check")
        assert post_one(echo.url, district, query, body) == FIRST_MESSAGES[0]
        assert post_one(app.url, district, query, body) == FIRST_REPLY
        for name, server in servers.items():
            warm_up = write_requests(
                tmp_path / f"warm-{name}.txt", MAX_RATE[name] * WARM_UP_SECONDS, f"w{name}"
            )
            run_wrk(server.url, warm_up, WARM_UP_SECONDS)
        before = _app_rows(url)
        for round_ in (1, 2):
            # The echo bot first in every round, so that a webhook never follows a webhook's phase within a round
            # (the database's background work after a phase of writes, autovacuum or a checkpoint, falls in the
            # echo bot's phase); the webhooks compared (`QINGSU_BENCH_WEBHOOK_BEFORE`) take turns going first, as
            # the one loaded right after the other finds the machine still busy with it.
            webhooks = [item for item in servers.items() if item[0] != "echo"]
            order = [("echo", echo), *(webhooks if round_ % 2 else reversed(webhooks))]
            for name, server in order:
                requests = write_requests(
                    tmp_path / f"{name}{round_}.txt", MAX_RATE[name] * SECONDS, f"{name}{round_}"
                )
                started = server.cpu_seconds()
                result = run_wrk(server.url, requests, SECONDS)
                cpu[name] += server.cpu_seconds() - started
                assert not result.exhausted, "the phase sent more requests than there were new citizens"
                results[name].append(result)
    after = _app_rows(url)
    handled = sum(r.requests for r in results["app"])
    # Both webhooks (this one, and the earlier one when compared) write to the same database.
    answered = handled + sum(r.requests for r in results["before"])
    citizens, conversations, done, first_replies = (b - a for a, b in zip(before, after, strict=True))
    echo_rate = statistics.mean(r.rate for r in results["echo"])
    app_rate = statistics.mean(r.rate for r in results["app"])
    ratio = app_rate / echo_rate
    app_p99 = max(r.p99_ms for r in results["app"])
    app_errors = sum(r.errors for r in results["app"])
    label = "SQLite" if database == "sqlite" else "PostgreSQL"
    for name in ("echo", "app"):
        for round_, result in enumerate(results[name], start=1):
            who = "echo bot" if name == "echo" else "webhook"
            record(SECTION, f"{label}: {who}, round {round_}", _describe(result))
    record(
        SECTION,
        f"{label}: webhook / echo bot",
        f"{ratio:.2f}× ({app_rate:,.0f} / {echo_rate:,.0f} req/s)",
        "≥ 0.3×",
    )
    record(
        SECTION,
        f"{label}: load",
        f"gunicorn {' '.join(SERVER_OPTIONS)} per server on loopback, wrk -t2 -c16, warm-up {WARM_UP_SECONDS} s, "
        f"then echo/webhook/echo/webhook "
        f"{SECONDS} s each; every request a new citizen's signed, AES-encrypted text over the ten accounts",
    )
    record(SECTION, f"{label}: webhook p99 (worst round)", f"{app_p99:.1f} ms", "< 100 ms")
    echo_cpu = cpu["echo"] / sum(r.requests for r in results["echo"]) * 1000
    app_cpu = cpu["app"] / handled * 1000
    record(
        SECTION, f"{label}: server CPU per answer, echo bot / webhook", f"{echo_cpu:.2f} / {app_cpu:.2f} ms"
    )
    record(SECTION, f"{label}: webhook errors", str(app_errors), "0")
    if BEFORE:
        for round_, result in enumerate(results["before"], start=1):
            record(SECTION, f"{label}: webhook of {BEFORE}, round {round_}", _describe(result))
        before_cpu = cpu["before"] / sum(r.requests for r in results["before"]) * 1000
        record(SECTION, f"{label}: server CPU per answer, webhook of {BEFORE}", f"{before_cpu:.2f} ms")
    record(
        SECTION,
        f"{label}: rows written by the measured webhook rounds",
        f"{citizens} citizens, {conversations} conversations, {done} handled messages ({first_replies} with the "
        f"first question) for {answered} answers counted by wrk",
        "one of each per answer",
    )
    # Every answered request made exactly one new citizen, conversation and stored reply (the server may finish
    # requests that wrk stopped waiting for at the end of a phase, hence ≥).
    assert citizens == conversations == done == first_replies >= answered
    assert app_errors == 0
