"""Reading the State Council's holiday notice: the real 2026 and 2025 notices give exactly the official schedule;
a notice that does not add up is refused with a reason and nothing is read from it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import chinese_calendar
import pytest

from workflow.holiday_notice import NoticeError, parse_notice

NOTICE_2026 = (Path(__file__).parent / "notice_2026.txt").read_text(encoding="utf-8")

# 国办发明电〔2024〕12号, the 2025 notice: a one-day 元旦, a range across a month, 国庆节 and 中秋节 together.
NOTICE_2025 = """一、元旦：1月1日（周三）放假1天，不调休。
二、春节：1月28日（农历除夕、周二）至2月4日（农历正月初七、周二）放假调休，共8天。1月26日（周日）、2月8日（周六）上班。
三、清明节：4月4日（周五）至6日（周日）放假，共3天。
四、劳动节：5月1日（周四）至5日（周一）放假调休，共5天。4月27日（周日）上班。
五、端午节：5月31日（周六）至6月2日（周一）放假，共3天。
六、国庆节、中秋节：10月1日（周三）至8日（周三）放假调休，共8天。9月28日（周日）、10月11日（周六）上班。"""


@pytest.mark.parametrize(("year", "text"), [(2026, NOTICE_2026), (2025, NOTICE_2025)])
def test_the_real_notice_gives_the_official_schedule(year: int, text: str) -> None:
    """Rule: the notice's "x月x日至x日放假调休，共x天。x月x日（周x）上班" sentences are the year's holidays and
    make-up working days — the same days the official calendar has."""
    days = parse_notice(text, year).days()
    official_off = {d for d in chinese_calendar.holidays if d.year == year}
    official_on = {d for d in chinese_calendar.workdays if d.year == year}
    assert {d for d, (working, _) in days.items() if not working} == official_off
    assert {d for d, (working, _) in days.items() if working} == official_on


def test_the_parsed_days_carry_their_holiday() -> None:
    notice = parse_notice(NOTICE_2026, 2026)
    assert [h.name for h in notice.holidays] == ["元旦", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节"]
    days = notice.days()
    assert days[dt.date(2026, 2, 15)] == (False, "春节")
    assert days[dt.date(2026, 2, 28)] == (True, "春节调休上班")
    assert days[dt.date(2026, 9, 20)] == (True, "国庆节调休上班")


def test_half_width_punctuation_and_a_range_into_the_next_year_are_read() -> None:
    notice = parse_notice("元旦:2022年12月31日(周六)至2023年1月2日(周一)放假调休,共3天.", 2023)
    assert notice.days() == {
        dt.date(2022, 12, 31): (False, "元旦"),
        dt.date(2023, 1, 1): (False, "元旦"),
        dt.date(2023, 1, 2): (False, "元旦"),
    }


@pytest.mark.parametrize(
    ("text", "year", "reason"),
    [
        ("", 2027, "请粘贴"),
        ("经国务院批准，现将放假安排通知如下。", 2027, "没有找到"),
        ("元旦：1月1日（周四）至3日（周六）放假调休，共3天。", 2027, "2027年1月1日是周五，通知写的是周四"),
        ("春节：2月5日至12日放假调休，共9天。", 2027, "是8天，通知写的是共9天"),
        ("元旦：1月1日至3月3日放假。", 2027, "不是有效的放假区间"),
        ("2月20日（周六）上班。", 2027, "上班日期之前没有放假安排"),
        ("春节：2月30日至3月2日放假。", 2027, "2027年2月30日不是有效日期"),
        ("春节：2月5日至12日放假，共8天。2月6日上班。", 2027, "既是「春节」的假日又是调休上班日"),
        ("元旦" + "。" * 10_001, 2027, "通知正文过长"),
    ],
)
def test_a_notice_that_does_not_add_up_is_refused_with_the_reason(text: str, year: int, reason: str) -> None:
    """Rule: bad input gets a clear error: the notice's own numbers and weekdays are checked against its dates."""
    with pytest.raises(NoticeError, match=reason):
        parse_notice(text, year)
