"""Property-based tests of the webhook's parsers (issue 12), with Hypothesis: the XML of any body, signed requests
with any body and any query, and any text a citizen sends coming back intact in the reply and in the stored
petition. Derandomized, bounded and without an example database, so every run sees the same examples.

XML itself sets two limits no WeChat message can cross (see test_dialog_text): C0 control characters other than
tab and line feed cannot appear in a document, and parsers turn a carriage return into a line feed.
"""

from __future__ import annotations

from hypothesis import assume, given
from hypothesis import strategies as st
from sqlalchemy import select

from bot import texts
from bot.conversation import command_form
from bot.webhook import Rejected, _parse_message
from classifier.screening import screen
from models import Petition
from tests.bot.conftest import Contains, menu, verify_dialog
from tests.fuzzing import bounded
from tests.wechat_wire import cdata, sign_request

# What an XML document can carry: every character but the C0 controls other than tab and line feed, carriage
# return, surrogates and the two non-characters U+FFFE and U+FFFF.
XML_TEXT = st.characters(
    blacklist_categories=("Cs",),
    blacklist_characters="".join(chr(c) for c in range(0x20) if c not in (0x09, 0x0A)) + "\ufffe\uffff",
)
NASTY_PIECES = st.sampled_from(["]]>", "<![CDATA[", "&amp;", "&#13;", "<xml>", "</Content>", "&", "<", "\t", "\n"])
CITIZEN_TEXT = st.lists(st.one_of(st.text(XML_TEXT, min_size=1, max_size=20), NASTY_PIECES), min_size=1,
                        max_size=8).map("".join)
COMMANDS = (texts.CANCEL_WORDS | texts.BACK_WORDS | texts.HELP_WORDS | texts.REPORT_WORDS | texts.MY_WORDS
            | texts.GUIDE_WORDS)


# --- the XML parser -----------------------------------------------------------------------------------------------


@bounded(400)
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
def test_any_body_is_parsed_or_refused_with_400(body: bytes) -> None:
    try:
        _parse_message(body)
    except Rejected as rejected:
        assert rejected.status == 400


FIELD_NAMES = st.sampled_from(["MsgType", "FromUserName", "ToUserName", "Content", "CreateTime", "MsgId", "Event",
                               "EventKey", "Location_X", "PicUrl", "Recognition", "Unknown"])
FIELD_VALUES = st.one_of(
    st.text(XML_TEXT, max_size=40).map(cdata),
    st.text(st.characters(whitelist_categories=("Nd",)), max_size=30),
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.sampled_from(["text", "event", "image", "voice", "location", "link", "subscribe", "CLICK", "<a>b</a>",
                     "<![CDATA[x]]>]]>", "&lt;", "1e400", ""]),
)


@bounded(400)
@given(st.lists(st.tuples(FIELD_NAMES, FIELD_VALUES), max_size=8))
def test_any_message_shaped_xml_is_parsed_or_refused_with_400(fields: list[tuple[str, str]]) -> None:
    xml = "<xml>" + "".join(f"<{name}>{value}</{name}>" for name, value in fields) + "</xml>"
    try:
        message = _parse_message(xml.encode())
    except Rejected as rejected:
        assert rejected.status == 400
    else:
        assert message.type


# --- the whole webhook -------------------------------------------------------------------------------------------


QUERY_VALUES = st.one_of(st.text(max_size=30), st.integers(min_value=0, max_value=10**30).map(str))


@bounded(60)
@given(body=st.one_of(st.binary(max_size=200), CITIZEN_TEXT.map(str.encode)),
       extra=st.dictionaries(st.sampled_from(["encrypt_type", "msg_signature", "openid", "echostr", "x"]),
                             QUERY_VALUES, max_size=3),
       timestamp=st.one_of(st.none(), st.integers(min_value=0, max_value=10**400).map(str), st.text(max_size=12)))
def test_any_signed_plain_request_is_answered_without_a_server_error(phone, body, extra, timestamp) -> None:  # type: ignore[no-untyped-def]
    citizen = phone(plain=True)
    query, _ = sign_request(citizen.wire, "<xml></xml>", timestamp=timestamp)
    response = citizen.client.post("/wechat/shibei", query_string={**extra, **query}, data=body,
                                   content_type="text/xml")
    assert response.status_code in (200, 400, 403, 413), response.status_code


# --- what a citizen types ---------------------------------------------------------------------------------------


@bounded(40)
@given(said=CITIZEN_TEXT)
def test_any_text_comes_back_intact_in_the_reply(phone, said: str) -> None:
    """Rule: the bot quotes what the citizen typed (here: an invalid credit code) exactly as it was sent."""
    assume(command_form(said) not in COMMANDS and said.strip() and len(said) <= 200)
    citizen = phone()
    verify_dialog(citizen, [(menu("REPORT"), texts.ASK_KIND), ("2", texts.ASK_ENTERPRISE_NAME),
                            ("某某公司", texts.ASK_CREDIT_CODE)])
    assert citizen.say(said) == texts.bad_credit_code(said)


@bounded(15)
@given(content=CITIZEN_TEXT)
def test_any_text_comes_back_intact_in_the_stored_petition(phone, db_session, content: str) -> None:
    """Rule: a petition records the citizen's own words; the summary before submitting shows them."""
    content = "路灯不亮：" + content  # a description, not empty
    assume(len(content) <= 300)
    # One the screening accepts (not an emergency, nor naming only another district: those get a warning first).
    assume(screen(content, "shinan").admissible)
    citizen = phone()
    verify_dialog(
        citizen,
        [
            (menu("REPORT"), texts.ASK_KIND),
            ("1", texts.ASK_CONTENT),
            (content, texts.ASK_LOCATION),
            ("香港中路10号", texts.ASK_PHONE),
            ("13812345678", Contains(f"问题：{content.strip()}")),
            ("1", Contains("提交成功")),
        ],
    )
    db_session.expire_all()
    stored = db_session.scalars(select(Petition.content).where(Petition.citizen_id == citizen.citizen(db_session).id))
    assert list(stored) == [content.strip()]
