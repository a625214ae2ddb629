"""Running the jobs of `workflow.jobs` on APScheduler, with exactly one active scheduler at a time.

APScheduler 3 keeps its jobs (and their next run times) in the application database (`SQLAlchemyJobStore`, table
``apscheduler_jobs``), so a restart neither forgets a daily job nor runs an interval job twice. Running two
schedulers is safe: each one (`SchedulerRunner`) competes for the ``scheduler`` row of `SchedulerLease`. The holder
renews it every ``leader_renew_seconds`` for ``leader_lease_seconds``; only the holder starts APScheduler. The other
waits as a hot standby, trying every renewal period, and takes over once the lease lapses — when the active
scheduler died or lost the database. A scheduler that cannot renew in time stops its jobs itself, and every job
checks the lease again before it runs, so a stalled process that wakes up late does not run jobs beside the new
leader.

`qingsu scheduler` runs one in the foreground (production). With ``[scheduler] embedded = true`` the web process
starts one in a background thread on its first request (the demo); several web workers are then one active
scheduler and standbys. Tests never start it implicitly (``TESTING``), nor do other CLI commands (they serve no
request).
"""

from __future__ import annotations

import atexit
import dataclasses
import datetime as dt
import logging
import signal
import threading
import time
from collections.abc import Callable, Sized
from dataclasses import dataclass
from typing import Any

import click
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import Engine, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import SchedulerLease, utcnow
from models.db import make_engine, session_scope
from workflow import duplicates, hot_issues, jobs, media, tallies, warnings
from workflow.outbox import worker_name

log = logging.getLogger(__name__)

LEASE_NAME = "scheduler"
JOB_STORE_TABLE = "apscheduler_jobs"

# The jobs, by the id they have in the job store. Each takes (app, now) and commits its own work.
JOBS: dict[str, Callable[[Flask, dt.datetime], Any]] = {
    "deliver_outbox": jobs.deliver_outbox,
    "recompute_lights": jobs.recompute_lights,
    "remind_evaluations": jobs.remind_evaluations,
    "close_unrated_evaluations": jobs.close_unrated_evaluations,
    "expire_conversations": jobs.expire_conversations,
    "refresh_tokens": jobs.refresh_tokens,
    "daily_summary": jobs.daily_summary,
    "prune_handled_messages": jobs.prune_handled_messages,
    "refresh_tallies": tallies.refresh_tallies,
    "fetch_media": media.fetch_media,
    "hot_issues": hot_issues.compute_hot_issues,
    "duplicate_candidates": duplicates.check_new_petitions,
    "evaluate_warnings": warnings.evaluate_warnings,
}


def job_triggers(app: Flask) -> dict[str, BaseTrigger]:
    """When each job runs, from ``[scheduler]``; the daily summary at ``daily_summary_hour`` local time."""
    s = app.config["SCHEDULER"]
    tz = app.config["CALENDAR"]["timezone"]

    def every(key: str) -> IntervalTrigger:
        return IntervalTrigger(seconds=float(s[key]), timezone=tz)

    return {
        "deliver_outbox": every("outbox_interval_seconds"),
        "recompute_lights": every("lights_interval_seconds"),
        "remind_evaluations": every("housekeeping_interval_seconds"),
        "close_unrated_evaluations": every("housekeeping_interval_seconds"),
        "expire_conversations": every("housekeeping_interval_seconds"),
        "refresh_tokens": every("token_refresh_interval_seconds"),
        "daily_summary": CronTrigger(hour=int(s["daily_summary_hour"]), minute=0, timezone=tz),
        "prune_handled_messages": CronTrigger(hour=3, minute=30, timezone=tz),
        "refresh_tallies": every("tallies_interval_seconds"),
        "fetch_media": IntervalTrigger(seconds=float(app.config["MEDIA"]["interval_seconds"]), timezone=tz),
        "hot_issues": every("hot_issues_interval_seconds"),
        "duplicate_candidates": every("duplicates_interval_seconds"),
        "evaluate_warnings": every("warnings_interval_seconds"),
    }


# --- the lease -----------------------------------------------------------------------------------------------------


