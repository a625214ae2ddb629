"""Issue 12 on the webhook. Attack 7: a signed request with a 400-digit timestamp was a 500, and a petition row with
an unknown state made the citizen's 我的诉求 fail. Attack 12: in plain mode the signature covers only the timestamp
and nonce, not the body, so one signed query string was accepted twice with different senders; now the webhook
remembers each (timestamp, nonce) it accepted with a digest of its body, for as long as the timestamp is inside the
replay window, and refuses the same query with another body."""

from __future__ import annotations

import datetime as dt
from xml.etree import ElementTree

import pytest
from sqlalchemy import func, select, text

from bot.menu import MenuKey
from models import Citizen, InboundMessage, WebhookNonce, utcnow
from tests.bot.conftest import Phone
from tests.factories import make_petition
from tests.wechat_wire import sha1_signature, sign_request
from workflow.jobs import forget_handled_messages


def _post(phone: Phone, query: dict[str, str], body: bytes):  # type: ignore[no-untyped-def]
    return phone.client.post(f"/wechat/{phone.district_code}", query_string=query, data=body,
                             content_type="text/xml")


@pytest.mark.parametrize("digits", [400, 20, 13])
@pytest.mark.parametrize("plain", [False, True])
def test_attack_7_a_signed_request_with_a_long_timestamp_is_403(phone, db_session, digits: int, plain: bool) -> None:
    citizen = phone(plain=plain)
    timestamp = "9" * digits
    query, body = sign_request(citizen.wire, citizen.wire.build_text(citizen.openid, "你好"), timestamp=timestamp)
    response = _post(citizen, query, body)
    assert response.status_code == 403
    assert response.get_data(as_text=True) == "timestamp outside the replay window"
    assert db_session.scalar(select(func.count(InboundMessage.dedupe_key))) == 0


def test_attack_7_a_signed_url_verification_with_a_long_timestamp_is_403(phone) -> None:
    citizen = phone()
    timestamp = "1" * 400
    query = {"signature": sha1_signature(citizen.wire.token, timestamp, "n1"), "timestamp": timestamp,
             "nonce": "n1", "echostr": "e"}
    assert citizen.client.get("/wechat/shinan", query_string=query).status_code == 403


def test_attack_7_an_unknown_state_in_my_petitions(phone, db_session) -> None:
    """Rule: 我的诉求 shows the citizen's petitions and a number shows its progress; a row this version cannot read
    is shown as unknown, the others as always."""
    citizen = phone()
    citizen.say("你好")
    owner = citizen.citizen(db_session)
    frozen = make_petition(db_session, citizen=owner, content="小区门口路灯不亮已经一周。", now=utcnow())
    other = make_petition(db_session, citizen=owner, content="楼下垃圾桶满了没人清理。", now=utcnow())
    db_session.commit()
    db_session.execute(text("UPDATE petition SET state = 'FROZEN' WHERE id = :id"), {"id": frozen.id})
    db_session.commit()
    db_session.expire_all()  # the test shares the requests' session
    listing = citizen.click(MenuKey.MY_PETITIONS)
    assert frozen.number in listing and other.number in listing
    assert "未知状态（FROZEN）" in listing and "待研判" in listing
    progress = citizen.say(frozen.number)
    assert f"诉求编号：{frozen.number}" in progress and "当前状态：未知状态（FROZEN）" in progress


# --- attack 12: replay of a plain-mode query string ----------------------------------------------------------------


def _citizens(session) -> set[str]:  # type: ignore[no-untyped-def]
    session.expire_all()
    return set(session.scalars(select(Citizen.openid)))


def test_attack_12_a_plain_mode_query_string_is_not_accepted_with_another_body(phone, db_session) -> None:
    first, second = phone(plain=True), phone(plain=True)
    query, body = sign_request(first.wire, first.wire.build_text(first.openid, "你好", msg_id=1001))
    assert _post(first, query, body).status_code == 200
    # The attacker keeps the signed query string and sends another sender's message with it.
    forged = second.wire.build_text(second.openid, "我要反映", msg_id=1002).encode()
    refused = _post(second, query, forged)
    assert refused.status_code == 403
    assert refused.get_data(as_text=True) == "signature already used for another message"
    assert _citizens(db_session) == {first.openid}


def test_attack_12_wechat_retrying_the_same_request_still_gets_the_stored_reply(phone, db_session) -> None:
    citizen = phone(plain=True)
    query, body = sign_request(citizen.wire, citizen.wire.build_text(citizen.openid, "你好", msg_id=2001))
    first = _post(citizen, query, body)
    again = _post(citizen, query, body)
    assert first.status_code == again.status_code == 200
    # The same reply: every field but CreateTime, which is the second each answer is rendered in.
    assert _without_create_time(first.get_data()) == _without_create_time(again.get_data())
    assert db_session.scalar(select(func.count(InboundMessage.dedupe_key))) == 1


def _without_create_time(xml: bytes) -> dict[str, str | None]:
    fields = {child.tag: child.text for child in ElementTree.fromstring(xml)}
    assert fields.pop("CreateTime").isdigit()  # type: ignore[union-attr]
    return fields


def test_attack_12_two_messages_with_their_own_signatures_both_pass(phone, db_session) -> None:
    a, b = phone(plain=True), phone(plain=True)
    for p in (a, b):
        query, body = sign_request(p.wire, p.wire.build_text(p.openid, "你好"))
        assert _post(p, query, body).status_code == 200
    assert _citizens(db_session) == {a.openid, b.openid}


def test_attack_12_safe_mode_needs_no_memory_its_signature_covers_the_body(phone, db_session) -> None:
    citizen, other = phone(), phone()
    query, body = sign_request(citizen.wire, citizen.wire.build_text(citizen.openid, "你好"))
    assert _post(citizen, query, body).status_code == 200
    _, other_body = sign_request(other.wire, other.wire.build_text(other.openid, "你好"),
                                 timestamp=query["timestamp"], nonce=query["nonce"])
    assert _post(other, query, other_body).status_code == 403  # msg_signature does not match the new body
    assert db_session.scalar(select(func.count(WebhookNonce.key))) == 0


def test_remembered_nonces_are_forgotten_with_the_handled_messages(phone, db_session) -> None:
    citizen = phone(plain=True)
    query, body = sign_request(citizen.wire, citizen.wire.build_text(citizen.openid, "你好"))
    assert _post(citizen, query, body).status_code == 200
    assert db_session.scalar(select(func.count(WebhookNonce.key))) == 1
    forget_handled_messages(db_session, utcnow() + dt.timedelta(seconds=1))
    db_session.commit()
    assert db_session.scalar(select(func.count(WebhookNonce.key))) == 0
