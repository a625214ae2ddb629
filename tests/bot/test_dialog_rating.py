"""Rating in chat: satisfaction and resolution, numbers or words, confirmed, recorded through the workflow."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot import texts
from bot.menu import MenuKey
from models import Evaluation, Petition, utcnow
from models.enums import PetitionState, Resolution, Satisfaction
from tests.bot.conftest import Contains, menu, now_utc, verify_dialog
from workflow.actors import SYSTEM
from workflow.deadlines import deadline_text
from workflow.engine import perform

SHANGHAI = ZoneInfo("Asia/Shanghai")
PROBLEM = "小区楼下烧烤摊每天营业到凌晨两点，油烟和噪音严重扰民，希望有关部门管一管。"
OTHER_PROBLEM = "小区东门路灯坏了半个月，晚上出行很不方便。"


def submit(citizen, content=PROBLEM) -> str:
    replies = verify_dialog(
        citizen,
        [
            (content, Contains(texts.ASK_KIND)),
            ("1", texts.ASK_LOCATION),
            ("香港中路10号", Contains("手机号码")),
            ("13812345678", Contains("请核对")),
            ("1", Contains("提交成功")),
        ],
    )
    return replies[-1].split("诉求编号：", 1)[1].split("\n", 1)[0]


def petition(session, number: str) -> Petition:
    session.expire_all()
    return session.scalars(select(Petition).filter_by(number=number)).one()


def evaluations(session, number: str) -> list[tuple[int, Satisfaction, Resolution]]:
    p = petition(session, number)
    rows = session.scalars(select(Evaluation).filter_by(petition_id=p.id).order_by(Evaluation.id))
    return [(e.handling_round, e.satisfaction, e.resolution) for e in rows]


def test_a_satisfied_rating_closes_the_petition(phone, db_session, handling):
    citizen = phone()
    number = submit(citizen)
    title = petition(db_session, number).title
    handling.reply(petition(db_session, number))
    verify_dialog(
        citizen,
        [
            ("你好", texts.welcome("暖南诉办", "市南区") + "\n" + texts.pending_evaluations(1)),
            (number, Contains("当前状态：待评价", "已答复", f"回复“评价 {number}”")),
            ("评价", texts.ask_satisfaction(number, title)),
            ("还可以吧", texts.BAD_SATISFACTION),
            ("1", texts.ASK_RESOLUTION),
            ("上一步", texts.ask_satisfaction(number, title)),
            ("基本满意", texts.ASK_RESOLUTION),
            ("都行", texts.BAD_RESOLUTION),
            ("2", texts.confirm_rating("基本满意", "基本解决")),
            ("1", texts.rated_closed(number)),
            ("评价", texts.NOTHING_TO_RATE),
            (f"评价 {number}", texts.rating_refused(number, "您已评价过本轮办理结果。")),
        ],
    )
    assert petition(db_session, number).state == PetitionState.CLOSED
    assert evaluations(db_session, number) == [
        (1, Satisfaction.BASICALLY_SATISFIED, Resolution.BASICALLY_RESOLVED)
    ]


def test_an_unsatisfied_rating_goes_to_second_handling_then_to_assessment(phone, db_session, handling):
    citizen = phone()
    number = submit(citizen)
    title = petition(db_session, number).title
    handling.reply(petition(db_session, number))
    verify_dialog(
        citizen,
        [
            # A rating word typed straight away starts the rating with it.
            ("不满意", texts.ASK_RESOLUTION),
            ("没有解决", texts.ASK_REASON),
            ("跳过", texts.confirm_rating("不满意", "未解决")),
            ("确认", texts.rated_second_handling(number)),
        ],
    )
    second = petition(db_session, number)
    assert (second.state, second.handling_round) == (PetitionState.PENDING_DISPATCH, 2)
    handling.reply(second)
    verify_dialog(
        citizen,
        [
            (f"评价{number}", texts.ask_satisfaction(number, title)),
            ("3", texts.ASK_RESOLUTION),
            ("3", texts.ASK_REASON),
            ("还是老样子", texts.REASON_NOTED + "\n" + texts.confirm_rating("不满意", "未解决", "还是老样子")),
            ("1", texts.rated_assessment(number)),
        ],
    )
    assert petition(db_session, number).state == PetitionState.ASSESSMENT
    assert evaluations(db_session, number) == [
        (1, Satisfaction.UNSATISFIED, Resolution.UNRESOLVED),
        (2, Satisfaction.UNSATISFIED, Resolution.UNRESOLVED),
    ]


def test_with_several_petitions_awaiting_the_citizen_picks_one(phone, db_session, handling):
    citizen = phone()
    first, second = submit(citizen), submit(citizen, OTHER_PROBLEM)
    handling.reply(petition(db_session, first))
    handling.reply(petition(db_session, second))
    second_title = petition(db_session, second).title
    verify_dialog(
        citizen,
        [
            ("评价", Contains("请回复序号选择", f"1. {first}", f"2. {second}")),
            ("3", texts.bad_pick(2)),
            ("2", texts.ask_satisfaction(second, second_title)),
            ("上一步", Contains("请回复序号选择")),
            ("2", texts.ask_satisfaction(second, second_title)),
            ("满意", texts.ASK_RESOLUTION),
            ("解决", texts.confirm_rating("满意", "解决")),
            ("1", texts.rated_closed(second)),
        ],
    )
    assert petition(db_session, first).state == PetitionState.AWAITING_EVALUATION


def test_rating_can_be_cancelled_and_resumed(phone, db_session, handling):
    citizen = phone()
    number = submit(citizen)
    handling.reply(petition(db_session, number))
    title = petition(db_session, number).title
    verify_dialog(
        citizen,
        [
            ("评价", texts.ask_satisfaction(number, title)),
            ("1", texts.ASK_RESOLUTION),
            ("取消", texts.RATE_CANCELLED),
            ("评价", texts.ask_satisfaction(number, title)),
        ],
    )
    assert evaluations(db_session, number) == []


def test_a_rating_after_the_evaluation_window_closed_is_explained(phone, db_session, handling):
    """Rule: once the petition is closed as 未评价, the engine refuses the rating and the bot says why, whether the
    citizen was half-way through rating or starts afresh."""
    citizen = phone()
    number = submit(citizen)
    handling.reply(petition(db_session, number))
    verify_dialog(citizen, [("评价", Contains("您对办理结果满意吗")), ("1", texts.ASK_RESOLUTION), ("1", texts.confirm_rating("满意", "解决"))])
    perform(db_session, petition(db_session, number), "expire_evaluation", SYSTEM,
            now_utc(), window_days=7)
    db_session.commit()
    verify_dialog(
        citizen,
        [
            ("1", texts.rating_window_closed(number)),
            (f"评价 {number}", texts.rating_window_closed(number)),
            ("评价", texts.NOTHING_TO_RATE),
        ],
    )
    assert petition(db_session, number).state == PetitionState.UNRATED
    assert evaluations(db_session, number) == []


def test_only_the_petitioner_may_rate(phone, db_session, handling):
    owner, stranger = phone(), phone()
    number = submit(owner)
    handling.reply(petition(db_session, number))
    verify_dialog(
        stranger,
        [
            (f"评价 {number}", texts.not_found(number)),
            ("评价", texts.NOTHING_TO_RATE),
            ("满意", texts.welcome("暖南诉办", "市南区")),
        ],
    )
    assert evaluations(db_session, number) == []


def test_a_petition_not_yet_answered_cannot_be_rated(phone, db_session):
    citizen = phone()
    number = submit(citizen)
    verify_dialog(
        citizen,
        [
            (f"评价 {number}", texts.rating_refused(number, "诉求当前状态为“待研判”，答复送达后才能评价。")),
            ("评价", texts.NOTHING_TO_RATE),
            (menu(MenuKey.MY_PETITIONS), Contains(number, "待研判")),
        ],
    )


def test_my_petitions_shows_state_light_and_deadline_once_accepted(phone, db_session, handling):
    citizen = phone()
    number = submit(citizen)
    handling.dispatch(petition(db_session, number))
    accepted = petition(db_session, number)
    expected_day = deadline_text(accepted.deadline, now=utcnow())  # the year is said when it is not this one
    assert expected_day.endswith("24时前")
    verify_dialog(
        citizen,
        [
            (
                menu(MenuKey.MY_PETITIONS),
                Contains(number, f"{accepted.state.label} · 蓝灯 · 期限{expected_day}"),
            ),
            (
                number,
                Contains(
                    f"当前状态：{accepted.state.label}",
                    f"办理期限：{expected_day}（蓝灯）",
                    "已提交",
                    "平台已受理并转办",
                ),
            ),
        ],
    )


REASON = "烧烤店还是照常营业到半夜，根本没有整改"


def _dispatcher_client(bot_app, user):
    from admin_web.auth import login_id

    client = bot_app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = login_id(user)
        session["_fresh"] = True
    return client


def test_an_unsatisfied_rating_with_a_reason_reaches_the_second_handling_petition_and_the_api(
    phone, db_session, handling, bot_app
):
    """Rule: unsatisfied or unresolved goes back to the platform for second handling (二次办理); what the citizen
    says is still wrong is kept with the rating, and the dispatcher sees it first on the petition."""
    from admin_web.api.tokens import issue_token

    citizen = phone()
    number = submit(citizen)
    handling.reply(petition(db_session, number))
    verify_dialog(
        citizen,
        [
            ("不满意", texts.ASK_RESOLUTION),
            ("3", texts.ASK_REASON),
            (REASON, texts.REASON_NOTED + "\n" + texts.confirm_rating("不满意", "未解决", REASON)),
            ("1", texts.rated_second_handling(number)),
        ],
    )
    second = petition(db_session, number)
    assert (second.state, second.handling_round) == (PetitionState.PENDING_DISPATCH, 2)
    [evaluation] = db_session.scalars(select(Evaluation).filter_by(petition_id=second.id)).all()
    assert (evaluation.handling_round, evaluation.comment) == (1, REASON)

    admin = _dispatcher_client(bot_app, handling.dispatcher)
    page = admin.get(f"/admin/petitions/{number}").get_data(as_text=True)
    assert REASON in page and page.index(REASON) < page.index("基本信息")
    queue = admin.get("/admin/queue").get_data(as_text=True)
    # The petition's text carries the suggestion's highlighted terms: compare it without the marks.
    queue = re.sub(r'</?mark[^>]*>', "", queue)
    assert REASON in queue and queue.index(REASON) < queue.index(second.content)

    token = issue_token(db_session, handling.dispatcher, utcnow())
    db_session.commit()
    body = bot_app.test_client().get(
        f"/api/v1/petitions/{number}", headers={"Authorization": f"Bearer {token.raw}"}
    ).get_json()
    assert body["handling_round"] == 2
    assert [(e["handling_round"], e["satisfaction"]["value"], e["comment"]) for e in body["evaluations"]] == [
        (1, Satisfaction.UNSATISFIED.value, REASON)
    ]


def test_a_reason_typed_at_the_confirm_step_is_kept_not_dropped(phone, db_session, handling):
    citizen = phone()
    number = submit(citizen)
    handling.reply(petition(db_session, number))
    verify_dialog(
        citizen,
        [
            ("评价", Contains("您对办理结果满意吗")),
            ("2", texts.ASK_RESOLUTION),
            ("未解决", texts.ASK_REASON),
            ("跳过", texts.confirm_rating("基本满意", "未解决")),
            (REASON, texts.REASON_NOTED + "\n" + texts.confirm_rating("基本满意", "未解决", REASON)),
            ("确认", texts.rated_second_handling(number)),
        ],
    )
    p = petition(db_session, number)
    assert db_session.scalars(select(Evaluation.comment).filter_by(petition_id=p.id)).one() == REASON


def test_a_satisfied_rating_asks_no_reason(phone, db_session, handling):
    citizen = phone()
    number = submit(citizen)
    handling.reply(petition(db_session, number))
    verify_dialog(
        citizen,
        [
            ("满意", texts.ASK_RESOLUTION),
            ("基本解决", texts.confirm_rating("满意", "基本解决")),
            ("这是什么意思呢", texts.confirm_rating("满意", "基本解决")),
            ("1", texts.rated_closed(number)),
        ],
    )


def test_the_progress_view_marks_the_second_round(phone, db_session, handling):
    citizen = phone()
    number = submit(citizen)
    handling.reply(petition(db_session, number))
    verify_dialog(citizen, [("不满意", texts.ASK_RESOLUTION), ("3", texts.ASK_REASON), ("跳过", Contains("您的评价")),
                            ("1", texts.rated_second_handling(number))])
    handling.dispatch(petition(db_session, number))
    reply = citizen.say(number)
    assert "（二次办理）" in reply.split("\n")[2]
    assert Contains("已答复", "您已评价，诉求转入二次办理", "[二次办理] 平台已受理并转办").check(reply), reply


def test_a_rejection_note_is_shown_once(phone, db_session, handling):
    from models.enums import InadmissibleCode

    citizen = phone()
    number = submit(citizen)
    note = "该房产纠纷已由法院立案受理"
    perform(db_session, petition(db_session, number), "reject", handling.dispatcher, now_utc(),
            code=InadmissibleCode.LITIGATION.value, note=note)
    db_session.commit()
    reply = citizen.say(number)
    assert reply.count(note) == 1 and "不予受理原因：" in reply, reply
