"""`models.db.execute_alone`: one statement that needs no transaction around it runs outside the session's (in
autocommit mode on PostgreSQL while the session has begun none), and inside it once it has begun."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, insert, select

from models import District
from models.db import execute_alone


def _row(code: str) -> dict[str, str]:
    return {"code": code, "name": f"{code}区", "platform_name": f"{code}办", "abbreviation": code[:2]}


def _count(app: Flask) -> int:
    with app.extensions["qingsu.engine"].connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(District)) or 0)


def test_a_statement_alone_is_kept_whatever_the_session_does_next(app: Flask) -> None:
    session = app.extensions["qingsu.sessionmaker"]()
    try:
        execute_alone(session, insert(District), _row("alone"))
        postgresql = session.get_bind().dialect.name == "postgresql"
        # PostgreSQL: committed already, the session has no transaction; SQLite: in the session's transaction.
        assert session.in_transaction() is not postgresql
        session.rollback()
        assert _count(app) == (1 if postgresql else 0)
    finally:
        session.close()


def test_once_the_session_has_begun_a_transaction_the_statement_is_part_of_it(app: Flask) -> None:
    session = app.extensions["qingsu.sessionmaker"]()
    try:
        session.scalar(select(func.count()).select_from(District))
        execute_alone(session, insert(District), _row("inside"))
        assert [row.code for row in execute_alone(session, select(District.code), {})] == ["inside"]
        session.rollback()
        assert _count(app) == 0
    finally:
        session.close()
