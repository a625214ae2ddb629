"""WeChat's retries: the same message again (one after another, or while the first is still running) changes
nothing more and gets the very same reply; a first attempt that failed leaves nothing behind for the retry."""

from __future__ import annotations

import threading
import time

from sqlalchemy import func, select

from bot import texts
from models import InboundMessage, Petition, utcnow
from tests.bot.conftest import Contains, menu, verify_dialog

PROBLEM = "小区楼下烧烤摊每天营业到凌晨两点，油烟和噪音严重扰民，希望有关部门管一管。"


def _count(session, model) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def _to_confirmation(citizen) -> None:
    verify_dialog(
        citizen,
        [
            (PROBLEM, Contains(texts.ASK_KIND)),
            ("1", texts.ASK_LOCATION),
            ("香港中路10号", texts.ASK_PHONE),
            ("13812345678", Contains("请核对")),
        ],
    )


def test_a_message_delivered_three_times_is_handled_once(phone, db_session):
    citizen = phone()
    xml = citizen.wire.build_text(citizen.openid, PROBLEM, msg_id=7_000_000_001)
    replies = [citizen.send(xml) for _ in range(3)]
    assert replies == [texts.CONTENT_NOTED + "\n" + texts.ASK_KIND] * 3
    # Had a retry been handled again, the description would have been taken as the answer to "个人或企业".
    verify_dialog(citizen, [("1", texts.ASK_LOCATION)])


def test_a_confirmation_delivered_three_times_makes_one_petition_and_one_identical_reply(phone, db_session):
    citizen = phone()
    _to_confirmation(citizen)
    xml = citizen.wire.build_text(citizen.openid, "1", msg_id=7_000_000_002)
    replies = [citizen.send(xml) for _ in range(3)]
    assert replies[0].startswith("提交成功！")
    assert replies == [replies[0]] * 3
    assert _count(db_session, Petition) == 1


def test_concurrent_deliveries_make_one_petition_and_one_identical_reply(phone, db_session, monkeypatch):
    citizen = phone()
    _to_confirmation(citizen)
    import bot.conversation

    real_submit = bot.conversation.submit_petition

    def slow_submit(*args, **kwargs):
        # A slow database: whichever delivery gets in first is still working when the others arrive.
        petition = real_submit(*args, **kwargs)
        time.sleep(0.3)
        return petition

    monkeypatch.setattr(bot.conversation, "submit_petition", slow_submit)
    xml = citizen.wire.build_text(citizen.openid, "1", msg_id=7_000_000_003)
    deliveries = 4
    barrier = threading.Barrier(deliveries)
    results: list[tuple[int, str, float]] = []
    errors: list[BaseException] = []

    def deliver() -> None:
        # A thread has no application context: each request gets its own, with its own database session.
        try:
            barrier.wait(timeout=10)
            started = time.perf_counter()
            status, reply = citizen.post(xml)
            results.append((status, reply, time.perf_counter() - started))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=deliver) for _ in range(deliveries)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    assert [status for status, _, _ in results] == [200] * deliveries
    replies = {reply for _, reply, _ in results}
    assert len(replies) == 1 and next(iter(replies)).startswith("提交成功！")
    # WeChat waits 5 seconds; every delivery, even one that waited for the first, answered well within that.
    assert max(seconds for _, _, seconds in results) < 3
    assert _count(db_session, Petition) == 1


def test_a_failed_first_attempt_leaves_nothing_and_the_retry_does_the_work(phone, db_session, monkeypatch):
    citizen = phone()
    _to_confirmation(citizen)
    xml = citizen.wire.build_text(citizen.openid, "1", msg_id=7_000_000_004)
    import bot.conversation

    real_submit = bot.conversation.submit_petition

    def crash_once(*args, **kwargs):
        # The numbering sequence and the petition are written before the crash: all of it must roll back.
        real_submit(*args, **kwargs)
        monkeypatch.setattr(bot.conversation, "submit_petition", real_submit)
        raise ConnectionError("database connection lost mid-transaction")

    monkeypatch.setattr(bot.conversation, "submit_petition", crash_once)
    assert citizen.send(xml) == texts.SYSTEM_BUSY
    assert _count(db_session, Petition) == 0
    assert (
        db_session.scalar(select(InboundMessage).where(InboundMessage.dedupe_key.like("%7000000004"))) is None
    )
    receipt = citizen.send(xml)
    assert receipt.startswith("提交成功！")
    assert citizen.send(xml) == receipt
    [petition] = db_session.scalars(select(Petition)).all()
    # The number of the rolled-back attempt was never handed out, so the retry got the first one of the day.
    assert petition.number.endswith("0001")


def test_old_dedupe_rows_are_forgotten_and_recent_ones_kept(phone, db_session):
    import datetime as dt

    from workflow.jobs import forget_handled_messages

    citizen = phone()
    citizen.say("你好")
    citizen.say("帮助")
    now = utcnow()
    assert forget_handled_messages(db_session, now - dt.timedelta(days=1)) == 0
    assert forget_handled_messages(db_session, now + dt.timedelta(seconds=1)) == 2
    db_session.commit()
    assert _count(db_session, InboundMessage) == 0


def test_two_different_messages_of_one_citizen_at_once_are_both_applied(phone, db_session):
    # A picture and the description sent together: each request changes the same dialog state, and neither
    # change may be lost (the conversation row is locked while a message is handled).
    citizen = phone()
    verify_dialog(citizen, [(menu("REPORT"), texts.ASK_KIND), ("1", texts.ASK_CONTENT)])
    messages = [
        citizen.wire.build_image(citizen.openid, pic_url="http://mmbiz.qpic.cn/scene.jpg"),
        citizen.wire.build_text(citizen.openid, PROBLEM),
    ]
    barrier = threading.Barrier(len(messages))
    statuses: list[int] = []

    def deliver(xml: str) -> None:
        barrier.wait(timeout=10)
        statuses.append(citizen.post(xml)[0])

    threads = [threading.Thread(target=deliver, args=(xml,)) for xml in messages]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert statuses == [200, 200]
    verify_dialog(
        citizen,
        [
            ("香港中路10号", texts.ASK_PHONE),
            ("13812345678", Contains("图片：1张")),
            ("1", Contains("提交成功！")),
        ],
    )
    [petition] = db_session.scalars(select(Petition)).all()
    assert (petition.content, len(petition.attachments)) == (PROBLEM, 1)
