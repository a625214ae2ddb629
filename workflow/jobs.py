"""The scheduler's jobs, each a plain function of ``(app, now)`` so tests run them at an explicit instant.

Every job commits its own work, is idempotent (running it twice at the same `now` changes nothing the second time)
and returns what it did, so the scheduler can log it and tests can check it:

- `recompute_lights`: red / yellow / blue lights of open petitions; a reminder to the unit when a petition turns
  yellow and an alert to its platform when it turns red (`StaffAlert`, once per petition, round and deadline);
- `deliver_outbox`: sends due notifications (`workflow.outbox`) and asks for an evaluation once a reply has reached
  the citizen (`request_evaluations`);
- `remind_evaluations`: reminds citizens who have not rated, at ``[scheduler] evaluation_reminder_hours``;
- `expire_conversations`: resets chat dialogs idle past their expiry;
- `refresh_tokens`: renews every enabled account's access token ahead of expiry, centrally;
- `daily_summary`: one summary per district and day for its managers.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.token_store import refresh_token
from models import (
    Conversation,
    District,
    Evaluation,
    ExtensionRequest,
    Notification,
    Petition,
    Reply,
    StaffAlert,
    Unit,
    WechatAccount,
)
from models.enums import Light, NotificationState, PetitionState, RequestState, UnitLevel
from qingsu.db import session_scope
from workflow.calendar import load_calendar
from workflow.lights import CLOCK_RUNNING, light_for
from workflow.messages import format_deadline
from workflow.notify import enqueue
from workflow.outbox import DeliveryReport, deliver_due

log = logging.getLogger(__name__)

IDLE_FLOW = "idle"


# --- lights ------------------------------------------------------------------------------------------------------


@dataclass
class LightsReport:
    """Petitions whose light changed, and the reminders and alerts written."""

    changed: int = 0
    yellow_reminders: int = 0
    red_alerts: int = 0


def recompute_lights(app: Flask, now: dt.datetime) -> LightsReport:
    """Recompute the light of every petition whose clock runs; remind units (yellow) and platforms (red)."""
    fraction = float(app.config["LIGHTS"]["yellow_fraction_left"])
    report = LightsReport()
    with session_scope(app) as session:
        calendar = load_calendar(session, app.config["CALENDAR"]["timezone"])
        running = (
            Petition.state.in_(CLOCK_RUNNING),
            Petition.accepted_at.is_not(None),
            Petition.deadline.is_not(None),
            Petition.closed_at.is_(None),
        )
        petitions = session.scalars(select(Petition).where(*running)).all()
        # The alerts already written for these petitions, read once rather than once per petition and run.
        alerted = set(
            session.scalars(
                select(StaffAlert.dedupe_key).where(
                    StaffAlert.kind.in_(("yellow", "red")),
                    StaffAlert.petition_id.in_(select(Petition.id).where(*running)),
                )
            )
        )
        for petition in petitions:
            assert petition.accepted_at is not None and petition.deadline is not None
            try:
                light = light_for(now, petition.accepted_at, petition.deadline, calendar, fraction)
            except ValueError as exc:
                # One inconsistent row (say, a deadline before acceptance) must not stop every other light.
                log.warning("no light for petition %s: %s", petition.number, exc)
                continue
            if light != petition.light:
                # A plain UPDATE, not the ORM: the light is derived, and bumping the petition's version here would
                # make a dispatcher's concurrent action fail with a conflict.
                session.execute(
                    update(Petition)
                    .where(Petition.id == petition.id)
                    .values(light=light)
                    .execution_options(synchronize_session=False)
                )
                report.changed += 1
            if light == Light.YELLOW and _alert_key("yellow", petition) not in alerted:
                report.yellow_reminders += _yellow_reminder(session, petition, now)
            elif light == Light.RED and _alert_key("red", petition) not in alerted:
                report.red_alerts += _red_alert(session, petition, now)
    return report


def _alert_key(kind: str, petition: Petition) -> str:
    assert petition.deadline is not None
    return f"{kind}:{petition.id}:{petition.handling_round}:{petition.deadline.isoformat()}"


def _add_alert(session: Session, alert: StaffAlert) -> bool:
    """Insert `alert` unless one with its dedupe key exists; True when it was written."""
    if session.scalar(select(StaffAlert.id).where(StaffAlert.dedupe_key == alert.dedupe_key)) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(alert)
    except IntegrityError:
        return False
    return True


def _platform_of(session: Session, petition: Petition) -> Unit | None:
    """The platform that supervises the petition where it is now: the city platform for city-level units."""
    at_city = petition.level in (UnitLevel.CITY_DEPARTMENT, UnitLevel.CITY_PLATFORM)
    query = select(Unit).where(Unit.active.is_(True))
    if at_city:
        query = query.where(Unit.level == UnitLevel.CITY_PLATFORM)
    else:
        query = query.where(
            Unit.level == UnitLevel.DISTRICT_PLATFORM, Unit.district_code == petition.district_code
        )
    return session.scalars(query.order_by(Unit.id)).first()


def _yellow_reminder(session: Session, petition: Petition, now: dt.datetime) -> bool:
    assert petition.deadline is not None
    unit_id = petition.current_unit_id
    if unit_id is None:
        platform = _platform_of(session, petition)
        unit_id = platform.id if platform is not None else None
    return _add_alert(
        session,
        StaffAlert(
            kind="yellow",
            audience="unit",
            district_code=petition.district_code,
            unit_id=unit_id,
            petition_id=petition.id,
            title=f"诉求 {petition.number} 即将到期（黄灯）",
            body=(
                f"诉求 {petition.number}「{petition.title}」的答复期限为{format_deadline(petition.deadline)}，"
                "剩余办理时间已不多，请抓紧办理；确需延期的请及时申请。"
            ),
            data={"light": Light.YELLOW.value, "deadline": petition.deadline.isoformat()},
            dedupe_key=_alert_key("yellow", petition),
            created_at=now,
        ),
    )


def _red_alert(session: Session, petition: Petition, now: dt.datetime) -> bool:
    assert petition.deadline is not None
    platform = _platform_of(session, petition)
    unit = petition.current_unit
    return _add_alert(
        session,
        StaffAlert(
            kind="red",
            audience="platform",
            district_code=petition.district_code,
            unit_id=platform.id if platform is not None else None,
            petition_id=petition.id,
            title=f"诉求 {petition.number} 已超期（红灯）",
            body=(
                f"诉求 {petition.number}「{petition.title}」已超过答复期限（{format_deadline(petition.deadline)}），"
                f"当前在{unit.name if unit is not None else '平台'}（{petition.state.label}），请督办。"
            ),
            data={
                "light": Light.RED.value,
                "deadline": petition.deadline.isoformat(),
                "current_unit_id": petition.current_unit_id,
            },
            dedupe_key=_alert_key("red", petition),
            created_at=now,
        ),
    )


# --- the outbox and evaluations -------------------------------------------------------------------------------


def deliver_outbox(app: Flask, now: dt.datetime) -> DeliveryReport:
    """Send the due notifications; ask for an evaluation where a reply has just reached the citizen, and send that."""
    report = deliver_due(app, now)
    if request_evaluations(app, now):
        report.add(deliver_due(app, now))
    return report


def _delivered_replies(session: Session) -> list[tuple[Petition, Notification]]:
    """Petitions awaiting the citizen's rating of this round, with the 'replied' notification that reached them."""
    rows = session.execute(
        select(Petition, Notification)
        .join(Notification, Notification.petition_id == Petition.id)
        .where(
            Petition.state == PetitionState.AWAITING_EVALUATION,
            Notification.event == "replied",
            Notification.state == NotificationState.SENT,
        )
        .order_by(Notification.id)
    ).all()
    pairs = []
    for petition, replied in rows:
        if replied.payload.get("round") != petition.handling_round or replied.sent_at is None:
            continue
        rated = session.scalar(
            select(Evaluation.id).where(
                Evaluation.petition_id == petition.id, Evaluation.handling_round == petition.handling_round
            )
        )
        if rated is None:
            pairs.append((petition, replied))
    return pairs


