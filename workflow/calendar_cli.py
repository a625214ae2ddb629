"""`qingsu calendar`: check, show and correct the working-day calendar from the command line.

The application registers `calendar_group`; every command runs in an app context and uses its session.
"""

from __future__ import annotations

import datetime as dt

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from models.base import utcnow
from models.db import get_session
from models.messaging import HolidayOverride
from workflow.calendar import (
    DEFAULT_TZ,
    WEEKDAYS,
    calendar_warnings,
    load_calendar,
    missing_schedule_message,
    remove_override,
    set_override,
    special_days,
)

calendar_group = AppGroup("calendar", help="The working-day calendar: holidays, make-up days and overrides.")


def _timezone() -> str:
    return current_app.config.get("CALENDAR", {}).get("timezone", DEFAULT_TZ)


def _day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from exc


@calendar_group.command("check")
@click.option(
    "--days", default=60, show_default=True, type=click.IntRange(min=0), help="How far ahead to look."
)
@click.option("--on", "on", default=None, help="Check as of this day (YYYY-MM-DD) instead of today.")
def check_command(days: int, on: str | None) -> None:
    """Warn about years within the next DAYS days that have no holiday schedule (always exits 0)."""
    tz = _timezone()
    session = get_session()
    calendar = load_calendar(session, tz)
    # Noon of the given day, so the day is the same in UTC and in the calendar's time zone.
    now = utcnow() if on is None else dt.datetime.combine(_day(on), dt.time(12), tzinfo=calendar.tz)
    warnings = calendar_warnings(session, now, days, tz=tz)
    for message in warnings:
        click.echo(f"警告: {message}")
    if not warnings:
        until = calendar.local_date(now) + dt.timedelta(days=days)
        click.echo(f"节假日安排已覆盖至 {until.isoformat()}")


@calendar_group.command("show")
@click.argument("year", type=click.IntRange(1900, 9999))
@click.argument("month", required=False, type=click.IntRange(1, 12))
def show_command(year: int, month: int | None) -> None:
    """List the holidays, make-up working days and overrides of YEAR (or of MONTH), and where each comes from."""
    session = get_session()
    calendar = load_calendar(session, _timezone())
    if not calendar.knows_year(year):
        click.echo(f"chinesecalendar 未收录 {year} 年的官方安排，除下列管理员录入外按周末计算。")
        if not calendar.has_schedule(year):
            click.echo(f"警告: {missing_schedule_message(year)}")
    entries = special_days(session, year, month)
    if not entries:
        click.echo("（无节假日、调休或管理员录入）")
    for entry in entries:
        status = "上班" if entry.is_working_day else "休息"
        if entry.is_working_day and entry.day.weekday() >= 5:
            status += "（调休）"
        parts = [entry.day.isoformat(), entry.weekday_name, status]
        if entry.holiday_name:
            parts.append(entry.holiday_name)
        if entry.override_note is not None:
            source = "管理员录入"
            if entry.official_working is not None and entry.official_working != entry.is_working_day:
                source += f"，更正官方安排（官方：{'上班' if entry.official_working else '休息'}）"
            if entry.override_note:
                source += f"：{entry.override_note}"
        else:
            source = "官方安排（chinesecalendar）"
        parts.append(f"来源: {source}")
        click.echo("  ".join(parts))


@calendar_group.group("override")
def override_group() -> None:
    """Days a platform manager marks as holidays or make-up working days."""


@override_group.command("add")
@click.argument("day")
@click.option("--working/--holiday", "is_working", default=None, help="A working day, or a day off.")
@click.option("--note", default="", help="Why, e.g. 2027年元旦.")
def override_add_command(day: str, is_working: bool | None, note: str) -> None:
    """Mark DAY (YYYY-MM-DD) as a working day or a holiday, replacing any earlier override of it."""
    if is_working is None:
        raise click.UsageError("say --working or --holiday")
    when = _day(day)
    session = get_session()
    try:
        set_override(session, when, is_working, note, user_id=None)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--note") from exc
    session.commit()
    click.echo(f"{when.isoformat()} {WEEKDAYS[when.weekday()]} 设为{'上班' if is_working else '休息'}")


@override_group.command("remove")
@click.argument("day")
def override_remove_command(day: str) -> None:
    """Remove the override of DAY, so the official schedule (or the weekend rule) applies again."""
    when = _day(day)
    session = get_session()
    try:
        remove_override(session, when)
    except LookupError as exc:
        raise click.ClickException(f"{when.isoformat()} 没有管理员录入") from exc
    session.commit()
    click.echo(f"已删除 {when.isoformat()} 的管理员录入")


@override_group.command("list")
def override_list_command() -> None:
    """List every override, by day."""
    rows = get_session().scalars(select(HolidayOverride).order_by(HolidayOverride.day)).all()
    if not rows:
        click.echo("（无管理员录入）")
    for row in rows:
        status = "上班" if row.is_working_day else "休息"
        click.echo(f"{row.day.isoformat()}  {WEEKDAYS[row.day.weekday()]}  {status}  {row.note}".rstrip())
