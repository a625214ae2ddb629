"""Alembic migrations build, from an empty database, exactly the schema the models declare."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from models import DATABASE_ONLY_INDEXES, Base, db
from models.text_search import compared
from qingsu import schema
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
    schema.upgrade(empty_database_url)
    engine = db.make_engine(empty_database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": compared})
            differences = compare_metadata(context, Base.metadata)
            if conn.dialect.name == "postgresql":
                # The free-text search's index, which the models do not declare (models.text_search).
                indexes = {index["name"] for index in inspect(conn).get_indexes("petition")}
                assert indexes >= DATABASE_ONLY_INDEXES
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


def test_the_evaluation_window_migration_fills_the_bookkeeping_of_petitions_awaiting_a_rating(empty_database_url):
    """d3f8a61c5b27: a petition already asked and reminded before the upgrade is not asked or reminded again, and
    its window starts when its latest reply reached the citizen; yellow_at is left for the lights job."""
    import datetime as dt

    from sqlalchemy import insert, select

    from models import Citizen, District, Notification, Petition
    from models.enums import NotificationState, PetitionKind, PetitionState

    schema.upgrade(empty_database_url, "4222286c8291")
    engine = db.make_engine(empty_database_url)
    t0 = dt.datetime(2026, 11, 23, 2, tzinfo=dt.UTC)
    hour = dt.timedelta(hours=1)
    try:
        with engine.begin() as conn:
            conn.execute(insert(District).values(code="shinan", name="市南区", platform_name="暖南诉办",
                                                 abbreviation="SN", position=1))
            citizen = conn.execute(insert(Citizen).values(district_code="shinan", openid="o-1")).inserted_primary_key[0]
            ids = []
            for number, state in (("SN202611230001", PetitionState.AWAITING_EVALUATION),
                                  ("SN202611230002", PetitionState.CLOSED)):
                ids.append(conn.execute(insert(Petition).values(
                    number=number, district_code="shinan", citizen_id=citizen, kind=PetitionKind.LIVELIHOOD,
                    content="路灯不亮", state=state, handling_round=2, accepted_at=t0, deadline=t0 + 48 * hour,
                )).inserted_primary_key[0])
            for i, (event, state, at) in enumerate([
                ("replied", NotificationState.SENT, t0),  # round 1
                ("evaluation_request", NotificationState.SENT, t0 + hour),
                ("evaluation_reminder", NotificationState.SENT, t0 + 24 * hour),
                ("replied", NotificationState.SENT, t0 + 100 * hour),  # round 2
                ("evaluation_request", NotificationState.SENT, t0 + 101 * hour),
            ]):
                for pid in ids:
                    conn.execute(insert(Notification).values(
                        district_code="shinan", citizen_id=citizen, petition_id=pid, event=event, state=state,
                        client_msg_id=f"m{pid}-{i}", created_at=at, sent_at=at, next_attempt_at=at,
                    ))
        schema.upgrade(empty_database_url)
        with engine.connect() as conn:
            rows = conn.execute(
                select(Petition.reply_delivered_at, Petition.evaluation_requested_at,
                       Petition.evaluation_reminded_at, Petition.yellow_at).order_by(Petition.id)
            ).all()
        assert [tuple(rows[0]), tuple(rows[1])] == [
            (t0 + 100 * hour, t0 + 101 * hour, None, None),
            (None, None, None, None),  # not awaiting a rating: nothing to fill
        ]
        schema.upgrade(empty_database_url)  # idempotent at head
    finally:
        engine.dispose()
