"""Validation that helps, through the real signed (and encrypted) webhook: a number or a link is no description, place
or enterprise name; a description survives every question about it; the length limit is said first and a longer
text is kept."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot import texts
from bot.menu import MenuKey
from models import Petition
from tests.bot.conftest import Contains, menu, verify_dialog
from workflow.limits import MAX_LENGTH

PROBLEM = "小区楼下烧烤摊每天营业到凌晨两点，油烟和噪音严重扰民，希望有关部门管一管。"
ADDRESS = "香港中路10号颐和国际小区"
MOBILE = "13812345678"
LITIGATION = "我和邻居的房产纠纷已经向法院起诉了，想让法院快点判决"
REPORT = menu(MenuKey.REPORT)


def _petitions(session) -> list[Petition]:
    session.expire_all()
    return list(session.scalars(select(Petition).order_by(Petition.id)))


def _summary(content: str = PROBLEM) -> str:
    return texts.summary(kind="个人", enterprise=None, content=content, images=0, location=ADDRESS, phone=MOBILE)


def test_a_phone_number_as_place_is_refused_and_nothing_is_lost(phone, db_session):
    verify_dialog(
        phone(),
        [
            (PROBLEM, Contains(texts.ASK_KIND)),
            ("1", texts.ASK_LOCATION),
            ("13900001111", texts.not_a_place("13900001111", "手机号码")),
            ("0532-88886666", texts.not_a_place("0532-88886666", "电话号码")),
            ("https://map.example.org/p/123", texts.not_a_place("https://map.example.org/p/123", "网址")),
            ("1234", texts.not_a_place("1234", "数字")),
            (ADDRESS, texts.ASK_PHONE),
            (MOBILE, _summary()),
            ("1", Contains("提交成功")),
        ],
    )
    [petition] = _petitions(db_session)
    assert (petition.content, petition.location) == (PROBLEM, ADDRESS)


@pytest.mark.parametrize(
    ("said", "what"),
    [
        ("13900001111", "手机号码"),
        ("370202199001011234", "身份证号码"),
        ("www.example.com", "网址"),
        ("123456", "数字"),
    ],
)
def test_a_number_or_a_link_is_no_description(phone, db_session, said, what):
    verify_dialog(
        phone(),
        [
            # Typed straight away: no report starts.
            (said, texts.not_a_description(said, what)),
            (REPORT, texts.ASK_KIND),
            ("1", texts.ASK_CONTENT),
            (said, texts.not_a_description(said, what)),
            (PROBLEM, texts.ASK_LOCATION),
        ],
    )
    assert _petitions(db_session) == []


def test_a_phone_number_is_no_enterprise_name(phone):
    verify_dialog(
        phone(),
        [
            (REPORT, texts.ASK_KIND),
            ("2", texts.ASK_ENTERPRISE_NAME),
            ("13900001111", texts.not_an_enterprise_name("13900001111", "手机号码")),
            ("青岛海川食品有限公司", texts.ASK_CREDIT_CODE),
        ],
    )


def test_the_description_survives_an_inadmissibility_warning(phone, db_session):
    """Rule: the bot prompts on 不予受理 categories during intake, and the citizen may still go on: the description
    they gave is kept through the warning, whatever they answer first."""
    verify_dialog(
        phone(),
        [
            (LITIGATION, Contains("温馨提示", "您的描述已保存", "回复 1 继续反映")),
            ("不是", texts.DRAFT_KEPT),
            ("确认", texts.ASK_KIND),
            ("1", texts.ASK_LOCATION),
            (ADDRESS, texts.ASK_PHONE),
            (MOBILE, _summary(LITIGATION)),
            ("1", Contains("提交成功")),
        ],
    )
    assert _petitions(db_session)[0].content == LITIGATION


def test_the_first_prompt_says_the_limit_shared_with_the_api(phone):
    limit = MAX_LENGTH["content"]
    verify_dialog(phone(), [(REPORT, texts.ASK_KIND), ("1", Contains(f"最多{limit}字"))])
    assert limit == texts.MAX_CONTENT_LENGTH


def test_a_1500_character_description_is_kept(phone, db_session):
    content = ("小区地下车库长期积水，墙面渗水严重，电梯井也进了水，" * 60)[:1500]
    verify_dialog(
        phone(),
        [
            (REPORT, texts.ASK_KIND),
            ("1", texts.ASK_CONTENT),
            (content, texts.ASK_LOCATION),
            (ADDRESS, texts.ASK_PHONE),
            (MOBILE, Contains("问题：小区地下车库长期积水，", "…（共1500字，已完整记录）")),
            ("1", Contains("提交成功")),
        ],
    )
    assert _petitions(db_session)[0].content == content


def test_a_description_over_the_limit_is_kept_and_the_citizen_chooses(phone, db_session):
    limit = MAX_LENGTH["content"]
    content = ("小区地下车库长期积水，墙面渗水严重。" * 400)[: limit + 300]
    shorter = "小区地下车库长期积水，墙面渗水严重，电梯井也进了水，希望物业尽快排水修缮。"
    citizen = phone()
    verify_dialog(
        citizen,
        [
            (REPORT, texts.ASK_KIND),
            ("1", texts.ASK_CONTENT),
            (content, texts.content_too_long(limit + 300)),
            # A shorter text replaces it.
            (shorter, texts.ASK_LOCATION),
            ("上一步", texts.ASK_CONTENT),
            (content, texts.content_too_long(limit + 300)),
            # Or the citizen accepts the cut.
            ("1", texts.ASK_LOCATION),
            (ADDRESS, texts.ASK_PHONE),
            (MOBILE, Contains(f"（共{limit}字，已完整记录）")),
            ("1", Contains("提交成功")),
        ],
    )
    assert _petitions(db_session)[0].content == content[:limit]


def test_the_emergency_reply_says_call_once(phone):
    reply = phone().say("楼下着火了，浓烟很大，有人被困在里面")
    assert reply.count("请立即拨打") == 1 and "119" in reply
