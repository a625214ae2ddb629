"""The monthly report (月度报表) a platform hands upward: one workbook, a sheet per table.

Sheets: 概况 (the month's totals), 三率-区(市) and 三率-承办单位 (resolution, satisfaction and on-time rates),
诉求量-区(市) (received, rejected, closed, unrated), 按期与超期-区(市) and 按期与超期-承办单位 (replies sent on time and
late), 热点 (the month's most frequent department types), 热点问题 (the month's petitions clustered by meaning and place, as
the dashboard's hot issues are: `workflow.hot_issues.issues_between`), 二次办理-区(市) and 二次办理-承办单位.

The rates are the dashboard's: both take them from `rate_tables` here, which sums `workflow.tallies.period_rates`
(the daily tallies as of their last refresh, the rest counted live), so a month's figures on the dashboard and in the
workbook are the same numbers. "Late" (超期) is a reply sent after the deadline in force, the complement of on time
in `workflow.rates`. A second handling (二次办理) is a first-round rating that was unsatisfied or unresolved: the
petition went back to the platform; it is counted by the month of that rating and the unit whose reply was rated.

`monthly_report` gathers the figures (a few GROUP BYs, whatever the number of petitions); `write_workbook` lays
them out with openpyxl. `qingsu report monthly` and the dashboard's download both call them.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from models import District, Evaluation, Petition, Unit
from models.db import get_session
from models.enums import DeptType, PetitionKind, PetitionState, Resolution, Satisfaction
from workflow import hot_counts
from workflow.hot_issues import PeriodIssue, issues_between
from workflow.rates import ALL, GroupBy, Rate, roomy_aggregates
from workflow.tallies import period_rates, refreshed_at

MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
# The month's largest hot issues listed in the workbook.
HOT_ISSUES_LISTED = 50
DEPT_VALUES = frozenset(d.value for d in DeptType)
# Years a report may cover (the platform's data starts long after 2000; the far future has none).
FIRST_YEAR, LAST_YEAR = 2000, 2100


@dataclass(frozen=True)
class RateRow:
    """One line of a rates table: what it is about, and its three rates."""

    key: str
    label: str
    resolution: Rate
    satisfaction: Rate
    on_time: Rate

    @property
    def volume(self) -> int:
        """How much the row rests on: its ratings or its replies, whichever are more (the unit table's order)."""
        return max(self.resolution.denominator, self.on_time.denominator)


def rate_tables(
    session: Session,
    district_code: str | None,
    start: dt.datetime,
    end: dt.datetime,
    refreshed: dt.datetime | None = None,
) -> tuple[dict[GroupBy, list[RateRow]], int]:
    """The three rates per group for the overall line (key None) and by district, unit, kind and month, one row per
    group that has any rating or reply in [start, end), and the petitions left unrated: from the daily tallies as
    of `refreshed` (see `workflow.tallies`) and a live count of the rest (all of it live when `refreshed` is None)."""
    groupings: tuple[GroupBy, ...] = (None, "district", "unit", "kind", "month")
    counted = period_rates(
        session, groupings, district_code=district_code, start=start, end=end, refreshed=refreshed
    )
    empty = Rate(0, 0)
    tables: dict[GroupBy, list[RateRow]] = {}
    for group_by, rates in counted.rates.items():
        tables[group_by] = [
            RateRow(
                key,
                key,
                rates.resolution.get(key, empty),
                rates.satisfaction.get(key, empty),
                rates.on_time.get(key, empty),
            )
            for key in sorted({*rates.resolution, *rates.satisfaction, *rates.on_time})
        ]
    return tables, counted.unrated


# --- the month -----------------------------------------------------------------------------------------------------


def parse_month(text: str) -> tuple[int, int]:
    """(year, month) from "YYYY-MM".

    :raises ValueError: another shape, a month outside 01–12, or a year outside 2000–2100 (the message says which).
    """
    match = MONTH_RE.match((text or "").strip())
    if match is None:
        raise ValueError(f"月份「{text}」须为 YYYY-MM 格式，例如 2026-11")
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12:
        raise ValueError(f"月份「{text}」不存在（月须为 01 到 12）")
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"月份「{text}」超出范围（{FIRST_YEAR} 到 {LAST_YEAR} 年）")
    return year, month


