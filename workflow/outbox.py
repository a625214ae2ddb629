"""Delivering the outbox: every citizen-facing notification reaches WeChat once, with retries and dead letters.

The workflow writes a `Notification` row in the same transaction as the state change that causes it
(`workflow.notify.enqueue`); `deliver_due` sends the due rows. Each row goes through three short transactions and
no database lock is held while WeChat is called:

1. **claim**: a conditional UPDATE takes a lease on one due row (``locked_by``/``locked_until``), so two
   schedulers never send the same row at the same time; a worker that dies leaves a lease that simply lapses;
2. **prepare**: choose the channel — the account's template message for the event if one is configured, else a
   customer-service text while the citizen's 48-hour window is open, else wait — render it, and count the attempt;
3. **send**, then **record** the outcome (only while the lease is still ours).

Idempotency: template messages carry the row's ``client_msg_id``. When a worker dies after WeChat accepted a
message but before the outcome was recorded, the next worker sends again with the same id and WeChat answers
"already sent" (45065), which is recorded as sent — provided the retry comes within WeChat's ten-minute window,
which the short lease ensures. Customer-service messages have no such id in WeChat's API, so for them (used only
where no template is configured) a crash in exactly that gap can deliver a text twice; nothing is ever lost.

WeChat's answers: 40001/42001 the client renews the token and retries once, then we back off; 43004 the citizen
unsubscribed (state ``unsubscribed``, `Citizen.subscribed` cleared); 45009 daily quota (retry after local midnight);
45011/45047 and 5xx/timeouts back off exponentially; 47003 a field WeChat refuses (dead letter naming the field);
after ``[scheduler] max_attempts`` attempts a row is dead-lettered; the admin site's retry button calls `retry_dead`.
Error codes: https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/Global_Return_Code.html
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import re
import socket
import uuid
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import case, func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from models import Citizen, Evaluation, Notification, NotificationTemplate, Petition, WechatAccount
from models.db import lock_for_write, session_scope
from models.enums import NotificationState, PetitionState
from wechat.api import (
    QingsuWechatClient,
    WechatApiError,
    WechatInvalidFieldError,
    WechatQuotaError,
    WechatUnsubscribedError,
    WechatWindowClosedError,
    client_for,
)
from wechat.tokens import TokenLockTimeout
from workflow.hotline import HOTLINE, HotlineSender, PushFailed, PushSettings, push_body
from workflow.messages import TemplateMappingError, render_text, reply_parts, template_data
from workflow.reply_link import reply_url

log = logging.getLogger(__name__)

CUSTOMER_SERVICE_WINDOW = dt.timedelta(hours=48)
TEMPLATE = "template"
TEXT = "text"
EVALUATION_EVENTS = frozenset({"evaluation_request", "evaluation_reminder"})
# The event whose template message links to the citizen's reply page, and whose whole text also goes as
# customer-service texts while the 48-hour window is open.
REPLIED = "replied"
_FIELD_IN_ERRMSG = re.compile(r"data\.([A-Za-z0-9_]+)")


@dataclass(frozen=True)
class OutboxSettings:
    """The delivery knobs of ``[scheduler]`` (see config.example.toml)."""

    max_attempts: int
    backoff_base: dt.timedelta
    backoff_max: dt.timedelta
    lease: dt.timedelta
    channel_wait: dt.timedelta
    max_wait: dt.timedelta
    batch_size: int
    tz: str

    @classmethod
    def from_app(cls, app: Flask) -> OutboxSettings:
        """The settings of `app`'s configuration."""
        s = app.config["SCHEDULER"]
        return cls(
            max_attempts=int(s["max_attempts"]),
            backoff_base=dt.timedelta(seconds=float(s["backoff_base_seconds"])),
            backoff_max=dt.timedelta(seconds=float(s["backoff_max_seconds"])),
            lease=dt.timedelta(seconds=float(s["delivery_lease_seconds"])),
            channel_wait=dt.timedelta(minutes=float(s["channel_wait_minutes"])),
            max_wait=dt.timedelta(hours=float(s["channel_max_wait_hours"])),
            batch_size=int(s["outbox_batch_size"]),
            tz=app.config["CALENDAR"]["timezone"],
        )