def acquire_lease(session: Session, name: str, holder: str, now: dt.datetime, ttl: dt.timedelta) -> bool:
    """Take or renew the lease `name` for `holder` until ``now + ttl``; False while someone else holds it.

    One conditional UPDATE renews our own lease or takes over a lapsed one, so of two standbys racing for a lapsed
    lease exactly one wins; the first lease ever is an INSERT, and the loser of that race gets an IntegrityError.
    The caller commits.
    """
    taken = session.execute(
        update(SchedulerLease)
        .where(
            SchedulerLease.name == name,
            or_(SchedulerLease.holder == holder, SchedulerLease.expires_at <= now),
        )
        .values(holder=holder, expires_at=now + ttl)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount == 1:
        return True
    if session.scalar(select(SchedulerLease.name).where(SchedulerLease.name == name)) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(SchedulerLease(name=name, holder=holder, expires_at=now + ttl))
    except IntegrityError:
        return False
    return True


def holds_lease(session: Session, name: str, holder: str, now: dt.datetime) -> bool:
    """Whether `holder` holds the lease `name` at `now`."""
    lease = session.scalar(select(SchedulerLease).where(SchedulerLease.name == name))
    return lease is not None and lease.holder == holder and lease.expires_at > now


def release_lease(session: Session, name: str, holder: str, now: dt.datetime) -> None:
    """Give the lease up at `now` (if `holder` has it), so a standby takes over at its next try. The caller commits."""
    session.execute(
        update(SchedulerLease)
        .where(SchedulerLease.name == name, SchedulerLease.holder == holder)
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )


# --- one scheduler ------------------------------------------------------------------------------------------------

# The runner whose APScheduler runs in this process: job functions in the job store are referenced by name
# ("workflow.scheduler:run_job"), so they find the application through it.
_active: SchedulerRunner | None = None
_active_lock = threading.Lock()


def run_job(job_id: str) -> Any:
    """Run the job `job_id` now, if this process's scheduler still holds the lease (APScheduler calls this)."""
    runner = _active
    if runner is None:
        return None
    now = utcnow()
    with session_scope(runner.app) as session:
        leader = holds_lease(session, LEASE_NAME, runner.holder, now)
    if not leader:
        log.warning("%s skipped: scheduler %s no longer holds the lease", job_id, runner.holder)
        return None
    result = JOBS[job_id](runner.app, now)
    log.debug("%s: %s", job_id, result)
    return result


class SchedulerRunner:
    """One scheduler process's part: compete for the lease; while it is ours, run APScheduler with the jobs.

    Drive it with `tick` (one lease attempt at `now`; tests pass their own instants) or `run_forever`.
    """

    def __init__(self, app: Flask, holder: str | None = None) -> None:
        settings = app.config["SCHEDULER"]
        self.app = app
        self.holder = holder or worker_name()
        self.lease_ttl = dt.timedelta(seconds=float(settings["leader_lease_seconds"]))
        self.renew_every = float(settings["leader_renew_seconds"])
        self.scheduler: BackgroundScheduler | None = None
        self._renewed_at: dt.datetime | None = None
        # Said once, when this runner first finds the lease held by another (a standby that is up and trying).
        self._announced_standby = False
        self._store_engine: Engine | None = None

    @property
    def is_leader(self) -> bool:
        """Whether this runner's jobs are running."""
        return self.scheduler is not None

    def tick(self, now: dt.datetime) -> bool:
        """Renew or take the lease at `now`; start the jobs when it becomes ours, stop them when it is lost.

        When the database cannot be reached the lease cannot be renewed: the jobs stop once the lease we last
        renewed has run out, because by then a standby may have taken over.
        """
        try:
            with session_scope(self.app) as session:
                leader = acquire_lease(session, LEASE_NAME, self.holder, now, self.lease_ttl)
        except Exception:
            log.exception("scheduler %s could not renew its lease", self.holder)
            if self.scheduler is not None and (
                self._renewed_at is None or now >= self._renewed_at + self.lease_ttl
            ):
                self._stop_jobs()
            return self.is_leader
        if leader:
            self._renewed_at = now
            if self.scheduler is None:
                log.info("scheduler %s holds the lease: starting the jobs", self.holder)
                self._start_jobs()
        elif self.scheduler is not None:
            log.warning("scheduler %s lost the lease: stopping the jobs", self.holder)
            self._stop_jobs()
        elif not self._announced_standby:
            log.info("scheduler %s stands by: another holds the lease", self.holder)
            self._announced_standby = True
        return leader

    def run_forever(self, stop: threading.Event) -> None:
        """Tick every ``leader_renew_seconds`` until `stop` is set, then stop the jobs and release the lease."""
        try:
            while not stop.is_set():
                self.tick(utcnow())
                stop.wait(self.renew_every)
        finally:
            self.shutdown()

    def shutdown(self, release: bool = True) -> None:
        """Stop the jobs (waiting for running ones) and, with `release`, hand the lease over at once."""
        was_leader = self.is_leader
        self._stop_jobs()
        if release and was_leader:
            with session_scope(self.app) as session:
                release_lease(session, LEASE_NAME, self.holder, utcnow())

    def _start_jobs(self) -> None:
        global _active
        tz = self.app.config["CALENDAR"]["timezone"]
        # The job store gets an engine of its own: APScheduler disposes of its engine when it shuts down, and the
        # application's engine must outlive a lost lease.
        self._store_engine = make_engine(
            self.app.config["DATABASE_URL"], float(self.app.config["DATABASE"]["busy_timeout_seconds"])
        )
        store = SQLAlchemyJobStore(engine=self._store_engine, tablename=JOB_STORE_TABLE)
        scheduler = BackgroundScheduler(
            jobstores={"default": store},
            executors={"default": ThreadPoolExecutor(4)},
            # A job that fell behind runs once, not once per missed period; max_instances keeps a slow outbox run
            # from overlapping the next one.
            job_defaults={"coalesce": True, "max_instances": 1},
            timezone=tz,
        )
        with _active_lock:
            _active = self
        scheduler.start(paused=True)
        triggers = job_triggers(self.app)
        for job_id, trigger in triggers.items():
            existing = scheduler.get_job(job_id)
            # An unchanged job keeps its stored next run time: that is what makes a missed daily run happen on restart.
            if existing is None or str(existing.trigger) != str(trigger):
                scheduler.add_job(
                    "workflow.scheduler:run_job",
                    trigger=trigger,
                    args=[job_id],
                    id=job_id,
                    name=job_id,
                    replace_existing=True,
                    misfire_grace_time=_grace(trigger),
                )
        for job in scheduler.get_jobs():
            if job.id not in triggers:
                job.remove()
        scheduler.resume()
        self.scheduler = scheduler

    def _stop_jobs(self) -> None:
        global _active
        scheduler, self.scheduler = self.scheduler, None
        if scheduler is not None:
            scheduler.shutdown(wait=True)
        if self._store_engine is not None:
            # APScheduler disposes of the store's engine before its own thread has stopped, and that thread may
            # open one more connection on the way out: dispose again now that it has.
            self._store_engine.dispose()
            self._store_engine = None
        with _active_lock:
            if _active is self:
                _active = None


def _grace(trigger: BaseTrigger) -> int:
    # A daily job missed while no scheduler ran still runs within half a day; an interval job within one period.
    if isinstance(trigger, IntervalTrigger):
        return max(int(trigger.interval.total_seconds()), 1)
    return 12 * 3600


# --- the command and the embedded scheduler -------------------------------------------------------------------


@dataclass
class EmbeddedScheduler:
    """The scheduler thread of a web process."""

    runner: SchedulerRunner
    stop: threading.Event
    thread: threading.Thread


_embedded_lock = threading.Lock()


def start_embedded(app: Flask) -> EmbeddedScheduler:
    """Start (once per application) a scheduler in a background thread of this process; stopped at exit."""
    with _embedded_lock:
        embedded: EmbeddedScheduler | None = app.extensions.get("qingsu.scheduler")
        if embedded is not None:
            return embedded
        runner = SchedulerRunner(app)
        stop = threading.Event()
        thread = threading.Thread(
            target=runner.run_forever, args=(stop,), name="qingsu-scheduler", daemon=True
        )
        embedded = EmbeddedScheduler(runner, stop, thread)
        app.extensions["qingsu.scheduler"] = embedded
        thread.start()
        atexit.register(stop_embedded, app)
        return embedded


def stop_embedded(app: Flask, timeout: float = 10.0) -> None:
    """Stop the embedded scheduler of `app`, releasing its lease."""
    embedded: EmbeddedScheduler | None = app.extensions.pop("qingsu.scheduler", None)
    if embedded is not None:
        embedded.stop.set()
        embedded.thread.join(timeout)


@click.group("scheduler", invoke_without_command=True)
@click.pass_context
@with_appcontext
def scheduler_command(ctx: click.Context) -> None:
    """Run the scheduled jobs (outbox, lights, reminders, tokens, summaries); a second one waits as a standby.

    `qingsu scheduler run-once JOB` runs one job once instead.
    """
    if ctx.invoked_subcommand is not None:
        return
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        # APScheduler logs every run of every job at INFO; the outbox alone runs every few seconds.
        logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)
    runner = SchedulerRunner(app)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    click.echo(f"scheduler {runner.holder}: running, or waiting as a standby until the lease is free")
    runner.run_forever(stop)
    click.echo(f"scheduler {runner.holder}: stopped")