def month_span(text: str, tz: str) -> tuple[dt.datetime, dt.datetime]:
    """The month "YYYY-MM" as instants [start, end): local midnight of its first day to that of the next month's.

    :raises ValueError: as `parse_month`.
    """
    year, month = parse_month(text)
    zone = ZoneInfo(tz)
    first = dt.date(year, month, 1)
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return (
        dt.datetime.combine(first, dt.time(), tzinfo=zone).astimezone(dt.UTC),
        dt.datetime.combine(following, dt.time(), tzinfo=zone).astimezone(dt.UTC),
    )


# --- the figures ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A column of a sheet: its header, its number format (``int``, ``percent``, ``text``) and width in characters."""

    header: str
    kind: str = "int"
    width: int = 12


@dataclass
class Sheet:
    """One table of the workbook: its (Chinese) name, its columns and its rows (values in column order; a rate as a
    fraction in [0, 1] or None when there is nothing to rate)."""

    title: str
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)
    # Rows (named by their first cell) whose numbers are rates: the overview's 解决率, 满意率, 按期办结率.
    percent_rows: frozenset[str] = frozenset()


@dataclass
class MonthlyReport:
    month: str
    district_code: str | None
    scope: str
    sheets: list[Sheet]


def _rate_columns() -> list[Column]:
    return [
        Column("评价件数"),
        Column("解决率", "percent"),
        Column("满意率", "percent"),
        Column("答复件数"),
        Column("按期办结率", "percent"),
    ]


def _rate_cells(row: RateRow) -> list[Any]:
    return [
        row.resolution.denominator,
        row.resolution.value,
        row.satisfaction.value,
        row.on_time.denominator,
        row.on_time.value,
    ]


def _on_time_cells(row: RateRow) -> list[Any]:
    sent, on_time = row.on_time.denominator, row.on_time.numerator
    return [sent, on_time, sent - on_time, row.on_time.value]


def month_hot_issues(
    session: Session, district_code: str | None, start: dt.datetime, end: dt.datetime
) -> tuple[list[tuple[str, int]], list[PeriodIssue]]:
    """The month's most frequent department types (`workflow.hot_counts`) and its hot issues (the petitions created
    in [start, end) clustered as the dashboard's are). The one place the report reads them."""
    departments = hot_counts.labelled(
        "department",
        session.execute(
            hot_counts.top(
                hot_counts.counts_query(session, "department", (), district_code, start, end), "department"
            )
        ).all(),
    )
    return departments, issues_between(session, start, end, district_code)[:HOT_ISSUES_LISTED]


def _volumes(
    session: Session, district_code: str | None, start: dt.datetime, end: dt.datetime
) -> dict[str, dict[str, int]]:
    """Per district: petitions received in the month, those of them rejected, and petitions closed in it."""
    received = (
        select(
            Petition.district_code,
            func.count().label("received"),
            func.count().filter(Petition.state == PetitionState.REJECTED).label("rejected"),
        )
        .where(Petition.created_at >= start, Petition.created_at < end)
        .group_by(Petition.district_code)
    )
    closed = (
        select(
            Petition.district_code,
            func.count().filter(Petition.state == PetitionState.CLOSED).label("closed"),
            func.count().filter(Petition.state == PetitionState.UNRATED).label("unrated"),
        )
        .where(Petition.closed_at >= start, Petition.closed_at < end)
        .group_by(Petition.district_code)
    )
    if district_code:
        received = received.where(Petition.district_code == district_code)
        closed = closed.where(Petition.district_code == district_code)
    volumes: dict[str, dict[str, int]] = {}
    for row in session.execute(received):
        volumes.setdefault(row.district_code, {}).update(received=row.received, rejected=row.rejected)
    for row in session.execute(closed):
        volumes.setdefault(row.district_code, {}).update(closed=row.closed, unrated=row.unrated)
    return volumes