@dataclass
class DeliveryReport:
    """What one `deliver_due` run did, by outcome."""

    sent: int = 0
    retrying: int = 0
    waiting: int = 0
    dead: int = 0
    unsubscribed: int = 0
    skipped: int = 0

    def add(self, other: DeliveryReport) -> None:
        """Count `other`'s outcomes into this report."""
        for name in ("sent", "retrying", "waiting", "dead", "unsubscribed", "skipped"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True)
class _Plan:
    """A send decided in the prepare step: everything the HTTP call needs, read while the row was loaded
    (`account` is detached; only its appid and secret are used)."""

    notification_id: int
    channel: str
    account: WechatAccount
    openid: str
    client_msg_id: str
    attempts: int
    template_id: str = ""
    data: dict[str, Any] | None = None
    url: str | None = None
    # Customer-service texts: the message itself (TEXT channel), or the reply in full after its template message.
    texts: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Push:
    """A push to the 12345 hotline decided in the prepare step: the exact body, signed at sending."""

    notification_id: int
    body: bytes
    delivery_id: str
    attempts: int


@dataclass(frozen=True)
class _Outcome:
    state: NotificationState
    error: str | None = None
    retry_at: dt.datetime | None = None
    # The call did not count as a try (WeChat said the channel is closed, not that delivery failed).
    refund_attempt: bool = False
    unsubscribe: bool = False
    # Pending because there is no way to reach the citizen yet (not because WeChat failed).
    waiting: bool = False
    # Texts of a several-part message that reached the citizen (a retry sends only the rest).
    parts_sent: int = 0


