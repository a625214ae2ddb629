"""The scheduler's jobs, each a plain function of ``(app, now)`` so tests run them at an explicit instant.

Every job commits its own work, is idempotent (running it twice at the same `now` changes nothing the second time)
and returns what it did, so the scheduler can log it and tests can check it. The lights and evaluation jobs work
set-wise: a run issues the same few statements whether there are ten petitions or a million (the work they find is
bounded per batch), so they cannot starve the outbox as the platform grows:

- `recompute_lights`: red / yellow / blue lights of open petitions, set-wise; a reminder to the unit when a petition
  turns yellow and an alert to its platform when it turns red (`StaffAlert`, once per petition, round and deadline);
- `deliver_outbox`: sends due notifications (`workflow.outbox`) and asks for an evaluation once a reply has reached
  the citizen (`request_evaluations`);
- `remind_evaluations`: reminds citizens who have not rated, once, ``[evaluation] reminder_after_hours`` after the
  reply reached them;
- `close_unrated_evaluations`: closes as 未评价 (UNRATED) the petitions not rated within ``[evaluation] window_days``;
- `expire_conversations`: resets chat dialogs idle past their expiry;
- `refresh_tokens`: renews every enabled account's access token ahead of expiry, centrally;
- `daily_summary`: one summary per district and day for its managers.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import Insert, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import (
    Conversation,
    District,
    ExtensionRequest,
    InboundMessage,
    JobState,
    Notification,
    NotificationTemplate,
    Petition,
    Reply,
    StaffAlert,
    Unit,
    WebhookNonce,
    WechatAccount,
)
from models.db import session_scope
from models.enums import Light, NotificationState, PetitionState, RequestState, UnitLevel
from wechat.tokens import refresh_token
from workflow.actors import SYSTEM
from workflow.calendar import WorkingCalendar, load_calendar
from workflow.deadlines import deadline_text
from workflow.engine import perform_many
from workflow.lights import CLOCK_RUNNING, LIGHTS_BASIS, lights_basis, yellow_from
from workflow.notify import enqueue_many
from workflow.outbox import DeliveryReport, deliver_due

log = logging.getLogger(__name__)

IDLE_FLOW = "idle"


# --- lights ------------------------------------------------------------------------------------------------------

_PETITION = Petition.__table__


@dataclass
class LightsReport:
    """Petitions whose light changed, the reminders and alerts written, and the `yellow_at` instants computed."""

    changed: int = 0
    yellow_reminders: int = 0
    red_alerts: int = 0
    computed: int = field(default=0, compare=False)


@dataclass(frozen=True)
class LightsSettings:
    """``[lights]``: the yellow threshold, and how many `yellow_at` instants one transaction computes."""

    yellow_fraction_left: float
    batch_size: int
    tz: str

    @classmethod
    def from_app(cls, app: Flask) -> LightsSettings:
        """The settings of `app`'s configuration.

        :raises ValueError: naming the key, for a fraction outside 0–1 or a batch size below 1.
        """
        lights = app.config["LIGHTS"]
        settings = cls(
            yellow_fraction_left=float(lights["yellow_fraction_left"]),
            batch_size=int(lights["batch_size"]),
            tz=app.config["CALENDAR"]["timezone"],
        )
        if not 0 <= settings.yellow_fraction_left <= 1:
            raise ValueError(
                f"[lights] yellow_fraction_left must be within 0–1, got {settings.yellow_fraction_left}"
            )
        if settings.batch_size < 1:
            raise ValueError(f"[lights] batch_size must be at least 1, got {settings.batch_size}")
        return settings


def _running() -> tuple[Any, ...]:
    """The petitions whose clock runs (see `workflow.lights.CLOCK_RUNNING`)."""
    return (
        Petition.state.in_(CLOCK_RUNNING),
        Petition.accepted_at.is_not(None),
        Petition.deadline.is_not(None),
        Petition.closed_at.is_(None),
    )


def recompute_lights(app: Flask, now: dt.datetime) -> LightsReport:
    """Bring every running petition's light up to date at `now`, set-wise; remind units (yellow), alert platforms (red).

    1. When ``[lights] yellow_fraction_left`` or the calendar (package schedule, overrides, time zone) changed since
       the stored `yellow_at` instants were computed, they are reset (one UPDATE).
    2. Every `yellow_at` not computed yet — new acceptances, moved deadlines, rows written in bulk, the rows of the
       migration that added the column — is computed with the calendar, ``batch_size`` rows per transaction
       (one SELECT, one UPDATE each), the light written with it.
    3. One UPDATE per colour: red where ``deadline < now``, yellow where ``yellow_at <= now <= deadline``, blue
       before ``yellow_at`` — each touching only rows whose light differs, and neither `updated_at` nor `version`
       (the light is derived: a dispatcher's concurrent action must not conflict with it, nor 12345 polling see it).
    4. The petitions that turned yellow or red (or got a new deadline) get their reminder or alert, written in one
       INSERT per chunk, deduplicated per petition, round and deadline as before.

    The light is `workflow.lights.light_for` exactly (tests pin the two together). A row whose deadline is not after
    its acceptance has no light and is left alone, as before.
    """
    settings = LightsSettings.from_app(app)
    report = LightsReport()
    with session_scope(app) as session:
        calendar = load_calendar(session, settings.tz)
        _check_basis(session, calendar, settings, now)
    candidates: set[int] = set()
    for changed, computed, alarmed in _compute_yellow_at(app, now, calendar, settings):
        report.changed += changed
        report.computed += computed
        candidates |= alarmed
    with session_scope(app) as session:
        for light, condition in (
            (Light.RED, (Petition.deadline < now,)),
            (Light.YELLOW, (Petition.yellow_at <= now, Petition.deadline >= now)),
            (Light.BLUE, (Petition.yellow_at > now,)),
        ):
            ids = session.scalars(
                update(_PETITION)
                .where(
                    *_running(),
                    Petition.yellow_at.is_not(None),
                    *condition,
                    or_(Petition.light.is_(None), Petition.light != light),
                )
                .values(light=light, updated_at=_PETITION.c.updated_at)
                .returning(_PETITION.c.id)
            ).all()
            report.changed += len(ids)
            if light != Light.BLUE:
                candidates.update(ids)
        if candidates:
            yellow, red = _write_alerts(session, sorted(candidates), now)
            report.yellow_reminders += yellow
            report.red_alerts += red
    return report


def _check_basis(
    session: Session, calendar: WorkingCalendar, settings: LightsSettings, now: dt.datetime
) -> None:
    """Reset every running petition's `yellow_at` when what it was computed on has changed since the last run."""
    basis = lights_basis(calendar, settings.yellow_fraction_left)
    stored = session.get(JobState, LIGHTS_BASIS)
    if stored is not None and stored.value == basis:
        return
    if stored is not None:
        log.info(
            "lights: the threshold or the calendar changed; recomputing every running petition's yellow_at"
        )
    session.execute(
        update(_PETITION)
        .where(*_running(), Petition.yellow_at.is_not(None))
        .values(yellow_at=None, updated_at=_PETITION.c.updated_at)
    )
    if stored is None:
        session.add(JobState(name=LIGHTS_BASIS, value=basis, updated_at=now))
    else:
        stored.value, stored.updated_at = basis, now


def _compute_yellow_at(
    app: Flask, now: dt.datetime, calendar: WorkingCalendar, settings: LightsSettings
) -> Iterator[tuple[int, int, set[int]]]:
    """Compute the missing `yellow_at` instants and the light with them, one transaction per batch.

    Yields, per batch: lights changed, instants computed, and the petitions now yellow or red (for alerts).
    Walks the ids upwards, so a row that cannot be computed is not read again in the same run.
    """
    fraction = settings.yellow_fraction_left
    after = 0
    while True:
        with session_scope(app) as session:
            rows = session.execute(
                select(Petition.id, Petition.accepted_at, Petition.deadline, Petition.light)
                .where(
                    *_running(),
                    Petition.yellow_at.is_(None),
                    Petition.deadline > Petition.accepted_at,
                    Petition.id > after,
                )
                .order_by(Petition.id)
                .limit(settings.batch_size)
            ).all()
            if not rows:
                return
            after = rows[-1].id
            params = []
            changed = 0
            alarmed: set[int] = set()
            for row in rows:
                try:
                    yellow_at = yellow_from(row.accepted_at, row.deadline, calendar, fraction)
                except ValueError as exc:
                    log.warning("no light for petition %s: %s", row.id, exc)
                    continue
                light = Light.RED if now > row.deadline else Light.YELLOW if now >= yellow_at else Light.BLUE
                changed += light != row.light
                if light != Light.BLUE:
                    alarmed.add(row.id)
                params.append(
                    {"b_id": row.id, "b_deadline": row.deadline, "b_yellow_at": yellow_at, "b_light": light}
                )
            if params:
                # The WHERE re-checks the deadline read: a deadline moved meanwhile keeps its NULL for the next run.
                session.execute(
                    update(_PETITION)
                    .where(
                        _PETITION.c.id == bindparam("b_id"),
                        _PETITION.c.deadline == bindparam("b_deadline", type_=_PETITION.c.deadline.type),
                        _PETITION.c.yellow_at.is_(None),
                    )
                    .values(
                        yellow_at=bindparam("b_yellow_at", type_=_PETITION.c.yellow_at.type),
                        light=bindparam("b_light", type_=_PETITION.c.light.type),
                        updated_at=_PETITION.c.updated_at,
                    ),
                    params,
                )
        yield changed, len(params), alarmed
        if len(rows) < settings.batch_size:
            return


# Petitions whose alerts are written by one SELECT and one INSERT (keeps the IN lists well inside every driver's
# parameter limit).
ALERT_CHUNK = 2000


def _chunks(ids: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _alert_key(kind: str, petition_id: int, handling_round: int, deadline: dt.datetime) -> str:
    return f"{kind}:{petition_id}:{handling_round}:{deadline.isoformat()}"


def _platforms(session: Session) -> tuple[dict[str, int], int | None]:
    """The active platform units: each district's (lowest id first) and the city's."""
    districts: dict[str, int] = {}
    city: int | None = None
    rows = session.execute(
        select(Unit.id, Unit.level, Unit.district_code)
        .where(Unit.active.is_(True), Unit.level.in_((UnitLevel.DISTRICT_PLATFORM, UnitLevel.CITY_PLATFORM)))
        .order_by(Unit.id)
    )
    for unit_id, level, district_code in rows:
        if level == UnitLevel.CITY_PLATFORM:
            city = city if city is not None else unit_id
        elif district_code is not None:
            districts.setdefault(district_code, unit_id)
    return districts, city


def _write_alerts(session: Session, petition_ids: Sequence[int], now: dt.datetime) -> tuple[int, int]:
    """The yellow reminders and red alerts due for `petition_ids` (as their light stands now), once each per
    petition, round and deadline; returns how many of each were written."""
    districts, city = _platforms(session)
    yellow = red = 0
    for chunk in _chunks(petition_ids, ALERT_CHUNK):
        rows = session.execute(
            select(
                Petition.id,
                Petition.number,
                Petition.title,
                Petition.deadline,
                Petition.handling_round,
                Petition.district_code,
                Petition.current_unit_id,
                Petition.level,
                Petition.state,
                Petition.light,
                Unit.name.label("unit_name"),
            )
            .outerjoin(Unit, Unit.id == Petition.current_unit_id)
            .where(Petition.id.in_(chunk), Petition.light.in_((Light.YELLOW, Light.RED)), *_running())
        ).all()
        existing = set(
            session.scalars(
                select(StaffAlert.dedupe_key).where(
                    StaffAlert.petition_id.in_(chunk), StaffAlert.kind.in_(("yellow", "red"))
                )
            )
        )
        alerts = []
        for row in rows:
            kind = "yellow" if row.light == Light.YELLOW else "red"
            key = _alert_key(kind, row.id, row.handling_round, row.deadline)
            if key in existing:
                continue
            at_city = row.level in (UnitLevel.CITY_DEPARTMENT, UnitLevel.CITY_PLATFORM)
            platform_id = city if at_city else districts.get(row.district_code)
            alerts.append(
                _yellow_reminder(row, platform_id, key, now)
                if kind == "yellow"
                else _red_alert(row, platform_id, key, now)
            )
            yellow += kind == "yellow"
            red += kind == "red"
        if alerts:
            session.execute(_insert_new(session), alerts)
    return yellow, red


def _insert_new(session: Session) -> Insert:
    """An INSERT of staff alerts that skips one whose dedupe key exists (written by a run racing this one)."""
    table = StaffAlert.__table__
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing(index_elements=[table.c.dedupe_key])
    if session.get_bind().dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table).on_conflict_do_nothing(index_elements=[table.c.dedupe_key])
    return insert(table)


def _yellow_reminder(row: Any, platform_id: int | None, key: str, now: dt.datetime) -> dict[str, Any]:
    return {
        "kind": "yellow",
        "audience": "unit",
        "district_code": row.district_code,
        "unit_id": row.current_unit_id if row.current_unit_id is not None else platform_id,
        "petition_id": row.id,
        "title": f"诉求 {row.number} 即将到期（黄灯）",
        "body": (
            f"诉求 {row.number}「{row.title}」的答复期限为{deadline_text(row.deadline, now=now)}，"
            "剩余办理时间已不多，请抓紧办理；确需延期的请及时申请。"
        ),
        "data": {"light": Light.YELLOW.value, "deadline": row.deadline.isoformat()},
        "dedupe_key": key,
        "created_at": now,
        "read_at": None,
    }


def _red_alert(row: Any, platform_id: int | None, key: str, now: dt.datetime) -> dict[str, Any]:
    return {
        "kind": "red",
        "audience": "platform",
        "district_code": row.district_code,
        "unit_id": platform_id,
        "petition_id": row.id,
        "title": f"诉求 {row.number} 已超期（红灯）",
        "body": (
            f"诉求 {row.number}「{row.title}」已超过答复期限（应于{deadline_text(row.deadline, now=now)}答复），"
            f"当前在{row.unit_name if row.unit_name is not None else '平台'}（{row.state.label}），请督办。"
        ),
        "data": {
            "light": Light.RED.value,
            "deadline": row.deadline.isoformat(),
            "current_unit_id": row.current_unit_id,
        },
        "dedupe_key": key,
        "created_at": now,
        "read_at": None,
    }


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


# --- the outbox and evaluations -------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvaluationSettings:
    """``[evaluation]``: the window a citizen has to rate a reply, when the one reminder goes, the batch size."""

    window: dt.timedelta
    reminder_after: dt.timedelta
    batch_size: int

    @classmethod
    def from_app(cls, app: Flask) -> EvaluationSettings:
        """The settings of `app`'s configuration.

        :raises ValueError: naming the key, when the reminder would not come before the window closes, or a
            value is not positive.
        """
        e = app.config["EVALUATION"]
        settings = cls(
            window=dt.timedelta(days=float(e["window_days"])),
            reminder_after=dt.timedelta(hours=float(e["reminder_after_hours"])),
            batch_size=int(e["batch_size"]),
        )
        if settings.window <= dt.timedelta() or settings.batch_size < 1:
            raise ValueError("[evaluation] window_days and batch_size must be positive")
        if not dt.timedelta() < settings.reminder_after < settings.window:
            raise ValueError(
                "[evaluation] reminder_after_hours must be positive and come before window_days ends, got "
                f"{e['reminder_after_hours']} hours for a {e['window_days']}-day window"
            )
        return settings

    @property
    def window_days(self) -> int | float:
        days = self.window / dt.timedelta(days=1)
        return int(days) if days == int(days) else days


def deliver_outbox(app: Flask, now: dt.datetime) -> DeliveryReport:
    """Send the due notifications; ask for an evaluation where a reply has just reached the citizen, and send that."""
    report = deliver_due(app, now)
    if request_evaluations(app, now):
        report.add(deliver_due(app, now))
    return report


def _keep_updated_at() -> dict[str, Any]:
    # Bookkeeping of the jobs, not a change of the petition: 12345 polling (updated_at) must not see it.
    return {"updated_at": _PETITION.c.updated_at}


def request_evaluations(app: Flask, now: dt.datetime) -> int:
    """Ask once for the rating of each reply that has reached its citizen; returns how many requests were queued.

    One SELECT finds up to ``[evaluation] batch_size`` petitions awaiting a rating that were not asked yet, whose
    latest 'replied' notification has been sent (send_reply queues it with the move to 待评价, so it is this round's);
    the requests are queued in one INSERT, and one UPDATE records the request and when the reply reached
    the citizen (`Petition.reply_delivered_at`, where the evaluation window starts).
    """
    settings = EvaluationSettings.from_app(app)
    latest_reply = (
        select(func.max(Notification.id))
        .where(Notification.petition_id == Petition.id, Notification.event == "replied")
        .correlate(Petition)
        .scalar_subquery()
    )
    with session_scope(app) as session:
        rows = session.execute(
            select(Petition, Notification.sent_at)
            .join(Notification, Notification.id == latest_reply)
            .where(
                Petition.state == PetitionState.AWAITING_EVALUATION,
                Petition.evaluation_requested_at.is_(None),
                Notification.state == NotificationState.SENT,
                Notification.sent_at.is_not(None),
            )
            .order_by(Petition.id)
            .limit(settings.batch_size)
        ).all()
        if not rows:
            return 0
        enqueue_many(session, [(petition, "evaluation_request", {}) for petition, _sent_at in rows], now)
        session.execute(
            update(_PETITION)
            .where(
                _PETITION.c.id == bindparam("b_id"),
                _PETITION.c.state == PetitionState.AWAITING_EVALUATION,
                _PETITION.c.evaluation_requested_at.is_(None),
            )
            .values(
                evaluation_requested_at=now,
                reply_delivered_at=bindparam("b_delivered", type_=_PETITION.c.reply_delivered_at.type),
                **_keep_updated_at(),
            ),
            [{"b_id": petition.id, "b_delivered": sent_at} for petition, sent_at in rows],
        )
    return len(rows)


def remind_evaluations(app: Flask, now: dt.datetime) -> int:
    """Remind, once, the citizens who have not rated ``[evaluation] reminder_after_hours`` after the reply reached
    them (and before the window closes); returns how many reminders were queued.

    One SELECT of up to ``batch_size`` due petitions, one INSERT of the reminders, one UPDATE marking them.
    After an outage a citizen gets the one reminder, never a burst.
    """
    settings = EvaluationSettings.from_app(app)
    with session_scope(app) as session:
        petitions = session.scalars(
            select(Petition)
            .where(
                Petition.state == PetitionState.AWAITING_EVALUATION,
                Petition.reply_delivered_at <= now - settings.reminder_after,
                Petition.reply_delivered_at > now - settings.window,
                Petition.evaluation_requested_at.is_not(None),
                Petition.evaluation_reminded_at.is_(None),
            )
            .order_by(Petition.reply_delivered_at, Petition.id)
            .limit(settings.batch_size)
        ).all()
        if not petitions:
            return 0
        enqueue_many(
            session, [(petition, "evaluation_reminder", {"reminder": 1}) for petition in petitions], now
        )
        session.execute(
            update(_PETITION)
            .where(
                _PETITION.c.id.in_([p.id for p in petitions]), _PETITION.c.evaluation_reminded_at.is_(None)
            )
            .values(evaluation_reminded_at=now, **_keep_updated_at())
        )
    return len(petitions)


def close_unrated_evaluations(app: Flask, now: dt.datetime) -> int:
    """Close as 未评价 (UNRATED) the petitions whose citizen did not rate within ``[evaluation] window_days`` after
    the reply reached them; returns how many were closed.

    Up to ``batch_size`` per run, oldest first, through the engine's ``expire_evaluation`` transition for all of
    them at once (`workflow.engine.perform_many`: history rows, closed_at, and the citizen told where the district
    has a template for the 'closed' message). A rating that arrives just before wins: its petition is no longer
    awaiting one, or its version moved and the optimistic lock leaves it alone.
    """
    settings = EvaluationSettings.from_app(app)
    with session_scope(app) as session:
        petitions = session.scalars(
            select(Petition)
            .where(
                Petition.state == PetitionState.AWAITING_EVALUATION,
                Petition.reply_delivered_at <= now - settings.window,
            )
            .order_by(Petition.reply_delivered_at, Petition.id)
            .limit(settings.batch_size)
        ).all()
        if not petitions:
            return 0
        return close_unrated(session, petitions, now, settings)


def close_unrated(
    session: Session, petitions: Sequence[Petition], now: dt.datetime, settings: EvaluationSettings
) -> int:
    """Close `petitions` as UNRATED at `now` (see `close_unrated_evaluations`); returns how many moved.

    The caller commits.
    """
    with_template = set(
        session.scalars(
            select(NotificationTemplate.district_code).where(
                NotificationTemplate.event == "closed", NotificationTemplate.enabled.is_(True)
            )
        )
    )
    closed = 0
    for notify in (True, False):
        group = [p for p in petitions if (p.district_code in with_template) == notify]
        if not group:
            continue
        outcome = perform_many(
            session, group, "expire_evaluation", SYSTEM, now, notify=notify, window_days=settings.window_days
        )
        for petition_id, reason in outcome.refused.items():
            log.info("petition %s not closed as unrated: %s", petition_id, reason)
        closed += len(outcome.moved)
    return closed


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


def forget_handled_messages(session: Session, older_than: dt.datetime) -> int:
    """Delete the dedupe rows of messages handled before `older_than`; returns how many.

    WeChat retries within about 15 seconds, so a day's rows are plenty; `prune_handled_messages` calls this daily.
    Does not commit.
    """
    result = session.execute(delete(InboundMessage).where(InboundMessage.created_at < older_than))
    # The signatures remembered against replays (bot.webhook): useless once their timestamp left the window.
    session.execute(delete(WebhookNonce).where(WebhookNonce.created_at < older_than))
    return int(result.rowcount or 0)


def prune_handled_messages(app: Flask, now: dt.datetime) -> int:
    """Forget the chat bot's record of messages handled more than a day ago; returns how many rows went.

    The record only has to outlive WeChat's retries, which come within seconds.
    """
    with session_scope(app) as session:
        return forget_handled_messages(session, now - dt.timedelta(days=1))


# --- access tokens --------------------------------------------------------------------------------------------


def refresh_tokens(app: Flask, now: dt.datetime) -> dict[str, str | None]:
    """Renew each enabled account's access token that runs out within ten minutes (`wechat.tokens`).

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
        # A linked duplicate's copy of its master's reply is the same handling (workflow.links): counted once.
        .where(in_district, Reply.sent_at >= start, Reply.sent_at < end, Reply.linked_from_id.is_(None))
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