def _earlier(session: Session, petition: Petition, event: str) -> list[Notification]:
    """The `event` notifications already written for the petition's current round."""
    rows = session.scalars(
        select(Notification).where(Notification.petition_id == petition.id, Notification.event == event)
    ).all()
    return [n for n in rows if n.payload.get("round") == petition.handling_round]


def request_evaluations(app: Flask, now: dt.datetime) -> int:
    """Queue one evaluation request per round whose reply has reached the citizen; returns how many were queued."""
    created = 0
    with session_scope(app) as session:
        for petition, _replied in _delivered_replies(session):
            if not _earlier(session, petition, "evaluation_request") and enqueue(
                session, petition, "evaluation_request", now
            ):
                created += 1
    return created


def remind_evaluations(app: Flask, now: dt.datetime) -> int:
    """Remind citizens who have not rated: the k-th reminder once ``evaluation_reminder_hours[k-1]`` hours have
    passed since the reply reached them. After an outage only the latest due reminder goes out, never a burst.

    Returns how many reminders were queued.
    """
    hours = sorted(float(h) for h in app.config["SCHEDULER"]["evaluation_reminder_hours"])
    created = 0
    with session_scope(app) as session:
        for petition, replied in _delivered_replies(session):
            assert replied.sent_at is not None
            due = sum(1 for h in hours if now >= replied.sent_at + dt.timedelta(hours=h))
            sent_before = max(
                (
                    int(n.payload.get("reminder", 0))
                    for n in _earlier(session, petition, "evaluation_reminder")
                ),
                default=0,
            )
            if due > sent_before and enqueue(session, petition, "evaluation_reminder", now, reminder=due):
                created += 1
    return created


