"""12345 both ways (issue 14, item 4): a hotline petition's changes pushed, signed, to the hotline's endpoint through
the outbox, and the hotline forwarding its petitioner's rating through the API.

The receiver is a real HTTP server on a free local port (tests/live.py `serve`) that checks the signature itself
with the standard library's HMAC, as the hotline would.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.wrappers import Request, Response

from models import Notification, Petition, utcnow
from models.enums import NotificationState, PetitionState
from tests.admin_web import f2_support
from tests.admin_web.f2_support import World
from tests.factories import make_petition
from tests.live import serve
from workflow.engine import perform
from workflow.outbox import deliver_due

site, api_client, world = f2_support.site, f2_support.api_client, f2_support.world

SECRET = "hotline-push-secret-for-the-tests-0123456789"
MINUTE = dt.timedelta(minutes=1)
REPLY = {
    "petitioner_info": "李女士，市南区金门路居民",
    "policy_basis": "《青岛市城市道路管理办法》第十二条",
    "result": "交警支队已于当日修复金门路路口信号灯。",
    "responsible_person": "王科长",
    "contact_phone": "0532-88880000",
}
HOTLINE_BODY = {
    "external_id": "12345-20261125-0042",
    "district_code": "shinan",
    "kind": "livelihood",
    "content": "金门路路口红绿灯故障，早高峰拥堵。",
    "contact_name": "李女士",
    "contact_phone": "13900001111",
}
# The changes up to the reply, and the state each leads to.
TO_REPLY = [
    ("dispatcher", "dispatch", PetitionState.ASSIGNED),
    ("urban_handler", "accept", PetitionState.HANDLING),
    ("urban_handler", "submit_reply", PetitionState.UNIT_REVIEW),
    ("urban_reviewer", "approve_reply", PetitionState.PLATFORM_REVIEW),
    ("dispatcher", "send_reply", PetitionState.AWAITING_EVALUATION),
]


class Receiver:
    """The hotline's endpoint: checks each push's signature with its own secret (401 when it does not match),
    answers 503 while `down`, and keeps each delivery once (by its delivery id)."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.down = False
        self.received: list[dict[str, Any]] = []
        self.calls = 0
        self.refused_while_down = 0
        self.bad_signatures = 0
        self.repeats = 0
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        body = request.get_data()
        with self.lock:
            self.calls += 1
            if self.down:
                self.refused_while_down += 1
                return Response("维护中", status=503)(environ, start_response)
            expected = "sha256=" + hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(request.headers.get("X-Qingsu-Signature", ""), expected):
                self.bad_signatures += 1
                return Response("signature mismatch", status=401)(environ, start_response)
            document = json.loads(body)
            assert request.headers["X-Qingsu-Delivery"] == document["delivery_id"]
            if any(seen["delivery_id"] == document["delivery_id"] for seen in self.received):
                self.repeats += 1
            else:
                self.received.append(document)
        return Response("ok")(environ, start_response)


def _receiver(site: Flask, secret: str) -> Iterator[Receiver]:
    receiver = Receiver(secret)
    with serve(receiver) as base_url:
        site.config["HOTLINE"] = {"push_url": f"{base_url}/push", "push_secret": SECRET, "timeout_seconds": 5}
        yield receiver


@pytest.fixture
def receiver(site: Flask) -> Iterator[Receiver]:
    yield from _receiver(site, SECRET)


@pytest.fixture
def wrong_secret_receiver(site: Flask) -> Iterator[Receiver]:
    yield from _receiver(site, "the-hotline-was-given-another-secret-000000")


def _hotline_petition(world: World, api_client: FlaskClient) -> Petition:
    created = api_client.post("/api/v1/petitions", headers=world.token("hotline"), json=HOTLINE_BODY)
    assert created.status_code == 201, created.get_json()
    return world.session.scalars(select(Petition).where(Petition.number == created.get_json()["number"])).one()


def _act(world: World, petition: Petition, steps: list[tuple[str, str, PetitionState]]) -> None:
    params = {
        "dispatch": {"unit_id": world.urban.id, "nature": "complaint", "complexity": "simple"},
        "submit_reply": REPLY,
    }
    for key, action, _state in steps:
        perform(world.session, petition, action, world.users[key], utcnow(), **params.get(action, {}))
        world.session.commit()


def _deliver_until_quiet(app: Flask, now: dt.datetime) -> None:
    for _ in range(10):
        report = deliver_due(app, now)
        if report.sent + report.retrying + report.waiting + report.dead == 0:
            return


def test_a_hotline_petitions_changes_reach_the_hotline_signed_and_in_order(
    site: Flask, world: World, api_client: FlaskClient, receiver: Receiver
):
    """Rule (issue 14, 12345 both ways): every change of a hotline petition's state is pushed to the hotline with the
    petition number, the external id, the state, the time and, once replied, the reply; petitioners without WeChat
    get their notices through the push."""
    petition = _hotline_petition(world, api_client)
    _act(world, petition, TO_REPLY)

    _deliver_until_quiet(site, utcnow())

    assert receiver.bad_signatures == 0 and receiver.repeats == 0
    assert [push["state"] for push in receiver.received] == [state.value for *_, state in TO_REPLY]
    assert [push["action"] for push in receiver.received] == [action for _, action, _ in TO_REPLY]
    first, last = receiver.received[0], receiver.received[-1]
    assert first["number"] == petition.number and first["external_id"] == HOTLINE_BODY["external_id"]
    assert first["state_label"] == PetitionState.ASSIGNED.label
    dispatched = next(event for event in petition.events if event.action == "dispatch")
    assert dt.datetime.fromisoformat(first["time"]) == dispatched.created_at
    assert "已受理" in first["notices"][0]["text"] and petition.number in first["notices"][0]["text"]
    assert "reply" not in first
    assert last["reply"] == {"unit_name": world.urban.name, **REPLY}
    assert "已办理完毕" in last["notices"][0]["text"]
    rows = world.session.scalars(select(Notification).where(Notification.channel == "hotline")).all()
    assert {row.state for row in rows} == {NotificationState.SENT} and len(rows) == len(TO_REPLY)
    assert all(row.citizen_id is None for row in rows)


