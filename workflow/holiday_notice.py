"""Reading the State Council's holiday notice (国务院办公厅关于某年部分节假日安排的通知) that a manager pastes.

Each holiday of the notice is one sentence like ``二、春节：2月15日（农历腊月二十八、周日）至23日（农历正月初七、周一）
放假调休，共9天。2月14日（周六）、2月28日（周六）上班。``: the days off from the first date to the second (or one
date, ``1月1日（周三）放假1天``), their number, and the make-up working days (调休上班) that follow. `parse_notice`
reads every such sentence, checks what the notice says about itself — the number of days, each weekday in brackets —
and refuses the text with a Chinese reason naming the holiday when anything does not add up, so a notice of another
year, or a mistyped date, is never saved. Full-width and half-width digits and punctuation are both read.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from workflow.calendar import DAY, SHORT_WEEKDAYS

# The longest holiday a notice has ever given (春节 and 国庆节 with 调休: 8–9 days), with room to spare.
MAX_HOLIDAY_DAYS = 15
MAX_NOTICE_CHARS = 10_000

_DATE = re.compile(r"(?:(?P<y>\d{4})年)?(?:(?P<m>\d{1,2})月)?(?P<d>\d{1,2})日(?:\((?P<paren>[^)]*)\))?")
_WEEKDAY = re.compile(r"(?:周|星期)([一二三四五六日天])")
_COUNT = re.compile(r"(?:共|放假)(\d+)天")
_NUMBERING = re.compile(r"^\s*[一二三四五六七八九十]+、\s*")
_WEEKDAY_INDEX = {name: index for index, name in enumerate("一二三四五六日")} | {"天": 6}


class NoticeError(ValueError):
    """The pasted text cannot be read as a holiday notice; the message says where, in Chinese."""


@dataclass(frozen=True)
class NoticeHoliday:
    """One holiday of the notice: its name, its days off and its make-up working days."""

    name: str
    days_off: tuple[dt.date, ...]
    working_days: tuple[dt.date, ...]


@dataclass(frozen=True)
class Notice:
    """A parsed notice for `year`."""

    year: int
    holidays: tuple[NoticeHoliday, ...]

    def days(self) -> dict[dt.date, tuple[bool, str]]:
        """Every day the notice sets, by date: (is a working day, the note an override gets: 春节 / 春节调休上班)."""
        result: dict[dt.date, tuple[bool, str]] = {}
        for holiday in self.holidays:
            for day in holiday.days_off:
                result[day] = (False, holiday.name)
            for day in holiday.working_days:
                result[day] = (True, f"{holiday.name}调休上班")
        return dict(sorted(result.items()))


def _date(match: re.Match[str], year: int, month: int | None, holiday: str) -> dt.date:
    if match.group("m") is None and month is None:
        raise NoticeError(f"「{holiday}」：「{match.group(0)}」没有月份")
    y = int(match.group("y") or year)
    m = int(match.group("m") or month or 0)
    try:
        day = dt.date(y, m, int(match.group("d")))
    except ValueError:
        raise NoticeError(f"「{holiday}」：{y}年{m}月{match.group('d')}日不是有效日期") from None
    said = _WEEKDAY.search(match.group("paren") or "")
    if said and _WEEKDAY_INDEX[said.group(1)] != day.weekday():
        raise NoticeError(
            f"「{holiday}」：{day.year}年{day.month}月{day.day}日是{SHORT_WEEKDAYS[day.weekday()]}，"
            f"通知写的是周{said.group(1)}（年份是否选对？）"
        )
    return day


def _dates(text: str, year: int, holiday: str) -> list[dt.date]:
    days: list[dt.date] = []
    for match in _DATE.finditer(text):
        previous = days[-1] if days else None
        days.append(_date(match, previous.year if previous else year, previous.month if previous else None, holiday))
    return days


def parse_notice(text: str, year: int) -> Notice:
    """The holidays and make-up working days of a pasted notice for `year` (dates without a year are in `year`).

    :raises NoticeError: empty or overlong text, no holiday sentence, a range whose length is not the number of days
        the notice states, a weekday that does not match its date, a range longer than `MAX_HOLIDAY_DAYS`, a
        working day listed before any holiday, a day both off and working, or a day more than a month outside
        `year`.
    """
    if not text.strip():
        raise NoticeError("请粘贴国务院办公厅放假通知的正文")
    if len(text) > MAX_NOTICE_CHARS:
        raise NoticeError(f"通知正文过长（{len(text)}字），最多{MAX_NOTICE_CHARS}字")
    normal = unicodedata.normalize("NFKC", text)
    holidays: list[NoticeHoliday] = []
    for sentence in re.split(r"[。\n;]", normal):
        off_at, work_at = sentence.find("放假"), sentence.find("上班")
        if off_at >= 0 and _DATE.search(sentence[:off_at]):
            head, _, rest = sentence[:off_at].rpartition(":")
            name = _NUMBERING.sub("", head).strip() or "节假日"
            if not re.fullmatch(r"[\u4e00-\u9fff、]{1,20}", name):
                name = "节假日"
            bounds = _dates(rest, year, name)
            if len(bounds) > 2:
                raise NoticeError(f"「{name}」：放假日期应为“x月x日至x日”，这里有{len(bounds)}个日期")
            first, last = bounds[0], bounds[-1]
            if last < first or (last - first).days >= MAX_HOLIDAY_DAYS:
                raise NoticeError(f"「{name}」：{first.isoformat()}至{last.isoformat()}不是有效的放假区间")
            off = tuple(first + offset * DAY for offset in range((last - first).days + 1))
            count = _COUNT.search(sentence[off_at:])
            if count and int(count.group(1)) != len(off):
                raise NoticeError(
                    f"「{name}」：{first.month}月{first.day}日至{last.month}月{last.day}日是{len(off)}天，"
                    f"通知写的是共{count.group(1)}天"
                )
            working = tuple(_dates(sentence[off_at:work_at], year, name)) if work_at > off_at else ()
            holidays.append(NoticeHoliday(name, off, working))
        elif work_at >= 0 and _DATE.search(sentence[:work_at]):
            if not holidays:
                raise NoticeError("上班日期之前没有放假安排：请粘贴完整的通知")
            last_holiday = holidays[-1]
            extra = tuple(_dates(sentence[:work_at], year, last_holiday.name))
            holidays[-1] = NoticeHoliday(
                last_holiday.name, last_holiday.days_off, last_holiday.working_days + extra
            )
    if not holidays:
        raise NoticeError("没有找到“x月x日至x日放假……”的放假安排，请粘贴通知正文")
    seen: dict[dt.date, tuple[bool, str]] = {}
    earliest, latest = dt.date(year, 1, 1) - 31 * DAY, dt.date(year, 12, 31) + 31 * DAY
    for holiday in holidays:
        for working, days in ((False, holiday.days_off), (True, holiday.working_days)):
            for day in days:
                if not earliest <= day <= latest:
                    raise NoticeError(f"「{holiday.name}」：{day.isoformat()}不在{year}年")
                if day in seen and seen[day][0] != working:
                    raise NoticeError(f"{day.isoformat()}既是「{seen[day][1]}」的假日又是调休上班日")
                seen[day] = (working, holiday.name)
    return Notice(year, tuple(holidays))
