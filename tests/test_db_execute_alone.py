"""`models.db.execute_alone`: one statement that needs no transaction around it runs outside the session's (in
autocommit mode on PostgreSQL, in a transaction of its own on a SQLite file, while the session has begun none), and
inside it once it has begun. `models.db.write_alone`: several, kept together in one transaction of their own."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.exc import IntegrityError

from models import Citizen, District, utcnow
from models.db import execute_alone, write_alone
from models.enums import CitizenKind


def _row(code: str) -> dict[str, str]:
    return {"code": code, "name": f"{code}区", "platform_name": f"{code}办", "abbreviation": code[:2]}


def _full_row(code: str) -> dict[str, object]:
    return {**_row(code), "position": 0, "hotline": "", "service_hours": ""}


def _count(app: Flask) -> int:
    with app.extensions["qingsu.engine"].connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(District)) or 0)


def test_a_statement_alone_is_kept_whatever_the_session_does_next(app: Flask) -> None:
    session = app.extensions["qingsu.sessionmaker"]()
    try:
        execute_alone(session, insert(District), _row("alone"))
        # Committed already: the session has begun no transaction.
        assert not session.in_transaction()
        session.rollback()
        assert _count(app) == 1
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


def test_a_statement_alone_reads_and_fails_as_any_other_execution(app: Flask) -> None:
    """It is sent with the driver (compiled once; prepared on PostgreSQL): its rows read as SQLAlchemy's would (enums,
    time zones), and a unique key taken is SQLAlchemy's IntegrityError, which the webhook's retry relies on."""
    session = app.extensions["qingsu.sessionmaker"]()
    try:
        execute_alone(session, insert(District), _row("alone"))
        citizen = {
            "district_code": "alone",
            "openid": "o-alone",
            "kind": CitizenKind.ENTERPRISE,
            "subscribed": True,
            "created_at": utcnow(),
        }
        statement = insert(Citizen)
        for number in range(2):  # the second time from its compiled form
            execute_alone(session, statement, {**citizen, "openid": f"o-{number}"})
        assert not session.in_transaction()
        with pytest.raises(IntegrityError):
            execute_alone(session, insert(Citizen), {**citizen, "openid": "o-0"})
        session.rollback()
        query = select(Citizen.__table__).where(Citizen.openid == bindparam("openid"))
        alone = execute_alone(session, query, {"openid": "o-1"}).one()
        session.rollback()
        loaded = session.execute(query, {"openid": "o-1"}).one()
        assert alone._mapping == loaded._mapping
        assert alone.kind is CitizenKind.ENTERPRISE and alone.created_at == citizen["created_at"]
    finally:
        session.rollback()
        session.close()


def test_writes_alone_are_kept_together_or_not_at_all(app: Flask) -> None:
    """The webhook's first contact: the rows of one message in one transaction of their own; a unique key taken by
    the last of them undoes the first ones too, and the error is SQLAlchemy's."""
    session = app.extensions["qingsu.sessionmaker"]()
    try:
        # Every column given: statements with Python-side defaults to fill in run in the session (the caller commits).
        write_alone(session, [(insert(District), _full_row("one")), (insert(District), _full_row("two"))])
        assert not session.in_transaction()
        assert _count(app) == 2
        with pytest.raises(IntegrityError):
            write_alone(
                session, [(insert(District), _full_row("three")), (insert(District), _full_row("one"))]
            )
        session.rollback()
        assert _count(app) == 2
    finally:
        session.close()
