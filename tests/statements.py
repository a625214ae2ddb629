"""Counting the SQL statements an application sends: tests pin "constant statements per run / per page" with it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from sqlalchemy import event


@contextmanager
def counting(app: Flask) -> Iterator[list[str]]:
    """The SQL statements the application's engine sends while the block runs (an executemany counts once)."""
    statements: list[str] = []
    engine = app.extensions["qingsu.engine"]

    def count(_conn, _cursor, statement, _params, _context, _executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)
