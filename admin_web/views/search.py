"""Search (诉求查询): filters on number, state, light, unit, kind, district, dates and text, with pagination and a
CSV export of the same result. Every query starts from the user's scope."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, abort, current_app, render_template, request, stream_with_context
from flask.typing import ResponseReturnValue
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from admin_web.audit import audit
from admin_web.auth import role_required, staff
from admin_web.blueprint import admin
from admin_web.navigation import nav_item
from admin_web.rendering import local_time
from admin_web.scoping import UNIT_ROLES, district_codes_visible, phone_for, scoped_petitions, text_for
from admin_web.views.paging import Page
from models import District, Petition, Unit, User, petition_cooperating_unit, utcnow
from models.bounds import FIRST_DAY, LAST_DAY, parse_day, parse_id
from models.db import get_session
from models.enums import DeptType, Light, PetitionKind, PetitionState, Role
from models.text_search import text_prefilter
from workflow.calendar import load_calendar
from workflow.lights import light_now
from workflow.volumes import NO_DEPT

PER_PAGE = 20
# Counting stops here: a city-wide search over a year of petitions shows "10000+" instead of counting them all.
SEARCH_COUNT_LIMIT = 10_000
MAX_EXPORT_ROWS = 50_000
EXPORT_BATCH = 500
FILTER_NAMES = (
    "number", "state", "light", "light_now", "unit_id", "kind", "dept", "district", "date_from", "date_to", "q",
)  # fmt: skip


@dataclass
class Filters:
    """The search form's values, and which of them could not be understood."""

    values: dict[str, str]
    errors: list[str] = field(default_factory=list)

    @property
    def query_args(self) -> dict[str, str]:
        return {k: v for k, v in self.values.items() if v}


