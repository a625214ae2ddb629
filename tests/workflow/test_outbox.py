"""The outbox: texts, template fields cut to WeChat's rules, channels, WeChat's error codes, retries, dead letters,
leases and idempotency — against the fake WeChat API over real HTTP."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from sqlalchemy import select

from models import Citizen, Notification
from models.enums import NotificationState, Satisfaction
from tests.factories import MONDAY_10AM
from tests.workflow.notify_support import (  # noqa: F401  (fixtures)
    CUSTOM_SEND,
    TEMPLATE_FIELDS,
    TEMPLATE_SEND,
    Stage,
    app_config_fixture,
    short_timeout_fixture,
    stage_fixture,
    wechat_fixture,
)
from wechat.fake import TEMPLATE_FIELD_RULES
from workflow.engine import perform
from workflow.messages import TemplateMappingError, render_text, template_data
from workflow.notify import EVENTS
from workflow.outbox import backoff, deliver_due, retry_dead

MON = MONDAY_10AM  # Monday 2026-11-23 10:00 in Qingdao
MINUTE = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)

PAYLOADS = {
    "accepted": {"deadline": "2026-11-25T16:00:00+00:00", "time_limit_days": 2},
    "rejected": {
        "reason": "不在本辖区管辖范围",
        "advice": "请向事发地所在区(市)平台反映。",
        "text": "不予受理原因：不在本辖区管辖范围。",
    },
    "assigned": {"unit_name": "八大关街道"},
    "extended": {"deadline": "2026-12-02T16:00:00+00:00", "extra_working_days": 5},
    "replied": {
        "result": "已责令整改",
        "policy_basis": "条例第二十条",
        "responsible_person": "李明",
        "contact_phone": "0532-88886666",
        "unit_name": "市南区城市管理局",
    },
    "evaluation_request": {},
    "evaluation_reminder": {"reminder": 1},
    "second_handling": {},
    "assessment_started": {},
    "accountability": {"unit_name": "市南区城市管理局", "failures": 2},
    "closed": {"satisfaction": "满意", "resolution": "解决"},
    "linked": {},
    "unlinked": {},
}


def note(event: str, **payload: object) -> Notification:
    base = {
        "number": "SN202611230001",
        "state": "handling",
        "state_label": "办理中",
        "title": "小区楼下烧烤摊每天营业到凌晨两点，油烟和噪音严重扰民",
        "round": 1,
    }
    return Notification(event=event, payload={**base, **PAYLOADS[event], **payload}, created_at=MON)


# --- texts and template data ---------------------------------------------------------------------------------


def test_every_event_has_a_text_and_a_payload_example():
    assert set(PAYLOADS) == set(EVENTS)


@pytest.mark.parametrize("event", sorted(EVENTS))
def test_every_text_names_the_petition_number(event):
    assert "SN202611230001" in render_text(note(event))


def test_texts_carry_the_facts_of_their_event():
    assert "答复期限：11月25日（周三）24时前" in render_text(note("accepted"))
    rejected = render_text(note("rejected"))
    assert "不予受理" in rejected and "不在本辖区管辖范围" in rejected
    replied = render_text(note("replied"))
    for fact in ("已责令整改", "条例第二十条", "李明", "0532-88886666", "市南区城市管理局"):
        assert fact in replied
    assert "延长5个工作日" in render_text(note("extended"))
    assert "回复“评价”" in render_text(note("evaluation_request"))
    assert "满意度：满意" in render_text(note("closed"))


def test_a_long_reply_is_cut_to_wechats_text_limit():
    text = render_text(note("replied", result="整改" * 2000))
    assert len(text.encode("utf-8")) <= 2000
    assert text.endswith("…") and "SN202611230001" in text


def test_a_deadline_reads_the_same_in_the_text_and_in_a_thing_keyword():
    """Rule: one way to say a deadline (issue 13, item 7): 2026-11-25T16:00Z is Thursday 00:00 in Qingdao, so the
    deadline is Wednesday 24:00 — in the customer-service text and in a template's thing keyword alike."""
    n = note("extended", extra_working_days=2, deadline="2026-11-25T16:00:00+00:00")
    assert "新的答复期限为11月25日（周三）24时前" in render_text(n)
    data = template_data({"thing4": {"source": "deadline", "type": "thing"}}, n)
    assert data["thing4"]["value"] == "11月25日（周三）24时前"
    assert TEMPLATE_FIELD_RULES["thing"](data["thing4"]["value"])


