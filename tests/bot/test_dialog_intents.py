"""Questions that are not petitions, through the real signed (and encrypted) webhook: progress questions, 人工,
thanks, complaints about the bot and "查询 + number" are answered without starting a petition; a message that may be
either is asked about."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot import texts
from models import Conversation, District, Petition
from tests.bot.conftest import Contains, verify_dialog, voice

PROBLEM = "小区楼下烧烤摊每天营业到凌晨两点，油烟和噪音严重扰民，希望有关部门管一管。"

# Ten ways a citizen asks how their petitions are doing; the voice ones as WeChat's recognition writes them.
PROGRESS_QUESTIONS = [
    "我想问一下我的诉求办得怎么样了",
    voice("我想问一下进度。"),
    "进度怎么样了？",
    "我反映的事有结果了吗",
    "请问我的问题处理到哪一步了",
    voice("怎么还没有人回复我。"),
    "我的诉求受理了吗",
    "帮我查一下进度",
    voice("我投诉的事情怎么样了。"),
    "啥时候能给个答复",
]


def _petitions(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Petition))


def _flow(session, phone) -> str:
    return session.scalars(select(Conversation.flow).filter_by(citizen_id=phone.citizen(session).id)).one()


def _submit(citizen) -> str:
    replies = verify_dialog(
        citizen,
        [
            (PROBLEM, Contains(texts.ASK_KIND)),
            ("1", texts.ASK_LOCATION),
            ("香港中路10号", Contains("手机号码")),
            ("13812345678", Contains("请核对")),
            ("1", Contains("提交成功")),
        ],
    )
    return replies[-1].split("诉求编号：", 1)[1].split("\n", 1)[0]


@pytest.mark.parametrize("plain", [False, True], ids=["safe", "plain"])
def test_ten_progress_questions_start_no_petition_and_list_the_citizens_petitions(phone, db_session, plain):
    """Rule: a citizen asks about the progress of their petitions (“我的诉求”) in chat; a question is not a petition."""
    citizen = phone(plain=plain)
    number = _submit(citizen)
    for said in PROGRESS_QUESTIONS:
        reply = citizen.say(said) if isinstance(said, str) else said(citizen)
        assert reply.startswith("您最近的诉求：") and number in reply and "待研判" in reply, (said, reply)
        assert _flow(db_session, citizen) == "idle"
    assert _petitions(db_session) == 1


def test_a_progress_question_without_petitions_says_there_are_none(phone, db_session):
    verify_dialog(phone(), [("我想问一下我的诉求办得怎么样了", texts.NO_PETITIONS)])
    assert _petitions(db_session) == 0


def test_query_with_a_number_shows_that_petitions_progress(phone, db_session):
    citizen = phone()
    number = _submit(citizen)
    verify_dialog(
        citizen,
        [
            (f"查询{number}", Contains(f"诉求编号：{number}", "当前状态：待研判", "已提交")),
            (voice(f"查一下{number.lower()}的进度。"), Contains(f"诉求编号：{number}")),
            ("查询SN209901010001", texts.not_found("SN209901010001")),
        ],
    )
    assert _petitions(db_session) == 1


def test_human_gives_the_districts_hotline_and_hours(phone, db_session):
    """人工 / 转人工: the district's own service line and hours, as its managers set them."""
    district = db_session.get(District, "shinan")
    district.hotline, district.service_hours = "0532-83000000", "工作日 9:00-17:00"
    db_session.commit()
    expected = texts.human("暖南诉办", "0532-83000000", "工作日 9:00-17:00")
    verify_dialog(phone(), [("人工客服", expected), ("转人工", expected), (voice("我要找人工。"), expected)])
    assert "0532-83000000" in expected and "工作日 9:00-17:00" in expected
    assert _petitions(db_session) == 0


def test_human_without_a_district_hotline_names_12345(phone, db_session):
    expected = texts.human("北尚诉办", "", "")
    assert "12345" in expected and "24小时" in expected
    verify_dialog(phone(plain=True), [("人工", expected)])


def test_thanks_and_acknowledgements_get_a_short_answer_not_the_welcome(phone, db_session):
    welcome = texts.welcome("暖南诉办", "市南区")
    verify_dialog(
        phone(),
        [
            ("谢谢", texts.THANKS),
            ("谢谢你们！", texts.THANKS),
            ("好的", texts.ACK),
            ("你好", welcome),
        ],
    )
    assert len(texts.THANKS) < len(welcome) / 2


def test_complaints_about_the_bot_are_answered_with_what_it_understands_and_the_hotline(phone, db_session):
    expected = texts.bot_complaint("暖南诉办", "", "")
    verify_dialog(
        phone(),
        [("你这个机器人太笨了", expected), ("什么破系统，听不懂人话！", expected), ("答非所问", expected)],
    )
    assert _petitions(db_session) == 0


def test_a_message_that_may_be_either_is_asked_about(phone, db_session):
    citizen = phone()
    number = _submit(citizen)
    either = "上次反映的烧烤店油烟问题进度怎么样了"
    verify_dialog(
        citizen,
        [
            (either, texts.ASK_NEW_OR_QUERY),
            ("2", Contains("您最近的诉求：", number)),
            (either, texts.ASK_NEW_OR_QUERY),
            ("1", texts.CONTENT_NOTED + "\n" + texts.ASK_KIND),
            ("取消", texts.CANCELLED),
            # Anything else is a new message: the question is dropped.
            (either, texts.ASK_NEW_OR_QUERY),
            ("谢谢", texts.THANKS),
        ],
    )
    assert _flow(db_session, citizen) == "idle"
    assert _petitions(db_session) == 1


def test_a_menu_click_instead_of_an_answer_drops_the_question(phone, db_session):
    citizen = phone()
    verify_dialog(
        citizen,
        [
            ("小区门口的垃圾怎么还没人处理", texts.ASK_NEW_OR_QUERY),
            (lambda p: p.click("MY_PETITIONS"), texts.NO_PETITIONS),
        ],
    )
    assert _flow(db_session, citizen) == "idle"


def test_a_problem_still_starts_a_report(phone, db_session):
    verify_dialog(phone(), [(PROBLEM, texts.CONTENT_NOTED + "\n" + texts.ASK_KIND)])