def worker_name() -> str:
    """A name unique to one delivery run: host, process, and a random part (written to ``locked_by``)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def deliver_due(
    app: Flask, now: dt.datetime, *, worker: str | None = None, limit: int | None = None
) -> DeliveryReport:
    """Send the notifications due at `now`, one leased row at a time, up to `limit` (``outbox_batch_size``).

    Commits its own short transactions (see the module docstring); never raises for a WeChat failure — each
    row's outcome is recorded on the row.
    """
    settings = OutboxSettings.from_app(app)
    push_settings = PushSettings.from_app(app)
    worker = worker or worker_name()
    report = DeliveryReport()
    # One client per account for the whole run, so consecutive sends reuse its HTTP connection.
    clients: dict[str, QingsuWechatClient] = {}
    pusher: HotlineSender | None = None
    with ExitStack() as open_clients:
        for _ in range(limit if limit is not None else settings.batch_size):
            with session_scope(app) as session:
                notification_id = _claim(session, now, worker, settings.lease)
            if notification_id is None:
                break
            try:
                with session_scope(app) as session:
                    decision = _prepare(
                        session, notification_id, now, settings, partial(reply_url, app), push_settings
                    )
            except SQLAlchemyError:
                raise  # the database, not the row: the lease lapses and the row is tried again later
            except Exception as exc:
                # One row that no message can be made from (an unknown event, an unreadable payload) must not stop
                # every other notification: it is dead-lettered alone, with the reason, and the run goes on.
                log.exception("notification %s cannot be prepared", notification_id)
                decision = _Outcome(NotificationState.DEAD, f"无法生成消息（{type(exc).__name__}: {exc}）")
            if isinstance(decision, _Outcome):
                outcome = decision
            elif isinstance(decision, _Push):
                if pusher is None:
                    pusher = open_clients.enter_context(HotlineSender(push_settings))
                outcome = _push(pusher, decision, now, settings)
            else:
                appid = decision.account.appid
                if appid not in clients:
                    clients[appid] = open_clients.enter_context(client_for(decision.account, app))
                outcome = _send(clients[appid], decision, now, settings)
            with session_scope(app) as session:
                recorded = _record(session, notification_id, worker, now, outcome)
            if recorded:
                _tally(report, outcome)
    return report


def _tally(report: DeliveryReport, outcome: _Outcome) -> None:
    state = outcome.state
    if state == NotificationState.SENT:
        report.sent += 1
    elif state == NotificationState.DEAD:
        report.dead += 1
    elif state == NotificationState.UNSUBSCRIBED:
        report.unsubscribed += 1
    elif state == NotificationState.SKIPPED:
        report.skipped += 1
    elif outcome.waiting:
        report.waiting += 1
    else:
        report.retrying += 1


def _claim(session: Session, now: dt.datetime, worker: str, lease: dt.timedelta) -> int | None:
    """Lease one due row to `worker`; None when nothing is due. Safe against other workers doing the same."""
    due = (
        Notification.state == NotificationState.PENDING,
        Notification.next_attempt_at <= now,
        or_(Notification.locked_until.is_(None), Notification.locked_until <= now),
    )
    return lease_one(
        session,
        Notification,
        due,
        (Notification.next_attempt_at, Notification.id),
        {"locked_by": worker, "locked_until": now + lease},
    )


def lease_one(
    session: Session, model: Any, due: Sequence[Any], order: Sequence[Any], values: dict[str, Any]
) -> int | None:
    """Lease one row of `model` matching `due` (the oldest by `order`) by writing `values`; its id, or None when no
    row is due. Of two workers racing for a row exactly one wins: the UPDATE checks `due` again."""
    candidates = session.scalars(select(model.id).where(*due).order_by(*order).limit(20)).all()
    for candidate in candidates:
        taken = session.execute(
            update(model)
            .where(model.id == candidate, *due)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount == 1:
            return candidate
    return None


def _prepare(
    session: Session,
    notification_id: int,
    now: dt.datetime,
    settings: OutboxSettings,
    link: Callable[[int, int], str | None] = lambda _petition_id, _citizen_id: None,
    push: PushSettings | None = None,
) -> _Plan | _Push | _Outcome:
    """Decide how (and whether) to send the leased row; counts the attempt when a send follows.

    `link` gives the reply page's address of a petition for its citizen (the 'replied' message links to it);
    `push` is ``[hotline]`` for the rows pushed to the 12345 hotline.
    """
    n = session.get(Notification, notification_id)
    assert n is not None  # the row is leased to us, and notifications are never deleted while pending
    if n.channel == HOTLINE:
        return _prepare_push(session, n, now, settings, push)
    citizen = session.get(Citizen, n.citizen_id)
    assert citizen is not None
    if n.event in EVALUATION_EVENTS and n.petition_id is not None and not _still_awaiting_rating(session, n):
        return _Outcome(NotificationState.SKIPPED, "诉求已评价或不再待评价，无需发送")
    if not citizen.subscribed:
        return _Outcome(NotificationState.UNSUBSCRIBED, "群众已取消关注公众号")
    account = session.scalars(
        select(WechatAccount).where(WechatAccount.district_code == n.district_code)
    ).first()
    if account is None or not account.enabled:
        return _wait(n, now, settings, "本区公众号未配置或已停用")
    template = session.scalars(
        select(NotificationTemplate).where(
            NotificationTemplate.district_code == n.district_code,
            NotificationTemplate.event == n.event,
            NotificationTemplate.enabled.is_(True),
        )
    ).first()
    common = {
        "notification_id": n.id,
        "account": account,
        "openid": citizen.openid,
        "client_msg_id": n.client_msg_id,
    }
    window_open = (
        citizen.last_message_at is not None and now - citizen.last_message_at < CUSTOMER_SERVICE_WINDOW
    )
    replied = n.event == REPLIED and n.petition_id is not None
    url = link(n.petition_id, citizen.id) if replied and n.petition_id is not None else None
    if template is not None:
        try:
            data = template_data(template.fields, n, settings.tz)
        except TemplateMappingError as exc:
            return _Outcome(NotificationState.DEAD, f"模板配置有误，请修改模板后重试：{exc}")
        plan = _Plan(
            channel=TEMPLATE,
            template_id=template.template_id,
            data=data,
            url=url,
            texts=tuple(reply_parts(n.payload, url)) if replied and window_open else (),
            attempts=n.attempts + 1,
            **common,
        )
    elif window_open:
        texts = reply_parts(n.payload, url) if replied else [render_text(n)]
        plan = _Plan(
            channel=TEXT,
            texts=tuple(texts[int(n.payload.get("parts_sent", 0)) :]),
            attempts=n.attempts + 1,
            **common,
        )
    else:
        return _wait(n, now, settings, "未配置该事件的模板消息，且群众48小时内没有发过消息（不能发客服消息）")
    # Counted before the call, so a row that crashes its worker every time still reaches max_attempts.
    n.attempts = plan.attempts
    n.channel_used = plan.channel
    return plan


def _prepare_push(
    session: Session, n: Notification, now: dt.datetime, settings: OutboxSettings, push: PushSettings | None
) -> _Push | _Outcome:
    """A push to the hotline: skipped when no ``push_url`` is configured; behind an earlier push of the same petition
    that is still pending, it waits for it (the hotline receives a petition's changes in order)."""
    if push is None or not push.url:
        return _Outcome(NotificationState.SKIPPED, "未配置 [hotline] push_url，不推送")
    earlier = session.scalars(
        select(Notification)
        .where(
            Notification.channel == HOTLINE,
            Notification.petition_id == n.petition_id,
            Notification.state == NotificationState.PENDING,
            Notification.id < n.id,
        )
        .order_by(Notification.id)
    ).first()
    if earlier is not None:
        after = earlier.next_attempt_at if earlier.next_attempt_at > now else now + settings.lease
        return _Outcome(
            NotificationState.PENDING,
            f"等待同一诉求此前的推送（消息 {earlier.id}）送达",
            retry_at=after,
            waiting=True,
        )
    n.attempts += 1
    n.channel_used = "http"
    return _Push(n.id, push_body(n.payload, n.client_msg_id), n.client_msg_id, n.attempts)


def _push(sender: HotlineSender, push: _Push, now: dt.datetime, settings: OutboxSettings) -> _Outcome:
    """POST the push and translate the hotline's answer into what happens to the row."""
    try:
        sender.send(push.body, push.delivery_id)
    except PushFailed as exc:
        if exc.retryable:
            return _retry(push, now, settings, str(exc))
        return _Outcome(NotificationState.DEAD, str(exc))
    except Exception as exc:
        log.exception("pushing notification %s failed", push.notification_id)
        return _retry(push, now, settings, f"{type(exc).__name__}: {exc}")
    return _Outcome(NotificationState.SENT)


def _still_awaiting_rating(session: Session, n: Notification) -> bool:
    petition = session.get(Petition, n.petition_id)
    if petition is None or petition.state != PetitionState.AWAITING_EVALUATION:
        return False
    if n.payload.get("round") != petition.handling_round:
        return False
    rated = session.scalar(
        select(Evaluation.id).where(
            Evaluation.petition_id == petition.id, Evaluation.handling_round == petition.handling_round
        )
    )
    return rated is None


def _wait(n: Notification, now: dt.datetime, settings: OutboxSettings, reason: str) -> _Outcome:
    """No channel yet: look again later, and give up (dead letter) once the row has waited `max_wait`."""
    if now - n.created_at >= settings.max_wait:
        hours = settings.max_wait.total_seconds() / 3600
        return _Outcome(NotificationState.DEAD, f"{hours:g}小时内无法发送：{reason}")
    return _Outcome(NotificationState.PENDING, reason, retry_at=now + settings.channel_wait, waiting=True)


def _send(client: QingsuWechatClient, plan: _Plan, now: dt.datetime, settings: OutboxSettings) -> _Outcome:
    """Call WeChat and translate its answer into what happens to the row."""
    sent = 0
    try:
        if plan.channel == TEMPLATE:
            result = client.send_template(
                plan.openid, plan.template_id, plan.data or {}, url=plan.url, client_msg_id=plan.client_msg_id
            )
            note = "微信答复该 client_msg_id 已发送过（此前的发送已送达）" if result.duplicate else None
            if plan.texts and not result.duplicate:
                note = _send_extra_texts(client, plan)
            return _Outcome(NotificationState.SENT, note)
        for text in plan.texts:
            client.send_text(plan.openid, text)
            sent += 1
        return _Outcome(NotificationState.SENT)
    except WechatApiError as exc:
        outcome = _failed(plan, now, settings, exc)
        return dataclasses.replace(outcome, parts_sent=sent) if sent else outcome
    except TokenLockTimeout as exc:
        return _retry(plan, now, settings, f"等待其他进程刷新令牌超时：{exc}", parts_sent=sent)
    except Exception as exc:
        # A bug or an unexpected failure must not stop the other rows; the row is retried and shows the error.
        log.exception("delivering notification %s failed", plan.notification_id)
        return _retry(plan, now, settings, f"{type(exc).__name__}: {exc}", parts_sent=sent)


def _send_extra_texts(client: QingsuWechatClient, plan: _Plan) -> str | None:
    """The reply in full after its template message: a convenience (the template links to the whole reply), so a
    failure is noted on the row, not retried — retrying would send the template message again."""
    for number, text in enumerate(plan.texts, start=1):
        try:
            client.send_text(plan.openid, text)
        except (WechatApiError, TokenLockTimeout) as exc:
            described = _describe(exc) if isinstance(exc, WechatApiError) else str(exc)
            return f"模板消息已送达；答复全文的客服消息第{number}条未发出：{described}"
    return None


def _failed(plan: _Plan, now: dt.datetime, settings: OutboxSettings, exc: WechatApiError) -> _Outcome:
    """What WeChat's refusal `exc` means for the row."""
    if isinstance(exc, WechatUnsubscribedError):
        return _Outcome(NotificationState.UNSUBSCRIBED, _describe(exc), unsubscribe=True)
    if isinstance(exc, WechatInvalidFieldError):
        field = _FIELD_IN_ERRMSG.search(str(exc.errmsg or ""))
        named = (
            f"模板字段 {field.group(1)} 的取值（请检查模板字段映射）"
            if field
            else "消息内容（超长或格式不符）"
        )
        return _Outcome(NotificationState.DEAD, f"微信拒绝了{named}：{_describe(exc)}")
    if isinstance(exc, WechatWindowClosedError):
        # Our record of the citizen's last message disagreed with WeChat: wait like any row without a channel.
        return _Outcome(
            NotificationState.PENDING,
            f"客服消息窗口已关闭：{_describe(exc)}",
            retry_at=now + settings.channel_wait,
            refund_attempt=True,
            waiting=True,
        )
    if isinstance(exc, WechatQuotaError):
        retry_at = _next_local_midnight(now, settings.tz) if exc.errcode == 45009 else None
        return _retry(plan, now, settings, f"调用次数超限：{_describe(exc)}", retry_at)
    if exc.retryable:
        return _retry(plan, now, settings, _describe(exc))
    return _Outcome(NotificationState.DEAD, f"微信拒绝发送：{_describe(exc)}")


def _describe(exc: WechatApiError) -> str:
    code = f"errcode {exc.errcode}" if exc.errcode is not None else type(exc).__name__
    return f"{code}: {exc.errmsg}"


def backoff(attempts: int, base: dt.timedelta, cap: dt.timedelta) -> dt.timedelta:
    """The wait after the `attempts`-th failed attempt: base, 2×base, 4×base, … at most `cap`."""
    return min(base * (2 ** max(attempts - 1, 0)), cap)


def _retry(
    plan: _Plan | _Push,
    now: dt.datetime,
    settings: OutboxSettings,
    error: str,
    retry_at: dt.datetime | None = None,
    parts_sent: int = 0,
) -> _Outcome:
    if plan.attempts >= settings.max_attempts:
        return _Outcome(
            NotificationState.DEAD,
            f"已尝试{plan.attempts}次仍未发出，最后一次：{error}",
            parts_sent=parts_sent,
        )
    retry_at = retry_at or now + backoff(plan.attempts, settings.backoff_base, settings.backoff_max)
    return _Outcome(NotificationState.PENDING, error, retry_at=retry_at, parts_sent=parts_sent)


def _next_local_midnight(now: dt.datetime, tz: str) -> dt.datetime:
    # WeChat's daily quotas start again at midnight Beijing time; a minute later avoids racing the reset.
    local = now.astimezone(ZoneInfo(tz))
    midnight = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(0, 1), tzinfo=local.tzinfo)
    return midnight.astimezone(dt.UTC)