@pytest.mark.parametrize("event", sorted(EVENTS))
def test_template_values_obey_wechats_keyword_rules(event):
    n = note(event, number="SN202611230001", title="烧烤摊" * 20, state_label="答复待区平台审核")
    data = template_data(TEMPLATE_FIELDS, n)
    assert set(data) == set(TEMPLATE_FIELDS)
    for keyword, spec in TEMPLATE_FIELDS.items():
        # The fake's rules were written separately from ours, from WeChat's documentation.
        assert TEMPLATE_FIELD_RULES[spec["type"]](data[keyword]["value"]), (keyword, data[keyword])
    assert data["character_string1"]["value"] == "SN202611230001"
    assert len(data["thing2"]["value"]) == 20 and data["thing2"]["value"].endswith("…")
    assert data["phrase3"]["value"] == "答复待区平"
    assert data["time5"]["value"] == "2026年11月23日 10:00"


def test_template_fields_are_cut_by_type():
    n = note("replied", result="结果", contact_phone="电话：0532-8888 6666 转 123")
    fields = {
        "character_string1": {"source": "title", "type": "character_string"},
        "phone_number2": {"source": "contact_phone", "type": "phone_number"},
        "name3": {"source": "responsible_person", "type": "name"},
        "thing4": {"value": "固定文字", "type": "thing"},
        "time5": {"source": "deadline", "type": "time", "default": "2026-11-25T16:00:00+00:00"},
    }
    data = template_data(fields, n)
    # No ASCII in the title: WeChat refuses an empty value, so a placeholder goes instead.
    assert data["character_string1"]["value"] == "-"
    assert data["phone_number2"]["value"] == "0532-8888 6666  1"
    assert data["name3"]["value"] == "李明"
    assert data["thing4"]["value"] == "固定文字"
    assert data["time5"]["value"] == "2026年11月25日"


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        ({"thing1": {"source": "title", "type": "essay"}}, "thing1", "未知的字段类型"),
        ({"thing1": {"type": "thing"}}, "thing1", "没有指定来源"),
        ({"thing1": {"source": "unit_name", "type": "thing"}}, "thing1", "没有「unit_name」"),
        ({"number1": {"source": "title", "type": "number"}}, "number1", "不是数字"),
        ({"time1": {"source": "title", "type": "time"}}, "time1", "不是带时区的时间"),
    ],
)
def test_a_mapping_that_cannot_be_filled_names_the_field(fields, field, says):
    with pytest.raises(TemplateMappingError) as raised:
        template_data(fields, note("closed"))
    assert raised.value.field == field and says in str(raised.value)


def test_backoff_doubles_up_to_the_cap():
    base, cap = dt.timedelta(seconds=30), dt.timedelta(minutes=5)
    assert [backoff(n, base, cap).total_seconds() for n in range(1, 7)] == [30, 60, 120, 240, 300, 300]


# --- channels ---------------------------------------------------------------------------------------------------


def test_a_configured_template_message_is_sent_with_its_client_msg_id(app, stage: Stage):
    stage.use_templates()
    petition = stage.accepted_petition()
    report = deliver_due(app, MON + MINUTE)
    assert report.sent == 1
    (n,) = stage.notifications(petition)
    assert (n.state, n.channel_used, n.attempts, n.sent_at) == (
        NotificationState.SENT,
        "template",
        1,
        MON + MINUTE,
    )
    (message,) = stage.fake.messages(stage.account.appid, stage.world.citizen.openid)
    assert message.kind == "template" and message.template_id == "tpl-accepted"
    assert message.client_msg_id == n.client_msg_id
    assert message.data["character_string1"]["value"] == petition.number


def test_without_a_template_a_text_goes_inside_the_48_hour_window(app, stage: Stage):
    stage.world.citizen.last_message_at = MON - 47 * HOUR
    petition = stage.accepted_petition()
    assert deliver_due(app, MON).sent == 1
    (message,) = stage.fake.messages()
    assert message.kind == "text" and petition.number in message.content
    assert stage.notifications()[0].channel_used == "text"


