"""The application's one clock: every "now" the code reads comes from `utcnow()`.

Production reads the system clock. Tests install another source with `use_clock` (see `ShiftedClock`), so nothing
in the suite depends on the day it runs: domain functions still take `now` explicitly, and the edges (views, the
webhook, jobs, column defaults) ask this module.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

Clock = Callable[[], dt.datetime]


def system_clock() -> dt.datetime:
    """The system's current instant, aware, in UTC."""
    return dt.datetime.now(dt.UTC)


_source: Clock = system_clock


def utcnow() -> dt.datetime:
    """The current instant as an aware UTC datetime, from the installed clock."""
    return _source()


def use_clock(source: Clock) -> Clock:
    """Install `source` as the application's clock; returns the previous one so the caller can restore it."""
    global _source
    previous, _source = _source, source
    return previous


class ShiftedClock:
    """A clock that starts at a chosen instant and then runs at the speed of real time.

    Time still passes (leases expire, retries back off, timeouts fire), but the date is the one chosen, so a test
    behaves the same on any day and in any holiday week.
    """

    def __init__(self, start: dt.datetime) -> None:
        if start.tzinfo is None:
            raise ValueError(f"naive datetime {start!r}: pass an aware datetime")
        self.start = start.astimezone(dt.UTC)
        self._origin = time.monotonic()

    def __call__(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=time.monotonic() - self._origin)