def test_pushes_survive_the_hotline_being_down_and_arrive_once_each_in_order(
    site: Flask, world: World, api_client: FlaskClient, receiver: Receiver
):
    """Rule (issue 14): pushes are retried with the outbox's backoff while the hotline is down, and each arrives once,
    in the order of the changes."""
    petition = _hotline_petition(world, api_client)
    receiver.down = True
    _act(world, petition, TO_REPLY[:3])
    now = utcnow()

    first_run = deliver_due(site, now)
    assert first_run.retrying == 1 and first_run.waiting == 2  # the later pushes wait behind the first
    assert receiver.refused_while_down == 1
    failing = world.session.scalars(
        select(Notification).where(Notification.channel == "hotline").order_by(Notification.id)
    ).first()
    assert failing is not None and "HTTP 503" in (failing.last_error or "")

    later = now + 30 * MINUTE  # past the first backoff, still down: tried again, nothing overtakes it
    deliver_due(site, later)
    assert receiver.refused_while_down == 2 and receiver.received == []

    receiver.down = False
    _deliver_until_quiet(site, later + 2 * dt.timedelta(hours=6))

    assert [push["state"] for push in receiver.received] == [state.value for *_, state in TO_REPLY[:3]]
    assert receiver.repeats == 0 and receiver.bad_signatures == 0
    world.session.expire_all()
    states = world.session.scalars(select(Notification.state).where(Notification.channel == "hotline")).all()
    assert states == [NotificationState.SENT] * 3


def test_a_push_the_hotline_cannot_verify_is_refused_and_dead_lettered_with_the_reason(
    site: Flask, world: World, api_client: FlaskClient, wrong_secret_receiver: Receiver
):
    """Rule (issue 14): pushes are signed with push_secret; a hotline holding another secret sees the mismatch, and
    the refused push is dead-lettered like any notification, saying why."""
    petition = _hotline_petition(world, api_client)
    _act(world, petition, TO_REPLY[:1])

    report = deliver_due(site, utcnow())

    assert report.dead == 1
    assert wrong_secret_receiver.bad_signatures == 1 and wrong_secret_receiver.received == []
    row = world.session.scalars(select(Notification).where(Notification.channel == "hotline")).one()
    world.session.refresh(row)
    assert row.state == NotificationState.DEAD
    assert "HTTP 401" in (row.last_error or "") and "push_secret" in (row.last_error or "")


def test_a_wechat_petition_is_not_pushed_to_the_hotline(
    site: Flask, world: World, receiver: Receiver
):
    """Rule (issue 14): only petitions the hotline filed are pushed to it."""
    petition = make_petition(world.session, citizen=world.citizen, now=utcnow())
    world.session.commit()
    _act(world, petition, TO_REPLY)

    _deliver_until_quiet(site, utcnow())

    assert receiver.calls == 0
    rows = world.session.scalars(select(Notification)).all()
    assert rows and {row.channel for row in rows} == {"wechat"}


def test_without_a_push_url_nothing_is_pushed(site: Flask, world: World, api_client: FlaskClient):
    """Configuration: an empty ``[hotline] push_url`` pushes nothing (the rows are marked skipped)."""
    site.config["HOTLINE"] = {"push_url": "", "push_secret": "", "timeout_seconds": 5}
    petition = _hotline_petition(world, api_client)
    _act(world, petition, TO_REPLY[:1])

    assert deliver_due(site, utcnow()).skipped == 1


def test_the_hotline_forwards_its_petitioners_rating_once_per_round(
    site: Flask, world: World, api_client: FlaskClient, receiver: Receiver
):
    """Rule (source: 诉求人对答复进行评价，满意或基本满意且解决或基本解决的办结，否则二次办理): the hotline forwards the
    rating of its petitioner (who has no WeChat) through the API, under the same workflow rules, once per round; it
    cannot rate a petition it did not file."""
    petition = _hotline_petition(world, api_client)
    _act(world, petition, TO_REPLY)
    headers = world.token("hotline")
    url = f"/api/v1/petitions/{petition.number}/actions/evaluate"
    rating = {"expected_state": "awaiting_evaluation", "satisfaction": "unsatisfied", "resolution": "unresolved"}

    rated = api_client.post(url, headers=headers, json=rating)

    assert rated.status_code == 200, rated.get_json()
    assert rated.get_json()["petition"]["state"]["value"] == PetitionState.PENDING_DISPATCH  # second handling
    again = api_client.post(url, headers=headers, json=rating)
    assert again.status_code == 409
    _deliver_until_quiet(site, utcnow())
    assert receiver.received[-1]["action"] == "evaluate"
    assert receiver.received[-1]["state"] == PetitionState.PENDING_DISPATCH
    assert "二次办理" in receiver.received[-1]["notices"][0]["text"]

    wechat_petition = make_petition(world.session, citizen=world.citizen, now=utcnow())
    world.session.commit()
    _act(world, wechat_petition, TO_REPLY)
    refused = api_client.post(
        f"/api/v1/petitions/{wechat_petition.number}/actions/evaluate", headers=headers, json=rating
    )
    assert refused.status_code == 403