def test_without_a_template_or_window_the_notification_waits_then_is_dead_lettered(app, stage: Stage):
    stage.world.citizen.last_message_at = MON - 49 * HOUR
    stage.accepted_petition()
    report = deliver_due(app, MON)
    assert (report.waiting, report.sent) == (1, 0)
    (n,) = stage.notifications()
    assert n.state == NotificationState.PENDING and n.attempts == 0
    assert "未配置该事件的模板消息" in n.last_error
    assert n.next_attempt_at == MON + dt.timedelta(minutes=30)
    assert deliver_due(app, MON + 10 * MINUTE).waiting == 0  # not due again yet

    # The citizen writes again: the window opens and the text goes out.
    stage.world.citizen.last_message_at = MON + HOUR
    stage.session.commit()
    assert deliver_due(app, MON + 2 * HOUR).sent == 1

    stage.world.citizen.last_message_at = None
    stage.session.commit()
    stage.accepted_petition(now=MON + 3 * HOUR)
    assert deliver_due(app, MON + 3 * HOUR).waiting == 1
    assert deliver_due(app, MON + 3 * HOUR + 72 * HOUR).dead == 1
    assert "72小时内无法发送" in stage.notifications()[-1].last_error
    assert len(stage.fake.messages()) == 1


def test_a_window_wechat_says_is_closed_45015_makes_the_text_wait_without_using_up_an_attempt(
    app, stage: Stage
):
    stage.world.citizen.last_message_at = MON - HOUR  # our record says the window is open …
    stage.fake.close_window(stage.account.appid, stage.world.citizen.openid)  # … WeChat disagrees
    stage.accepted_petition()
    assert deliver_due(app, MON).waiting == 1
    (n,) = stage.notifications()
    assert (n.state, n.attempts) == (NotificationState.PENDING, 0)
    assert "45015" in n.last_error and n.next_attempt_at == MON + dt.timedelta(minutes=30)
    stage.use_templates(("accepted",))  # a manager configures a template meanwhile
    assert deliver_due(app, MON + HOUR).sent == 1
    assert [m.kind for m in stage.fake.messages()] == ["template"]


# --- WeChat's answers -----------------------------------------------------------------------------------------


def test_unsubscribed_citizen_43004_stops_and_is_recorded(app, stage: Stage):
    stage.use_templates()
    stage.fake.unsubscribe(stage.account.appid, stage.world.citizen.openid)
    stage.accepted_petition()
    assert deliver_due(app, MON).unsubscribed == 1
    (n,) = stage.notifications()
    assert n.state == NotificationState.UNSUBSCRIBED and "43004" in n.last_error
    stage.session.expire_all()
    assert stage.session.get(Citizen, stage.world.citizen.id).subscribed is False

    # Later notifications for the same citizen are not even tried.
    calls = len(stage.fake.api_calls(TEMPLATE_SEND))
    stage.accepted_petition()
    assert deliver_due(app, MON + MINUTE).unsubscribed == 1
    assert len(stage.fake.api_calls(TEMPLATE_SEND)) == calls
    assert stage.fake.messages() == []


def test_a_field_wechat_refuses_47003_is_dead_lettered_naming_the_field(app, stage: Stage):
    # Our mapping says thing (cut to 20 characters); the account's real template declares a phrase (≤ 5 Chinese).
    stage.use_templates(("accepted",))
    stage.fake.register_template(
        stage.account.appid,
        "tpl-accepted",
        {**{k: v["type"] for k, v in TEMPLATE_FIELDS.items()}, "thing2": "phrase"},
    )
    stage.accepted_petition()
    assert deliver_due(app, MON).dead == 1
    (n,) = stage.notifications()
    assert n.state == NotificationState.DEAD
    assert "thing2" in n.last_error and "47003" in n.last_error


def test_a_template_mapping_error_is_dead_lettered_without_calling_wechat(app, stage: Stage):
    stage.use_templates(("accepted",), fields={"thing1": {"source": "no_such_fact", "type": "thing"}})
    stage.accepted_petition()
    assert deliver_due(app, MON).dead == 1
    assert "模板配置有误" in stage.notifications()[0].last_error
    assert stage.fake.api_calls(TEMPLATE_SEND) == []


