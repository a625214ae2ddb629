"""The dashboard's charts: what each shows, as SVG (`admin_web.charts`), as a table and as CSV, with the address of
the petitions or the district behind each bar.

- ``trend``: the last twelve months up to the period's end — petitions received (`workflow.volumes`) and the three
  rates (`workflow.rates`); a month leads to the petitions received in it.
- ``districts`` (city only): the ten districts side by side, received and rates; a district leads to its dashboard.
- ``lights``: running petitions by their light now, per district; a bar leads to those petitions (the search's
  ``light_now``, the same definition).
- ``kinds`` and ``departments``: petitions received in the period per kind and per department type; a bar leads to
  those petitions.
- ``units``: the units ranked by satisfaction rate (then resolution, then on-time, then volume), the bottom ten
  marked; a unit leads to its petitions.

Every figure comes from one GROUP BY over the daily tallies plus a live rest (`workflow.tallies`), or from what the
dashboard already counted (the period's rates per district, unit, kind and month, the lights): one statement more
than the page had (the petitions received in the period), and two small ones for the trend's months before the
period's start (the default period, this year, leaves one month) — whatever the number of months, districts or
units.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlencode

from markupsafe import Markup
from sqlalchemy.orm import Session

from admin_web.charts import Category, Series, bar_chart, hbar_chart, line_chart
from models import District
from models.enums import DeptType, Light, PetitionKind
from workflow.rates import Rate, Rates
from workflow.tallies import local_midnight, period_rates, period_volumes
from workflow.volumes import NO_DEPT

CHART_NAMES = ("trend", "districts", "lights", "kinds", "departments", "units")
TREND_MONTHS = 12
BOTTOM = 10
# The league chart shows every ranked unit up to this many, else the ten at the top and the ten at the bottom.
LEAGUE_CHART_ALL = 30
RATE_NAMES = ("解决率", "满意率", "按期办结率")
RATE_ATTRS = ("resolution", "satisfaction", "on_time")
LIGHT_ORDER = (Light.RED, Light.YELLOW, Light.BLUE)
NO_DEPT_LABEL = "未分拨"
Url = Callable[..., str]


@dataclass(frozen=True)
class Cell:
    """A table cell: its text and where a click on it leads (the same place as the chart's bar), if anywhere."""

    text: str
    href: str | None = None


@dataclass(frozen=True)
class Row:
    """A table row; `marked`: one of the league's bottom units."""

    cells: list[Cell]
    marked: bool = False


@dataclass(frozen=True)
class Chart:
    """One chart: its name (the CSV's address), title, SVG figures, and the same figures as a table."""

    name: str
    title: str
    figures: list[Markup]
    header: list[str]
    rows: list[Row]
    note: str = ""
    marked_label: str = ""
    # The CSV's rows when it holds more than the page (the whole league); else the table's.
    csv_rows: list[Row] | None = None

    def csv(self) -> str:
        """The table as CSV, UTF-8 with a byte-order mark so Excel reads the Chinese."""
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([*self.header, *([self.marked_label] if self.marked_label else [])])
        for row in self.rows if self.csv_rows is None else self.csv_rows:
            cells = [_safe_cell(cell.text) for cell in row.cells]
            writer.writerow([*cells, *(["是" if row.marked else ""] if self.marked_label else [])])
        return "\ufeff" + buffer.getvalue()


def _safe_cell(value: str) -> str:
    # A spreadsheet runs a cell starting with these as a formula; a unit name could.
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


class Period(Protocol):
    """The local days [first_day, last_day] and the instants [start, end) the dashboard shows
    (`admin_web.dashboard.Period`)."""

    start: dt.datetime
    end: dt.datetime
    first_day: dt.date
    last_day: dt.date


@dataclass
class ChartInputs:
    """What the dashboard has counted already, and what the charts need besides."""

    district_code: str | None
    period: Period
    refreshed: dt.datetime | None
    districts: Sequence[District]
    by_district: Rates | None
    by_unit: Rates
    by_kind: Rates
    by_month: Rates
    unit_names: dict[str, str]
    lights: dict[str, dict[Light, int]]
    url: Url


def _pct(rate: Rate | None) -> str:
    return rate.percent() if rate else "—"


def _value(rate: Rate | None) -> float | None:
    return rate.value if rate else None


def trend_months(last_day: dt.date, count: int = TREND_MONTHS) -> list[dt.date]:
    """The first days of the `count` months ending with `last_day`'s, oldest first."""
    months, month = [], last_day.replace(day=1)
    for _ in range(count):
        months.append(month)
        month = (month - dt.timedelta(days=1)).replace(day=1)
    return months[::-1]


def _added(a: Rates, b: Rates) -> Rates:
    """The rates of two disjoint spans of time together, key by key (counts add up)."""

    def add(x: dict[str, Rate], y: dict[str, Rate]) -> dict[str, Rate]:
        zero = Rate(0, 0)
        return {
            key: Rate(
                x.get(key, zero).numerator + y.get(key, zero).numerator,
                x.get(key, zero).denominator + y.get(key, zero).denominator,
            )
            for key in sorted({*x, *y})
        }

    return Rates(*(add(getattr(a, attr), getattr(b, attr)) for attr in RATE_ATTRS))


def _month_end(month: dt.date) -> dt.date:
    return (month + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)


class DashboardCharts:
    """The charts of one dashboard page (or of one CSV download: the same figures)."""

    def __init__(self, session: Session, inputs: ChartInputs) -> None:
        self.session = session
        self.i = inputs
        self._search_page: str | None = None
        period = inputs.period
        self.volumes = period_volumes(
            session,
            ["district", "kind", "dept", "month"],
            district_code=inputs.district_code,
            start=period.start,
            end=period.end,
            refreshed=inputs.refreshed,
        )
        self.months = trend_months(period.last_day)
        # The trend's months are those of the period's own counts from its start on; only the months before the
        # start (none when the period begins twelve months back or earlier) are counted besides, and added.
        first = self.months[0].strftime("%Y-%m")
        trend_start = local_midnight(self.months[0])
        self.trend_volumes = {k: n for k, n in self.volumes["month"].items() if k >= first}
        self.trend_rates = Rates(
            *({k: r for k, r in getattr(inputs.by_month, attr).items() if k >= first} for attr in RATE_ATTRS)
        )
        if trend_start < period.start:
            gap = {"district_code": inputs.district_code, "start": trend_start, "end": period.start}
            earlier = period_volumes(session, ["month"], refreshed=inputs.refreshed, **gap)["month"]
            for key, n in earlier.items():
                self.trend_volumes[key] = self.trend_volumes.get(key, 0) + n
            self.trend_rates = _added(
                self.trend_rates,
                period_rates(session, ["month"], refreshed=inputs.refreshed, **gap).rates["month"],
            )

    # --- addresses --------------------------------------------------------------------------------------------

    def _search(self, **filters: str) -> str:
        if self.i.district_code and "district" not in filters:
            filters["district"] = self.i.district_code
        # The search page's address once, its query per bar (a page has a hundred of them).
        if self._search_page is None:
            self._search_page = self.i.url("admin.search")
        return f"{self._search_page}?{urlencode(filters)}"

    def _in_period(self, **filters: str) -> str:
        p = self.i.period
        return self._search(date_from=p.first_day.isoformat(), date_to=p.last_day.isoformat(), **filters)

    def _district_page(self, code: str) -> str:
        p = self.i.period
        return self.i.url(
            "dashboard.index", district=code, start=p.first_day.isoformat(), end=p.last_day.isoformat()
        )

    # --- the charts -------------------------------------------------------------------------------------------

    def all(self) -> list[Chart]:
        """Every chart of the page, in its order (no district comparison on a district's page)."""
        return [self.chart(name) for name in CHART_NAMES if name != "districts" or not self.i.district_code]

    def chart(self, name: str) -> Chart:
        """The chart called `name`.

        :raises KeyError: no such chart (or the district comparison on a district's page).
        """
        if name == "districts" and self.i.district_code:
            raise KeyError(name)
        return {
            "trend": self.trend,
            "districts": self.districts,
            "lights": self.lights,
            "kinds": self.kinds,
            "departments": self.departments,
            "units": self.units,
        }[name]()

    def trend(self) -> Chart:
        keys = [m.strftime("%Y-%m") for m in self.months]
        last = self.i.period.last_day
        hrefs = [
            self._search(date_from=m.isoformat(), date_to=min(_month_end(m), last).isoformat())
            for m in self.months
        ]
        categories = [
            Category(f"{m.year}年{m.month}月", href, short=f"{m.month}月")
            for m, href in zip(self.months, hrefs, strict=True)
        ]
        received = [self.trend_volumes.get(k, 0) for k in keys]
        rates = self.trend_rates
        series = [
            Series(name, [_value(getattr(rates, attr).get(k)) for k in keys])
            for name, attr in zip(RATE_NAMES, ("resolution", "satisfaction", "on_time"), strict=True)
        ]
        rows = [
            Row(
                [
                    Cell(k, href),
                    Cell(f"{n:,}"),
                    *(
                        Cell(_pct(getattr(rates, attr).get(k)))
                        for attr in ("resolution", "satisfaction", "on_time")
                    ),
                    Cell(str(rates.resolution[k].denominator if k in rates.resolution else 0)),
                    Cell(str(rates.on_time[k].denominator if k in rates.on_time else 0)),
                ]
            )
            for k, href, n in zip(keys, hrefs, received, strict=True)
        ]
        return Chart(
            "trend",
            "近12个月趋势",
            [
                bar_chart("近12个月诉求量", categories, [Series("诉求量", received)]),
                line_chart("近12个月三率", categories, series),
            ],
            ["月份", "诉求量", *RATE_NAMES, "已评价", "已答复"],
            rows,
            note=f"截至 {last.isoformat()}；点击某月查看当月提交的诉求。",
        )

    def districts(self) -> Chart:
        rates = self.i.by_district or Rates({}, {}, {})
        received = self.volumes["district"]
        codes = [d.code for d in self.i.districts]
        categories = [Category(d.name, self._district_page(d.code)) for d in self.i.districts]
        attrs = ("resolution", "satisfaction", "on_time")
        rows = [
            Row(
                [
                    Cell(d.name, self._district_page(d.code)),
                    Cell(f"{received.get(d.code, 0):,}"),
                    *(Cell(_pct(getattr(rates, attr).get(d.code))) for attr in attrs),
                    Cell(str(rates.resolution[d.code].denominator if d.code in rates.resolution else 0)),
                    Cell(str(rates.on_time[d.code].denominator if d.code in rates.on_time else 0)),
                ]
            )
            for d in self.i.districts
        ]
        return Chart(
            "districts",
            "各区(市)对比",
            [
                bar_chart(
                    "各区(市)诉求量", categories, [Series("诉求量", [received.get(c, 0) for c in codes])]
                ),
                bar_chart(
                    "各区(市)三率",
                    categories,
                    [
                        Series(name, [_value(getattr(rates, attr).get(c)) for c in codes])
                        for name, attr in zip(RATE_NAMES, attrs, strict=True)
                    ],
                    percent=True,
                ),
            ],
            ["区(市)", "诉求量", *RATE_NAMES, "已评价", "已答复"],
            rows,
            note="点击区(市)查看该区(市)的数据看板。",
        )

    def lights(self) -> Chart:
        shown = [d for d in self.i.districts if not self.i.district_code or d.code == self.i.district_code]
        counts = {d.code: self.i.lights.get(d.code, {}) for d in shown}
        categories = [
            Category(d.name, self._district_page(d.code) if not self.i.district_code else None) for d in shown
        ]
        series = [
            Series(
                light.label,
                [counts[d.code].get(light, 0) for d in shown],
                css=f"light-{light.value}",
                hrefs=[self._search(light_now=light.value, district=d.code) for d in shown],
            )
            for light in LIGHT_ORDER
        ]
        rows = [
            Row(
                [
                    Cell(d.name, categories[i].href),
                    *(
                        Cell(
                            str(counts[d.code].get(light, 0)),
                            self._search(light_now=light.value, district=d.code),
                        )
                        for light in LIGHT_ORDER
                    ),
                ]
            )
            for i, d in enumerate(shown)
        ]
        return Chart(
            "lights",
            "办理中诉求的红黄蓝灯",
            [bar_chart("各区(市)红黄蓝灯", categories, series, stacked=True)],
            ["区(市)", *(light.label for light in LIGHT_ORDER)],
            rows,
            note="此刻仍在办理的诉求；点击色块查看这些诉求。",
        )

    def kinds(self) -> Chart:
        received = self.volumes["kind"]
        rates = self.i.by_kind
        kinds = list(PetitionKind)
        hrefs = [self._in_period(kind=k.value) for k in kinds]
        categories = [Category(k.label, href) for k, href in zip(kinds, hrefs, strict=True)]
        attrs = ("resolution", "satisfaction", "on_time")
        rows = [
            Row(
                [
                    Cell(k.label, href),
                    Cell(f"{received.get(k.value, 0):,}"),
                    *(Cell(_pct(getattr(rates, attr).get(k.value))) for attr in attrs),
                ]
            )
            for k, href in zip(kinds, hrefs, strict=True)
        ]
        return Chart(
            "kinds",
            "诉求类别",
            [
                bar_chart(
                    "各类别诉求量", categories, [Series("诉求量", [received.get(k.value, 0) for k in kinds])]
                )
            ],
            ["类别", "诉求量", *RATE_NAMES],
            rows,
            note="本期提交的诉求；点击柱查看这些诉求。",
        )

    def departments(self) -> Chart:
        received = self.volumes["dept"]
        labels = {d.value: d.label for d in DeptType} | {NO_DEPT: NO_DEPT_LABEL}
        order = sorted(received, key=lambda key: (-received[key], key == NO_DEPT, labels.get(key, key)))
        hrefs = [self._in_period(dept=key) for key in order]
        categories = [Category(labels.get(key, key), href) for key, href in zip(order, hrefs, strict=True)]
        rows = [
            Row([Cell(labels.get(key, key), href), Cell(f"{received[key]:,}")])
            for key, href in zip(order, hrefs, strict=True)
        ]
        return Chart(
            "departments",
            "部门类型",
            [hbar_chart("各部门类型诉求量", categories, Series("诉求量", [received[k] for k in order]))],
            ["部门类型", "诉求量"],
            rows,
            note="本期提交的诉求，按调度确认的部门类型；点击柱查看这些诉求。",
        )

    def units(self) -> Chart:
        ranked = league(self.i.by_unit)
        marked = bottom(len(ranked))
        names = self.i.unit_names
        everyone = len(ranked) <= LEAGUE_CHART_ALL
        rows, shown, categories, values = [], [], [], []
        for place, (key, rates) in enumerate(ranked, start=1):
            is_marked = place > len(ranked) - marked
            name = names.get(key, "（未记录单位）")
            on_page = everyone or place <= BOTTOM or place > len(ranked) - BOTTOM
            href = self._search(unit_id=key) if on_page and key.isdigit() else None
            satisfaction = rates.satisfaction.get(key)
            row = Row(
                [
                    Cell(str(place)),
                    Cell(name, href),
                    Cell(_pct(satisfaction)),
                    Cell(_pct(rates.resolution.get(key))),
                    Cell(_pct(rates.on_time.get(key))),
                    Cell(str(satisfaction.denominator if satisfaction else 0)),
                    Cell(str(rates.on_time[key].denominator if key in rates.on_time else 0)),
                ],
                marked=is_marked,
            )
            rows.append(row)
            if on_page:
                shown.append(row)
                categories.append(Category(f"{place}. {name}", href, marked=is_marked))
                values.append(_value(satisfaction))
        return Chart(
            "units",
            "承办单位满意率排名",
            [hbar_chart("承办单位满意率排名", categories, Series("满意率", values), percent=True)],
            ["名次", "单位", "满意率", "解决率", "按期办结率", "已评价", "已答复"],
            shown,
            note=(
                f"按满意率排名（并列时依次比较解决率、按期办结率、已评价数）；末位 {marked} 个单位标出。"
                + (
                    ""
                    if everyone
                    else f"共 {len(ranked)} 个单位，图表为前 {BOTTOM} 名与末 {BOTTOM} 名，完整排名见 CSV。"
                )
            ),
            marked_label="末位",
            csv_rows=rows,
        )


def league(rates: Rates) -> list[tuple[str, Rates]]:
    """The units that were rated in the period, best first: by satisfaction rate, then resolution rate, then
    on-time rate (none counts lowest), then the number of ratings (more first), then the key."""

    def order(key: str) -> tuple[float, float, float, int, str]:
        on_time = rates.on_time.get(key)
        return (
            -(rates.satisfaction[key].value or 0.0),
            -(rates.resolution[key].value or 0.0) if key in rates.resolution else 0.0,
            -(on_time.value or 0.0) if on_time else 0.0,
            -rates.satisfaction[key].denominator,
            key,
        )

    return [(key, rates) for key in sorted(rates.satisfaction, key=order)]


def bottom(ranked: int) -> int:
    """How many units at the bottom of a league of `ranked` are marked: ten, but never more than half of it."""
    return min(BOTTOM, ranked // 2)
