"""One active scheduler at a time: the lease, the hot standby's takeover, the job store, the embedded scheduler,
and a scheduler process killed (SIGKILL) in the middle of a delivery."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from models import SchedulerLease, utcnow
from models.enums import NotificationState
from qingsu import create_app
from qingsu.config import merge
from tests.workflow.notify_support import (  # noqa: F401  (fixtures)
    TEMPLATE_SEND,
    FakeServer,
    Stage,
    app_config_fixture,
    stage_fixture,
    wechat_fixture,
)
from workflow import scheduler
from workflow.scheduler import JOBS, LEASE_NAME, SchedulerRunner, acquire_lease, holds_lease, release_lease

SECOND = dt.timedelta(seconds=1)
TTL = 30 * SECOND
ROOT = Path(__file__).resolve().parents[2]


def wait_for(condition: Callable[[], Any], timeout: float = 20.0, every: float = 0.05) -> Any:
    """Poll `condition` until it returns something true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"condition not met within {timeout}s")


@pytest.fixture
def runners(app: Flask) -> Iterator[list[SchedulerRunner]]:
    """Runners made by a test, shut down (jobs stopped, lease released) at its end."""
    made: list[SchedulerRunner] = []
    yield made
    for runner in made:
        runner.shutdown()


# --- the lease --------------------------------------------------------------------------------------------------


def test_one_holder_at_a_time_and_a_standby_takes_over_a_lapsed_lease(db_session):
    t0 = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)
    s = db_session
    assert acquire_lease(s, LEASE_NAME, "a", t0, TTL)
    assert not acquire_lease(s, LEASE_NAME, "b", t0 + 5 * SECOND, TTL)
    assert acquire_lease(s, LEASE_NAME, "a", t0 + 10 * SECOND, TTL)  # renewed until t0 + 40 s
    assert not acquire_lease(s, LEASE_NAME, "b", t0 + 39 * SECOND, TTL)
    assert holds_lease(s, LEASE_NAME, "a", t0 + 39 * SECOND)
    assert not holds_lease(s, LEASE_NAME, "a", t0 + 40 * SECOND)
    assert acquire_lease(s, LEASE_NAME, "b", t0 + 40 * SECOND, TTL)  # a stopped renewing: b takes over
    assert not acquire_lease(s, LEASE_NAME, "a", t0 + 41 * SECOND, TTL)
    release_lease(s, LEASE_NAME, "b", t0 + 50 * SECOND)
    assert acquire_lease(s, LEASE_NAME, "a", t0 + 50 * SECOND, TTL)  # released: no need to wait
    s.commit()
    assert s.scalar(select(SchedulerLease.holder)) == "a"


def test_only_the_lease_holder_runs_apscheduler_and_the_standby_takes_over(app, runners):
    a, b = SchedulerRunner(app, holder="a"), SchedulerRunner(app, holder="b")
    runners += [a, b]
    t0 = utcnow()
    assert a.tick(t0) and a.is_leader
    assert not b.tick(t0 + SECOND) and not b.is_leader
    assert {job.id for job in a.scheduler.get_jobs()} == set(JOBS)
    assert a.tick(t0 + 10 * SECOND)
    lapsed = t0 + 10 * SECOND + a.lease_ttl
    assert b.tick(lapsed) and b.is_leader  # a stopped renewing (a stalled or dead process)
    assert not a.tick(lapsed + SECOND) and not a.is_leader  # a wakes up, finds b in charge, stops its jobs
    assert {job.id for job in b.scheduler.get_jobs()} == set(JOBS)


def test_the_job_store_keeps_next_run_times_across_a_handover(app, runners):
    a, b = SchedulerRunner(app, holder="a"), SchedulerRunner(app, holder="b")
    runners += [a, b]
    t0 = utcnow()
    a.tick(t0)
    planned = {job.id: job.next_run_time for job in a.scheduler.get_jobs()}
    a.shutdown()  # a clean stop releases the lease at once
    assert b.tick(t0 + SECOND)
    assert {job.id: job.next_run_time for job in b.scheduler.get_jobs()} == planned


