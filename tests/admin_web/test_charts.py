"""The server-drawn SVG charts (`admin_web.charts`): round axis tops, bars scaled to them, empty data and a single
figure drawn sensibly, every text escaped, accessible names, links for drill-down, well-formed XML."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from itertools import pairwise

import pytest

from admin_web.charts import (
    Category,
    Series,
    axis_ticks,
    bar_chart,
    format_value,
    hbar_chart,
    line_chart,
    nice_ceiling,
    rate_axis_bottom,
)

SVG = "{http://www.w3.org/2000/svg}"


def parsed(markup: str) -> ET.Element:
    """The chart as XML: it must be well formed (a stray "<" or "&" from a label would break it)."""
    return ET.fromstring(str(markup))


def rects(svg: ET.Element) -> list[ET.Element]:
    """The bars (the legend's swatches have no tooltip)."""
    return [r for r in svg.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]


@pytest.mark.parametrize(
    ("value", "top"),
    [(0, 1), (-3, 1), (0.3, 0.5), (1, 1), (7, 10), (10, 10), (11, 20), (23, 25), (180, 200), (4_321, 5_000),
     (1_000_000, 1_000_000), (1_000_001, 2_000_000)],
)  # fmt: skip
def test_the_count_axis_ends_at_the_next_round_figure(value: float, top: float) -> None:
    assert nice_ceiling(value) == pytest.approx(top)


def test_the_axis_has_evenly_spaced_ticks_from_zero() -> None:
    assert axis_ticks(25) == [0, 5, 10, 15, 20, 25]


def test_figures_are_written_as_counts_or_percentages() -> None:
    assert format_value(12345, percent=False) == "12,345"
    assert format_value(2.5, percent=False) == "2.5"
    assert format_value(0.9655, percent=True) == "96.55%"


def test_bars_are_scaled_to_the_axis_top_and_carry_their_figure_as_tooltip() -> None:
    svg = parsed(
        bar_chart("各区(市)诉求量", [Category("市南区"), Category("崂山区")], [Series("诉求量", [20, 5])])
    )
    tall, short = rects(svg)
    # The axis runs to 20: the first bar fills the plot, the second a quarter of it.
    assert float(tall.get("height")) == pytest.approx(4 * float(short.get("height")), rel=0.01)
    assert tall.find(f"{SVG}title").text == "市南区 · 诉求量：20"
    ticks = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "tick"]
    assert ticks == ["0", "4", "8", "12", "16", "20"]


def test_stacked_bars_add_up_and_side_by_side_bars_share_the_slot() -> None:
    categories = [Category("市南区"), Category("市北区")]
    series = [Series("红灯", [1, 2], css="light-red"), Series("蓝灯", [3, 2], css="light-blue")]
    stacked = rects(parsed(bar_chart("灯", categories, series, stacked=True)))
    # One column per district, the first series at the bottom: the blue part sits on the red one, and the column
    # is as tall as 1 + 3 on an axis to 5.
    red, blue = stacked[0], stacked[1]
    assert float(blue.get("y")) + float(blue.get("height")) == pytest.approx(float(red.get("y")), abs=0.11)
    assert float(red.get("height")) * 3 == pytest.approx(float(blue.get("height")), rel=0.01)
    assert red.get("x") == blue.get("x") and red.get("class") == "light-red"
    side = rects(parsed(bar_chart("灯", categories, series)))
    assert side[0].get("x") != side[1].get("x")


def test_rates_run_from_zero_to_one_hundred_percent() -> None:
    svg = parsed(bar_chart("三率", [Category("市南区")], [Series("满意率", [0.5])], percent=True))
    ticks = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "tick"]
    assert ticks[0] == "0%" and ticks[-1] == "100%"
    assert rects(svg)[0].find(f"{SVG}title").text == "市南区 · 满意率：50.00%"


@pytest.mark.parametrize("draw", [bar_chart, line_chart])
def test_no_data_says_so_instead_of_drawing_an_empty_axis(draw) -> None:  # type: ignore[no-untyped-def]
    for categories, series in (([], []), ([Category("1月")], [Series("满意率", [None])])):
        svg = parsed(draw("近12个月", categories, series))
        assert [t.text for t in svg.iter(f"{SVG}text")] == ["暂无数据"]
        assert svg.get("role") == "img" and svg.get("aria-label") == "近12个月"


def test_a_horizontal_chart_without_data_says_so() -> None:
    assert "暂无数据" in str(hbar_chart("部门类型", [], Series("诉求量", [])))


def test_a_single_figure_is_drawn_within_the_plot() -> None:
    bar = rects(parsed(bar_chart("诉求量", [Category("3月")], [Series("诉求量", [1])])))[0]
    assert float(bar.get("height")) > 0 and float(bar.get("y")) >= 0
    line = parsed(line_chart("三率", [Category("3月")], [Series("满意率", [0.97])]))
    (point,) = line.iter(f"{SVG}circle")
    assert 0 <= float(point.get("cy")) <= 260
    assert not list(line.iter(f"{SVG}polyline"))  # one point is no line
    hbar = rects(parsed(hbar_chart("排名", [Category("某街道")], Series("满意率", [1.0]), percent=True)))[0]
    assert float(hbar.get("width")) > 0