def _day_start(day: str, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(parse_day(day), dt.time(), tzinfo=tz).astimezone(dt.UTC)


def apply_filters(query: Select[tuple[Petition]], args: Any) -> tuple[Select[tuple[Petition]], Filters]:
    """`query` narrowed by the request's filters; an unreadable filter is reported and left out."""
    filters = Filters({name: (args.get(name) or "").strip() for name in FILTER_NAMES})
    v = filters.values
    tz = ZoneInfo(current_app.config["CALENDAR"]["timezone"])
    if v["number"]:
        query = query.where(Petition.number.contains(v["number"].upper(), autoescape=True))
    for name, enum, column in (
        ("state", PetitionState, Petition.state),
        ("light", Light, Petition.light),
        ("kind", PetitionKind, Petition.kind),
    ):
        if v[name]:
            try:
                query = query.where(column == enum(v[name]))
            except ValueError:
                filters.errors.append(f"筛选条件「{v[name]}」无效，已忽略")
    if v["dept"]:
        # The dashboard's department types: the one a dispatcher confirmed, "none" before that (workflow.volumes).
        if v["dept"] == NO_DEPT:
            query = query.where(Petition.dept_type.is_(None))
        else:
            try:
                query = query.where(Petition.dept_type == DeptType(v["dept"]))
            except ValueError:
                filters.errors.append(f"筛选条件「{v['dept']}」无效，已忽略")
    if v["light_now"]:
        # The light at this instant, as the dashboard counts it (the stored `light` lags the lights job).
        try:
            light = Light(v["light_now"])
        except ValueError:
            filters.errors.append(f"筛选条件「{v['light_now']}」无效，已忽略")
        else:
            session = get_session()
            config = current_app.config
            calendar = load_calendar(session, config["CALENDAR"]["timezone"])
            fraction = float(config["LIGHTS"]["yellow_fraction_left"])
            query = query.where(light_now(session, light, utcnow(), calendar, fraction))
    if v["district"]:
        query = query.where(Petition.district_code == v["district"])
    if v["unit_id"]:
        unit_id = parse_id(v["unit_id"])
        if unit_id is not None:
            cooperating = select(petition_cooperating_unit.c.petition_id).where(
                petition_cooperating_unit.c.unit_id == unit_id
            )
            query = query.where(
                or_(Petition.current_unit_id == unit_id, Petition.lead_unit_id == unit_id, Petition.id.in_(cooperating))
            )
        else:
            filters.errors.append("承办单位筛选条件无效，已忽略")
    for name, op in (("date_from", "ge"), ("date_to", "lt")):
        if v[name]:
            try:
                start = _day_start(v[name], tz)
            except ValueError:
                filters.errors.append(f"日期「{v[name]}」格式应为 YYYY-MM-DD（{FIRST_DAY.year}–{LAST_DAY.year} 年），已忽略")
                continue
            if op == "ge":
                query = query.where(Petition.created_at >= start)
            else:
                query = query.where(Petition.created_at < start + dt.timedelta(days=1))
    if v["q"]:
        # autoescape: a "%" or "_" typed into the box is searched for, not used as a wildcard.
        query = query.where(
            or_(*(column.icontains(v["q"], autoescape=True) for column in (
                Petition.title, Petition.content, Petition.location
            )))
        )
        # On PostgreSQL the bigram index finds the candidates first (models.text_search); the ILIKE decides.
        postgresql = get_session().get_bind().dialect.name == "postgresql"
        prefilter = text_prefilter(v["q"]) if postgresql else None
        if prefilter is not None:
            query = query.where(prefilter)
    return query, filters


def unit_choices(session: Session, user: User) -> list[Unit]:
    """Units offered in the unit filter: those of the districts the user sees (none for unit users)."""
    if user.role in UNIT_ROLES:
        return []
    districts = district_codes_visible(user)
    query = select(Unit).where(Unit.active.is_(True))
    if districts is not None:
        query = query.where(Unit.district_code.in_(districts))
    return list(session.scalars(query.order_by(Unit.district_code, Unit.level, Unit.name)))


@admin.get("/search")
@role_required()
def search() -> ResponseReturnValue:
    """The search page: newest petitions first, 20 a page."""
    user = staff()
    session = get_session()
    query, filters = apply_filters(scoped_petitions(user), request.args)
    page = Page.of(session, query, PER_PAGE, count_limit=SEARCH_COUNT_LIMIT)
    petitions = list(
        session.scalars(
            page.apply(query.order_by(Petition.created_at.desc(), Petition.id.desc())).options(
                selectinload(Petition.current_unit)
            )
        )
    )
    districts = district_codes_visible(user)
    district_rows = list(session.scalars(select(District).order_by(District.position))) if districts is None else []
    return render_template(
        "admin/search.html",
        petitions=petitions,
        page=page,
        filters=filters,
        states=list(PetitionState),
        lights=list(Light),
        kinds=list(PetitionKind),
        depts=list(DeptType),
        no_dept=NO_DEPT,
        units=unit_choices(session, user),
        districts=district_rows,
        district_names={d.code: d.name for d in district_rows},
    )


CSV_HEADER = ("编号", "区(市)", "类别", "性质", "状态", "灯", "当前单位", "提交时间", "受理时间", "截止时间", "标题",
              "诉求人", "联系电话", "诉求内容")


def _cell(value: str) -> str:
    # Spreadsheet programs run a cell that starts with these characters as a formula (CSV injection).
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _csv_rows(session: Session, user: User, query: Select[tuple[Petition]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    # The byte-order mark makes Excel read the file as UTF-8.
    writer.writerow(CSV_HEADER)
    yield "\ufeff" + flush()
    names = dict(session.execute(select(District.code, District.name)).tuples().all())
    # Streamed in batches: many-to-one units and citizens joined in, so the statements do not grow with the rows,
    # and at most one batch of petitions is held in memory.
    ordered = (
        query.order_by(Petition.created_at.desc(), Petition.id.desc())
        .limit(MAX_EXPORT_ROWS)
        .options(joinedload(Petition.current_unit), joinedload(Petition.citizen))
        .execution_options(yield_per=EXPORT_BATCH)
    )
    for p in session.scalars(ordered):
        phone = p.contact_phone or (p.citizen.phone if p.citizen else None)
        row = (
            p.number,
            names.get(p.district_code, p.district_code),
            p.kind.label,
            p.nature.label if p.nature else "",
            p.state.label,
            p.light.label if p.light else "",
            p.current_unit.name if p.current_unit else "",
            local_time(p.created_at),
            local_time(p.accepted_at),
            local_time(p.deadline),
            text_for(user, p.title),
            p.contact_name or (p.citizen.name if p.citizen and p.citizen.name else ""),
            phone_for(user, phone),
            text_for(user, p.content),
        )
        writer.writerow([_cell(str(value)) for value in row])
        yield flush()


@admin.get("/search.csv")
@role_required()
def search_csv() -> ResponseReturnValue:
    """The search result as CSV (UTF-8 with BOM, masked like the page); the export is written to the audit log."""
    user = staff()
    session = get_session()
    query, filters = apply_filters(scoped_petitions(user), request.args)
    if filters.errors:
        # The page leaves an unreadable filter out and says so; an export would silently hold more than was asked.
        abort(400, description="导出未开始：" + "；".join(e.removesuffix("，已忽略") for e in filters.errors))
    audit(session, user, "export_csv", "petitions", str(filters.query_args))
    session.commit()
    stamp = utcnow().astimezone(ZoneInfo(current_app.config["CALENDAR"]["timezone"])).strftime("%Y%m%d%H%M")
    return Response(
        stream_with_context(_csv_rows(session, user, query)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="petitions-{stamp}.csv"'},
    )


nav_item("admin.search", "诉求查询", set(Role), order=90)