def _record(session: Session, notification_id: int, worker: str, now: dt.datetime, outcome: _Outcome) -> bool:
    """Write the outcome and release the lease; False (nothing written) when the lease is no longer ours."""
    # The lease check and the write must see the same row: the row lock (PostgreSQL), the write lock (SQLite).
    lock_for_write(session)
    n = session.get(Notification, notification_id, with_for_update=True)
    if n is None or n.locked_by != worker:
        log.warning("notification %s: lease lost before its outcome was recorded", notification_id)
        return False
    if outcome.state == NotificationState.DEAD:
        log.warning("notification %s (%s) dead-lettered: %s", n.id, n.event, outcome.error)
    elif outcome.state == NotificationState.PENDING:
        # Not sent this time: say why, where anyone running the platform (or the demo) looks first.
        log.warning(
            "notification %s (%s) not delivered, next attempt at %s: %s",
            n.id,
            n.event,
            outcome.retry_at.isoformat() if outcome.retry_at else "the next run",
            outcome.error,
        )
    n.locked_by = None
    n.locked_until = None
    n.state = outcome.state
    n.last_error = outcome.error
    if outcome.refund_attempt:
        n.attempts = max(n.attempts - 1, 0)
    if outcome.state == NotificationState.SENT:
        n.sent_at = now
    if outcome.parts_sent:
        n.payload = {**n.payload, "parts_sent": int(n.payload.get("parts_sent", 0)) + outcome.parts_sent}
    if outcome.retry_at is not None:
        n.next_attempt_at = outcome.retry_at
    if outcome.unsubscribe:
        citizen = session.get(Citizen, n.citizen_id)
        if citizen is not None:
            citizen.subscribed = False
    return True