def _second_handlings(
    session: Session, district_code: str | None, start: dt.datetime, end: dt.datetime
) -> list[Any]:
    """Per district and unit: first-round ratings of the month that sent the petition to a second handling, and
    second-round ratings of the month, with those still unsatisfied or unresolved."""
    failed = or_(
        Evaluation.satisfaction == Satisfaction.UNSATISFIED, Evaluation.resolution == Resolution.UNRESOLVED
    )
    query = (
        select(
            Petition.district_code,
            Evaluation.unit_id,
            func.count().filter(Evaluation.handling_round == 1, failed).label("sent_back"),
            func.count().filter(Evaluation.handling_round > 1).label("rated_again"),
            func.count().filter(Evaluation.handling_round > 1, failed).label("failed_again"),
        )
        .join(Petition, Petition.id == Evaluation.petition_id)
        .where(Evaluation.created_at >= start, Evaluation.created_at < end)
        .group_by(Petition.district_code, Evaluation.unit_id)
    )
    if district_code:
        query = query.where(Petition.district_code == district_code)
    return list(session.execute(query))


def monthly_report(session: Session, month: str, district_code: str | None, tz: str) -> MonthlyReport:
    """The figures of `month` ("YYYY-MM") for one district or (None) the whole city.

    :raises ValueError: a bad month (as `parse_month`) or an unknown district.
    """
    start, end = month_span(month, tz)
    districts = {
        d.code: d for d in session.scalars(select(District).order_by(District.position, District.code))
    }
    if district_code is not None and district_code not in districts:
        raise ValueError(f"未知的区(市)「{district_code}」")
    order = {code: i for i, code in enumerate(districts)}
    district_name = {code: d.name for code, d in districts.items()}

    tables, unrated = rate_tables(session, district_code, start, end, refreshed_at(session))
    roomy_aggregates(session)
    volumes = _volumes(session, district_code, start, end)
    second = _second_handlings(session, district_code, start, end)
    unit_ids = {int(r.key) for r in tables["unit"] if r.key.isdigit()} | {
        row.unit_id for row in second if row.unit_id is not None
    }
    units = {u.id: u for u in session.scalars(select(Unit).where(Unit.id.in_(unit_ids)))} if unit_ids else {}

    def unit_label(key: Any) -> tuple[str, str]:
        unit = units.get(int(key)) if str(key).isdigit() else None
        if unit is None:
            return "（未记录单位）", ""
        return unit.name, district_name.get(unit.district_code, "市级") if unit.district_code else "市级"

    by_district = sorted(tables["district"], key=lambda r: (order.get(r.key, len(order)), r.key))
    by_unit = sorted(tables["unit"], key=lambda r: (-r.volume, unit_label(r.key)[0]))
    overall = tables[None][0] if tables[None] else RateRow(ALL, "合计", Rate(0, 0), Rate(0, 0), Rate(0, 0))
    scope = district_name[district_code] if district_code else "全市"
    received = sum(v.get("received", 0) for v in volumes.values())
    sent_back = sum(row.sent_back for row in second)
    departments, issues = month_hot_issues(session, district_code, start, end)

    overview = Sheet(
        "概况",
        [Column("项目", "text", 24), Column("数值", "int", 16)],
        percent_rows=frozenset({"解决率", "满意率", "按期办结率"}),
    )
    overview.rows = [
        ["月份", month],
        ["范围", scope],
        ["新收诉求（件）", received],
        ["评价件数", overall.resolution.denominator],
        ["解决率", overall.resolution.value],
        ["满意率", overall.satisfaction.value],
        ["答复件数", overall.on_time.denominator],
        ["按期答复（件）", overall.on_time.numerator],
        ["超期答复（件）", overall.on_time.denominator - overall.on_time.numerator],
        ["按期办结率", overall.on_time.value],
        ["未评价（件）", unrated],
        ["转二次办理（件）", sent_back],
    ]

    district_rates = Sheet("三率-区(市)", [Column("区(市)", "text", 14), *_rate_columns()])
    district_rates.rows = [[district_name.get(r.key, r.key), *_rate_cells(r)] for r in by_district]
    district_rates.rows.append(["合计", *_rate_cells(overall)])
    unit_rates = Sheet(
        "三率-承办单位", [Column("承办单位", "text", 30), Column("区(市)", "text", 12), *_rate_columns()]
    )
    unit_rates.rows = [[*unit_label(r.key), *_rate_cells(r)] for r in by_unit]
    kind_rates = Sheet("三率-诉求类型", [Column("类型", "text", 12), *_rate_columns()])
    kind_labels = {k.value: k.label for k in PetitionKind}
    kind_rates.rows = [[kind_labels.get(r.key, r.key), *_rate_cells(r)] for r in tables["kind"]]

    volume = Sheet(
        "诉求量-区(市)",
        [
            Column("区(市)", "text", 14),
            Column("新收"),
            Column("其中不予受理"),
            Column("办结"),
            Column("未评价"),
        ],
    )
    for code in sorted(volumes, key=lambda c: (order.get(c, len(order)), c)):
        v = volumes[code]
        volume.rows.append(
            [district_name.get(code, code), v.get("received", 0), v.get("rejected", 0), v.get("closed", 0),
             v.get("unrated", 0)]
        )  # fmt: skip
    volume.rows.append(["合计", *(sum(row[i] for row in volume.rows) for i in range(1, 5))])

    on_time_columns = [Column("答复件数"), Column("按期"), Column("超期"), Column("按期办结率", "percent")]
    district_on_time = Sheet("按期与超期-区(市)", [Column("区(市)", "text", 14), *on_time_columns])
    district_on_time.rows = [[district_name.get(r.key, r.key), *_on_time_cells(r)] for r in by_district]
    district_on_time.rows.append(["合计", *_on_time_cells(overall)])
    unit_on_time = Sheet(
        "按期与超期-承办单位",
        [Column("承办单位", "text", 30), Column("区(市)", "text", 12), *on_time_columns],
    )
    unit_on_time.rows = [
        [*unit_label(r.key), *_on_time_cells(r)]
        for r in sorted(by_unit, key=lambda r: (-(r.on_time.denominator - r.on_time.numerator), -r.volume))
        if r.on_time.denominator
    ]

    hot = Sheet("热点", [Column("部门类型", "text", 24), Column("件数")])
    hot.rows = [[name, n] for name, n in departments]
    clusters = Sheet(
        "热点问题",
        [
            Column("热点问题", "text", 36),
            Column("件数"),
            Column("部门类型", "text", 16),
            Column("街道", "text", 14),
            Column("区(市)", "text", 14),
            Column("共同词语", "text", 24),
            Column("首件", "text", 12),
            Column("末件", "text", 12),
            Column("诉求编号", "text", 60),
        ],
    )
    clusters.rows = [
        [
            issue.title,
            issue.size,
            DeptType(issue.dept_type).label if issue.dept_type in DEPT_VALUES else (issue.dept_type or ""),
            issue.street or "",
            "、".join(district_name.get(code, code) for code in issue.districts),
            " ".join(issue.terms),
            issue.first_at.astimezone(ZoneInfo(tz)).date().isoformat(),
            issue.last_at.astimezone(ZoneInfo(tz)).date().isoformat(),
            " ".join(issue.numbers),
        ]
        for issue in issues
    ]

    second_columns = [Column("转二次办理"), Column("二次办理后评价"), Column("其中仍不满意或未解决")]
    second_district = Sheet("二次办理-区(市)", [Column("区(市)", "text", 14), *second_columns])
    per_district: dict[str, list[int]] = {}
    for row in second:
        counts = per_district.setdefault(row.district_code, [0, 0, 0])
        counts[0] += row.sent_back
        counts[1] += row.rated_again
        counts[2] += row.failed_again
    second_district.rows = [
        [district_name.get(code, code), *counts]
        for code, counts in sorted(
            per_district.items(), key=lambda item: (order.get(item[0], len(order)), item[0])
        )
        if any(counts)
    ]
    second_unit = Sheet(
        "二次办理-承办单位", [Column("承办单位", "text", 30), Column("区(市)", "text", 12), *second_columns]
    )
    per_unit: dict[Any, list[int]] = {}
    for row in second:
        counts = per_unit.setdefault(row.unit_id, [0, 0, 0])
        counts[0] += row.sent_back
        counts[1] += row.rated_again
        counts[2] += row.failed_again
    second_unit.rows = sorted(
        ([*unit_label(unit_id if unit_id is not None else ""), *counts] for unit_id, counts in per_unit.items()
         if any(counts)),
        key=lambda row: (-row[2], row[0]),
    )  # fmt: skip

    sheets = [overview, district_rates, unit_rates, kind_rates, volume, district_on_time, unit_on_time, hot, clusters,
              second_district, second_unit]  # fmt: skip
    return MonthlyReport(month, district_code, scope, sheets)


