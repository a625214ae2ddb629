"""The webhook's protocol: URL verification, plain and safe mode, and clean refusals that change nothing.

Every message here is signed and encrypted by tests/wechat_wire.py, written from WeChat's protocol description
independently of wechatpy (which the product uses).
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot import texts
from models import Citizen, InboundMessage, WechatAccount, utcnow
from tests.wechat_wire import (
    WireAccount,
    cdata,
    decrypt_reply,
    encrypt_message,
    parse_reply,
    sha1_signature,
    sign_request,
    verify_url_params,
)

OPENID = "oAbCdEfGhIjKlMnOpQrStUvWxYz0"


def _rows(session) -> tuple[int, int]:
    session.expire_all()
    return (
        session.scalar(select(func.count()).select_from(InboundMessage)),
        session.scalar(select(func.count()).select_from(Citizen)),
    )


def _post(client, code: str, query: dict[str, str], body: bytes):
    return client.post(f"/wechat/{code}", query_string=query, data=body, content_type="text/xml")


# --- URL verification --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["safe", "plain"])
def test_url_verification_echoes_echostr_in_both_modes(client, accounts, mode):
    wire, code = (accounts.safe, "shinan") if mode == "safe" else (accounts.plain, "shibei")
    response = client.get(f"/wechat/{code}", query_string=verify_url_params(wire, "echo-1234567890"))
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "echo-1234567890"


def test_url_verification_with_a_wrong_token_is_forbidden(client, accounts):
    forged = WireAccount(appid=accounts.safe.appid, token="not-the-token")
    response = client.get("/wechat/shinan", query_string=verify_url_params(forged, "echo"))
    assert response.status_code == 403
    assert "echo" not in response.get_data(as_text=True)


# --- plain and safe mode ------------------------------------------------------------------------------------------


def test_plain_mode_subscribe_gets_a_plain_welcome_addressed_to_the_citizen(client, accounts, db_session):
    query, body = sign_request(accounts.plain, accounts.plain.build_event(OPENID, "subscribe"))
    response = _post(client, "shibei", query, body)
    assert response.status_code == 200
    reply = parse_reply(response.get_data(as_text=True))
    assert reply["MsgType"] == "text"
    assert reply["ToUserName"] == OPENID
    assert reply["FromUserName"] == accounts.plain.original_id
    assert "北尚诉办" in reply["Content"]
    assert int(reply["CreateTime"]) == pytest.approx(utcnow().timestamp(), abs=5)
    citizen = db_session.scalars(select(Citizen)).one()
    assert (citizen.district_code, citizen.openid, citizen.subscribed) == ("shibei", OPENID, True)


def test_safe_mode_reply_is_encrypted_signed_and_decrypts_to_the_welcome(client, accounts):
    query, body = sign_request(accounts.safe, accounts.safe.build_event(OPENID, "subscribe"))
    response = _post(client, "shinan", query, body)
    assert response.status_code == 200
    raw = response.get_data(as_text=True)
    assert "暖南诉办" not in raw and "<Encrypt>" in raw
    # decrypt_reply checks MsgSignature and the appid inside the ciphertext.
    reply = parse_reply(decrypt_reply(accounts.safe, query, raw))
    assert reply["Content"] == texts.welcome("暖南诉办", "市南区")
    assert reply["ToUserName"] == OPENID


def test_each_district_is_answered_with_its_own_account(client, accounts):
    # shibei's signed message sent to shinan's URL fails shinan's signature check.
    query, body = sign_request(accounts.plain, accounts.plain.build_event(OPENID, "subscribe"))
    assert _post(client, "shinan", query, body).status_code == 403


# --- refusals -----------------------------------------------------------------------------------------------------


def test_unknown_district_is_404(client, accounts):
    query, body = sign_request(accounts.safe, accounts.safe.build_event(OPENID, "subscribe"))
    assert _post(client, "qingdao", query, body).status_code == 404
    assert (
        client.get("/wechat/laoshan", query_string=verify_url_params(accounts.safe, "x")).status_code == 404
    )


def test_disabled_account_is_404_and_nothing_is_recorded(client, accounts, db_session):
    db_session.scalars(select(WechatAccount).filter_by(district_code="shinan")).one().enabled = False
    db_session.commit()
    query, body = sign_request(accounts.safe, accounts.safe.build_text(OPENID, "楼道灯坏了一个月没人修"))
    assert _post(client, "shinan", query, body).status_code == 404
    assert _rows(db_session) == (0, 0)


@pytest.mark.parametrize("tamper", ["signature", "msg_signature", "missing_signature"])
def test_a_wrong_signature_is_403_and_changes_nothing(client, accounts, db_session, tamper):
    query, body = sign_request(accounts.safe, accounts.safe.build_text(OPENID, "小区门口井盖丢失"))
    if tamper == "missing_signature":
        del query["signature"]
    else:
        query[tamper] = query[tamper][:-1] + ("0" if query[tamper][-1] != "0" else "1")
    assert _post(client, "shinan", query, body).status_code == 403
    assert _rows(db_session) == (0, 0)


@pytest.mark.parametrize("skew", [-301, 301, -86400])
def test_a_timestamp_outside_the_window_is_403(client, accounts, db_session, skew):
    xml = accounts.plain.build_event(OPENID, "subscribe")
    query, body = sign_request(accounts.plain, xml, timestamp=int(utcnow().timestamp()) + skew)
    assert _post(client, "shibei", query, body).status_code == 403
    assert _rows(db_session) == (0, 0)


def test_a_timestamp_inside_the_window_is_accepted(client, accounts):
    query, body = sign_request(
        accounts.plain, accounts.plain.build_event(OPENID, "subscribe"), timestamp=int(utcnow().timestamp()) - 250
    )
    assert _post(client, "shibei", query, body).status_code == 200


def test_a_non_numeric_timestamp_is_403(client, accounts):
    query, body = sign_request(
        accounts.plain, accounts.plain.build_event(OPENID, "subscribe"), timestamp="yesterday"
    )
    assert _post(client, "shibei", query, body).status_code == 403


def test_an_oversized_body_is_413(client, accounts, db_session, bot_app):
    limit = bot_app.config["WECHAT"]["max_body_bytes"]
    xml = accounts.plain.build_text(OPENID, "长" * (limit // 3 + 10))
    query, body = sign_request(accounts.plain, xml)
    assert len(body) > limit
    assert _post(client, "shibei", query, body).status_code == 413
    assert _rows(db_session) == (0, 0)


ENTITY_BOMB = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    "<xml><ToUserName>gh</ToUserName><FromUserName>{openid}</FromUserName><CreateTime>1</CreateTime>"
    "<MsgType>text</MsgType><Content>&b;</Content><MsgId>1</MsgId></xml>"
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    "<xml><FromUserName>{openid}</FromUserName><MsgType>text</MsgType><Content>&x;</Content></xml>"
)


@pytest.mark.parametrize(
    "xml",
    [
        "<xml><FromUserName>unclosed",
        "not xml at all",
        "",
        ENTITY_BOMB.format(openid=OPENID),
        EXTERNAL_ENTITY.format(openid=OPENID),
        "<root><MsgType>text</MsgType><FromUserName>x</FromUserName></root>",
        "<xml></xml>",
        f"<xml><FromUserName>{OPENID}</FromUserName><Content>no type</Content></xml>",
        f"<xml><FromUserName>{OPENID}</FromUserName><MsgType>text</MsgType><MsgId>abc</MsgId></xml>",
        f"<xml><FromUserName>{OPENID}</FromUserName><MsgType>text</MsgType><Content><b>x</b></Content></xml>",
    ],
    ids=[
        "unclosed",
        "text",
        "empty",
        "entity-bomb",
        "external-entity",
        "wrong-root",
        "no-fields",
        "no-type",
        "bad-msgid",
        "nested-content",
    ],
)
@pytest.mark.parametrize("mode", ["plain", "safe"])
def test_malformed_xml_is_400_and_changes_nothing(client, accounts, db_session, xml, mode):
    # Signed (and encrypted) correctly: only the message inside is wrong.
    if mode == "safe":
        query, body = _signed_envelope(
            accounts.safe, encrypt_message(accounts.safe, xml.replace("{openid}", OPENID))
        )
        code = "shinan"
    else:
        query, body = _signed_plain(accounts.plain), xml.replace("{openid}", OPENID).encode()
        code = "shibei"
    assert _post(client, code, query, body).status_code == 400
    assert _rows(db_session) == (0, 0)


def test_malformed_safe_mode_envelope_is_400(client, accounts):
    query, _ = sign_request(accounts.safe, accounts.safe.build_event(OPENID, "subscribe"))
    assert _post(client, "shinan", query, b"<xml><Encrypt>").status_code == 400


def _signed_plain(wire: WireAccount) -> dict[str, str]:
    ts, nonce = str(int(utcnow().timestamp())), "12345"
    return {
        "signature": sha1_signature(wire.token, ts, nonce),
        "timestamp": ts,
        "nonce": nonce,
        "openid": OPENID,
    }


def _signed_envelope(wire: WireAccount, encrypted: str) -> tuple[dict[str, str], bytes]:
    ts, nonce = str(int(utcnow().timestamp())), "12345"
    query = {
        "signature": sha1_signature(wire.token, ts, nonce),
        "timestamp": ts,
        "nonce": nonce,
        "openid": OPENID,
        "encrypt_type": "aes",
        "msg_signature": sha1_signature(wire.token, ts, nonce, encrypted),
    }
    return (
        query,
        f"<xml><ToUserName>{cdata(wire.original_id)}</ToUserName><Encrypt>{cdata(encrypted)}</Encrypt></xml>".encode(),
    )


@pytest.mark.parametrize(
    "encrypted",
    ["bm90IGEgY2lwaGVydGV4dA==", "!!!not base64!!!", "", "QUJD" * 8],
    ids=["short-ciphertext", "not-base64", "empty", "wrong-length"],
)
def test_an_undecryptable_body_is_400_and_changes_nothing(client, accounts, db_session, encrypted):
    query, body = _signed_envelope(accounts.safe, encrypted)
    assert _post(client, "shinan", query, body).status_code == 400
    assert _rows(db_session) == (0, 0)


def test_a_message_encrypted_with_another_key_or_for_another_appid_is_400(client, accounts, db_session):
    other_key = WireAccount(
        appid=accounts.safe.appid,
        token=accounts.safe.token,
        encoding_aes_key="ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut",
    )
    other_appid = WireAccount(
        appid="wxsomebodyelse", token=accounts.safe.token, encoding_aes_key=accounts.safe.encoding_aes_key
    )
    for wire in (other_key, other_appid):
        encrypted = encrypt_message(wire, accounts.safe.build_text(OPENID, "你好"))
        query, body = _signed_envelope(accounts.safe, encrypted)
        assert _post(client, "shinan", query, body).status_code == 400
    assert _rows(db_session) == (0, 0)


def test_a_plain_message_to_a_safe_mode_account_is_refused(client, accounts, db_session):
    plain_wire = WireAccount(appid=accounts.safe.appid, token=accounts.safe.token)
    query, body = sign_request(plain_wire, plain_wire.build_text(OPENID, "楼道灯坏了"))
    assert _post(client, "shinan", query, body).status_code == 400
    assert _rows(db_session) == (0, 0)


# --- events -------------------------------------------------------------------------------------------------------


def test_unsubscribe_marks_the_citizen_and_gets_no_reply(phone, db_session):
    citizen_phone = phone()
    assert "暖南诉办" in citizen_phone.send(citizen_phone.wire.build_event(citizen_phone.openid, "subscribe"))
    assert citizen_phone.send(citizen_phone.wire.build_event(citizen_phone.openid, "unsubscribe")) == ""
    assert citizen_phone.citizen(db_session).subscribed is False
    # Events are told apart by sender, CreateTime and event: a second subscribe needs a later CreateTime.
    later = int(utcnow().timestamp()) + 1
    resubscribe = citizen_phone.wire.build_event(citizen_phone.openid, "subscribe", create_time=later)
    assert "暖南诉办" in citizen_phone.send(resubscribe)
    assert citizen_phone.citizen(db_session).subscribed is True


@pytest.mark.parametrize(
    ("event", "key", "extra"),
    [
        ("VIEW", "https://example.org/guide", None),
        ("TEMPLATESENDJOBFINISH", None, {"MsgID": 200163836, "Status": "success"}),
        ("LOCATION", None, {"Latitude": "36.06", "Longitude": "120.38", "Precision": "50"}),
        ("SOME_FUTURE_EVENT", None, None),
    ],
)
def test_events_that_need_no_answer_get_success(phone, event, key, extra):
    citizen_phone = phone()
    status, content = citizen_phone.post(
        citizen_phone.wire.build_event(citizen_phone.openid, event, key, extra=extra)
    )
    assert (status, content) == (200, "")


def test_template_delivery_reports_create_no_citizen(client, accounts, db_session):
    xml = accounts.plain.build_event(OPENID, "TEMPLATESENDJOBFINISH", extra={"MsgID": 1, "Status": "success"})
    query, body = sign_request(accounts.plain, xml)
    response = _post(client, "shibei", query, body)
    assert response.get_data(as_text=True) == "success"
    assert _rows(db_session) == (1, 0)
