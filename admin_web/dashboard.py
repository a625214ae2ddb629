"""The leadership dashboard (/admin/dashboard): resolution, satisfaction and on-time rates by district, unit, kind and
month; red / yellow / blue light counts; overdue petitions; this week's hot issues (clusters of similar petitions, `workflow.hot_issues`); how often dispatchers kept the
classifier's suggestion.

City leadership and the city platform's roles see every district (and may pick one); district platform roles see
their own district only. The rates come from `workflow.rates`, where they are defined once, summed from the daily
tallies of `workflow.tallies` for the past days (as of their last refresh, which the page shows) and counted live
for the rest; the lights are computed at request time with `workflow.lights`. A district manager also finds the district's unread daily summaries
here (the dashboard is their first page).
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, Response, abort, current_app, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, load_only

from admin_web.auth import role_required, staff
from admin_web.dashboard_charts import CHART_NAMES, ChartInputs, DashboardCharts
from admin_web.navigation import nav_item
from admin_web.scoping import CITY_WIDE_ROLES
from admin_web.views.alerts import DAILY_SUMMARY, open_alerts
from models import District, Petition, Unit, User, utcnow
from models.bounds import in_range_message, parse_day
from models.db import get_session
from models.enums import DeptType, Light, PetitionKind, Role
from workflow.calendar import WorkingCalendar, load_calendar
from workflow.hot_issues import read_hot_issues
from workflow.lights import light_counts, overdue
from workflow.rates import ALL, Rates
from workflow.report import RateRow, monthly_report, report_filename, write_workbook
from workflow.report import rate_tables as report_rate_tables
from workflow.tallies import period_acceptance, refreshed_at

dashboard = Blueprint("dashboard", __name__, url_prefix="/admin/dashboard")

DASHBOARD_ROLES = (
    Role.LEADER,
    Role.CITY_DISPATCHER,
    Role.CITY_MANAGER,
    Role.DISPATCHER,
    Role.DISTRICT_MANAGER,
)
TOP_UNITS = 20
OVERDUE_SHOWN = 20
# The hot issues panel: the week's (`workflow.hot_issues`), the largest few.
HOT_DAYS = 7
HOT_ISSUES_SHOWN = 10


@dataclass(frozen=True)
class Period:
    """The period the rates cover: [start, end) as aware instants, and the local days the user picked."""

    start: dt.datetime
    end: dt.datetime
    first_day: dt.date
    last_day: dt.date


def dashboard_district(user: User) -> str | None:
    """The district the page shows: a city-wide role's choice (None = all districts), else the user's own.

    :raises werkzeug.exceptions.NotFound: a district role asking for another district.
    """
    asked = (request.args.get("district") or "").strip() or None
    if user.role in CITY_WIDE_ROLES:
        return asked
    if asked is not None and asked != user.district_code:
        abort(404)
    return user.district_code


def period_from_args(today: dt.date, tz: ZoneInfo) -> Period:
    """The period from ``start`` and ``end`` (local dates, both included); by default this year up to today.

    An unreadable date is left at its default; a date outside the years `models.bounds` allows is refused.

    :raises werkzeug.exceptions.BadRequest: a date outside those years (9999-12-31 has no next day).
    """

    def day(name: str, default: dt.date) -> dt.date:
        raw = (request.args.get(name) or "").strip()
        try:
            parsed = dt.date.fromisoformat(raw)
        except ValueError:
            return default
        try:
            return parse_day(raw)
        except ValueError:
            abort(400, description=in_range_message(f"日期「{parsed}」"))

    first = day("start", today.replace(month=1, day=1))
    last = day("end", today)
    if last < first:
        first, last = last, first
    start = dt.datetime.combine(first, dt.time(), tzinfo=tz).astimezone(dt.UTC)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=tz).astimezone(dt.UTC)
    return Period(start, end, first, last)


def rate_tables(
    session: Session, district_code: str | None, period: Period, refreshed: dt.datetime | None = None
) -> tuple[dict[str | None, list[RateRow]], int]:
    """The three rates per group for the overall line (key None) and each grouping, one row per group that has
    any rating or reply in the period, and the petitions left unrated: from the daily tallies as of `refreshed`
    (see `workflow.tallies`) and a live count of the rest (all of it live when `refreshed` is None).

    The monthly report's rates come from the same function (`workflow.report.rate_tables`), so they are equal."""
    return report_rate_tables(session, district_code, period.start, period.end, refreshed)