def rows_touched(result: Any) -> int:
    """How many rows a job's report says it touched: an int as it is, the sum of a report's int fields
    (a dataclass such as `LightsReport` or `DeliveryReport`), the number of entries of a mapping (one per
    account for `refresh_tokens`), 0 for None."""
    if result is None:
        return 0
    if isinstance(result, bool):
        return int(result)
    if isinstance(result, int):
        return result
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        return sum(
            value
            for value in (getattr(result, f.name) for f in dataclasses.fields(result))
            if isinstance(value, int) and not isinstance(value, bool)
        )
    if isinstance(result, Sized):
        return len(result)
    raise TypeError(f"a job returned {type(result).__name__}, which says nothing about rows")


@scheduler_command.command("run-once")
@click.argument("job", type=click.Choice(list(JOBS)), metavar="JOB")
@with_appcontext
def run_once_command(job: str) -> None:
    """Run the job JOB once now, whether or not a scheduler holds the lease (every job is idempotent).

    Prints one line: the job, the rows it touched (from its report: the sum of its counts) and the seconds.
    """
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    started = time.perf_counter()
    result = JOBS[job](app, utcnow())
    seconds = time.perf_counter() - started
    click.echo(f"{job}: {rows_touched(result)} rows in {seconds:.2f} s")


def init_app(app: Flask) -> None:
    """Register `qingsu scheduler`; with ``[scheduler] embedded`` (and not testing) start one on the first request."""
    app.cli.add_command(scheduler_command)
    if app.config["SCHEDULER"].get("embedded") and not app.testing:

        @app.before_request
        def _start_embedded_scheduler() -> None:
            if "qingsu.scheduler" not in app.extensions:
                start_embedded(app)
