"""The webhook's own reply rendering, encryption and decryption equal wechatpy's, byte for byte (they skip its machinery)."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.messages import TextMessage
from wechatpy.replies import TextReply

from bot.accounts import SecretsPrpCrypto
from bot.webhook import _TEXT_REPLY, cdata_safe
from tests.bot.test_wechat_wire import AES_KEY, SAFE, TRICKY
from tests.fuzzing import bounded

WHEN = dt.datetime(2026, 12, 2, 3, 4, 5, tzinfo=dt.UTC)


def _message(source: str, target: str) -> TextMessage:
    return TextMessage(
        {"ToUserName": target, "FromUserName": source, "CreateTime": "1764644645", "MsgType": "text", "MsgId": "1"}
    )


@pytest.mark.parametrize("content", ["您好", "", TRICKY, "a]]>b\r\nc", "x" * 2048])
def test_text_reply_is_wechatpys_text_reply(content: str) -> None:
    message = _message("oCitizen-_0123456789abcdef", "gh_7f083739789a")
    timestamp = int(WHEN.timestamp())
    expected = TextReply(message=message, content=cdata_safe(content), time=timestamp).render()
    ours = _TEXT_REPLY.format(
        content=cdata_safe(content), source=message.target, target=message.source, time=str(timestamp)
    )
    assert ours == expected


KEY = WeChatCrypto(SAFE.token, AES_KEY, SAFE.appid).key


def _crypto() -> SecretsPrpCrypto:
    return SecretsPrpCrypto(KEY)


@pytest.mark.parametrize("text", ["我是中文abcd123", "", TRICKY, "y" * 31, "z" * 32, "w" * 5000])
def test_encryption_is_wechatpys_with_the_same_random_prefix(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ours = _crypto()
    theirs = PrpCrypto(KEY)
    monkeypatch.setattr(SecretsPrpCrypto, "get_random_string", lambda self: "aaaabbbbccccdddd")
    monkeypatch.setattr(PrpCrypto, "get_random_string", lambda self: "aaaabbbbccccdddd")
    assert ours.encrypt(text, SAFE.appid) == theirs.encrypt(text, SAFE.appid)


def test_encryption_matches_the_official_sample_vector(monkeypatch: pytest.MonkeyPatch) -> None:
    # WXBizMsgCryptTest.java from Tencent's sample: random prefix "aaaabbbbccccdddd".
    monkeypatch.setattr(SecretsPrpCrypto, "get_random_string", lambda self: "aaaabbbbccccdddd")
    assert (
        _crypto().encrypt("我是中文abcd123", SAFE.appid).decode()
        == "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="
    )


def test_each_encryption_has_a_fresh_prefix_and_decrypts() -> None:
    crypto = _crypto()
    first, second = crypto.encrypt(TRICKY, SAFE.appid), crypto.encrypt(TRICKY, SAFE.appid)
    assert first != second
    assert PrpCrypto(KEY).decrypt(first, SAFE.appid) == TRICKY


def _outcome(decrypt, text: str | bytes) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    try:
        return "text", decrypt(text, SAFE.appid)
    except Exception as exc:
        return "error", type(exc).__name__


@pytest.mark.parametrize("text", ["我是中文abcd123", "", TRICKY, "z" * 32, "w" * 5000])
def test_decryption_is_wechatpys(text: str) -> None:
    ours, theirs = _crypto(), PrpCrypto(KEY)
    for encrypted in (theirs.encrypt(text, SAFE.appid), theirs.encrypt(text, "wxanother"), ours.encrypt(text, SAFE.appid)):
        assert _outcome(ours.decrypt, encrypted) == _outcome(theirs.decrypt, encrypted)
        assert _outcome(ours.decrypt, encrypted.decode()) == _outcome(theirs.decrypt, encrypted.decode())
        # Characters outside base64's alphabet (a hand-edited Encrypt field) are skipped by both.
        marred = encrypted.decode()[:8] + "中 \n" + encrypted.decode()[8:]
        assert _outcome(ours.decrypt, marred) == _outcome(theirs.decrypt, marred)
    assert _outcome(ours.decrypt, theirs.encrypt(text, SAFE.appid)) == ("text", text)


@bounded(300)
@given(st.binary(max_size=96))
def test_decryption_refuses_what_wechatpy_refuses(data: bytes) -> None:
    ours, theirs = _crypto(), PrpCrypto(KEY)
    for encrypted in (base64.b64encode(data), base64.b64encode(data)[:-1], data):
        assert _outcome(ours.decrypt, encrypted) == _outcome(theirs.decrypt, encrypted)
