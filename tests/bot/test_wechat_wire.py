"""The test helper's wire format against the official sample vectors, itself, and wechatpy (both directions)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature

from tests.wechat_wire import (
    WireAccount,
    WireError,
    cdata,
    decrypt_message,
    decrypt_reply,
    encrypt_message,
    encrypt_reply,
    parse_reply,
    sha1_signature,
    sign_request,
    verify_url_params,
)

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
SAFE = WireAccount("wxb11529c136998cb6", "pamtest", AES_KEY, original_id="gh_7f083739789a")
PLAIN = WireAccount("wxplain000000000001", "plaintoken", None)
# Text a citizen might type: CDATA terminators, markup, several scripts, emoji, control-free whitespace.
TRICKY = "路灯不亮]]>已经三天<xml>&amp;\"'\n  第二行 ÄÖü ㈱ 𠮷野家 😀 العربية ]]]]> end"


# ------------------------------------------------------------------- the official samples (消息加解密 sample code)


def test_official_java_sample_vector_encrypts_byte_for_byte() -> None:
    # WXBizMsgCryptTest.java from Tencent's sample: fixed random prefix "aaaabbbbccccdddd".
    encrypted = encrypt_message(SAFE, "我是中文abcd123", random_prefix=b"aaaabbbbccccdddd")
    assert (
        encrypted
        == "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="
    )


def test_official_python_sample_vector_verifies_and_decrypts() -> None:
    # The decrypt example of Tencent's public-account sample (token spamtest, appid wx2c2769f8efd9abc2).
    account = WireAccount("wx2c2769f8efd9abc2", "spamtest", AES_KEY)
    encrypted = (
        "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9"
        "FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3y"
        "t+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v"
        "6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE="
    )
    assert (
        sha1_signature("spamtest", "1409735669", "1320562132", encrypted)
        == "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
    )
    message = ET.fromstring(decrypt_message(account, encrypted))
    assert message.findtext("Content") == "abcdteT"
    assert message.findtext("MsgId") == "6054768590064713728"


def test_signature_is_sha1_of_the_sorted_parts_concatenated() -> None:
    # "1409304348" < "token" < "xxxxxx": sha1("1409304348tokenxxxxxx"), whatever order the parts come in.
    expected = "f43b4a6571a6552356f482636e5a77e7fa33dcc9"
    assert sha1_signature("token", "1409304348", "xxxxxx") == expected
    assert sha1_signature("xxxxxx", "token", "1409304348") == expected


# --------------------------------------------------------------------------------------------- building messages


def test_cdata_splits_terminators_so_text_survives_parsing() -> None:
    element = ET.fromstring(f"<Content>{cdata(TRICKY)}</Content>")
    assert element.text == TRICKY


@pytest.mark.parametrize(
    ("xml", "expected"),
    [
        (
            PLAIN.build_text("o-citizen", TRICKY, msg_id=42, create_time=1700000000),
            {"MsgType": "text", "Content": TRICKY, "MsgId": "42"},
        ),
        (
            PLAIN.build_event("o-citizen", "CLICK", "MY_PETITIONS", create_time=1700000001),
            {"MsgType": "event", "Event": "CLICK", "EventKey": "MY_PETITIONS", "CreateTime": "1700000001"},
        ),
        (
            PLAIN.build_event("o-citizen", "TEMPLATESENDJOBFINISH", extra={"MsgID": 7, "Status": "success"}),
            {"Event": "TEMPLATESENDJOBFINISH", "MsgID": "7", "Status": "success"},
        ),
        (
            PLAIN.build_voice("o-citizen", "", media_id="m1", msg_id=5),
            {"MsgType": "voice", "Recognition": "", "MediaId": "m1"},
        ),
        (
            PLAIN.build_image("o-citizen", pic_url="http://x/p.jpg", media_id="m2", msg_id=6),
            {"MsgType": "image", "PicUrl": "http://x/p.jpg", "MediaId": "m2", "MsgId": "6"},
        ),
        (
            PLAIN.build_location("o-citizen", 36.0671, 120.3826, "山东省青岛市市南区香港中路", msg_id=8),
            {
                "MsgType": "location",
                "Location_X": "36.0671",
                "Location_Y": "120.3826",
                "Label": "山东省青岛市市南区香港中路",
            },
        ),
        (
            PLAIN.build_link("o-citizen", "标题]]>", "描述", "https://example.org/a?b=1&c=2", msg_id=9),
            {"MsgType": "link", "Title": "标题]]>", "Url": "https://example.org/a?b=1&c=2"},
        ),
    ],
)
def test_built_messages_carry_their_fields(xml: str, expected: dict[str, str]) -> None:
    fields = parse_reply(xml)
    assert fields["ToUserName"] == PLAIN.original_id
    assert fields["FromUserName"] == "o-citizen"
    assert {key: fields[key] for key in expected} == expected


def test_voice_without_recognition_has_no_recognition_field() -> None:
    assert "Recognition" not in parse_reply(PLAIN.build_voice("o-citizen", None))


def test_messages_without_explicit_ids_get_distinct_msg_ids() -> None:
    ids = {parse_reply(PLAIN.build_text("o", "hi"))["MsgId"] for _ in range(20)}
    assert len(ids) == 20


# ----------------------------------------------------------------------------------------- requests and replies


def test_plain_request_is_signed_and_sent_in_clear() -> None:
    xml = PLAIN.build_text("o-citizen", TRICKY)
    query, body = sign_request(PLAIN, xml, timestamp=1700000000, nonce="n1")
    assert query == {
        "signature": sha1_signature("plaintoken", "1700000000", "n1"),
        "timestamp": "1700000000",
        "nonce": "n1",
        "openid": "o-citizen",
    }
    assert body == xml.encode("utf-8")


def test_safe_request_round_trips_through_our_own_decryption() -> None:
    xml = SAFE.build_text("o-citizen", TRICKY)
    query, body = sign_request(SAFE, xml, timestamp="1700000000", nonce="n2")
    assert query["encrypt_type"] == "aes"
    envelope = ET.fromstring(body)
    assert [child.tag for child in envelope] == ["ToUserName", "Encrypt"]
    encrypted = envelope.findtext("Encrypt") or ""
    assert query["msg_signature"] == sha1_signature("pamtest", "1700000000", "n2", encrypted)
    assert decrypt_message(SAFE, encrypted) == xml


def test_encryption_uses_a_fresh_random_prefix() -> None:
    assert encrypt_message(SAFE, "same") != encrypt_message(SAFE, "same")


def test_url_verification_params_are_signed_without_echostr() -> None:
    query = verify_url_params(SAFE, "echo-123", timestamp=1, nonce="n")
    assert query == {
        "signature": sha1_signature("pamtest", "1", "n"),
        "timestamp": "1",
        "nonce": "n",
        "echostr": "echo-123",
    }


def test_decrypt_reply_returns_plain_and_empty_replies_unchanged() -> None:
    assert decrypt_reply(PLAIN, None, b"<xml><Content>x</Content></xml>") == "<xml><Content>x</Content></xml>"
    assert decrypt_reply(SAFE, {"encrypt_type": "aes"}, b"success") == "success"
    assert decrypt_reply(SAFE, None, b"") == ""


def test_decrypt_reply_verifies_signature_and_appid() -> None:
    reply = "<xml><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[好]]></Content></xml>"
    assert decrypt_reply(SAFE, None, encrypt_reply(SAFE, reply)) == reply

    tampered = encrypt_reply(SAFE, reply).replace("<Nonce><![CDATA[", "<Nonce><![CDATA[9")
    with pytest.raises(WireError, match="MsgSignature"):
        decrypt_reply(SAFE, None, tampered)

    other_app = WireAccount("wxsomeoneelse000001", SAFE.token, AES_KEY)
    with pytest.raises(WireError, match="appid"):
        decrypt_reply(SAFE, None, encrypt_reply(other_app, reply))

    with pytest.raises(WireError, match="lacks"):
        decrypt_reply(SAFE, {"encrypt_type": "aes"}, reply)


def test_decrypt_rejects_a_wrong_key() -> None:
    other_key = WireAccount(SAFE.appid, SAFE.token, "B" * 43)
    with pytest.raises(WireError):
        decrypt_message(other_key, encrypt_message(SAFE, "secret"))


def test_parse_reply_handles_nested_and_article_replies() -> None:
    xml = (
        "<xml><ToUserName><![CDATA[o]]></ToUserName><MsgType><![CDATA[news]]></MsgType><ArticleCount>2</ArticleCount>"
        "<Articles><item><Title><![CDATA[a]]></Title></item><item><Title><![CDATA[b]]></Title></item></Articles>"
        "<Image><MediaId><![CDATA[m]]></MediaId></Image><Content></Content></xml>"
    )
    parsed = parse_reply(xml)
    assert parsed["Articles"] == [{"Title": "a"}, {"Title": "b"}]
    assert parsed["Image"] == {"MediaId": "m"}
    assert parsed["Content"] == ""
    with pytest.raises(WireError):
        parse_reply("<html/>")


# ------------------------------------------------------------------------------------------ wechatpy interoperation


def test_wechatpy_accepts_what_we_sign_and_encrypt() -> None:
    xml = SAFE.build_text("o-citizen", TRICKY, msg_id=77)
    query, body = sign_request(SAFE, xml)
    check_signature(SAFE.token, query["signature"], query["timestamp"], query["nonce"])
    crypto = WeChatCrypto(SAFE.token, AES_KEY, SAFE.appid)
    decrypted = crypto.decrypt_message(body, query["msg_signature"], query["timestamp"], query["nonce"])
    message = parse_message(decrypted)
    assert (message.type, message.content, message.source, message.id) == ("text", TRICKY, "o-citizen", 77)


def test_wechatpy_rejects_our_request_under_another_token() -> None:
    query, body = sign_request(SAFE, SAFE.build_text("o", "x"))
    crypto = WeChatCrypto("not-the-token", AES_KEY, SAFE.appid)
    with pytest.raises(InvalidSignatureException):
        crypto.decrypt_message(body, query["msg_signature"], query["timestamp"], query["nonce"])


def test_we_decrypt_what_wechatpy_encrypts() -> None:
    # wechatpy's reply renderer does not split "]]>" inside CDATA, so this text leaves the terminator out; the bot
    # must escape replies itself (see test_wechatpy_reply_renderer_breaks_on_cdata_terminator).
    content = TRICKY.replace("]]>", "")
    reply = TextReply(source=SAFE.original_id, target="o-citizen", content=content).render()
    envelope = WeChatCrypto(SAFE.token, AES_KEY, SAFE.appid).encrypt_message(reply, "nonce-1", "1700000000")
    parsed = parse_reply(decrypt_reply(SAFE, {"encrypt_type": "aes"}, envelope))
    assert (parsed["MsgType"], parsed["Content"], parsed["ToUserName"]) == ("text", content, "o-citizen")


def test_wechatpy_reply_renderer_breaks_on_cdata_terminator() -> None:
    # A known wechatpy 1.8.18 limitation the bot has to work around: a citizen's "]]>" echoed through TextReply
    # produces XML WeChat cannot parse. If this starts failing, wechatpy has fixed it.
    reply = TextReply(source=SAFE.original_id, target="o-citizen", content="a]]>b").render()
    with pytest.raises(WireError, match="not XML"):
        parse_reply(reply)