def test_quota_45047_backs_off_and_45009_waits_for_midnight_in_qingdao(app, stage: Stage):
    stage.use_templates()
    stage.accepted_petition()
    stage.fake.fail_next(TEMPLATE_SEND, errcode=45047)
    assert deliver_due(app, MON).retrying == 1
    (n,) = stage.notifications()
    assert n.next_attempt_at == MON + dt.timedelta(seconds=30) and "45047" in n.last_error

    stage.fake.fail_next(TEMPLATE_SEND, errcode=45009)
    assert deliver_due(app, MON + MINUTE).retrying == 1
    # Monday 10:01 in Qingdao → Tuesday 00:01 Qingdao = Monday 16:01 UTC.
    assert stage.notifications()[0].next_attempt_at == dt.datetime(2026, 11, 23, 16, 1, tzinfo=dt.UTC)
    assert deliver_due(app, dt.datetime(2026, 11, 23, 16, 1, tzinfo=dt.UTC)).sent == 1


def test_a_rejected_token_is_renewed_and_the_message_sent(app, stage: Stage):
    stage.use_templates()
    stage.accepted_petition()
    assert deliver_due(app, MON).sent == 1
    stage.fake.revoke_tokens(stage.account.appid)  # 40001 on the next call: the client renews and retries
    stage.accepted_petition()
    assert deliver_due(app, MON + MINUTE).sent == 1
    stage.fake.expire_tokens(stage.account.appid)  # 42001 likewise
    stage.accepted_petition()
    assert deliver_due(app, MON + 2 * MINUTE).sent == 1
    assert len(stage.fake.messages()) == 3


def test_token_errors_that_persist_are_retried_later(app, stage: Stage):
    stage.use_templates()
    stage.accepted_petition()
    stage.fake.fail_next(TEMPLATE_SEND, count=2, errcode=40001)  # the client's one renewal does not help
    assert deliver_due(app, MON).retrying == 1
    assert "40001" in stage.notifications()[0].last_error
    assert deliver_due(app, MON + MINUTE).sent == 1


def test_after_max_attempts_a_failing_notification_is_dead_and_retry_dead_requeues_it(app, stage: Stage):
    app.config["SCHEDULER"]["max_attempts"] = 3
    stage.use_templates()
    stage.accepted_petition()
    stage.fake.fail_next(TEMPLATE_SEND, count=3, http_status=502)
    now = MON
    for expected in ("retrying", "retrying", "dead"):
        report = deliver_due(app, now)
        assert getattr(report, expected) == 1
        now += 2 * HOUR
    (n,) = stage.notifications()
    assert n.state == NotificationState.DEAD and n.attempts == 3
    assert "已尝试3次" in n.last_error and "HTTP 502" in n.last_error
    assert deliver_due(app, now).sent == 0

    with pytest.raises(ValueError, match="只有发送失败的消息可以重试"):
        stage.accepted_petition()
        retry_dead(stage.session, stage.notifications()[-1].id, now)
    with pytest.raises(LookupError):
        retry_dead(stage.session, 10_000, now)
    stage.session.rollback()
    retry_dead(stage.session, n.id, now)
    stage.session.commit()
    assert deliver_due(app, now).sent == 2
    first, _second = stage.notifications()
    assert first.state == NotificationState.SENT and first.attempts == 1
    assert len(stage.fake.messages()) == 2


# --- exactly once ----------------------------------------------------------------------------------------------


def test_failing_for_a_while_then_recovering_every_notification_arrives_exactly_once(
    app, stage: Stage, short_timeout: float
):
    stage.use_templates()
    petitions = [stage.accepted_petition() for _ in range(6)]
    fake = stage.fake
    fake.fail_next(TEMPLATE_SEND, count=3, http_status=503)
    fake.fail_next(TEMPLATE_SEND, count=2, errcode=-1)
    # Answers that come too late: the client times out, but WeChat (the fake) delivers anyway.
    fake.fail_next(TEMPLATE_SEND, count=3, delay=short_timeout + 0.3)
    fake.fail_next(TEMPLATE_SEND, count=1, errcode=45047)

    now = MON
    for _ in range(12):
        deliver_due(app, now)
        now += HOUR
        if all(n.state == NotificationState.SENT for n in stage.notifications()):
            break
    notifications = stage.notifications()
    assert {n.state for n in notifications} == {NotificationState.SENT}
    # The late answers' deliveries land after their delay: wait until every notification has arrived (a later
    # duplicate could only be refused by its client_msg_id, so counting then is final).
    expected = {n.client_msg_id for n in notifications}
    deadline = time.monotonic() + 10
    while not expected <= {m.client_msg_id for m in fake.messages()} and time.monotonic() < deadline:
        threading.Event().wait(0.02)
    delivered = [m.client_msg_id for m in fake.messages()]
    assert sorted(delivered) == sorted(n.client_msg_id for n in notifications)
    assert len(delivered) == len(petitions)
    assert any(n.attempts > 1 for n in notifications)
    assert any("已发送过" in (n.last_error or "") for n in notifications)


