"""The scheduler's jobs, each run at explicit instants (named with their weekday, Qingdao time)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from models import Conversation, Notification, Petition, StaffAlert, utcnow
from models.enums import Light, NotificationState, PetitionState, Resolution, Satisfaction
from tests.factories import MONDAY_10AM, make_account, make_citizen, make_petition
from tests.statements import counting
from tests.workflow.notify_support import (  # noqa: F401  (fixtures)
    Stage,
    app_config_fixture,
    stage_fixture,
    wechat_fixture,
)
from wechat.tokens import token_store_for
from workflow import jobs
from workflow.engine import perform
from workflow.messages import render_text

SH = dt.timezone(dt.timedelta(hours=8))
MON = MONDAY_10AM  # Monday 2026-11-23 10:00 in Qingdao
TUE_NOON = dt.datetime(2026, 11, 24, 12, tzinfo=SH)
WED_NOON = dt.datetime(2026, 11, 25, 12, tzinfo=SH)
THU_1AM = dt.datetime(2026, 11, 26, 1, tzinfo=SH)  # an hour after the Wednesday-24:00 deadline
TUE_8AM = dt.datetime(2026, 11, 24, 8, tzinfo=SH)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
US = dt.timedelta(microseconds=1)


def alerts(stage: Stage) -> list[StaffAlert]:
    stage.session.expire_all()
    return list(stage.session.scalars(select(StaffAlert).order_by(StaffAlert.id)))


def events(stage: Stage, petition: Petition) -> list[tuple[str, NotificationState]]:
    return [(n.event, n.state) for n in stage.notifications(petition)]


# --- lights ----------------------------------------------------------------------------------------------------


def test_lights_turn_yellow_then_red_reminding_the_unit_then_alerting_the_platform(app, stage: Stage):
    # A simple complaint accepted Monday 10:00: two working days, due Wednesday 24:00; yellow with ≤ 34 % left.
    petition = stage.accepted_petition()
    replied = stage.replied_petition()
    version = petition.version

    assert jobs.recompute_lights(app, TUE_NOON) == jobs.LightsReport(
        changed=0, yellow_reminders=0, red_alerts=0
    )
    assert jobs.recompute_lights(app, WED_NOON) == jobs.LightsReport(
        changed=1, yellow_reminders=1, red_alerts=0
    )
    assert jobs.recompute_lights(app, WED_NOON) == jobs.LightsReport()  # nothing new the second time
    (yellow,) = alerts(stage)
    assert (yellow.kind, yellow.audience, yellow.unit_id, yellow.petition_id) == (
        "yellow",
        "unit",
        stage.world.urban.id,
        petition.id,
    )
    assert petition.number in yellow.title and "2026年11月25日24时" in yellow.body

    assert jobs.recompute_lights(app, THU_1AM) == jobs.LightsReport(
        changed=1, yellow_reminders=0, red_alerts=1
    )
    assert jobs.recompute_lights(app, THU_1AM) == jobs.LightsReport()
    red = alerts(stage)[-1]
    assert (red.kind, red.audience, red.unit_id) == ("red", "platform", stage.world.platform.id)
    assert "已超过答复期限" in red.body and stage.world.urban.name in red.body

    stage.session.expire_all()
    fresh = stage.session.get(Petition, petition.id)
    assert fresh.light == Light.RED
    # The derived light does not bump the version a dispatcher's concurrent action checks.
    assert fresh.version == version
    # A replied petition's clock has stopped: it has no light and no alerts.
    assert stage.session.get(Petition, replied.id).light is None
    assert {a.petition_id for a in alerts(stage)} == {petition.id}


def test_a_petition_that_jumps_straight_to_red_gets_only_the_red_alert(app, stage: Stage):
    stage.accepted_petition()
    assert jobs.recompute_lights(app, THU_1AM) == jobs.LightsReport(
        changed=1, yellow_reminders=0, red_alerts=1
    )
    assert [a.kind for a in alerts(stage)] == ["red"]


def test_an_extended_deadline_that_turns_yellow_again_reminds_again(app, stage: Stage):
    petition = stage.accepted_petition()
    jobs.recompute_lights(app, WED_NOON)
    w = stage.world
    perform(stage.session, petition, "accept", w.urban_handler, WED_NOON)
    perform(
        stage.session,
        petition,
        "request_extension",
        w.urban_handler,
        WED_NOON,
        extra_working_days="2",
        reason="需协调多个部门",
    )
    perform(stage.session, petition, "decide_extension", w.dispatcher, WED_NOON, approve="true")
    stage.session.commit()
    # Due Friday 24:00 now: blue again on Wednesday, yellow on Friday.
    assert jobs.recompute_lights(app, WED_NOON + HOUR).changed == 1
    fri_noon = dt.datetime(2026, 11, 27, 12, tzinfo=SH)
    assert jobs.recompute_lights(app, fri_noon) == jobs.LightsReport(
        changed=1, yellow_reminders=1, red_alerts=0
    )
    assert [a.kind for a in alerts(stage)] == ["yellow", "yellow"]


# --- outbox and evaluations ------------------------------------------------------------------------------------


def test_deliver_outbox_sends_then_asks_for_the_evaluation_once_the_reply_reached_the_citizen(
    app, stage: Stage
):
    stage.use_templates()
    petition = stage.replied_petition()
    report = jobs.deliver_outbox(app, MON)
    assert report.sent == 3
    assert events(stage, petition) == [
        ("accepted", NotificationState.SENT),
        ("replied", NotificationState.SENT),
        ("evaluation_request", NotificationState.SENT),
    ]
    assert [m.template_id for m in stage.fake.messages()] == [
        "tpl-accepted",
        "tpl-replied",
        "tpl-evaluation_request",
    ]
    assert jobs.deliver_outbox(app, MON + HOUR).sent == 0
    assert jobs.request_evaluations(app, MON + HOUR) == 0


def test_no_evaluation_request_while_the_reply_has_not_reached_the_citizen(app, stage: Stage):
    stage.use_templates()
    petition = stage.replied_petition()
    stage.fake.fail_next("/cgi-bin/message/template/send", count=2, http_status=503)
    jobs.deliver_outbox(app, MON)
    assert [e for e, _ in events(stage, petition)] == ["accepted", "replied"]
    jobs.deliver_outbox(app, MON + HOUR)
    assert events(stage, petition)[-1] == ("evaluation_request", NotificationState.SENT)


def test_a_citizen_is_asked_to_rate_once(app, stage: Stage):
    """Rule: one evaluation request per reply that reached the citizen, however often the job runs."""
    stage.use_templates()
    petition = stage.replied_petition()
    jobs.deliver_outbox(app, MON)  # the reply reaches the citizen on Monday 10:00, and the request is queued
    for hours in (1, 2, 30):
        jobs.deliver_outbox(app, MON + hours * HOUR)
        assert jobs.request_evaluations(app, MON + hours * HOUR) == 0
    assert [e for e, _ in events(stage, petition)].count("evaluation_request") == 1
    stage.session.expire_all()
    assert (petition.reply_delivered_at, petition.evaluation_requested_at) == (MON, MON)


def test_the_one_reminder_goes_once_after_the_configured_hours(app, stage: Stage):
    """Rule: one reminder, ``[evaluation] reminder_after_hours`` (72) after the reply reached the citizen."""
    assert app.config["EVALUATION"]["reminder_after_hours"] == 72
    stage.use_templates()
    petition = stage.replied_petition()
    jobs.deliver_outbox(app, MON)
    steps = [(24, 0), (71, 0), (72, 1), (73, 0), (100, 0)]
    assert [jobs.remind_evaluations(app, MON + h * HOUR) for h, _ in steps] == [n for _, n in steps]
    (reminder,) = [n for n in stage.notifications(petition) if n.event == "evaluation_reminder"]
    assert reminder.payload["reminder"] == 1 and reminder.payload["number"] == petition.number


def test_after_an_outage_the_reminder_goes_once_and_never_after_the_window(app, stage: Stage):
    stage.use_templates()
    late, closed = stage.replied_petition(), stage.replied_petition()
    jobs.deliver_outbox(app, MON)
    # The scheduler was down for four days: one reminder each, not a burst.
    assert jobs.remind_evaluations(app, MON + 100 * HOUR) == 2
    assert jobs.remind_evaluations(app, MON + 101 * HOUR) == 0
    third = stage.replied_petition()
    jobs.deliver_outbox(app, MON + HOUR)
    # Down again past its window: the petition is closed, not reminded.
    assert jobs.remind_evaluations(app, MON + 8 * DAY) == 0
    assert {late.id, closed.id} <= {n.petition_id for n in stage.notifications() if n.event == "evaluation_reminder"}
    assert third.id not in {n.petition_id for n in stage.notifications() if n.event == "evaluation_reminder"}


def test_a_petition_not_rated_within_the_window_is_closed_as_unrated(app, stage: Stage):
    """Rule: not rated ``[evaluation] window_days`` (7 calendar days) after the reply reached the citizen → closed as
    未评价 by the system, with a history row, closed_at, and the citizen told (the district has the template)."""
    assert app.config["EVALUATION"]["window_days"] == 7
    stage.use_templates()
    petition = stage.replied_petition()
    jobs.deliver_outbox(app, MON)
    assert jobs.close_unrated_evaluations(app, MON + 7 * DAY - US) == 0
    assert jobs.close_unrated_evaluations(app, MON + 7 * DAY) == 1
    assert jobs.close_unrated_evaluations(app, MON + 7 * DAY + HOUR) == 0
    stage.session.expire_all()
    assert (petition.state, petition.closed_at) == (PetitionState.UNRATED, MON + 7 * DAY)
    last = petition.events[-1]
    assert (last.action, last.from_state, last.to_state, last.actor_label) == (
        "expire_evaluation",
        PetitionState.AWAITING_EVALUATION,
        PetitionState.UNRATED,
        "系统",
    )
    assert last.data == {"round": 1, "window_days": 7}
    closing = stage.notifications(petition)[-1]
    assert (closing.event, closing.payload["unrated"], closing.payload["state"]) == ("closed", True, "unrated")
    assert "7日内未收到您的评价" in render_text(closing)
    jobs.deliver_outbox(app, MON + 7 * DAY)
    assert stage.fake.messages()[-1].template_id == "tpl-closed"
    # Nothing is asked or reminded of a closed petition.
    assert jobs.remind_evaluations(app, MON + 7 * DAY) == jobs.request_evaluations(app, MON + 7 * DAY) == 0


def test_without_a_template_for_it_the_unrated_closing_is_not_messaged(app, stage: Stage):
    stage.use_templates(events=("accepted", "replied", "evaluation_request", "evaluation_reminder"))
    petition = stage.replied_petition()
    jobs.deliver_outbox(app, MON)
    assert jobs.close_unrated_evaluations(app, MON + 8 * DAY) == 1
    assert [e for e, _ in events(stage, petition)] == ["accepted", "replied", "evaluation_request"]


def test_a_rating_arriving_just_before_the_close_wins(app, stage: Stage):
    """Rule: the closing job read the petitions, then the citizen rated one and committed first: the optimistic lock
    leaves that one rated (closed as satisfied), and the others close as unrated."""
    stage.use_templates()
    rated, unrated = stage.replied_petition(), stage.replied_petition()
    jobs.deliver_outbox(app, MON)
    late = MON + 7 * DAY + HOUR
    job_session = app.extensions["qingsu.sessionmaker"]()
    try:
        due = job_session.scalars(select(Petition).order_by(Petition.id)).all()
        citizen_session = app.extensions["qingsu.sessionmaker"]()
        perform(citizen_session, citizen_session.get(Petition, rated.id), "evaluate",
                citizen_session.get(type(stage.world.citizen), stage.world.citizen.id), late - US,
                satisfaction=Satisfaction.SATISFIED, resolution=Resolution.RESOLVED)
        citizen_session.commit()
        citizen_session.close()
        assert jobs.close_unrated(job_session, due, late, jobs.EvaluationSettings.from_app(app)) == 1
        job_session.commit()
    finally:
        job_session.close()
    stage.session.expire_all()
    assert (rated.state, unrated.state) == (PetitionState.CLOSED, PetitionState.UNRATED)
    assert [e.action for e in rated.events][-1] == "evaluate"
    assert rated.closed_at == late - US




def test_statements_per_evaluation_run_do_not_grow_with_the_petitions(app, stage: Stage):
    """Rule: asking, reminding and closing are each a constant number of statements per run, for 2 or 12 petitions."""
    stage.use_templates()

    def round_of(count: int, start: dt.datetime) -> list[int]:
        petitions = [stage.replied_petition(start) for _ in range(count)]
        # The replies reached the citizens (what the outbox records on delivery), without sending them one by one.
        stage.session.execute(
            update(Notification)
            .where(Notification.petition_id.in_([p.id for p in petitions]))
            .values(state=NotificationState.SENT, sent_at=start)
        )
        stage.session.commit()
        counts = []
        for job, at in (
            (jobs.request_evaluations, start),
            (jobs.remind_evaluations, start + 3 * DAY),
            (jobs.close_unrated_evaluations, start + 7 * DAY),
        ):
            with counting(app) as statements:
                assert job(app, at) == count
            counts.append(len(statements))
        return counts

    assert round_of(2, MON) == round_of(12, MON + 10 * DAY)


def test_no_reminder_once_the_citizen_has_rated(app, stage: Stage):
    stage.use_templates()
    petition = stage.replied_petition()
    jobs.deliver_outbox(app, MON)
    perform(
        stage.session,
        petition,
        "evaluate",
        stage.world.citizen,
        MON + HOUR,
        satisfaction=Satisfaction.UNSATISFIED,
        resolution=Resolution.UNRESOLVED,
    )
    stage.session.commit()
    # Second handling: the petition is no longer awaiting the rating of round 1.
    assert jobs.remind_evaluations(app, MON + 30 * HOUR) == 0
    assert jobs.request_evaluations(app, MON + 30 * HOUR) == 0


# --- conversations ----------------------------------------------------------------------------------------------


def test_idle_conversations_expire_and_leave_a_note_for_the_bot(app, stage: Stage):
    s = stage.session
    lapsed, active, idle = (make_citizen(s) for _ in range(3))
    s.add_all(
        [
            Conversation(
                citizen_id=lapsed.id,
                flow="report",
                step="phone",
                data={"content": "楼道堆物"},
                expires_at=MON - dt.timedelta(minutes=1),
            ),
            Conversation(
                citizen_id=active.id,
                flow="report",
                step="phone",
                data={"content": "噪音"},
                expires_at=MON + dt.timedelta(minutes=10),
            ),
            Conversation(citizen_id=idle.id, flow="idle", step="", data={}, expires_at=None),
        ]
    )
    s.commit()
    assert jobs.expire_conversations(app, MON) == 1
    assert jobs.expire_conversations(app, MON) == 0
    s.expire_all()
    by_citizen = {c.citizen_id: c for c in s.scalars(select(Conversation))}
    gone = by_citizen[lapsed.id]
    assert (gone.flow, gone.step, gone.data, gone.expires_at, gone.updated_at) == (
        "idle",
        "",
        {"expired": True},
        None,
        MON,
    )
    assert by_citizen[active.id].data == {"content": "噪音"} and by_citizen[active.id].flow == "report"
    assert by_citizen[idle.id].data == {}


def test_the_bots_record_of_handled_messages_is_kept_one_day(app, stage: Stage):
    from models import InboundMessage

    s = stage.session
    for key, age in (("old", dt.timedelta(days=1, seconds=1)), ("fresh", dt.timedelta(hours=23))):
        s.add(InboundMessage(district_code="shinan", dedupe_key=key, reply="好的", done=True, created_at=MON - age))
    s.commit()
    assert jobs.prune_handled_messages(app, MON) == 1
    s.expire_all()
    assert s.scalars(select(InboundMessage.dedupe_key)).all() == ["fresh"]


# --- access tokens ------------------------------------------------------------------------------------------------


def test_tokens_are_refreshed_centrally_ahead_of_expiry_and_a_failing_account_does_not_stop_the_others(
    app, stage: Stage
):
    broken = make_account(stage.session, "laoshan")  # its secret is unknown to WeChat (the fake)
    stage.session.commit()
    fake, appid = stage.fake, stage.account.appid
    now = utcnow()
    outcome = jobs.refresh_tokens(app, now)
    assert outcome[appid] is None
    assert "40013" in outcome[broken.appid]
    stored = token_store_for(app).get(appid)
    assert stored is not None and stored.expires_at > now + dt.timedelta(hours=1)

    calls = len(fake.api_calls("/cgi-bin/stable_token", appid))
    jobs.refresh_tokens(app, now + dt.timedelta(minutes=5))  # plenty of time left: nobody asks WeChat
    assert len(fake.api_calls("/cgi-bin/stable_token", appid)) == calls
    jobs.refresh_tokens(app, stored.expires_at - dt.timedelta(minutes=9))  # within ten minutes of expiry
    assert len(fake.api_calls("/cgi-bin/stable_token", appid)) == calls + 1


# --- the daily summary ----------------------------------------------------------------------------------------------


def test_the_daily_summary_counts_yesterday_for_each_district_once(app, stage: Stage):
    stage.accepted_petition()
    stage.replied_petition()
    make_petition(stage.session, citizen=stage.world.citizen, now=MON - dt.timedelta(days=1))  # Sunday
    stage.session.commit()
    stage.session.add(
        Notification(
            district_code="shinan",
            citizen_id=stage.world.citizen.id,
            event="closed",
            payload={"number": "SN1"},
            state=NotificationState.DEAD,
            client_msg_id="dead-1",
        )
    )
    stage.session.commit()

    assert jobs.daily_summary(app, TUE_8AM) == 2  # shinan and laoshan (the world's two districts)
    assert jobs.daily_summary(app, TUE_8AM + HOUR) == 0
    summaries = {a.district_code: a for a in alerts(stage)}
    shinan = summaries["shinan"]
    assert (shinan.kind, shinan.audience) == ("daily_summary", "district_manager")
    assert shinan.data == {
        "submitted": 2,
        "replied": 1,
        "replied_on_time": 1,
        "closed": 0,
        "open": 2,
        "yellow": 0,
        "red": 0,
        "awaiting_evaluation": 1,
        "pending_extensions": 0,
        "dead_notifications": 1,
    }
    assert "11月23日" in shinan.title
    assert "新收诉求2件，答复1件，按时1件" in shinan.body
    assert summaries["laoshan"].data["submitted"] == 0
