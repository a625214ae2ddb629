"""Local (Asia/Shanghai) calendar parts of stored instants, as SQL expressions for SQLite and PostgreSQL.

Instants are stored as naive UTC (`models.base.UTCDateTime`). China has kept UTC+8 all year since 1991, with no
daylight saving, so the local wall clock is the stored value plus eight hours on either database. Each construct
here compiles to the dialect's own date functions, so queries built with them run unchanged on both.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Date, Float, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

LOCAL_OFFSET = dt.timedelta(hours=8)
_SQLITE_SHIFT = "'+8 hours'"
_PG_SHIFT = "INTERVAL '8 hours'"


class local_month(FunctionElement[str]):
    """The local month of a stored instant, to GROUP BY; `month_label` turns a result into "YYYY-MM".

    PostgreSQL truncates (cheap per row) and the label is made from the truncated timestamp; SQLite formats
    directly.
    """

    inherit_cache = True
    name = "local_month"


class local_day(FunctionElement[str]):
    """The local calendar day of a stored instant as text "YYYY-MM-DD" (a join key for a table of days)."""

    type = String()
    inherit_cache = True
    name = "local_day"


class local_date(FunctionElement[dt.date]):
    """The local calendar day of a stored instant as a DATE value (what a `Date` column stores)."""

    type = Date()
    inherit_cache = True
    name = "local_date"


class day_month(FunctionElement[str]):
    """The month of a stored local day (a `Date` column), to GROUP BY; `month_label` turns a result into "YYYY-MM"."""

    inherit_cache = True
    name = "day_month"


class month_start(FunctionElement[dt.date]):
    """The first day of the month of a stored local day (a `Date` column), as a DATE value."""

    type = Date()
    inherit_cache = True
    name = "month_start"


class local_seconds(FunctionElement[float]):
    """Seconds since local midnight of a stored instant, fractions included."""

    type = Float()
    inherit_cache = True
    name = "local_seconds"


def _arg(compiler: Any, element: FunctionElement[Any], **kw: Any) -> str:
    (argument,) = element.clauses
    return str(compiler.process(argument, **kw))


def _whole_seconds(compiler: Any, element: FunctionElement[Any], **kw: Any) -> str:
    # SQLite's date functions round the stored "YYYY-MM-DD HH:MM:SS.ffffff" to milliseconds, so 23:59:59.9999
    # would become the next day: they are given the whole seconds only.
    return f"substr({_arg(compiler, element, **kw)}, 1, 19)"


@compiles(local_month)
def _month_sqlite(element: local_month, compiler: Any, **kw: Any) -> str:
    return f"strftime('%Y-%m', {_whole_seconds(compiler, element, **kw)}, {_SQLITE_SHIFT})"


@compiles(local_month, "postgresql")
def _month_pg(element: local_month, compiler: Any, **kw: Any) -> str:
    return f"date_trunc('month', {_arg(compiler, element, **kw)} + {_PG_SHIFT})"


@compiles(local_day)
def _day_sqlite(element: local_day, compiler: Any, **kw: Any) -> str:
    return f"strftime('%Y-%m-%d', {_whole_seconds(compiler, element, **kw)}, {_SQLITE_SHIFT})"


@compiles(local_day, "postgresql")
def _day_pg(element: local_day, compiler: Any, **kw: Any) -> str:
    return f"to_char({_arg(compiler, element, **kw)} + {_PG_SHIFT}, 'YYYY-MM-DD')"


@compiles(local_date)
def _date_sqlite(element: local_date, compiler: Any, **kw: Any) -> str:
    # SQLite's DATE columns hold "YYYY-MM-DD" text, which `date()` returns.
    return f"date({_whole_seconds(compiler, element, **kw)}, {_SQLITE_SHIFT})"


@compiles(local_date, "postgresql")
def _date_pg(element: local_date, compiler: Any, **kw: Any) -> str:
    return f"CAST({_arg(compiler, element, **kw)} + {_PG_SHIFT} AS DATE)"


@compiles(day_month)
def _day_month_sqlite(element: day_month, compiler: Any, **kw: Any) -> str:
    return f"substr({_arg(compiler, element, **kw)}, 1, 7)"


@compiles(day_month, "postgresql")
def _day_month_pg(element: day_month, compiler: Any, **kw: Any) -> str:
    return f"date_trunc('month', CAST({_arg(compiler, element, **kw)} AS TIMESTAMP))"


@compiles(month_start)
def _month_start_sqlite(element: month_start, compiler: Any, **kw: Any) -> str:
    return f"date({_arg(compiler, element, **kw)}, 'start of month')"


@compiles(month_start, "postgresql")
def _month_start_pg(element: month_start, compiler: Any, **kw: Any) -> str:
    return f"CAST(date_trunc('month', CAST({_arg(compiler, element, **kw)} AS TIMESTAMP)) AS DATE)"


@compiles(local_seconds)
def _seconds_sqlite(element: local_seconds, compiler: Any, **kw: Any) -> str:
    whole, argument = _whole_seconds(compiler, element, **kw), _arg(compiler, element, **kw)
    # The clock's whole seconds, then the stored fraction (".ffffff", empty when there is none).
    return (
        f"(CAST(strftime('%H', {whole}, {_SQLITE_SHIFT}) AS INTEGER) * 3600"
        f" + CAST(strftime('%M', {whole}, {_SQLITE_SHIFT}) AS INTEGER) * 60"
        f" + CAST(strftime('%S', {whole}, {_SQLITE_SHIFT}) AS INTEGER)"
        f" + CAST(substr({argument}, 20) AS REAL))"
    )


@compiles(local_seconds, "postgresql")
def _seconds_pg(element: local_seconds, compiler: Any, **kw: Any) -> str:
    return f"EXTRACT(EPOCH FROM CAST({_arg(compiler, element, **kw)} + {_PG_SHIFT} AS TIME))"


def month_label(value: str | dt.datetime | dt.date) -> str:
    """ "YYYY-MM" from what a `local_month` column returned (text on SQLite, a timestamp on PostgreSQL)."""
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m")
    return str(value)


def local_clock(instant: dt.datetime) -> dt.datetime:
    """The local wall clock of an aware instant, as the SQL constructs above see it (naive)."""
    return instant.astimezone(dt.UTC).replace(tzinfo=None) + LOCAL_OFFSET
