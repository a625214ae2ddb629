"""Alembic migrations build, from an empty database, exactly the schema the models declare."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from models import Base
from qingsu import db
from tests.conftest import PG_BASE_URL


@pytest.fixture
def empty_database_url(tmp_path: Path):
    if not PG_BASE_URL:
        yield f"sqlite:///{tmp_path}/migrated.db"
        return
    schema = f"qingsu_migrate_{os.getpid()}"
    admin = create_engine(PG_BASE_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    yield f"{PG_BASE_URL}{'&' if '?' in PG_BASE_URL else '?'}options=-csearch_path%3D{schema}"
    with admin.connect() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    admin.dispose()


def test_upgrade_from_empty_matches_the_models(empty_database_url):
    db.upgrade(empty_database_url)
    engine = db.make_engine(empty_database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == [], "models changed without a migration: run `qingsu db revision -m ...`"


def test_upgrade_is_idempotent_and_reachable_from_the_cli(empty_database_url, app):
    app.config["DATABASE_URL"] = empty_database_url
    runner = app.test_cli_runner()
    for _ in range(2):
        result = runner.invoke(args=["db", "upgrade"])
        assert result.exit_code == 0, result.output
        assert "database at head" in result.output
