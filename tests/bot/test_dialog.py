"""The chat dialog, path by path, as tables of (citizen says, bot answers), over the real signed protocol."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from bot import texts
from bot.menu import MenuKey
from models import Attachment, Conversation, Petition, utcnow
from models.enums import CitizenKind, MediaState, PetitionKind, PetitionState
from tests.bot.conftest import Contains, image, location, menu, verify_dialog, voice

PROBLEM = "小区楼下烧烤摊每天营业到凌晨两点，油烟和噪音严重扰民，希望有关部门管一管。"
ADDRESS = "香港中路10号颐和国际小区"
MOBILE = "13812345678"
CREDIT_CODE = "91370200163562681G"
EMERGENCY = "楼下着火了，浓烟很大，有人被困在里面"
LITIGATION = "我和邻居的房产纠纷已经向法院起诉了，想让法院快点判决"

REPORT = menu(MenuKey.REPORT)
MY_PETITIONS = menu(MenuKey.MY_PETITIONS)
GUIDE = menu(MenuKey.GUIDE)


def summary(content=PROBLEM, location=ADDRESS, phone=MOBILE, images=0, kind="个人", enterprise=None) -> str:
    return texts.summary(
        kind=kind, enterprise=enterprise, content=content, images=images, location=location, phone=phone
    )


def petitions(session) -> list[Petition]:
    session.expire_all()
    return list(session.scalars(select(Petition).order_by(Petition.id)))


def conversation_of(session, phone) -> Conversation:
    return session.scalars(select(Conversation).filter_by(citizen_id=phone.citizen(session).id)).one()


RECEIPT = Contains("提交成功！", "诉求编号：SN", "建议分类：", "回复“SN")


# --- reporting ----------------------------------------------------------------------------------------------------


def test_a_citizen_reports_from_the_menu_step_by_step(phone, db_session):
    citizen = phone()
    replies = verify_dialog(
        citizen,
        [
            (REPORT, texts.ASK_KIND),
            ("1", texts.ASK_CONTENT),
            (PROBLEM, texts.ASK_LOCATION),
            (ADDRESS, texts.ASK_PHONE),
            (MOBILE, summary()),
            ("1", RECEIPT),
        ],
    )
    [petition] = petitions(db_session)
    assert petition.number in replies[-1]
    assert (petition.kind, petition.state) == (PetitionKind.LIVELIHOOD, PetitionState.PENDING_DISPATCH)
    assert (petition.content, petition.location, petition.contact_phone) == (PROBLEM, ADDRESS, MOBILE)
    assert petition.citizen.openid == citizen.openid
    assert petition.suggestion and petition.suggestion.get("departments")
    assert citizen.citizen(db_session).phone == MOBILE
    assert conversation_of(db_session, citizen).flow == "idle"


def test_the_receipt_names_category_time_limit_and_expected_deadline_by_the_workflows_rules(
    phone, db_session
):

    from models.enums import Complexity, DeptType, Nature
    from workflow.calendar import load_calendar
    from workflow.deadlines import compute_deadline, deadline_text, time_limit

    citizen = phone()
    verify_dialog(
        citizen,
        [
            (REPORT, texts.ASK_KIND),
            ("1", texts.ASK_CONTENT),
            (PROBLEM, texts.ASK_LOCATION),
            (ADDRESS, texts.ASK_PHONE),
            (MOBILE, summary()),
        ],
    )
    reply = citizen.say("确认")
    [petition] = petitions(db_session)
    suggestion = petition.suggestion
    days = time_limit(PetitionKind.LIVELIHOOD, Nature(suggestion["nature"]), Complexity.SIMPLE)
    due = compute_deadline(petition.created_at, days, load_calendar(db_session)).due
    assert reply == texts.receipt(
        number=petition.number,
        category=DeptType(suggestion["departments"][0]["type"]).label,
        days=days,
        deadline=deadline_text(due, now=petition.created_at),
    )
    # Submitted Wednesday 25 November 2026: one or two working days end on Thursday 26 or Friday 27.
    assert re.search(r"预计办结期限：11月2[67]日（周[四五]）24时前", reply)
    assert f"诉求编号：{petition.number}" in reply and "预计办结期限：" in reply


def test_a_citizen_who_simply_types_a_problem_is_asked_the_rest(phone, db_session):
    verify_dialog(
        phone(),
        [
            (PROBLEM, texts.CONTENT_NOTED + "\n" + texts.ASK_KIND),
            ("个人", texts.ASK_LOCATION),
            (ADDRESS, texts.ASK_PHONE),
            (MOBILE, summary()),
            ("1", RECEIPT),
        ],
    )
    assert len(petitions(db_session)) == 1


def test_an_enterprise_gives_its_name_and_a_checked_credit_code(phone, db_session):
    citizen = phone()
    bad = CREDIT_CODE[:-1] + "H"
    verify_dialog(
        citizen,
        [
            (REPORT, texts.ASK_KIND),
            ("2", texts.ASK_ENTERPRISE_NAME),
            ("青岛海川食品有限公司", texts.ASK_CREDIT_CODE),
            (bad, texts.bad_credit_code(bad)),
            (CREDIT_CODE.lower(), texts.ASK_CONTENT),
            ("企业办理食品经营许可证变更，材料提交两周了还没有结果，影响正常经营。", texts.ASK_LOCATION),
            (ADDRESS, texts.ASK_PHONE),
            (
                "138 1234 5678",
                Contains(
                    "身份：企业", f"企业：青岛海川食品有限公司（{CREDIT_CODE}）", "联系电话：13812345678"
                ),
            ),
            ("1", RECEIPT),
        ],
    )
    [petition] = petitions(db_session)
    assert petition.kind == PetitionKind.DEVELOPMENT
    assert petition.contact_name == "青岛海川食品有限公司"
    saved = citizen.citizen(db_session)
    assert (saved.kind, saved.name, saved.credit_code) == (
        CitizenKind.ENTERPRISE,
        "青岛海川食品有限公司",
        CREDIT_CODE,
    )


def test_a_wrong_choice_of_identity_is_asked_again(phone):
    verify_dialog(phone(), [(REPORT, texts.ASK_KIND), ("3", texts.BAD_KIND + "\n" + texts.ASK_KIND)])


def test_a_too_short_description_is_asked_for_again(phone):
    verify_dialog(
        phone(), [(REPORT, texts.ASK_KIND), ("1", texts.ASK_CONTENT), ("漏水", texts.CONTENT_TOO_SHORT)]
    )


def test_images_are_attached_to_the_petition_being_written(phone, db_session):
    verify_dialog(
        phone(),
        [
            (REPORT, texts.ASK_KIND),
            ("1", texts.ASK_CONTENT),
            (image("http://mmbiz.qpic.cn/one.jpg"), texts.image_added(1) + "\n" + texts.ASK_CONTENT),
            (PROBLEM, texts.ASK_LOCATION),
            (image("http://mmbiz.qpic.cn/two.jpg"), texts.image_added(2) + "\n" + texts.ASK_LOCATION),
            (ADDRESS, texts.ASK_PHONE),
            (MOBILE, summary(images=2)),
            ("1", RECEIPT),
        ],
    )
    [petition] = petitions(db_session)
    urls = [a.url for a in db_session.scalars(select(Attachment).filter_by(petition_id=petition.id))]
    assert urls == ["http://mmbiz.qpic.cn/one.jpg", "http://mmbiz.qpic.cn/two.jpg"]


def test_an_image_outside_a_report_is_explained(phone):
    verify_dialog(phone(), [(image(), texts.IMAGE_WITHOUT_REPORT)])


def test_voice_is_used_as_text_and_unrecognised_voice_asks_to_type(phone, db_session):
    verify_dialog(
        phone(),
        [
            (REPORT, texts.ASK_KIND),
            (voice("个人。"), texts.ASK_CONTENT),
            (voice(None), texts.VOICE_NOT_RECOGNIZED + "\n" + texts.still_writing(texts.ASK_CONTENT)),
            (voice(""), texts.VOICE_NOT_RECOGNIZED + "\n" + texts.still_writing(texts.ASK_CONTENT)),
            (voice(PROBLEM), texts.ASK_LOCATION),
        ],
    )


def test_voice_without_recognition_outside_a_report(phone):
    verify_dialog(phone(), [(voice(None), texts.VOICE_NOT_RECOGNIZED)])


# --- location ------------------------------------------------------------------------------------------------------


def test_a_wechat_location_message_gives_the_place(phone, db_session):
    label = "山东省青岛市市南区香港中路10号"
    verify_dialog(
        phone(),
        [
            (PROBLEM, Contains(texts.ASK_KIND)),
            ("1", texts.ASK_LOCATION),
            (location(36.0627, 120.3847, label), texts.ASK_PHONE),
            (MOBILE, summary(location=label)),
            ("1", RECEIPT),
        ],
    )
    [petition] = petitions(db_session)
    assert (petition.location, petition.latitude, petition.longitude) == (label, 36.0627, 120.3847)


def test_an_address_in_another_district_names_that_districts_account(phone):
    other = "市北区辽宁路100号"
    verify_dialog(
        phone(),
        [
            (PROBLEM, Contains(texts.ASK_KIND)),
            ("1", texts.ASK_LOCATION),
            (other, texts.other_district(other, "市北区", "北尚诉办")),
            (
                location(36.10, 120.47, "山东省青岛市崂山区松岭路"),
                texts.other_district("山东省青岛市崂山区松岭路", "崂山区", "崂先办"),
            ),
            (ADDRESS, texts.ASK_PHONE),
        ],
    )


def test_an_address_outside_qingdao_is_out_of_jurisdiction(phone):
    verify_dialog(
        phone(),
        [
            (PROBLEM, Contains(texts.ASK_KIND)),
            ("1", texts.ASK_LOCATION),
            ("济南市历下区泉城路", texts.outside_qingdao("济南市历下区泉城路")),
            (location(39.91, 116.40, "北京市东城区"), texts.outside_qingdao("北京市东城区")),
            ("取消", texts.CANCELLED),
        ],
    )


def test_a_location_sent_at_another_step_asks_to_finish_that_step(phone):
    verify_dialog(
        phone(),
        [
            (REPORT, texts.ASK_KIND),
            (location(36.06, 120.38, "香港中路"), texts.FINISH_CURRENT_STEP + "\n" + texts.ASK_KIND),
        ],
    )


# --- phone --------------------------------------------------------------------------------------------------------


def test_an_invalid_phone_number_is_refused_and_the_last_one_can_be_reused(phone, db_session):
    citizen = phone()
    verify_dialog(
        citizen,
        [
            (PROBLEM, Contains(texts.ASK_KIND)),
            ("1", texts.ASK_LOCATION),
            (ADDRESS, texts.ASK_PHONE),
            ("0532-88886666", texts.bad_phone("0532-88886666")),
            ("1381234567", texts.bad_phone("1381234567")),
            (MOBILE, summary()),
            ("1", RECEIPT),
            # The second petition offers the number given for the first.
            ("小区东门路灯坏了半个月，晚上出行很不方便。", Contains(texts.ASK_KIND)),
            ("1", texts.ASK_LOCATION),
            (ADDRESS, texts.ask_phone_reuse("138****5678")),
            ("1", summary(content="小区东门路灯坏了半个月，晚上出行很不方便。")),
        ],
    )


# --- cancel, back, help, expiry --------------------------------------------------------------------------------------

STEPS_TO = {
    "kind": [(REPORT, texts.ASK_KIND)],
    "enterprise_name": [(REPORT, texts.ASK_KIND), ("2", texts.ASK_ENTERPRISE_NAME)],
    "content": [(REPORT, texts.ASK_KIND), ("1", texts.ASK_CONTENT)],
    "location": [(REPORT, texts.ASK_KIND), ("1", texts.ASK_CONTENT), (PROBLEM, texts.ASK_LOCATION)],
    "phone": [(PROBLEM, Contains(texts.ASK_KIND)), ("1", texts.ASK_LOCATION), (ADDRESS, texts.ASK_PHONE)],
    "confirm": [
        (PROBLEM, Contains(texts.ASK_KIND)),
        ("1", texts.ASK_LOCATION),
        (ADDRESS, texts.ASK_PHONE),
        (MOBILE, summary()),
    ],
}


@pytest.mark.parametrize("step", list(STEPS_TO))
def test_cancel_at_any_step_submits_nothing(phone, db_session, step):
    citizen = phone()
    verify_dialog(citizen, [*STEPS_TO[step], ("取消", texts.CANCELLED), ("取消", texts.NOTHING_IN_PROGRESS)])
    assert petitions(db_session) == []
    assert conversation_of(db_session, citizen).flow == "idle"


def test_back_goes_one_step_back_and_the_answer_can_be_changed(phone, db_session):
    verify_dialog(
        phone(),
        [
            (REPORT, texts.ASK_KIND),
            ("上一步", texts.ALREADY_FIRST_STEP + "\n" + texts.ASK_KIND),
            ("2", texts.ASK_ENTERPRISE_NAME),
            ("青岛海川食品有限公司", texts.ASK_CREDIT_CODE),
            ("上一步", texts.ASK_ENTERPRISE_NAME),
            ("上一步", texts.ASK_KIND),
            ("1", texts.ASK_CONTENT),
            (PROBLEM, texts.ASK_LOCATION),
            ("上一步", texts.ASK_CONTENT),
            ("小区东门路灯坏了半个月，晚上出行很不方便。", texts.ASK_LOCATION),
            (ADDRESS, texts.ASK_PHONE),
            (MOBILE, summary(content="小区东门路灯坏了半个月，晚上出行很不方便。")),
            ("上一步", texts.ASK_PHONE),
            (
                "13912345678",
                summary(content="小区东门路灯坏了半个月，晚上出行很不方便。", phone="13912345678"),
            ),
        ],
    )


def test_back_from_the_first_question_after_a_typed_problem_returns_to_the_description(phone):
    verify_dialog(
        phone(),
        [
            (PROBLEM, texts.CONTENT_NOTED + "\n" + texts.ASK_KIND),
            ("上一步", texts.ASK_CONTENT),
            ("小区东门路灯坏了半个月，晚上出行很不方便。", texts.ASK_KIND),
        ],
    )


def test_help_explains_the_current_step(phone):
    verify_dialog(
        phone(),
        [
            ("帮助", texts.HELP),
            (REPORT, texts.ASK_KIND),
            ("帮助", "\n".join([texts.STEP_HELP["kind"], texts.STEP_HELP_FOOTER, texts.ASK_KIND])),
            ("2", texts.ASK_ENTERPRISE_NAME),
            (
                "帮助",
                "\n".join(
                    [texts.STEP_HELP["enterprise_name"], texts.STEP_HELP_FOOTER, texts.ASK_ENTERPRISE_NAME]
                ),
            ),
        ],
    )


def test_an_idle_conversation_expires_and_says_so(phone, db_session, bot_app):
    citizen = phone()
    verify_dialog(citizen, [(REPORT, texts.ASK_KIND), ("1", texts.ASK_CONTENT)])
    conversation = conversation_of(db_session, citizen)
    minutes = bot_app.config["WECHAT"]["conversation_idle_minutes"]
    assert conversation.expires_at > utcnow() + dt.timedelta(minutes=minutes - 1)
    # The citizen went away: the conversation's time ran out a minute ago.
    conversation.expires_at = utcnow() - dt.timedelta(minutes=1)
    db_session.commit()
    verify_dialog(
        citizen,
        [
            (PROBLEM, texts.expired(minutes) + "\n" + texts.NOTHING_IN_PROGRESS),
            (PROBLEM, texts.CONTENT_NOTED + "\n" + texts.ASK_KIND),
        ],
    )
    assert petitions(db_session) == []


def test_a_conversation_reset_by_the_expiry_job_says_so_once(phone, db_session, bot_app):
    from workflow.jobs import expire_conversations

    citizen = phone()
    verify_dialog(citizen, [(REPORT, texts.ASK_KIND), ("1", texts.ASK_CONTENT)])
    later = utcnow() + dt.timedelta(days=1)
    assert expire_conversations(bot_app, later) == 1
    db_session.expire_all()
    minutes = bot_app.config["WECHAT"]["conversation_idle_minutes"]
    verify_dialog(
        citizen,
        [
            (PROBLEM, texts.expired(minutes) + "\n" + texts.NOTHING_IN_PROGRESS),
            (PROBLEM, texts.CONTENT_NOTED + "\n" + texts.ASK_KIND),
        ],
    )
    assert petitions(db_session) == []


def test_a_menu_click_after_expiry_is_still_answered(phone, db_session, bot_app):
    citizen = phone()
    verify_dialog(citizen, [(REPORT, texts.ASK_KIND)])
    conversation_of(db_session, citizen).expires_at = utcnow() - dt.timedelta(seconds=1)
    db_session.commit()
    minutes = bot_app.config["WECHAT"]["conversation_idle_minutes"]
    verify_dialog(citizen, [(REPORT, texts.expired(minutes) + "\n" + texts.ASK_KIND)])


# --- a second petition while one is being written ----------------------------------------------------------------------


def test_starting_a_second_report_while_writing_one_asks_what_to_do(phone, db_session):
    verify_dialog(
        phone(),
        [
            (REPORT, texts.ASK_KIND),
            ("1", texts.ASK_CONTENT),
            (PROBLEM, texts.ASK_LOCATION),
            (REPORT, texts.interrupted("发生地点")),
            ("什么意思", texts.interrupted("发生地点")),
            ("继续", texts.ASK_LOCATION),
            (ADDRESS, texts.ASK_PHONE),
            ("我要反映", texts.interrupted("联系电话")),
            ("重新填写", texts.ASK_KIND),
            ("1", texts.ASK_CONTENT),
        ],
    )
    assert petitions(db_session) == []


def test_my_petitions_while_writing_reminds_of_the_open_step(phone):
    verify_dialog(
        phone(),
        [
            (REPORT, texts.ASK_KIND),
            ("1", texts.ASK_CONTENT),
            (MY_PETITIONS, texts.NO_PETITIONS + "\n" + texts.still_writing(texts.ASK_CONTENT)),
            (GUIDE, texts.GUIDE + "\n" + texts.still_writing(texts.ASK_CONTENT)),
            (PROBLEM, texts.ASK_LOCATION),
        ],
    )


# --- admissibility screening --------------------------------------------------------------------------------------------


def test_an_emergency_is_told_to_call_now_and_the_report_ends(phone, db_session):
    citizen = phone()
    verify_dialog(
        citizen,
        [
            (REPORT, texts.ASK_KIND),
            ("1", texts.ASK_CONTENT),
            (EMERGENCY, Contains("请立即拨打", "119", "本次反映已结束")),
            # Back to idle: a bare "1" is no longer an answer to anything.
            ("1", texts.welcome("暖南诉办", "市南区")),
        ],
    )
    assert petitions(db_session) == []


def test_a_typed_emergency_never_starts_a_report(phone, db_session):
    citizen = phone()
    verify_dialog(citizen, [(EMERGENCY, Contains("请立即拨打", "119"))])
    assert conversation_of(db_session, citizen).flow == "idle"


def test_an_inadmissible_matter_says_why_and_where_to_go_and_can_be_continued(phone, db_session):
    verify_dialog(
        phone(),
        [
            (REPORT, texts.ASK_KIND),
            ("1", texts.ASK_CONTENT),
            (LITIGATION, Contains("温馨提示", "法院", "回复 1 继续反映")),
            ("1", texts.ASK_LOCATION),
            (ADDRESS, texts.ASK_PHONE),
            (MOBILE, summary(content=LITIGATION)),
        ],
    )


def test_an_inadmissible_matter_can_be_described_again(phone):
    verify_dialog(
        phone(),
        [
            (REPORT, texts.ASK_KIND),
            ("1", texts.ASK_CONTENT),
            (LITIGATION, Contains("温馨提示")),
            (PROBLEM, texts.ASK_LOCATION),
        ],
    )


# --- my petitions and progress -----------------------------------------------------------------------------------------


def _submit(citizen, content=PROBLEM) -> str:
    replies = verify_dialog(
        citizen,
        [
            (content, Contains(texts.ASK_KIND)),
            ("1", texts.ASK_LOCATION),
            (ADDRESS, Contains("手机号码")),
            (MOBILE, Contains("请核对")),
            ("1", RECEIPT),
        ],
    )
    return replies[-1].split("诉求编号：", 1)[1].split("\n", 1)[0]


def test_my_petitions_lists_recent_petitions_and_a_number_shows_progress(phone, db_session):
    citizen = phone()
    verify_dialog(citizen, [(MY_PETITIONS, texts.NO_PETITIONS)])
    first = _submit(citizen)
    second = _submit(citizen, "小区东门路灯坏了半个月，晚上出行很不方便。")
    listing = citizen.click(MenuKey.MY_PETITIONS)
    assert listing.index(second) < listing.index(first)
    assert "待研判" in listing and texts.MY_PETITIONS_FOOTER in listing
    verify_dialog(
        citizen,
        [
            (first, Contains(f"诉求编号：{first}", "当前状态：待研判", "办理进度：", "已提交")),
            (first.lower(), Contains(f"诉求编号：{first}")),
            ("我的诉求", Contains(second, first)),
        ],
    )


def test_a_citizen_cannot_see_someone_elses_petition(phone):
    number = _submit(phone())
    verify_dialog(
        phone(), [(number, texts.not_found(number)), ("SN209901010001", texts.not_found("SN209901010001"))]
    )


# --- everything else gets a polite answer -------------------------------------------------------------------------------


def test_greetings_guide_and_unsupported_messages(phone):
    citizen = phone()
    verify_dialog(
        citizen,
        [
            ("你好", texts.welcome("暖南诉办", "市南区")),
            (GUIDE, texts.GUIDE),
            ("办事指南", texts.GUIDE),
            ("上一步", texts.NOTHING_IN_PROGRESS),
            (
                lambda p: p.send(p.wire.build_link(p.openid, "标题", "描述", "https://example.org")),
                texts.LINK_NOT_SUPPORTED,
            ),
            (lambda p: p.send(p.wire.build_event(p.openid, "CLICK", "NO_SUCH_KEY")), texts.HELP),
        ],
    )


def test_an_unknown_message_type_gets_a_polite_reply(phone):
    citizen = phone()
    xml = citizen.wire.build_text(citizen.openid, "x").replace("<![CDATA[text]]>", "<![CDATA[shortvideo]]>")
    assert citizen.send(xml) == texts.UNSUPPORTED
    xml = citizen.wire.build_text(citizen.openid, "x").replace("<![CDATA[text]]>", "<![CDATA[hologram]]>")
    assert citizen.send(xml) == texts.UNSUPPORTED


def test_the_plain_mode_account_runs_the_same_dialog(phone, db_session):
    citizen = phone(plain=True)
    verify_dialog(
        citizen,
        [
            (REPORT, texts.ASK_KIND),
            ("1", texts.ASK_CONTENT),
            (PROBLEM, texts.ASK_LOCATION),
            ("辽宁路100号", texts.ASK_PHONE),
            (MOBILE, summary(location="辽宁路100号")),
            ("1", Contains("诉求编号：SB")),
        ],
    )
    [petition] = petitions(db_session)
    assert petition.district_code == "shibei"


def test_without_a_trained_model_the_petition_goes_in_without_a_suggestion(
    phone, db_session, bot_app, tmp_path
):
    # Training takes far longer than WeChat's 5 seconds: the webhook does not train, the dispatcher classifies.
    bot_app.config["CLASSIFIER"]["model_path"] = str(tmp_path / "not-trained-yet.joblib")
    reply = verify_dialog(
        phone(),
        [
            (PROBLEM, Contains(texts.ASK_KIND)),
            ("1", texts.ASK_LOCATION),
            (ADDRESS, texts.ASK_PHONE),
            (MOBILE, summary()),
            ("1", Contains("提交成功！", "诉求编号：SN")),
        ],
    )[-1]
    assert "建议分类" not in reply and "办理时限" not in reply
    [petition] = petitions(db_session)
    assert petition.suggestion is None
    assert not (tmp_path / "not-trained-yet.joblib").exists()


def test_a_voice_description_keeps_its_recording_with_the_petition(phone, db_session):
    """Issue 11: voice is kept too — the recording of a description spoken into the chat goes with the petition
    (fetched by the media job like a photo), and does not count as one of the photos."""
    verify_dialog(
        phone(),
        [
            (REPORT, texts.ASK_KIND),
            ("1", texts.ASK_CONTENT),
            (voice(PROBLEM), texts.ASK_LOCATION),
            (ADDRESS, texts.ASK_PHONE),
            (MOBILE, summary(images=0)),
            ("1", RECEIPT),
        ],
    )
    [petition] = petitions(db_session)
    kept = list(db_session.scalars(select(Attachment).filter_by(petition_id=petition.id)))
    assert [(a.kind, a.media_id, a.media_state) for a in kept] == [("voice", "voice-media-id", MediaState.PENDING)]
