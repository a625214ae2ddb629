"""The working-day calendar: single days, confirming a year, importing the State Council's notice."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from admin_web.audit import audit
from admin_web.auth import role_required, staff
from admin_web.manage.scope import (
    MANAGER_ROLES,
    manage,
)
from models import (
    HolidayYear,
    User,
    utcnow,
)
from models.db import get_session
from workflow.calendar import WEEKDAYS, calendar_warnings, load_calendar, special_days
from workflow.calendar_changes import (
    CalendarChange,
    MovedDeadline,
    clear_override,
    confirm_year,
    import_notice,
    override_day,
)
from workflow.holiday_notice import NoticeError, NoticeHoliday, parse_notice

# --- holiday calendar ----------------------------------------------------------------------------------------------


def _calendar_change(user: User) -> CalendarChange:
    return CalendarChange(
        user=user,
        now=utcnow(),
        yellow_fraction_left=float(current_app.config["LIGHTS"]["yellow_fraction_left"]),
        tz=current_app.config["CALENDAR"]["timezone"],
    )


def _flash_moved(moved: list[MovedDeadline]) -> None:
    if moved:
        flash(f"{len(moved)} 件办理中诉求的答复期限已按新的安排重算，并记入办理记录", "success")


def _calendar_year(value: str | None, default: int) -> int:
    return int(value) if value and value.isdigit() and 2000 <= int(value) <= 2100 else default


@manage.route("/calendar", methods=["GET", "POST"])
@role_required(*MANAGER_ROLES)
def calendar() -> ResponseReturnValue:
    """The year's holidays, make-up working days, statutory fallback days and overrides with where each comes from,
    whether the year is confirmed, the warnings, and a form to mark a day as a working day or a day off.

    The calendar is city-wide and every manager may correct it (the banner asks them to); each change is audited and
    moves the running deadlines it changes."""
    user = staff()
    session = get_session()
    tz = current_app.config["CALENDAR"]["timezone"]
    today = utcnow().astimezone(ZoneInfo(tz)).date()
    year = _calendar_year(request.values.get("year"), today.year)
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            day = dt.date.fromisoformat(request.form.get("day") or "")
        except ValueError:
            errors["day"] = "请填写日期（如 2027-02-11）"
        kind = request.form.get("is_working_day")
        if kind not in ("1", "0"):
            errors["is_working_day"] = "请选择上班或放假"
        note = (request.form.get("note") or "").strip()
        if not errors:
            try:
                moved = override_day(session, _calendar_change(user), day, kind == "1", note)
            except ValueError as exc:
                errors["note"] = str(exc)
            else:
                audit(
                    session,
                    user,
                    "holiday_set",
                    f"day:{day.isoformat()}",
                    f"{'working' if kind == '1' else 'off'} {note}",
                )
                session.commit()
                flash(f"{day.isoformat()} 已设为{'工作日' if kind == '1' else '休息日'}", "success")
                _flash_moved(moved)
                return redirect(url_for("manage.calendar", year=day.year))
    calendar = load_calendar(session, tz)
    return render_template(
        "manage/calendar.html",
        year=year,
        days=special_days(session, year),
        errors=errors,
        form=request.form,
        warnings=calendar_warnings(session, utcnow(), tz=tz),
        official=calendar.knows_year(year),
        confirmed=session.get(HolidayYear, year),
    ), (422 if errors else 200)


@manage.post("/calendar/remove")
@role_required(*MANAGER_ROLES)
def remove_holiday() -> ResponseReturnValue:
    """Delete a day's override, so the official schedule (or the statutory or weekend rule) applies again."""
    user = staff()
    session = get_session()
    try:
        day = dt.date.fromisoformat(request.form.get("day") or "")
        moved = clear_override(session, _calendar_change(user), day)
    except (ValueError, LookupError):
        abort(404)
    audit(session, user, "holiday_removed", f"day:{day.isoformat()}")
    session.commit()
    flash(f"已删除 {day.isoformat()} 的调整", "success")
    _flash_moved(moved)
    return redirect(url_for("manage.calendar", year=day.year))


@manage.post("/calendar/confirm")
@role_required(*MANAGER_ROLES)
def confirm_holidays() -> ResponseReturnValue:
    """Confirm a year's days as the calendar page shows them; the year then counts as known."""
    user = staff()
    session = get_session()
    year = _calendar_year(request.form.get("year"), 0)
    if not year:
        abort(404)
    try:
        moved = confirm_year(session, _calendar_change(user), year)
    except ValueError as exc:
        flash(str(exc), "error")
        return redirect(url_for("manage.calendar", year=year))
    audit(session, user, "holiday_year_confirmed", f"year:{year}")
    session.commit()
    flash(f"已确认{year}年节假日安排", "success")
    _flash_moved(moved)
    return redirect(url_for("manage.calendar", year=year))


@manage.route("/calendar/import", methods=["GET", "POST"])
@role_required(*MANAGER_ROLES)
def import_holidays() -> ResponseReturnValue:
    """Import a year's State Council notice: paste its text, check the days read from it, confirm.

    The first POST (``step=preview``) only reads the text and shows the days; the second (``step=confirm``) reads
    the same text again and writes it, so what is saved is exactly what was shown, and a repeated confirmation
    changes nothing more."""
    user = staff()
    session = get_session()
    tz = current_app.config["CALENDAR"]["timezone"]
    today = utcnow().astimezone(ZoneInfo(tz)).date()
    year = _calendar_year(request.values.get("year"), today.year + 1)
    text = request.form.get("text") or ""
    error, preview = None, None
    if request.method == "POST":
        try:
            notice = parse_notice(text, year)
        except NoticeError as exc:
            error = str(exc)
        else:
            if request.form.get("step") == "confirm":
                try:
                    moved = import_notice(session, _calendar_change(user), notice)
                except ValueError as exc:
                    error = str(exc)
                else:
                    days = notice.days()
                    audit(session, user, "holiday_notice_imported", f"year:{year}", f"{len(days)} days")
                    session.commit()
                    flash(f"已导入{year}年放假通知（{len(days)}天），{year}年节假日安排已确认", "success")
                    _flash_moved(moved)
                    return redirect(url_for("manage.calendar", year=year))
            calendar = load_calendar(session, tz)
            preview = [
                (
                    holiday,
                    [(day, working, calendar.is_working_day(day)) for day, working in _notice_days(holiday)],
                )
                for holiday in notice.holidays
            ]
    return render_template(
        "manage/calendar_import.html",
        year=year,
        text=text,
        error=error,
        preview=None if error else preview,
        weekdays=WEEKDAYS,
    ), (422 if error else 200)


def _notice_days(holiday: NoticeHoliday) -> list[tuple[dt.date, bool]]:
    return sorted([(day, False) for day in holiday.days_off] + [(day, True) for day in holiday.working_days])