def test_a_row_leased_by_another_worker_waits_for_its_lease_to_lapse(app, stage: Stage):
    stage.use_templates()
    stage.accepted_petition()
    (n,) = stage.notifications()
    n.locked_by, n.locked_until = "another-host:1:abc", MON + MINUTE
    stage.session.commit()
    assert deliver_due(app, MON).sent == 0
    assert deliver_due(app, MON + MINUTE + dt.timedelta(seconds=1)).sent == 1
    assert len(stage.fake.messages()) == 1


def test_two_workers_at_once_send_each_notification_once(app, stage: Stage):
    stage.use_templates()
    for _ in range(12):
        stage.accepted_petition()
    reports = []
    workers = [threading.Thread(target=lambda: reports.append(deliver_due(app, MON))) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sum(r.sent for r in reports) == 12
    # Each row was sent by one worker only: twelve calls, no duplicate answered by client_msg_id.
    assert len(stage.fake.api_calls(TEMPLATE_SEND)) == 12
    assert len({m.client_msg_id for m in stage.fake.messages()}) == 12


def test_an_evaluation_request_for_a_petition_rated_meanwhile_is_skipped(app, stage: Stage):
    stage.use_templates()
    petition = stage.replied_petition()
    deliver_due(app, MON)
    from workflow.notify import enqueue

    enqueue(stage.session, petition, "evaluation_request", MON)
    perform(
        stage.session,
        petition,
        "evaluate",
        stage.world.citizen,
        MON,
        satisfaction=Satisfaction.SATISFIED,
        resolution="resolved",
    )
    stage.session.commit()
    report = deliver_due(app, MON + MINUTE)
    assert (report.skipped, report.sent) == (1, 1)  # the request is skipped, 'closed' is sent
    states = {n.event: n.state for n in stage.notifications(petition)}
    assert states["evaluation_request"] == NotificationState.SKIPPED
    assert [m.template_id for m in stage.fake.messages()][-1] == "tpl-closed"


def test_custom_messages_use_the_text_endpoint(app, stage: Stage):
    stage.world.citizen.last_message_at = MON
    stage.replied_petition()
    assert deliver_due(app, MON).sent == 2
    assert len(stage.fake.api_calls(CUSTOM_SEND)) == 2
    assert all(n.state == NotificationState.SENT for n in stage.session.scalars(select(Notification)))


def test_a_poison_notification_is_dead_lettered_alone_and_the_run_goes_on(app, stage: Stage):
    """Issue 12, attack 5: rows no message can be made from once stopped every notification behind them."""
    stage.use_templates()
    stage.accepted_petition()
    (good,) = stage.notifications()
    for _ in range(3):
        stage.session.add(
            Notification(
                citizen_id=good.citizen_id,
                petition_id=good.petition_id,
                district_code=good.district_code,
                event=good.event,  # a template exists, but nothing in the payload fills it
                payload={"garbage": True},
                client_msg_id=f"poison-{_}",
                created_at=MON,
                next_attempt_at=MON - MINUTE,
            )
        )
    stage.session.commit()
    report = deliver_due(app, MON)
    assert report.sent == 1 and report.dead == 3
    poison = [n for n in stage.notifications() if n.client_msg_id.startswith("poison-")]
    assert {n.state for n in poison} == {NotificationState.DEAD}
    assert all("无法生成消息" in n.last_error for n in poison)
    assert len(stage.fake.messages()) == 1


def test_a_delivery_that_fails_is_logged_at_warning_with_the_reason(app, stage: Stage, caplog):
    """Issue 11: a notification that is not delivered says why in the log (the demo's first place to look)."""
    stage.use_templates()
    stage.accepted_petition()
    stage.fake.fail_next(TEMPLATE_SEND, errcode=-1)
    with caplog.at_level("WARNING", logger="workflow.outbox"):
        assert deliver_due(app, MON).retrying == 1
    (record,) = [r for r in caplog.records if r.name == "workflow.outbox"]
    assert record.levelname == "WARNING"
    assert "not delivered" in record.getMessage() and "errcode -1" in record.getMessage()