def _labelled(rows: list[RateRow], labels: dict[str, str]) -> list[RateRow]:
    return [RateRow(r.key, labels.get(r.key, r.key), r.resolution, r.satisfaction, r.on_time) for r in rows]


@dataclass(frozen=True)
class RunningLights:
    """Running petitions by their light now, per district, and the overdue (red) ones among them."""

    counts: dict[str, dict[Light, int]]
    overdue_total: int
    overdue: list[Petition]


def running_lights(
    session: Session, district_code: str | None, now: dt.datetime, calendar: WorkingCalendar, fraction: float
) -> RunningLights:
    """The light of every running petition at `now`, counted per district, and the longest overdue (at most
    `OVERDUE_SHOWN`).

    The lights are computed here (by the database, see `workflow.lights.light_counts`) rather than read from
    `Petition.light`, which the scheduler refreshes only every few minutes; counts and overdue list use the same
    definition of red, so the page never shows a petition as blue and overdue at once.
    """
    counts = light_counts(session, district_code, now, calendar, fraction)
    overdue_list = (
        list(
            session.scalars(
                select(Petition)
                .where(*overdue(district_code, now))
                .options(
                    load_only(
                        Petition.number, Petition.district_code, Petition.deadline, Petition.current_unit_id
                    ),
                    joinedload(Petition.current_unit).load_only(Unit.name),
                )
                .order_by(Petition.deadline, Petition.id)
                .limit(OVERDUE_SHOWN)
            )
        )
        if any(c[Light.RED] for c in counts.values())
        else []
    )
    return RunningLights(counts, sum(c[Light.RED] for c in counts.values()), overdue_list)


@dataclass(frozen=True)
class Figures:
    """What the page and its chart downloads count for the chosen district (None: all) and period."""

    district_code: str | None
    period: Period
    districts: list[District]
    district_names: dict[str, str]
    refreshed: dt.datetime | None
    tables: dict[str | None, list[RateRow]]
    unrated: int
    unit_names: dict[str, str]
    lit: RunningLights
    now: dt.datetime


def _figures(user: User) -> Figures:
    session = get_session()
    tz = ZoneInfo(current_app.config["CALENDAR"]["timezone"])
    now = utcnow()
    district_code = dashboard_district(user)
    period = period_from_args(now.astimezone(tz).date(), tz)
    districts = list(session.scalars(select(District).order_by(District.position, District.code)))
    district_names = {d.code: d.name for d in districts}
    if district_code is not None and district_code not in district_names:
        abort(404)
    # Past days come from the daily tallies as of their last refresh, the rest is counted live.
    refreshed = refreshed_at(session)
    tables, unrated = rate_tables(session, district_code, period, refreshed)
    unit_names = {
        str(u.id): u.name
        for u in session.scalars(
            select(Unit).where(Unit.id.in_([int(r.key) for r in tables["unit"] if r.key.isdigit()]))
        )
    }
    lit = running_lights(
        session,
        district_code,
        now,
        load_calendar(session, current_app.config["CALENDAR"]["timezone"]),
        float(current_app.config["LIGHTS"]["yellow_fraction_left"]),
    )
    return Figures(
        district_code, period, districts, district_names, refreshed, tables, unrated, unit_names, lit, now
    )


def _rates_of(rows: list[RateRow]) -> Rates:
    """The rates of a table's rows, keyed as the rows are, without the empty ones."""
    return Rates(
        resolution={r.key: r.resolution for r in rows if r.resolution.denominator},
        satisfaction={r.key: r.satisfaction for r in rows if r.satisfaction.denominator},
        on_time={r.key: r.on_time for r in rows if r.on_time.denominator},
    )


def _charts(figures: Figures) -> DashboardCharts:
    return DashboardCharts(
        get_session(),
        ChartInputs(
            district_code=figures.district_code,
            period=figures.period,
            refreshed=figures.refreshed,
            districts=figures.districts,
            by_district=None if figures.district_code else _rates_of(figures.tables["district"]),
            by_unit=_rates_of(figures.tables["unit"]),
            by_kind=_rates_of(figures.tables["kind"]),
            by_month=_rates_of(figures.tables["month"]),
            unit_names=figures.unit_names,
            lights=figures.lit.counts,
            url=url_for,
        ),
    )


