"""Whatever a citizen types comes back intact in the bot's replies: any script, punctuation, XML's own syntax,
emoji, right-to-left text, invisible characters. Both modes, through the real protocol.

XML itself sets two limits that no WeChat message can cross, so they are not tested: the C0 control characters
other than tab and line feed cannot appear in an XML document at all, and every XML parser turns a carriage return
into a line feed.
"""

from __future__ import annotations

import pytest

from bot import texts
from tests.bot.conftest import Contains, menu, verify_dialog

NASTY = [
    "]]>",
    "a]]>b]]]]><![CDATA[c",
    "<xml><Content>假的</Content></xml>",
    "&amp; &lt; &#13; &#x0; &nbsp; &unknown;",
    "<!DOCTYPE x [<!ENTITY a 'b'>]>&a;",
    "'\"`\\ %s {0} {content} ${x} %(x)s",
    "Robert'); DROP TABLE petition;--",
    "😀👍🏽👨‍👩‍👧‍👦🇨🇳",
    "𠀀𪚥𰻞（扩展区汉字）",
    "مرحبا بالعالم",
    "שלום עולם",
    "\u202eRTL override\u202c and \u200f marks \u200e",
    "zero\u200bwidth\u200cjoiner\u200dand\ufeffBOM",
    "Ｆｕｌｌ　ｗｉｄｔｈ　１２３",
    "  leading and trailing spaces  ",
    "tab\there\nnew line\n\n two",
    "\u0085next line\u2028line sep\u2029para sep",
    "Здравствуйте, Ελληνικά, 한국어, 日本語のテキスト, ภาษาไทย",
    "e\u0301 combining a\u0308\u0304 marks",
    "\U0001d573\U0001d586\U0001d58a\U0001d590 math letters",
    "x" * 200,
]


def _sweep() -> list[str]:
    """Every 499th character of Unicode that XML can carry (no surrogates or non-characters), in chunks."""
    chars = [
        chr(c)
        for c in range(0x20, 0x110000, 499)
        if not 0xD800 <= c <= 0xDFFF and (c & 0xFFFE) != 0xFFFE and not 0xFDD0 <= c <= 0xFDEF
    ]
    return ["".join(chars[i : i + 150]) for i in range(0, len(chars), 150)]


def _at_credit_code_step(citizen) -> None:
    verify_dialog(
        citizen,
        [
            (menu("REPORT"), texts.ASK_KIND),
            ("2", texts.ASK_ENTERPRISE_NAME),
            ("某某公司", texts.ASK_CREDIT_CODE),
        ],
    )


@pytest.mark.parametrize("plain", [False, True], ids=["safe", "plain"])
def test_nasty_text_comes_back_intact(phone, plain):
    citizen = phone(plain=plain)
    _at_credit_code_step(citizen)
    for text in NASTY + _sweep():
        # Echoed in the "that is not a valid credit code" answer.
        assert citizen.say(text) == texts.bad_credit_code(text), repr(text)


def test_nasty_text_survives_into_the_summary_and_the_petition(phone, db_session):
    from models import Petition

    citizen = phone()
    name = "]]><公司>&amp;😀\u202e"
    content = '井盖丢失]]>已经三天了 <危险> & "夜里" 看不见 😡 مرحبا'
    address = "香港中路10号 <B座> ]]> 1单元"
    verify_dialog(
        citizen,
        [
            (menu("REPORT"), texts.ASK_KIND),
            ("2", texts.ASK_ENTERPRISE_NAME),
            (name, texts.ASK_CREDIT_CODE),
            ("91370200163562681G", texts.ASK_CONTENT),
            (content, texts.ASK_LOCATION),
            (address, texts.ASK_PHONE),
            (
                "13812345678",
                Contains(f"企业：{name}（91370200163562681G）", f"问题：{content}", f"地点：{address}"),
            ),
            ("1", Contains("提交成功")),
        ],
    )
    petition = db_session.query(Petition).one()
    assert (petition.content, petition.location, petition.contact_name) == (content, address, name)


def test_a_very_long_text_is_quoted_in_part(phone):
    citizen = phone()
    _at_credit_code_step(citizen)
    long_text = "一二三四五六七八九十" * 100
    reply = citizen.say(long_text)
    assert reply == texts.bad_credit_code(long_text[:200] + "…")
    assert len(reply.encode()) <= texts.MAX_REPLY_BYTES


def test_a_long_description_fits_the_summary_in_one_message_and_is_kept_whole(phone, db_session):
    from models import Petition

    citizen = phone()
    content = ("小区地下车库长期积水，" + "墙面渗水严重，电梯井也进了水，" * 70)[:1000]
    replies = verify_dialog(
        citizen,
        [
            (menu("REPORT"), texts.ASK_KIND),
            ("1", texts.ASK_CONTENT),
            (content, texts.ASK_LOCATION),
            ("香港中路10号", texts.ASK_PHONE),
            (
                "13812345678",
                Contains("问题：小区地下车库长期积水，", "…（共1000字，已完整记录）", "图片：0张"),
            ),
            ("1", Contains("提交成功")),
        ],
    )
    assert len(replies[4].encode()) <= texts.MAX_REPLY_BYTES
    assert db_session.query(Petition).one().content == content


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("短", "短"),
        ("字" * 682, "字" * 682),  # 2046 bytes: fits
        ("字" * 700, "字" * 681 + "…"),  # cut to 2043 bytes + the 3-byte ellipsis
        ("😀" * 600, "😀" * 511 + "…"),  # never half a character
    ],
)
def test_every_reply_fits_wechats_limit(reply, expected):
    assert texts.fit(reply) == expected
    assert len(texts.fit(reply).encode()) <= texts.MAX_REPLY_BYTES
