"""Two people at once, over real HTTP on a threaded server: a lost race is a 409, a scheduler run does not get in a
staff member's way, and the outbox holds no transaction while it waits for WeChat (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import update

from admin_web.api import petitions as api_petitions
from admin_web.api.tokens import issue_token
from models import Notification, Petition, PetitionEvent, utcnow
from models.db import make_engine
from models.enums import NotificationState, PetitionState
from tests.factories import MONDAY_10AM, make_petition
from tests.live import serve
from tests.workflow.notify_support import (  # noqa: F401  (fixtures)
    TEMPLATE_SEND,
    FakeServer,
    Stage,
    app_config_fixture,
    stage_fixture,
)
from wechat.fake import FakeWechat, create_fake_app
from workflow import jobs

WAIT = 30  # seconds: only ever reached when something is broken


def _bearer(world: Any, user: Any) -> dict[str, str]:
    issued = issue_token(world.session, user, utcnow())
    world.session.commit()
    return {"Authorization": f"Bearer {issued.raw}"}


def _dispatch(base_url: str, number: str, headers: dict[str, str], unit_id: int) -> requests.Response:
    return requests.post(
        f"{base_url}/api/v1/petitions/{number}/actions/dispatch",
        json={"expected_state": "pending_dispatch", "unit_id": unit_id, "nature": "consult"},
        headers=headers,
        timeout=WAIT,
    )


# --- (a) two dispatchers, one petition ------------------------------------------------------------------------


def test_two_dispatches_of_one_petition_at_once_give_one_success_and_one_409(app: Flask, world, monkeypatch):
    tokens = [_bearer(world, world.dispatcher), _bearer(world, world.other_dispatcher)]
    # Both requests have loaded the petition, seen it waiting for dispatch and been allowed to act before either
    # writes: the race is certain, not a matter of timing.
    both_checked = threading.Barrier(2, timeout=WAIT)
    real_why_not = api_petitions.why_not

    def why_not_after_both_checked(*args: Any, **kwargs: Any) -> Any:
        both_checked.wait()
        return real_why_not(*args, **kwargs)

    monkeypatch.setattr(api_petitions, "why_not", why_not_after_both_checked)
    unit_id = world.community.id
    with serve(app) as base_url:
        for _ in range(3):
            petition = make_petition(world.session, citizen=world.citizen, now=MONDAY_10AM)
            world.session.commit()
            outcomes: list[Any] = []  # each request's response, or what it raised

            def dispatch(
                headers: dict[str, str], number: str = petition.number, into: list = outcomes
            ) -> None:
                try:
                    into.append(_dispatch(base_url, number, headers, unit_id))
                except Exception as exc:  # the assertion below shows it
                    into.append(exc)

            threads = [threading.Thread(target=dispatch, args=(headers,)) for headers in tokens]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(WAIT)
            answers = [o for o in outcomes if isinstance(o, requests.Response)]
            assert sorted(a.status_code for a in answers) == [200, 409], outcomes
            (lost,) = [a for a in answers if a.status_code == 409]
            assert lost.json()["error"]["code"] in ("state_changed", "conflict")
            world.session.expire_all()
            assert world.session.get(Petition, petition.id).state == PetitionState.ASSIGNED
            dispatches = world.session.query(PetitionEvent).filter_by(
                petition_id=petition.id, action="dispatch"
            )
            assert dispatches.count() == 1
            world.session.commit()


# --- (b) + (d) a staff action while the scheduler's outbox run waits for WeChat -------------------------------


class Gate:
    """Holds every request to `path` of a WSGI app until `release` is set; `entered` tells that one arrived.

    While it holds the request, it runs `probe` (in the fake's thread, so while the caller is still waiting for
    the answer) and keeps what it returned or raised.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.entered = threading.Event()
        self.release = threading.Event()
        self.probe: Callable[[], str] | None = None
        self.probed: list[str] = []

    def wrap(self, wsgi_app: Callable[..., Any]) -> Callable[..., Any]:
        def gated(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            if environ.get("PATH_INFO") == self.path:
                if self.probe is not None:
                    try:
                        self.probed.append(self.probe())
                    except Exception as exc:  # the test asserts on what happened
                        self.probed.append(f"{type(exc).__name__}: {exc}")
                self.entered.set()
                self.release.wait(WAIT)
            return wsgi_app(environ, start_response)

        return gated


@pytest.fixture
def gate() -> Gate:
    return Gate(TEMPLATE_SEND)


@pytest.fixture(name="wechat")
def gated_wechat(gate: Gate) -> Iterator[FakeServer]:
    """The fake WeChat API, with template sends held at the gate."""
    fake = FakeWechat()
    with serve(gate.wrap(create_fake_app(fake))) as url:
        yield FakeServer(fake, url)
    gate.release.set()


def _write_from_elsewhere(app: Flask) -> Callable[[], str]:
    """A probe: another connection (its own engine) updates every notification, waiting at most 0.5 s for locks.

    It succeeds only if nobody holds SQLite's write lock or a row lock on those rows at that moment.
    """

    def probe() -> str:
        engine = make_engine(app.config["DATABASE_URL"], busy_timeout=0.5)
        try:
            with engine.begin() as connection:
                connection.execute(update(Notification).values(last_error=Notification.last_error))
        finally:
            engine.dispose()
        return "written"

    return probe


def test_a_staff_action_during_an_outbox_run_succeeds_and_the_run_holds_no_transaction(
    app: Flask, stage: Stage, gate: Gate
):
    stage.use_templates()
    sending = stage.accepted_petition(now=utcnow())  # its "accepted" notification is due
    waiting = make_petition(stage.session, citizen=stage.world.citizen, now=utcnow())
    stage.session.commit()
    run_at = utcnow()  # the dispatch's own notification is made later: not due in this run
    headers = _bearer(stage.world, stage.world.dispatcher)
    gate.probe = _write_from_elsewhere(app)
    reports: list[Any] = []
    with serve(app) as base_url:
        run = threading.Thread(target=lambda: reports.append(jobs.deliver_outbox(app, run_at)))
        run.start()
        try:
            # The run is in progress: its template send is being held by WeChat.
            assert gate.entered.wait(WAIT)
            answer = _dispatch(base_url, waiting.number, headers, stage.world.community.id)
        finally:
            gate.release.set()
            run.join(WAIT)
    assert answer.status_code == 200, answer.text
    assert gate.probed == ["written"]
    assert len(reports) == 1 and reports[0].sent == 1
    (sent,) = stage.notifications(sending)
    assert sent.state == NotificationState.SENT
    (message,) = stage.fake.messages(stage.account.appid)
    assert message.client_msg_id == sent.client_msg_id