@dashboard.get("/")
@role_required(*DASHBOARD_ROLES)
def index() -> ResponseReturnValue:
    """The dashboard for the chosen district (or all) and period."""
    user = staff()
    session = get_session()
    f = _figures(user)
    tz = ZoneInfo(current_app.config["CALENDAR"]["timezone"])
    district_code, period, districts, district_names = (
        f.district_code,
        f.period,
        f.districts,
        f.district_names,
    )
    tables, unrated, refreshed, now, lit = f.tables, f.unrated, f.refreshed, f.now, f.lit
    # Districts are listed in their fixed order (市南区 first), not alphabetically by code.
    position = {d.code: i for i, d in enumerate(districts)}
    unit_rows = sorted(
        (
            RateRow(r.key, f.unit_names.get(r.key, "（未记录单位）"), r.resolution, r.satisfaction, r.on_time)
            for r in tables["unit"]
        ),
        key=lambda r: (-r.volume, r.label),
    )[:TOP_UNITS]
    overall = _labelled(tables[None], {ALL: "合计"})
    hot_at, hot = read_hot_issues(
        session,
        HOT_DAYS,
        None if district_code is None else [district_code],
        HOT_ISSUES_SHOWN,
        with_numbers=False,
    )
    return render_template(
        "dashboard/index.html",
        district_code=district_code,
        districts=districts if user.role in CITY_WIDE_ROLES else [],
        district_names=district_names,
        period=period,
        overall=overall[0] if overall else None,
        by_district=sorted(
            _labelled(tables["district"], district_names),
            key=lambda row: (position.get(row.key, len(position)), row.key),
        )
        if not district_code
        else [],
        by_unit=unit_rows,
        by_kind=_labelled(tables["kind"], {k.value: k.label for k in PetitionKind}),
        by_month=tables["month"],
        unrated=unrated,
        lights=lit.counts,
        light_totals={light: sum(c[light] for c in lit.counts.values()) for light in Light},
        light_order=(Light.RED, Light.YELLOW, Light.BLUE),
        overdue_total=lit.overdue_total,
        overdue_list=lit.overdue,
        summaries=open_alerts(session, user, kinds=(DAILY_SUMMARY,)),
        hot_issues=hot,
        hot_days=HOT_DAYS,
        hot_at=hot_at.astimezone(tz) if hot_at else None,
        acceptance=period_acceptance(session, district_code, since=period.start, refreshed=refreshed),
        tallied_at=refreshed.astimezone(tz) if refreshed else None,
        dept_labels={d.value: d.label for d in DeptType},
        charts=_charts(f).all(),
        now=now,
        report_month=_last_month(now.astimezone(tz).date()),
    )


@dashboard.get("/chart/<name>.csv")
@role_required(*DASHBOARD_ROLES)
def chart_csv(name: str) -> ResponseReturnValue:
    """One chart's figures as CSV (UTF-8 with BOM), for the same district and period as the page.

    :raises werkzeug.exceptions.NotFound: no such chart (the district comparison has none on a district's page).
    """
    if name not in CHART_NAMES:
        abort(404)
    f = _figures(staff())
    try:
        chart = _charts(f).chart(name)
    except KeyError:
        abort(404)
    scope = f.district_code or "city"
    filename = f"{name}-{scope}-{f.period.first_day:%Y%m%d}-{f.period.last_day:%Y%m%d}.csv"
    return Response(
        chart.csv(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@dashboard.get("/report.xlsx")
@role_required(*DASHBOARD_ROLES)
def monthly_report_download() -> ResponseReturnValue:
    """The month's report (``?month=YYYY-MM``, default last month) as a workbook, for the district the dashboard
    shows the user (``?district=`` for city-wide roles; a district role gets its own, another district is 404).

    :raises werkzeug.exceptions.BadRequest: a month that is not YYYY-MM or does not exist.
    """
    user = staff()
    session = get_session()
    tz = current_app.config["CALENDAR"]["timezone"]
    district_code = dashboard_district(user)
    if district_code is not None and session.get(District, district_code) is None:
        abort(404)
    month = (request.args.get("month") or "").strip() or _last_month(utcnow().astimezone(ZoneInfo(tz)).date())
    try:
        report = monthly_report(session, month, district_code, tz)
    except ValueError as exc:
        abort(400, description=str(exc))
    buffer = io.BytesIO()
    write_workbook(report, buffer)
    buffer.seek(0)
    return send_file(
        buffer,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name=report_filename(month, district_code),
    )


def _last_month(today: dt.date) -> str:
    return (today.replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")


nav_item("dashboard.index", "数据看板", set(DASHBOARD_ROLES), order=70)


def init_app(app: Flask) -> None:
    """Register the dashboard."""
    app.register_blueprint(dashboard)