def test_a_missing_month_breaks_the_line() -> None:
    svg = parsed(
        line_chart(
            "三率", [Category(f"{m}月") for m in (1, 2, 3, 4)], [Series("满意率", [0.9, 0.95, None, 0.92])]
        )
    )
    assert len(list(svg.iter(f"{SVG}polyline"))) == 1  # 1月–2月; 4月 stands alone
    assert len(list(svg.iter(f"{SVG}circle"))) == 3


def test_chinese_labels_and_markup_in_them_are_escaped() -> None:
    hostile = '<script>alert("x")</script> & 李沧区'
    markup = str(
        bar_chart(
            f"标题{hostile}",
            [Category(hostile, href='/admin/search?kind=a&district="b"')],
            [Series(f"系列{hostile}", [3])],
        )
    )
    assert "<script>" not in markup
    svg = parsed(markup)  # still well-formed XML
    assert svg.get("aria-label") == f"标题{hostile}"
    assert rects(svg)[0].find(f"{SVG}title").text == f"{hostile} · 系列{hostile}：3"
    links = [a.get("href") for a in svg.iter(f"{SVG}a")]
    assert '/admin/search?kind=a&district="b"' in links


def test_bars_and_categories_link_to_what_is_behind_them() -> None:
    svg = parsed(
        bar_chart(
            "灯",
            [Category("市南区", href="/admin/dashboard/?district=shinan")],
            [Series("红灯", [2], hrefs=["/admin/search?light_now=red&district=shinan"])],
        )
    )
    links = [a.get("href") for a in svg.iter(f"{SVG}a")]
    assert links == ["/admin/search?light_now=red&district=shinan", "/admin/dashboard/?district=shinan"]


def test_marked_categories_are_drawn_apart() -> None:
    svg = parsed(
        hbar_chart(
            "排名",
            [Category("1. 甲街道"), Category("2. 乙街道", marked=True)],
            Series("满意率", [0.99, 0.5]),
            percent=True,
        )
    )
    first, second = rects(svg)
    assert "marked" not in first.get("class") and "marked" in second.get("class")


def test_long_labels_are_shortened_on_the_axis_and_whole_in_the_tooltip() -> None:
    name = "青岛市市南区八大湖街道办事处社区服务中心"
    svg = parsed(hbar_chart("排名", [Category(name)], Series("满意率", [0.9]), percent=True))
    label = next(t for t in svg.iter(f"{SVG}text") if t.get("class") == "category")
    assert label.text.endswith("…") and len(label.text) < len(name)
    assert label.find(f"{SVG}title").text == name


def test_a_series_must_have_one_figure_per_category() -> None:
    with pytest.raises(ValueError, match="2 values for 1 categories"):
        bar_chart("x", [Category("a")], [Series("s", [1, 2])])


def test_no_style_attribute_and_no_external_reference() -> None:
    markup = str(
        bar_chart("x", [Category("a", href="/a")], [Series("s", [1]), Series("t", [2])])
        + line_chart("y", [Category("a"), Category("b")], [Series("s", [0.9, 0.8])])
    )
    # The Content-Security-Policy (style-src 'self') would drop inline styles; nothing may be fetched.
    assert "style=" not in markup
    assert re.findall(r'(?:href|src)="https?://', markup) == []


def test_decimal_figures_from_the_database_are_drawn_like_floats() -> None:
    from decimal import Decimal

    as_decimal = line_chart(
        "三率", [Category("1月"), Category("2月")], [Series("满意率", [Decimal("0.5"), None])]
    )
    as_float = line_chart("三率", [Category("1月"), Category("2月")], [Series("满意率", [0.5, None])])
    assert str(as_decimal) == str(as_float)


@pytest.mark.parametrize(
    ("lowest", "bottom"), [(0.97, 0.9), (0.91, 0.75), (0.8, 0.75), (0.6, 0.5), (0.51, 0.0), (0.0, 0.0)]
)
def test_a_rate_line_starts_below_its_lowest_figure_at_a_round_percentage(
    lowest: float, bottom: float
) -> None:
    assert rate_axis_bottom(lowest) == bottom
    svg = parsed(line_chart("三率", [Category("1月"), Category("2月")], [Series("满意率", [lowest, 1.0])]))
    ticks = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "tick"]
    assert ticks[0] == f"{bottom * 100:.0f}%" and ticks[-1] == "100%"
    values = [float(t.rstrip("%")) for t in ticks]
    assert all(v.is_integer() for v in values) and len({b - a for a, b in pairwise(values)}) == 1