def test_a_job_runs_only_while_its_scheduler_holds_the_lease(app, stage: Stage, runners):
    stage.use_templates()
    stage.accepted_petition(now=utcnow())
    a = SchedulerRunner(app, holder="a")
    runners.append(a)
    assert a.tick(utcnow())
    a.scheduler.pause()  # run the job by hand, not on its timer
    assert scheduler.run_job("deliver_outbox").sent == 1
    with app.extensions["qingsu.sessionmaker"]() as session, session.begin():
        session.get(SchedulerLease, LEASE_NAME).holder = "someone-else"
    stage.accepted_petition(now=utcnow())
    assert scheduler.run_job("deliver_outbox") is None
    assert len(stage.fake.messages()) == 1


# --- two schedulers in real time -----------------------------------------------------------------------------


def test_two_running_schedulers_deliver_through_one_and_hand_over_on_a_clean_stop(
    app_config, app, stage: Stage
):
    fast = merge(
        app_config,
        {
            "SCHEDULER": {
                "leader_lease_seconds": 1,
                "leader_renew_seconds": 0.1,
                "outbox_interval_seconds": 0.2,
            }
        },
    )
    first, second = create_app(fast), create_app(fast)
    stops = [threading.Event(), threading.Event()]
    runs = [SchedulerRunner(first, holder="first"), SchedulerRunner(second, holder="second")]
    threads = [
        threading.Thread(target=r.run_forever, args=(s,), daemon=True)
        for r, s in zip(runs, stops, strict=True)
    ]
    stage.use_templates()
    try:
        threads[0].start()
        wait_for(lambda: runs[0].is_leader)
        threads[1].start()
        stage.accepted_petition(now=utcnow())
        wait_for(lambda: stage.notifications()[0].state == NotificationState.SENT)
        assert runs[0].is_leader and not runs[1].is_leader
        stops[0].set()  # a clean stop: jobs end, the lease is released, the standby takes over
        threads[0].join(5)
        wait_for(lambda: runs[1].is_leader)
        stage.accepted_petition(now=utcnow())
        wait_for(lambda: all(n.state == NotificationState.SENT for n in stage.notifications()))
        assert len(stage.fake.messages()) == 2
    finally:
        for stop in stops:
            stop.set()
        for thread in threads:
            thread.join(5)
        first.extensions["qingsu.engine"].dispose()
        second.extensions["qingsu.engine"].dispose()


# --- killed in the middle of a delivery ---------------------------------------------------------------------


# The production command, as operators run it.
QINGSU = Path(sys.executable).with_name("qingsu")


def _toml_config(path: Path, app: Flask, base_url: str) -> Path:
    """A configuration file for a scheduler process on the test's database and fake WeChat API."""
    path.write_text(
        "\n".join(
            [
                'SECRET_KEY = "test-secret-key-of-the-scheduler-process"',
                "[database]",
                f'url = "{app.config["DATABASE_URL"]}"',
                "[security]",
                f'data_key = "{app.config["SECURITY"]["data_key"]}"',
                "[wechat]",
                f'api_base_url = "{base_url}"',
                "api_timeout_seconds = 10",
                "[scheduler]",
                "embedded = false",
                "outbox_interval_seconds = 0.3",
                "lights_interval_seconds = 3600",
                "housekeeping_interval_seconds = 3600",
                "token_refresh_interval_seconds = 3600",
                "delivery_lease_seconds = 2",
                "leader_lease_seconds = 2",
                "leader_renew_seconds = 0.3",
            ]
        ),
        encoding="utf-8",
    )
    return path


def _holder(app: Flask) -> str | None:
    with app.extensions["qingsu.sessionmaker"]() as session:
        lease = session.get(SchedulerLease, LEASE_NAME)
        return lease.holder if lease is not None and lease.expires_at > utcnow() else None


def _log(tmp_path: Path) -> str:
    return (tmp_path / "scheduler.log").read_text(errors="replace")


