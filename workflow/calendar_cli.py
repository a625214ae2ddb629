"""`qingsu calendar`: check, show and correct the working-day calendar from the command line.

The application registers `calendar_group`; every command runs in an app context and uses its session.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import TextIO

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
    DaySource,
    calendar_warnings,
    load_calendar,
    missing_schedule_message,
    month_days,
    special_days,
)
from workflow.calendar_changes import (
    CalendarChange,
    MovedDeadline,
    clear_override,
    confirm_year,
    import_notice,
    override_day,
)
from workflow.deadlines import deadline_text
from workflow.holiday_notice import NoticeError, parse_notice

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


def _period(value: str) -> tuple[int, int | None]:
    match = re.fullmatch(r"(\d{4})(?:-(\d{1,2}))?", value)
    if not match or not 1 <= int(match.group(2) or 1) <= 12:
        raise click.BadParameter(f"{value!r} is not a year or a month (YYYY or YYYY-MM)", param_hint="PERIOD")
    return int(match.group(1)), int(match.group(2)) if match.group(2) else None


@calendar_group.command("show")
@click.argument("period")
@click.argument("month", required=False, type=click.IntRange(1, 12))
@click.option("--json", "as_json", is_flag=True, help="Every day as JSON: [{date, working, source}, …].")
def show_command(period: str, month: int | None, as_json: bool) -> None:
    """List the holidays, make-up working days, statutory days and overrides of PERIOD (YYYY or YYYY-MM; the month
    may also follow as a second argument), and where each comes from.

    With --json, every day of the period, one object a day: {"date": "2027-01-01", "working": false, "source":
    "statutory"}, source one of official, override, statutory, weekend.
    """
    year, in_period = _period(period)
    month = in_period or month
    session = get_session()
    calendar = load_calendar(session, _timezone())
    if as_json:
        months = [month] if month else range(1, 13)
        days = [entry.as_json() for m in months for entry in month_days(calendar, year, m)]
        click.echo(json.dumps(days, ensure_ascii=False))
        return
    if not calendar.knows_year(year):
        if calendar.has_schedule(year):
            click.echo(f"chinesecalendar 未收录 {year} 年的官方安排，已由平台管理员确认：按下列录入和周末计算。")
        else:
            click.echo(f"chinesecalendar 未收录 {year} 年的官方安排，按下列法定节假日、管理员录入和周末计算。")
            click.echo(f"警告: {missing_schedule_message(year)}")
    entries = special_days(session, year, month)
    if not entries:
        click.echo("（无节假日、调休或管理员录入）")
    for entry in entries:
        status = "上班" if entry.is_working_day else "休息"
        if entry.is_working_day and entry.day.weekday() >= 5:
            status += "（调休）"
        parts = [entry.day.isoformat(), entry.weekday_name, status]
        if entry.holiday_name and entry.source != DaySource.OVERRIDE:
            parts.append(entry.holiday_name)
        source = entry.source.label
        if entry.source == DaySource.OVERRIDE:
            if entry.official_working is not None and entry.official_working != entry.is_working_day:
                source += f"，更正官方安排（官方：{'上班' if entry.official_working else '休息'}）"
            if entry.override_note:
                source += f"：{entry.override_note}"
        parts.append(f"来源: {source}")
        click.echo("  ".join(parts))


def _change() -> CalendarChange:
    fraction = float(current_app.config["LIGHTS"]["yellow_fraction_left"])
    return CalendarChange(user=None, now=utcnow(), yellow_fraction_left=fraction, tz=_timezone())


def _report(moved: list[MovedDeadline]) -> None:
    for item in moved:
        click.echo(f"诉求 {item.number} 答复期限由{deadline_text(item.old)}改为{deadline_text(item.new)}")
    click.echo(f"重算期限：{len(moved)} 件诉求的答复期限已调整")


@calendar_group.command("confirm")
@click.argument("year", type=click.IntRange(1900, 9999))
def confirm_command(year: int) -> None:
    """Confirm YEAR's days as `show` lists them (the statutory days become overrides); moves running deadlines."""
    session = get_session()
    try:
        moved = confirm_year(session, _change(), year)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    session.commit()
    click.echo(f"已确认 {year} 年节假日安排")
    _report(moved)


@calendar_group.command("import")
@click.argument("year", type=click.IntRange(1900, 9999))
@click.argument("notice", type=click.File("r", encoding="utf-8"))
@click.option("--dry-run", is_flag=True, help="Only show the parsed days.")
def import_command(year: int, notice: TextIO, dry_run: bool) -> None:
    """Import the State Council's holiday notice for YEAR from the text file NOTICE ('-' for standard input): its
    days become overrides, the year is confirmed, and running deadlines move."""
    try:
        parsed = parse_notice(notice.read(), year)
    except NoticeError as exc:
        raise click.ClickException(str(exc)) from exc
    for day, (working, note) in parsed.days().items():
        click.echo(f"{day.isoformat()}  {WEEKDAYS[day.weekday()]}  {'上班' if working else '休息'}  {note}")
    if dry_run:
        return
    session = get_session()
    try:
        moved = import_notice(session, _change(), parsed)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    session.commit()
    click.echo(f"已导入并确认 {year} 年节假日安排")
    _report(moved)


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
        moved = override_day(session, _change(), when, is_working, note)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--note") from exc
    session.commit()
    click.echo(f"{when.isoformat()} {WEEKDAYS[when.weekday()]} 设为{'上班' if is_working else '休息'}")
    _report(moved)


@override_group.command("remove")
@click.argument("day")
def override_remove_command(day: str) -> None:
    """Remove the override of DAY, so the official schedule (or the weekend rule) applies again."""
    when = _day(day)
    session = get_session()
    try:
        moved = clear_override(session, _change(), when)
    except LookupError as exc:
        raise click.ClickException(f"{when.isoformat()} 没有管理员录入") from exc
    session.commit()
    click.echo(f"已删除 {when.isoformat()} 的管理员录入")
    _report(moved)


@override_group.command("list")
def override_list_command() -> None:
    """List every override, by day."""
    rows = get_session().scalars(select(HolidayOverride).order_by(HolidayOverride.day)).all()
    if not rows:
        click.echo("（无管理员录入）")
    for row in rows:
        status = "上班" if row.is_working_day else "休息"
        click.echo(f"{row.day.isoformat()}  {WEEKDAYS[row.day.weekday()]}  {status}  {row.note}".rstrip())
