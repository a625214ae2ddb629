"""Template helpers shared by every admin page: local times, lights, masking, the menu and the calendar banner."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app, request
from markupsafe import Markup

from admin_web import scoping
from admin_web.auth import current_staff
from admin_web.navigation import menu_for
from models import Petition, utcnow
from models.db import get_session
from models.enums import Light
from workflow import limits
from workflow.calendar import load_calendar, missing_schedule_message
from workflow.lights import petition_light


def local_time(value: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An aware instant in the platform's time zone (Asia/Shanghai unless configured otherwise)."""
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(current_app.config["CALENDAR"]["timezone"])).strftime(fmt)


def live_lights(petitions: list[Petition], now: dt.datetime) -> dict[int, Light | None]:
    """Each petition's light at `now`, computed from its deadline (the stored light lags by the job interval)."""
    calendar = load_calendar(get_session(), current_app.config["CALENDAR"]["timezone"])
    fraction = float(current_app.config["LIGHTS"]["yellow_fraction_left"])
    return {p.id: petition_light(p, now, calendar, fraction) for p in petitions}


def light_badge(light: Light | str | None) -> Markup:
    """A coloured badge for a light; nothing when no time limit runs."""
    if not light:
        return Markup("")
    value = Light(light)
    return Markup('<span class="light light-{0}" title="{1}">{1}</span>').format(value.value, value.label)


def _context() -> dict[str, Any]:
    user = current_staff()
    if user is None or request.blueprint is None:
        return {"staff": None, "menu": [], "banners": []}
    return {
        "staff": user,
        "menu": menu_for(user),
        "banners": calendar_banners(utcnow()),
    }


def calendar_banners(now: dt.datetime, horizon_days: int = 60) -> list[str]:
    """The texts `workflow.calendar.calendar_warnings` gives, computed with the same workflow functions but without
    its log line: the banner is on every page for every signed-in user, and one warning per page view would bury
    the log."""
    calendar = load_calendar(get_session(), current_app.config["CALENDAR"]["timezone"])
    today = calendar.local_date(now)
    years = calendar.unknown_years_between(today, today + dt.timedelta(days=horizon_days))
    return [missing_schedule_message(year) for year in years]


def init_app(app: Flask) -> None:
    """Register the filters and the context every admin template relies on."""
    app.add_template_filter(local_time, "local")
    app.add_template_filter(light_badge, "light_badge")
    app.add_template_global(scoping.phone_for, "phone_for")
    app.add_template_global(scoping.text_for, "text_for")
    app.add_template_global(limits.max_length, "max_length")
    app.context_processor(_context)