@pytest.mark.system_clock  # the scheduler processes write their leases by the system's clock
def test_a_scheduler_killed_mid_delivery_loses_and_duplicates_nothing(
    app, stage: Stage, wechat: FakeServer, tmp_path: Path
):
    """Two scheduler processes; the active one is killed (SIGKILL) while WeChat is processing its send.

    WeChat (the fake) still delivers that message, as the real server would once it has the request; the dead
    process never records it. The standby takes over the lease, finds the row's delivery lease lapsed, sends again
    with the same client_msg_id, and WeChat answers that it was sent already: one message, recorded as sent.
    """
    stage.use_templates()
    config = _toml_config(tmp_path / "scheduler.toml", app, wechat.base_url)
    env = {**os.environ, "QINGSU_CONFIG": str(config), "PYTHONPATH": str(ROOT)}
    host = socket.gethostname()

    def start() -> subprocess.Popen[bytes]:
        with (tmp_path / "scheduler.log").open("ab") as log:
            return subprocess.Popen([str(QINGSU), "scheduler"], cwd=tmp_path, env=env, stdout=log, stderr=log)

    active = start()
    standby: subprocess.Popen[bytes] | None = None
    try:
        wait_for(lambda: (_holder(app) or "").startswith(f"{host}:{active.pid}:"))
        standby = start()
        # The standby is up and has found the lease taken; it stays with the active one.
        wait_for(lambda: f"scheduler {host}:{standby.pid}:" in _log(tmp_path) and "stands by" in _log(tmp_path))
        assert (_holder(app) or "").startswith(f"{host}:{active.pid}:")

        # WeChat will sit on the next send for a second, then deliver it (before the standby can take over).
        wechat.fake.fail_next(TEMPLATE_SEND, delay=1)
        petition = stage.accepted_petition(now=utcnow())
        wait_for(lambda: wechat.fake.api_calls(TEMPLATE_SEND))
        active.send_signal(signal.SIGKILL)
        active.wait(10)
        (row,) = stage.notifications(petition)
        assert (
            row.state == NotificationState.PENDING and row.attempts == 1
        )  # claimed and counted, never recorded

        wait_for(lambda: wechat.fake.messages())  # WeChat delivers what it had received
        wait_for(lambda: (_holder(app) or "").startswith(f"{host}:{standby.pid}:"))
        wait_for(lambda: stage.notifications(petition)[0].state == NotificationState.SENT)
        (row,) = stage.notifications(petition)
        assert row.attempts == 2 and "已发送过" in row.last_error
        assert [m.client_msg_id for m in wechat.fake.messages()] == [row.client_msg_id]
        assert len(wechat.fake.api_calls(TEMPLATE_SEND)) == 2

        # A clean stop (SIGTERM) releases the lease for the next scheduler at once.
        standby.send_signal(signal.SIGTERM)
        assert standby.wait(15) == 0
        assert _holder(app) is None
    finally:
        for process in (active, standby):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(10)


# --- wiring ----------------------------------------------------------------------------------------------------


def test_the_factory_registers_the_scheduler_command(app):
    result = app.test_cli_runner().invoke(args=["scheduler", "--help"])
    assert result.exit_code == 0 and "standby" in result.output


def test_no_embedded_scheduler_in_tests_even_when_configured(app_config):
    testing = create_app(merge(app_config, {"SCHEDULER": {"embedded": True}}))
    testing.test_client().get("/healthz")
    assert "qingsu.scheduler" not in testing.extensions
    testing.extensions["qingsu.engine"].dispose()


def test_the_embedded_scheduler_starts_on_the_first_request_and_releases_its_lease_at_stop(app_config, app):
    web = create_app(merge(app_config, {"TESTING": False, "SCHEDULER": {"embedded": True}}))
    try:
        web.test_client().get("/healthz")
        embedded = web.extensions["qingsu.scheduler"]
        wait_for(lambda: embedded.runner.is_leader)
        assert _holder(app) == embedded.runner.holder
    finally:
        scheduler.stop_embedded(web)
        web.extensions["qingsu.engine"].dispose()
    assert _holder(app) is None