@dataclass(frozen=True)
class Backlog:
    """The outbox of one district at `now`: what waits to be sent, what is overdue, and the latest reason."""

    district_code: str
    pending: int
    due: int
    failing: int
    oldest: dt.datetime | None
    last_error: str | None


def backlog(session: Session, district_codes: list[str] | None, now: dt.datetime) -> list[Backlog]:
    """Pending notifications per district (all districts when `district_codes` is None): how many, how many are due
    (their next attempt is past), how many failed at least once, the oldest, and one recent error. Two queries."""
    pending = Notification.state == NotificationState.PENDING
    scope = [pending] if district_codes is None else [pending, Notification.district_code.in_(district_codes)]
    failing = Notification.last_error.is_not(None)
    rows = session.execute(
        select(
            Notification.district_code,
            func.count(),
            func.count().filter(Notification.next_attempt_at <= now),
            func.count().filter(failing),
            func.min(Notification.created_at),
            func.max(case((failing, Notification.id))),
        )
        .where(*scope)
        .group_by(Notification.district_code)
        .order_by(Notification.district_code)
    ).all()
    latest_ids = [row[5] for row in rows if row[5]]
    errors = {
        row_id: error
        for row_id, error in session.execute(
            select(Notification.id, Notification.last_error).where(Notification.id.in_(latest_ids))
        ).tuples()
    }
    return [
        Backlog(code, total, due, failed, oldest, errors.get(latest))
        for code, total, due, failed, oldest, latest in rows
    ]


def retry_dead(session: Session, notification_id: int, now: dt.datetime) -> Notification:
    """The admin site's retry button: put a dead-lettered notification back in the queue, due at `now`.

    Keeps its client_msg_id (so a message that did reach WeChat is still not delivered twice) and its last error
    until the next attempt replaces it. The caller commits.

    :raises LookupError: no such notification.
    :raises ValueError: the notification is not dead-lettered.
    """
    n = session.get(Notification, notification_id)
    if n is None:
        raise LookupError(f"没有编号为 {notification_id} 的消息")
    if n.state != NotificationState.DEAD:
        raise ValueError(f"消息 {notification_id} 的状态是「{n.state.label}」，只有发送失败的消息可以重试")
    n.state = NotificationState.PENDING
    n.attempts = 0
    n.next_attempt_at = now
    n.locked_by = None
    n.locked_until = None
    return n