# --- conversations ------------------------------------------------------------------------------------------------


def expire_conversations(app: Flask, now: dt.datetime) -> int:
    """Reset chat dialogs whose expiry has passed; returns how many.

    The dialog goes back to idle and forgets what was typed; ``data = {"expired": True}`` tells the bot to let the
    citizen know, when they next write, that the unfinished report lapsed. One UPDATE whose WHERE re-checks the
    expiry, so a dialog the citizen continued a moment ago (a later ``expires_at``) is left alone.
    """
    with session_scope(app) as session:
        result = session.execute(
            update(Conversation)
            .where(
                Conversation.flow != IDLE_FLOW,
                Conversation.expires_at.is_not(None),
                Conversation.expires_at < now,
            )
            .values(flow=IDLE_FLOW, step="", data={"expired": True}, expires_at=None, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)


def prune_handled_messages(app: Flask, now: dt.datetime) -> int:
    """Forget the chat bot's record of messages handled more than a day ago; returns how many rows went.

    The record only has to outlive WeChat's retries, which come within seconds.
    """
    from bot.webhook import forget_handled_messages

    with session_scope(app) as session:
        return forget_handled_messages(session, now - dt.timedelta(days=1))


# --- access tokens --------------------------------------------------------------------------------------------


def refresh_tokens(app: Flask, now: dt.datetime) -> dict[str, str | None]:
    """Renew each enabled account's access token that runs out within ten minutes (`bot.token_store`).

    Returns ``{appid: None}`` for success or the error text; one failing account does not stop the others.
    """
    with session_scope(app) as session:
        accounts = session.scalars(select(WechatAccount).where(WechatAccount.enabled.is_(True))).all()
    outcome: dict[str, str | None] = {}
    for account in accounts:
        try:
            refresh_token(account, app, now=now)
            outcome[account.appid] = None
        except Exception as exc:
            # Every account is tried; the failing one is logged and tried again at the next run.
            log.warning("access token of %s not renewed: %s", account.appid, exc)
            outcome[account.appid] = f"{type(exc).__name__}: {exc}"
    return outcome


# --- the daily summary -------------------------------------------------------------------------------------------


@dataclass
class DistrictDay:
    """The figures of one district's summary: yesterday's flow, and where things stand now."""

    district_code: str
    day: dt.date
    submitted: int = 0
    replied: int = 0
    replied_on_time: int = 0
    closed: int = 0
    open: int = 0
    yellow: int = 0
    red: int = 0
    awaiting_evaluation: int = 0
    pending_extensions: int = 0
    dead_notifications: int = 0

    def text(self, district_name: str) -> str:
        on_time = f"，按时{self.replied_on_time}件" if self.replied else ""
        return "\n".join(
            [
                f"{district_name} {self.day.month}月{self.day.day}日诉求办理情况：",
                f"新收诉求{self.submitted}件，答复{self.replied}件{on_time}，办结{self.closed}件。",
                f"在办{self.open}件，其中黄灯{self.yellow}件、红灯{self.red}件；待群众评价{self.awaiting_evaluation}件；"
                f"待审批延期申请{self.pending_extensions}件。",
                f"发送失败、待处理的群众消息{self.dead_notifications}条。",
            ]
        )


def district_day(session: Session, district_code: str, day: dt.date, tz: str) -> DistrictDay:
    """The summary figures of `district_code` for the local calendar `day` (flows) and now (stock)."""
    zone = ZoneInfo(tz)
    start = dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC)
    end = start + dt.timedelta(days=1)
    in_district = Petition.district_code == district_code

    def count(query) -> int:  # type: ignore[no-untyped-def]
        return int(session.scalar(query) or 0)

    summary = DistrictDay(district_code, day)
    summary.submitted = count(
        select(func.count(Petition.id)).where(
            in_district, Petition.created_at >= start, Petition.created_at < end
        )
    )
    replies = (
        select(func.count(Reply.id))
        .join(Petition, Petition.id == Reply.petition_id)
        .where(in_district, Reply.sent_at >= start, Reply.sent_at < end)
    )
    summary.replied = count(replies)
    summary.replied_on_time = count(replies.where(Reply.on_time.is_(True)))
    summary.closed = count(
        select(func.count(Petition.id)).where(
            in_district,
            Petition.state == PetitionState.CLOSED,
            Petition.closed_at >= start,
            Petition.closed_at < end,
        )
    )
    open_petitions = select(func.count(Petition.id)).where(in_district, Petition.state.in_(CLOCK_RUNNING))
    summary.open = count(open_petitions)
    summary.yellow = count(open_petitions.where(Petition.light == Light.YELLOW))
    summary.red = count(open_petitions.where(Petition.light == Light.RED))
    summary.awaiting_evaluation = count(
        select(func.count(Petition.id)).where(
            in_district, Petition.state == PetitionState.AWAITING_EVALUATION
        )
    )
    summary.pending_extensions = count(
        select(func.count(ExtensionRequest.id))
        .join(Petition, Petition.id == ExtensionRequest.petition_id)
        .where(in_district, ExtensionRequest.state == RequestState.PENDING)
    )
    summary.dead_notifications = count(
        select(func.count(Notification.id)).where(
            Notification.district_code == district_code, Notification.state == NotificationState.DEAD
        )
    )
    return summary


def daily_summary(app: Flask, now: dt.datetime) -> int:
    """Write each district's summary of the previous local day for its managers (once per district and day).

    Returns how many summaries were written.
    """
    tz = app.config["CALENDAR"]["timezone"]
    yesterday = now.astimezone(ZoneInfo(tz)).date() - dt.timedelta(days=1)
    written = 0
    with session_scope(app) as session:
        for district in session.scalars(select(District).order_by(District.position, District.code)):
            summary = district_day(session, district.code, yesterday, tz)
            alert = StaffAlert(
                kind="daily_summary",
                audience="district_manager",
                district_code=district.code,
                title=f"{district.name}{yesterday.month}月{yesterday.day}日诉求办理日报",
                body=summary.text(district.name),
                data={k: v for k, v in vars(summary).items() if isinstance(v, int)},
                dedupe_key=f"summary:{district.code}:{yesterday.isoformat()}",
                created_at=now,
            )
            written += _add_alert(session, alert)
    return written
