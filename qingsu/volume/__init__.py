"""`qingsu seed-volume`: a year of realistic petitions in bulk, for benchmarks.

Fills the database with N petitions across the ten districts and the city platform, in every kind, nature,
department type, complexity, state and light, with their replies, ratings, extensions, assessments, linked duplicates
and audit trail, spread over the last M months and consistent with the workflow's rules (see
`qingsu.volume.lifecycle`). Rows go in by COPY on PostgreSQL and executemany on SQLite, a chunk (about 10,000
petitions) per transaction.

Generated data is recognisable: every generated petition's `external_id` and every generated citizen's `openid`
starts with ``seedvol-`` (`MARKER`). The command refuses to add volume to a database holding any other petition
(real ones, or the demo's) unless given ``--force``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import sys
import time
from collections.abc import Iterator

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from models import District, Petition, Unit, User, utcnow
from models.db import get_engine, get_session
from qingsu.volume.generate import TooManyPerDay, generate_volume
from qingsu.volume.lifecycle import EVALUATION_WINDOW_DAYS, MARKER
from qingsu.volume.world import WorldIncomplete, load_world
from workflow.calendar import load_calendar
from workflow.tallies import forget_tallies


def evaluation_window_days(app: Flask) -> int:
    """The days a citizen has to rate a reply: ``[evaluation] window_days`` where configured, else 7."""
    return int(app.config.get("EVALUATION", {}).get("window_days", EVALUATION_WINDOW_DAYS))


def not_generated(session: Session) -> tuple[int, str | None]:
    """How many petitions seed-volume did not generate, and the number of one of them."""
    query = or_(Petition.external_id.is_(None), Petition.external_id.not_like(f"{MARKER}%"))
    count = session.scalar(select(func.count(Petition.id)).where(query)) or 0
    example = (
        session.scalar(select(Petition.number).where(query).order_by(Petition.id).limit(1)) if count else None
    )
    return count, example


def ensure_reference_data(app: Flask, session: Session) -> list[str]:
    """Districts, units and accounts as `qingsu seed-demo` makes them when there are none (and, in demo mode, the
    demo users when there are no users); returns what was created, for the command's output."""
    from qingsu.demo import seed_accounts, seed_demo_users, seed_reference_data

    made = []
    if not session.scalar(select(func.count(District.code))) or not session.scalar(
        select(func.count(Unit.id))
    ):
        seed_reference_data(session)
        seed_accounts(session, app.config["ACCOUNTS"])
        made.append("districts and units")
    if app.config["DEMO"] and not session.scalar(select(func.count(User.id))):
        seed_demo_users(session)
        made.append("demo users")
    session.commit()
    return made


@contextlib.contextmanager
def _quiet_deadline_warnings() -> Iterator[None]:
    """Deadlines counted into a year without a holiday schedule are reported once at the end, not per day."""
    logger = logging.getLogger("workflow.deadlines")

    def drop(record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("deadline counted on plain weekends")

    logger.addFilter(drop)
    try:
        yield
    finally:
        logger.removeFilter(drop)


def _instant(value: str | None) -> dt.datetime:
    if value is None:
        return utcnow()
    try:
        instant = dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 instant", param_hint="--now") from None
    if instant.tzinfo is None:
        raise click.BadParameter("give the UTC offset, e.g. 2026-11-27T10:00:00+08:00", param_hint="--now")
    return instant.astimezone(dt.UTC)


@click.command("seed-volume")
@click.option(
    "--petitions", "count", type=click.IntRange(min=1), required=True, help="How many petitions to add."
)
@click.option(
    "--seed", type=int, default=1, show_default=True, help="The same seed (and --now) gives the same data."
)
@click.option(
    "--months",
    type=click.IntRange(1, 120),
    default=12,
    show_default=True,
    help="The petitions are submitted over this many months up to --now.",
)
@click.option(
    "--force", is_flag=True, help="Add generated volume even where petitions it did not generate exist."
)
@click.option(
    "--now", "now_text", default=None, help="The instant the period ends (ISO 8601 with offset; default now)."
)
@click.option(
    "--chunk-size",
    type=click.IntRange(min=100),
    default=10_000,
    show_default=True,
    help="Petitions per transaction.",
)
@with_appcontext
def seed_volume_command(
    count: int, seed: int, months: int, force: bool, now_text: str | None, chunk_size: int
) -> None:
    """Fill the database with realistic generated petitions in bulk, for benchmarks (not for a real platform)."""
    started = time.perf_counter()
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    now = _instant(now_text)
    session = get_session()
    real, example = not_generated(session)
    if real and not force:
        raise click.ClickException(
            f"the database holds {real} petition(s) that seed-volume did not generate (e.g. {example}); "
            "refusing to mix generated volume with them. Use an empty database, or pass --force to add it anyway."
        )
    made = ensure_reference_data(app, session)
    if made:
        click.echo(f"seed-volume: created {' and '.join(made)} first", err=True)
    try:
        world = load_world(session)
    except WorldIncomplete as exc:
        raise click.ClickException(
            f"cannot generate petitions: {exc} (qingsu seed-demo creates them)"
        ) from None
    calendar = load_calendar(session, app.config["CALENDAR"]["timezone"])
    # The rows come with past instants the tallies' refresh cannot see: the dashboard counts live until the
    # scheduler's next refresh (or `qingsu tallies rebuild`) has rebuilt them.
    forget_tallies(session, utcnow())
    session.commit()
    with (
        _quiet_deadline_warnings(),
        click.progressbar(length=count, label="seed-volume", file=sys.stderr) as bar,
    ):
        try:
            report = generate_volume(
                get_engine(),
                session,
                world,
                calendar,
                now=now,
                months=months,
                count=count,
                seed=seed,
                chunk_size=chunk_size,
                yellow_fraction=float(app.config["LIGHTS"]["yellow_fraction_left"]),
                window_days=evaluation_window_days(app),
                progress=bar.update,
                reminder_hours=float(app.config["EVALUATION"]["reminder_after_hours"]),
            )
        except TooManyPerDay as exc:
            raise click.ClickException(str(exc)) from None
    if report.missed_targets:
        click.echo(f"seed-volume: could not place {', '.join(report.missed_targets)}", err=True)
    if report.uncertain_years:
        years = ", ".join(map(str, report.uncertain_years))
        click.echo(
            f"seed-volume: deadlines in {years} were counted on plain weekends (no holiday schedule)",
            err=True,
        )
    rows = report.rows
    seconds = time.perf_counter() - started
    click.echo(
        f"seed-volume: {report.petitions} petitions, {rows['petition_event']} events, {rows['reply']} replies, "
        f"{rows['evaluation']} evaluations, {rows['extension_request']} extensions, {rows['assessment']} assessments, "
        f"{rows['citizen']} citizens in {seconds:.1f} s"
    )
    click.echo(
        "seed-volume: the dashboard counts live until the scheduler's next refresh_tallies run rebuilds its tallies "
        "(or run `qingsu tallies rebuild` now)",
        err=True,
    )


def init_app(app: Flask) -> None:
    app.cli.add_command(seed_volume_command)
