"""The webhook's flat parser (`bot.webhook._flat_fields`) gives exactly what xmltodict gives, or leaves the document
to it; either way `_parse_xml` answers as xmltodict alone would."""

from __future__ import annotations

from xml.parsers.expat import ExpatError

import pytest
import xmltodict
from hypothesis import given
from hypothesis import strategies as st

from bot.webhook import Rejected, _flat_fields, _parse_xml
from tests.bot.test_fuzz_webhook import FIELD_NAMES, FIELD_VALUES, XML_TEXT
from tests.fuzzing import bounded
from tests.wechat_wire import WireAccount, cdata

ACCOUNT = WireAccount(appid="wxflat", token="flattoken")


def _xmltodict_fields(document: bytes | str) -> object:
    parsed = xmltodict.parse(document, strip_whitespace=False)
    return parsed.get("xml") if isinstance(parsed, dict) else None


def _same_as_xmltodict(document: bytes | str) -> None:
    try:
        expected = _xmltodict_fields(document)
    except (ExpatError, ValueError):
        with pytest.raises(Rejected) as refused:
            _parse_xml(document)
        assert refused.value.status == 400
        return
    try:
        flat = _flat_fields(document)
    except ExpatError:  # pragma: no cover - xmltodict accepted it
        pytest.fail(f"the flat parser refused what xmltodict parsed: {document!r}")
    if flat is not None:
        assert flat == expected
    if isinstance(expected, dict):
        assert _parse_xml(document) == expected
    else:
        with pytest.raises(Rejected):
            _parse_xml(document)


@pytest.mark.parametrize(
    "document",
    [
        ACCOUNT.build_text("o-citizen", "路灯不亮]]>三天 <b>&amp;</b>\n第二行"),
        ACCOUNT.build_event("o-citizen", "subscribe"),
        ACCOUNT.build_event("o-citizen", "CLICK", "MY_PETITIONS"),
        ACCOUNT.build_location("o-citizen", 36.06, 120.38, "市南区香港中路"),
        "<xml><Content></Content><MsgType>text</MsgType></xml>",
        "<xml><Content/><MsgType><![CDATA[]]></MsgType></xml>",
        "<xml>\n  <Content>  spaced  </Content>\n</xml>\n",
        "<xml>only text</xml>",
        "<xml></xml>",
        "<xml/>",
        "<root><Content>x</Content></root>",
        "<xml><a>1</a><a>2</a></xml>",
        "<xml><a x='1'>1</a></xml>",
        "<xml x='1'><a>1</a></xml>",
        "<xml><a><b>1</b></a></xml>",
        "<xml><!-- note --><a>1</a><?pi x?></xml>",
        "<?xml version='1.0' encoding='utf-8'?><xml><a>é</a></xml>",
        '<!DOCTYPE xml [<!ENTITY e "x">]><xml><a>&e;</a></xml>',
        "<!DOCTYPE xml><xml><a>1</a></xml>",
        "<xml><a>&#13;&lt;&#x4e2d;</a></xml>",
        "<xml><a>&undefined;</a></xml>",
        "<xml><a>1</a>",
        "<xml><a>1</a></xml><xml/>",
        "",
    ],
)
def test_flat_parser_agrees_with_xmltodict(document: str) -> None:
    _same_as_xmltodict(document)
    _same_as_xmltodict(document.encode())


def test_every_message_wechat_sends_takes_the_flat_path() -> None:
    for document in (
        ACCOUNT.build_text("o-citizen", "路灯不亮"),
        ACCOUNT.build_event("o-citizen", "CLICK", "MY_PETITIONS"),
        ACCOUNT.build_voice("o-citizen", "路灯不亮", "media-1"),
        ACCOUNT.build_image("o-citizen", "http://example.com/a.jpg", "media-2"),
        ACCOUNT.build_location("o-citizen", 36.06, 120.38, "市南区香港中路"),
    ):
        assert _flat_fields(document) == _xmltodict_fields(document)


@bounded(300)
@given(st.lists(st.tuples(FIELD_NAMES, FIELD_VALUES), max_size=8), st.sampled_from(["", "\n", "\n  "]))
def test_flat_parser_agrees_with_xmltodict_on_message_shaped_xml(fields: list[tuple[str, str]], gap: str) -> None:
    _same_as_xmltodict(
        "<xml>" + gap + gap.join(f"<{name}>{value}</{name}>" for name, value in fields) + gap + "</xml>"
    )


@bounded(200)
@given(st.text(XML_TEXT, max_size=60))
def test_flat_parser_agrees_with_xmltodict_on_any_content(content: str) -> None:
    _same_as_xmltodict(ACCOUNT.build_text("o-citizen", content))
    _same_as_xmltodict(f"<xml><Content>{cdata(content)}</Content></xml>".encode())


@bounded(200)
@given(st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode)))
def test_flat_parser_agrees_with_xmltodict_on_any_body(body: bytes) -> None:
    _same_as_xmltodict(body)
