"""Charts drawn on the server as inline SVG: no script, no library, no network.

Each chart is an ``<svg role="img">`` with an ``aria-label`` naming it, a ``<title>`` on every bar or point (the
browser's tooltip: the category, the series and the figure), axis labels in Chinese, and colours from classes
(``series-0``…, ``light-red``…) styled in ``dashboard.css`` — the site's Content-Security-Policy allows no inline
style. A bar or point with an address is a link (drill-down). Every text is escaped.

Three shapes: `bar_chart` (vertical bars, side by side or stacked), `hbar_chart` (one horizontal bar per
category, for long names) and `line_chart` (one line per series, for months). Figures are either counts or rates in
[0, 1] (``percent=True``: the axis runs 0–100 %).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from markupsafe import Markup, escape

# Room around the plot, in SVG units (the viewBox scales with the page).
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 24, 44
TICKS = 5
RATE_AXIS_BOTTOMS = (0.9, 0.75, 0.5, 0.0)


@dataclass(frozen=True)
class Category:
    """One place on the category axis: its label (`short` on the axis when given, e.g. "3月" for "2026年3月"),
    where a click on it leads, and whether it is marked (e.g. one of the bottom ten)."""

    label: str
    href: str | None = None
    marked: bool = False
    short: str | None = None


@dataclass(frozen=True)
class Series:
    """One series of figures, one per category (None: nothing to show there), drawn with class ``css`` (else
    ``series-<i>``); `hrefs`, when given, one address per category for its bar (else the category's)."""

    name: str
    values: Sequence[float | None]
    css: str | None = None
    hrefs: Sequence[str | None] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        # Figures may come as the database's Decimals (sums on PostgreSQL): drawn as floats.
        object.__setattr__(self, "values", tuple(None if v is None else float(v) for v in self.values))


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k at least `value` (1 for nothing above 0): the top of a count axis."""
    if value <= 0 or math.isnan(value):
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power * (1 + 1e-12):
            return step * power
    return 10 * power  # pragma: no cover - the loop always returns


def axis_ticks(top: float, count: int = TICKS) -> list[float]:
    """`count` + 1 evenly spaced ticks from 0 to `top`."""
    return [top * i / count for i in range(count + 1)]


def rate_axis_bottom(lowest: float) -> float:
    """Where a rate axis starts so that changes show (rates sit high, 90 % and more) and its five ticks stay round:
    90 %, 75 %, 50 % or 0 %, the highest a little below `lowest`."""
    return next(bottom for bottom in RATE_AXIS_BOTTOMS if bottom <= lowest - 0.02 or bottom == 0.0)


def format_value(value: float, percent: bool) -> str:
    """A figure as the chart writes it: "96.55%" for a rate, "1,234" for a count (a fraction to one decimal)."""
    if percent:
        return f"{value * 100:.2f}%"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


def _tick_label(value: float, percent: bool) -> str:
    if percent:
        return f"{value * 100:.0f}%"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _top(series: Sequence[Series], stacked: bool, percent: bool, count: int) -> float:
    if percent:
        return 1.0
    if stacked:
        highest = max((sum(s.values[i] or 0 for s in series) for i in range(count)), default=0.0)
    else:
        highest = max((v for s in series for v in s.values if v is not None), default=0.0)
    return nice_ceiling(float(highest))


def _css(series: Series, index: int) -> str:
    return series.css or f"series-{index}"


def _href(series: Series, category: Category, index: int) -> str | None:
    if series.hrefs and index < len(series.hrefs):
        return series.hrefs[index]
    return category.href


def _linked(shape: str, href: str | None) -> str:
    return f'<a href="{escape(href)}">{shape}</a>' if href else shape


def _svg(title: str, width: int, height: int, body: list[str], css: str) -> Markup:
    label = escape(title)
    return Markup(
        f'<svg class="chart {css}" role="img" aria-label="{label}" viewBox="0 0 {width} {height}" '
        f'preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{label}</title>{''.join(body)}</svg>"
    )


def _legend(series: Sequence[Series], x: float, y: float) -> list[str]:
    if len(series) < 2:
        return []
    parts, at = [], x
    for i, s in enumerate(series):
        parts.append(f'<rect class="{_css(s, i)}" x="{at:.1f}" y="{y - 9:.1f}" width="10" height="10"/>')
        parts.append(f'<text class="legend" x="{at + 14:.1f}" y="{y:.1f}">{escape(s.name)}</text>')
        at += 24 + 13 * len(s.name)
    return parts


def _value_axis(top: float, percent: bool, x0: float, x1: float, y_of: object, unit: str) -> list[str]:
    parts = []
    for tick in axis_ticks(top):
        y = y_of(tick)  # type: ignore[operator]
        parts.append(f'<line class="grid" x1="{x0:.1f}" x2="{x1:.1f}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(
            f'<text class="tick" x="{x0 - 4:.1f}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(_tick_label(tick, percent))}</text>"
        )
    if unit:
        parts.append(
            f'<text class="axis-name" x="{x0 - 4:.1f}" y="{TOP - 4}" text-anchor="end">{escape(unit)}</text>'
        )
    return parts


def _empty(title: str, width: int, height: int, css: str) -> Markup:
    return _svg(
        title,
        width,
        height,
        [
            f'<text class="empty" x="{width / 2:.1f}" y="{height / 2:.1f}" text-anchor="middle">暂无数据</text>'
        ],
        css,
    )


def _has_data(series: Sequence[Series]) -> bool:
    return any(v is not None for s in series for v in s.values)


def bar_chart(
    title: str,
    categories: Sequence[Category],
    series: Sequence[Series],
    *,
    stacked: bool = False,
    percent: bool = False,
    unit: str = "件",
    width: int = 640,
    height: int = 260,
) -> Markup:
    """Vertical bars: per category one bar per series side by side, or the series stacked.

    :raises ValueError: a series without one value per category.
    """
    _check(categories, series)
    if not categories or not _has_data(series):
        return _empty(title, width, height, "bar")
    x0, x1, y0, y1 = LEFT, width - RIGHT, height - BOTTOM, TOP
    top = _top(series, stacked, percent, len(categories))

    def y_of(value: float) -> float:
        return y0 - (y0 - y1) * min(max(value, 0.0), top) / top

    body = _value_axis(top, percent, x0, x1, y_of, "" if percent else unit)
    slot = (x1 - x0) / len(categories)
    per_slot = 1 if stacked else len(series)
    bar_width = max(slot * 0.8 / per_slot, 1.0)
    for i, category in enumerate(categories):
        left = x0 + slot * i + slot * 0.1
        base = 0.0
        for j, s in enumerate(series):
            value = s.values[i]
            if value is None:
                continue
            if stacked:
                y_top, y_bottom, x = y_of(base + value), y_of(base), left
                base += value
            else:
                y_top, y_bottom, x = y_of(value), y0, left + bar_width * j
            tip = f"{category.label} · {s.name}：{format_value(value, percent)}"
            rect = (
                f'<rect class="{_css(s, j)}{" marked" if category.marked else ""}" x="{x:.1f}" '
                f'y="{y_top:.1f}" width="{bar_width:.1f}" height="{max(y_bottom - y_top, 0):.1f}">'
                f"<title>{escape(tip)}</title></rect>"
            )
            body.append(_linked(rect, _href(s, category, i)))
        body.append(_category_label(category, x0 + slot * (i + 0.5), y0 + 16, slot))
    body.append(f'<line class="axis" x1="{x0}" x2="{x1}" y1="{y0}" y2="{y0}"/>')
    body += _legend(series, x0, height - 6)
    return _svg(title, width, height, body, "bar")


def _category_label(category: Category, x: float, y: float, slot: float) -> str:
    # Long labels on narrow slots (twelve months, ten districts) are shortened; the full one is in the tooltip.
    room = max(int(slot // 11), 2)
    text = category.short or category.label
    text = text if len(text) <= room else text[: room - 1] + "…"
    label = (
        f'<text class="category{" marked" if category.marked else ""}" x="{x:.1f}" y="{y:.1f}" '
        f'text-anchor="middle">{escape(text)}<title>{escape(category.label)}</title></text>'
    )
    return _linked(label, category.href)


def hbar_chart(
    title: str,
    categories: Sequence[Category],
    series: Series,
    *,
    percent: bool = False,
    unit: str = "件",
    width: int = 640,
    row_height: int = 22,
    label_width: int = 170,
) -> Markup:
    """One horizontal bar per category (long names on the left), the figure written after the bar.

    :raises ValueError: a series without one value per category.
    """
    _check(categories, [series])
    height = TOP + BOTTOM + row_height * max(len(categories), 1)
    if not categories or not _has_data([series]):
        return _empty(title, width, height, "hbar")
    x0, x1, y0 = label_width, width - RIGHT - 60, TOP
    top = _top([series], False, percent, len(categories))
    body = []
    for tick in axis_ticks(top):
        x = x0 + (x1 - x0) * tick / top
        bottom = y0 + row_height * len(categories)
        body.append(f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{y0}" y2="{bottom}"/>')
        body.append(
            f'<text class="tick" x="{x:.1f}" y="{bottom + 14}" text-anchor="middle">'
            f"{escape(_tick_label(tick, percent))}</text>"
        )
    for i, category in enumerate(categories):
        y = y0 + row_height * i
        value = series.values[i]
        marked = " marked" if category.marked else ""
        text = (
            category.label
            if len(category.label) <= label_width // 13
            else category.label[: label_width // 13 - 1] + "…"
        )
        label = (
            f'<text class="category{marked}" x="{x0 - 6}" y="{y + row_height * 0.68:.1f}" text-anchor="end">'
            f"{escape(text)}<title>{escape(category.label)}</title></text>"
        )
        body.append(_linked(label, category.href))
        if value is None:
            continue
        length = (x1 - x0) * min(max(value, 0.0), top) / top
        tip = f"{category.label} · {series.name}：{format_value(value, percent)}"
        rect = (
            f'<rect class="{_css(series, 0)}{marked}" x="{x0}" y="{y + row_height * 0.15:.1f}" '
            f'width="{length:.1f}" height="{row_height * 0.7:.1f}"><title>{escape(tip)}</title></rect>'
        )
        body.append(_linked(rect, _href(series, category, i)))
        body.append(
            f'<text class="figure" x="{x0 + length + 4:.1f}" y="{y + row_height * 0.68:.1f}">'
            f"{escape(format_value(value, percent))}</text>"
        )
    if unit and not percent:
        body.append(f'<text class="axis-name" x="{x1 + 4}" y="{height - 6}">{escape(unit)}</text>')
    return _svg(title, width, height, body, "hbar")


def line_chart(
    title: str,
    categories: Sequence[Category],
    series: Sequence[Series],
    *,
    percent: bool = True,
    unit: str = "",
    width: int = 640,
    height: int = 260,
) -> Markup:
    """One line per series across the categories (months), a point per figure; a missing figure breaks the line.

    :raises ValueError: a series without one value per category.
    """
    _check(categories, series)
    if not categories or not _has_data(series):
        return _empty(title, width, height, "line")
    x0, x1, y0, y1 = LEFT, width - RIGHT, height - BOTTOM, TOP
    top = _top(series, False, percent, len(categories))
    bottom = rate_axis_bottom(min(v for s in series for v in s.values if v is not None)) if percent else 0.0

    def y_of(value: float) -> float:
        return y0 - (y0 - y1) * (min(max(value, bottom), top) - bottom) / (top - bottom)

    body = []
    for i in range(TICKS + 1):
        tick = bottom + (top - bottom) * i / TICKS
        y = y_of(tick)
        body.append(f'<line class="grid" x1="{x0}" x2="{x1}" y1="{y:.1f}" y2="{y:.1f}"/>')
        body.append(
            f'<text class="tick" x="{x0 - 4}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(_tick_label(tick, percent))}</text>"
        )
    if unit:
        body.append(
            f'<text class="axis-name" x="{x0 - 4}" y="{TOP - 4}" text-anchor="end">{escape(unit)}</text>'
        )
    slot = (x1 - x0) / len(categories)
    for j, s in enumerate(series):
        runs: list[list[str]] = [[]]
        for i, value in enumerate(s.values):
            if value is None:
                runs.append([])
                continue
            runs[-1].append(f"{x0 + slot * (i + 0.5):.1f},{y_of(value):.1f}")
        for run in runs:
            if len(run) > 1:
                body.append(f'<polyline class="line {_css(s, j)}" points="{" ".join(run)}"/>')
        for i, (category, value) in enumerate(zip(categories, s.values, strict=True)):
            if value is None:
                continue
            tip = f"{category.label} · {s.name}：{format_value(value, percent)}"
            point = (
                f'<circle class="point {_css(s, j)}" cx="{x0 + slot * (i + 0.5):.1f}" cy="{y_of(value):.1f}" r="4">'
                f"<title>{escape(tip)}</title></circle>"
            )
            body.append(_linked(point, _href(s, category, i)))
    for i, category in enumerate(categories):
        body.append(_category_label(category, x0 + slot * (i + 0.5), y0 + 16, slot))
    body.append(f'<line class="axis" x1="{x0}" x2="{x1}" y1="{y0}" y2="{y0}"/>')
    body += _legend(series, x0, height - 6)
    return _svg(title, width, height, body, "line")


def _check(categories: Sequence[Category], series: Sequence[Series]) -> None:
    for s in series:
        if len(s.values) != len(categories):
            raise ValueError(f"series {s.name!r} has {len(s.values)} values for {len(categories)} categories")
