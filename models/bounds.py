"""What the database can hold, for values that come from outside (paths, query strings, forms, JSON bodies).

A row id past PostgreSQL's ``integer`` (or past 64 bits, which SQLite's driver cannot even send) and a date near
the ends of the calendar (9999-12-31 has no next day; 0001-01-01 in Qingdao has no UTC instant) made the
database driver or ``datetime`` raise inside a request: a 500 instead of "no such thing" (404) or "bad value"
(400/422). Callers read ids and dates through these functions and answer None or ValueError as their
audience expects.
"""

from __future__ import annotations

import datetime as dt
import re

# The largest id a row can have: id columns are PostgreSQL ``integer`` (SQLite takes 64 bits, never reached).
MAX_ID = 2**31 - 1
# The days the platform has business with: a petition, a period of the dashboard, a holiday override.
FIRST_DAY = dt.date(2000, 1, 1)
LAST_DAY = dt.date(2099, 12, 31)

_ASCII_DIGITS = re.compile(r"[0-9]{1,10}")


def parse_id(raw: object) -> int | None:
    """A row id from `raw` (an int, or a string of ASCII digits), or None when it cannot be the id of any row:
    not a whole number, a bool, below 1 or above `MAX_ID`. ``"²"`` and ``"١"`` are digits to `str.isdigit` but not
    ids here."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and _ASCII_DIGITS.fullmatch(raw.strip()):
        value = int(raw.strip())
    else:
        return None
    return value if 1 <= value <= MAX_ID else None


def parse_day(raw: str) -> dt.date:
    """The ISO date in `raw` (``2026-11-27``) when it lies between `FIRST_DAY` and `LAST_DAY`.

    :raises ValueError: not a date, or outside those years.
    """
    day = dt.date.fromisoformat(raw.strip())
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"{day} is outside {FIRST_DAY.year}–{LAST_DAY.year}")
    return day


def check_instant(instant: dt.datetime) -> dt.datetime:
    """`instant` (aware) when its day lies between `FIRST_DAY` and `LAST_DAY`, in UTC.

    :raises ValueError: outside those years.
    """
    if not FIRST_DAY <= instant.date() <= LAST_DAY:
        raise ValueError(f"{instant} is outside {FIRST_DAY.year}–{LAST_DAY.year}")
    return instant.astimezone(dt.UTC)


def in_range_message(what: str) -> str:
    """The Chinese message for a date out of range, naming `what` (e.g. "日期「9999-12-31」")."""
    return f"{what}超出范围：须在 {FIRST_DAY.year}–{LAST_DAY.year} 年之间"
