"""A database held by someone else beyond the busy timeout: the change answers 503 with Retry-After and keeps
nothing, pages still read, and the same request succeeds once the lock is gone (SQLite and PostgreSQL)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine

from admin_web.auth import login_id
from models import Petition
from models.enums import PetitionState
from qingsu.config import merge
from tests.admin_web import f2_support
from tests.admin_web.conftest import CSRF_RE
from tests.admin_web.f2_support import World
from tests.factories import make_petition

site, api_client, world = f2_support.site, f2_support.api_client, f2_support.world
BUSY_TIMEOUT = 0.3


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return merge(app_config, {"DATABASE": {"busy_timeout_seconds": BUSY_TIMEOUT, "retry_after_seconds": 7}})


@contextmanager
def locked_elsewhere(app: Flask) -> Iterator[None]:
    """Another connection holds the write lock (SQLite) or an exclusive lock on the petition table (PostgreSQL);
    both still let readers read."""
    url = app.config["DATABASE_URL"]
    if url.startswith("sqlite"):
        other = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None, timeout=5)
        other.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            other.rollback()
            other.close()
        return
    engine = create_engine(url)
    try:
        with engine.connect() as other:
            other.exec_driver_sql("LOCK TABLE petition IN EXCLUSIVE MODE")
            try:
                yield
            finally:
                other.rollback()
    finally:
        engine.dispose()


def _petition(world: World) -> Petition:
    petition = make_petition(world.session, citizen=world.citizen)
    world.session.commit()
    return petition


def _dispatch_body(world: World) -> dict[str, Any]:
    return {"expected_state": "pending_dispatch", "unit_id": world.urban.id, "nature": "complaint"}


def test_an_api_action_on_a_locked_database_is_a_503_with_retry_after_then_succeeds(
    site: Flask, api_client, world: World
) -> None:
    petition = _petition(world)
    headers = world.token("dispatcher")
    path = f"/api/v1/petitions/{petition.number}/actions/dispatch"
    with locked_elsewhere(site):
        # Reading goes on.
        assert api_client.get(f"/api/v1/petitions/{petition.number}", headers=headers).status_code == 200
        busy = api_client.post(path, headers=headers, json=_dispatch_body(world))
    assert busy.status_code == 503, busy.get_data(as_text=True)
    assert busy.headers["Retry-After"] == "7"
    assert busy.get_json()["error"]["code"] == "database_busy"
    world.session.expire_all()
    assert world.session.get(Petition, petition.id).state == PetitionState.PENDING_DISPATCH
    world.session.commit()

    done = api_client.post(path, headers=headers, json=_dispatch_body(world))
    assert done.status_code == 200, done.get_data(as_text=True)
    assert done.get_json()["petition"]["state"]["value"] == "assigned"


def test_an_admin_form_on_a_locked_database_is_a_503_page_then_succeeds(site: Flask, world: World) -> None:
    client = site.test_client()
    petition = _petition(world)
    with client.session_transaction() as session:
        session["_user_id"] = login_id(world.users["dispatcher"])
        session["_fresh"] = True
    page = client.get(f"/admin/petitions/{petition.number}")
    assert page.status_code == 200
    token = CSRF_RE.search(page.get_data(as_text=True)).group(1)
    form = {"csrf_token": token, **{k: str(v) for k, v in _dispatch_body(world).items()}}
    path = f"/admin/petitions/{petition.number}/actions/dispatch"
    with locked_elsewhere(site):
        assert client.get(f"/admin/petitions/{petition.number}").status_code == 200
        busy = client.post(path, data=form)
    assert busy.status_code == 503
    assert busy.headers["Retry-After"] == "7"
    assert "系统繁忙" in busy.get_data(as_text=True)

    done = client.post(path, data=form)
    assert done.status_code == 302, done.get_data(as_text=True)