# --- the workbook --------------------------------------------------------------------------------------------------

PERCENT_FORMAT = "0.00%"
INT_FORMAT = "#,##0"


def write_workbook(report: MonthlyReport, target: str | IO[bytes]) -> None:
    """Write `report` as an .xlsx workbook to `target` (a path or a binary stream): a sheet per table, a bold
    frozen header row, column widths, integers with thousands separators and rates as percentages (an empty cell
    where there was nothing to rate)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    workbook = Workbook()
    workbook.remove(workbook.active)
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    for sheet in report.sheets:
        ws = workbook.create_sheet(sheet.title[:31])
        ws.append([column.header for column in sheet.columns])
        for cell in ws[1]:
            cell.font, cell.fill = bold, fill
            cell.alignment = Alignment(horizontal="center", vertical="center")
        percent_rows = sheet.percent_rows
        for row in sheet.rows:
            # PostgreSQL's SUM answers numeric: the workbook gets plain numbers.
            ws.append([_plain(value) for value in row])
            cells = ws[ws.max_row]
            for column, cell in zip(sheet.columns, cells, strict=True):
                kind = column.kind
                if kind == "int" and percent_rows and str(row[0]) in percent_rows:
                    kind = "percent"
                if kind == "percent" and isinstance(cell.value, float | int):
                    cell.number_format = PERCENT_FORMAT
                elif kind == "int" and isinstance(cell.value, int):
                    cell.number_format = INT_FORMAT
        ws.freeze_panes = "A2"
        for index, column in enumerate(sheet.columns, start=1):
            ws.column_dimensions[ws.cell(row=1, column=index).column_letter].width = max(
                column.width, len(column.header) * 2 + 2
            )
    workbook.properties.title = f"{report.scope}{report.month}诉求办理月报"
    workbook.save(target)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def report_filename(month: str, district_code: str | None) -> str:
    """The workbook's file name: ``qingsu-report-2026-11[-shinan].xlsx``."""
    return f"qingsu-report-{month}{'-' + district_code if district_code else ''}.xlsx"


# --- `qingsu report monthly` ---------------------------------------------------------------------------------------

report_group = AppGroup("report", help="Reports a platform hands upward.")


def _month(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    try:
        parse_month(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


@report_group.command("monthly")
@click.option("--month", required=True, callback=_month, help="The month, YYYY-MM.")
@click.option(
    "--district", "district_code", default=None, help="One district's code (default: the whole city)."
)
@click.option(
    "--out", "out", required=True, type=click.Path(dir_okay=False, writable=True), help="The .xlsx file."
)
def monthly_command(month: str, district_code: str | None, out: str) -> None:
    """Write the month's figures (rates, volumes, on time and late, hot issues, second handlings) to OUT.

    A bad month or an unknown district exits with status 2 and says why; nothing is written.
    """
    session = get_session()
    tz = current_app.config["CALENDAR"]["timezone"]
    if district_code is not None and session.get(District, district_code) is None:
        raise click.BadParameter(f"未知的区(市)「{district_code}」", param_hint="--district")
    report = monthly_report(session, month, district_code, tz)
    write_workbook(report, out)
    click.echo(f"{report.scope} {month}: {len(report.sheets)} sheets written to {out}")
