"""Keeping what citizens send with a petition: images and voice messages, fetched from WeChat while they exist.

A chat message carries only a media id; WeChat deletes temporary media after three days. Intake marks each such
attachment ``pending`` (`workflow.intake`) and never waits on WeChat; the scheduler's `fetch_media` job downloads
them through the account's API client (`wechat.api.QingsuWechatClient.get_media`) and keeps each file in
``[media] folder`` under the SHA-256 of its content (the same picture sent twice is stored once).

Like the outbox, each attachment goes through three short transactions and no database lock is held while WeChat
is called: **claim** (a conditional UPDATE takes a lease, so two schedulers never fetch the same file at once),
**fetch and store** the file, **record** the outcome (only while the lease is still ours). A failure that may pass
(timeouts, 5xx, quotas, a token problem, a disabled account) is retried with doubling waits; WeChat's 40007 (the
media id is unknown or expired), ``[media] max_attempts`` failures, or the three days passing make it ``lost``,
with the reason on the row for the staff to see.
Temporary media: https://developers.weixin.qq.com/doc/offiaccount/Asset_Management/Get_temporary_materials.html
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models import Attachment, Petition, WechatAccount
from models.db import lock_for_write, session_scope
from models.enums import MediaState
from wechat.api import MediaFile, QingsuWechatClient, WechatApiError, client_for
from workflow.outbox import backoff, lease_one, worker_name

log = logging.getLogger(__name__)

# WeChat keeps temporary media for three days; after that no attempt can succeed.
MEDIA_LIFETIME = dt.timedelta(days=3)
MEDIA_EXPIRED_ERRCODE = 40007


@dataclass(frozen=True)
class MediaSettings:
    """``[media]`` (see config.example.toml) and the delivery backoff of ``[scheduler]``."""

    folder: Path
    max_attempts: int
    backoff_base: dt.timedelta
    backoff_max: dt.timedelta
    lease: dt.timedelta
    batch_size: int

    @classmethod
    def from_app(cls, app: Flask) -> MediaSettings:
        """The settings of `app`'s configuration (a relative folder is relative to the working directory)."""
        m = app.config["MEDIA"]
        return cls(
            folder=Path(m["folder"]).resolve(),
            max_attempts=int(m["max_attempts"]),
            backoff_base=dt.timedelta(seconds=float(m["backoff_base_seconds"])),
            backoff_max=dt.timedelta(seconds=float(m["backoff_max_seconds"])),
            lease=dt.timedelta(seconds=float(m["lease_seconds"])),
            batch_size=int(m["batch_size"]),
        )


@dataclass
class MediaReport:
    """What one `fetch_media` run did."""

    stored: int = 0
    retrying: int = 0
    lost: int = 0


@dataclass(frozen=True)
class _Outcome:
    state: MediaState
    error: str | None = None
    retry_at: dt.datetime | None = None
    file: MediaFile | None = None
    sha256: str | None = None


def media_path(folder: Path, sha256: str) -> Path:
    """Where the file with this content hash is kept: ``<folder>/ab/abcdef…`` (two levels keep directories small)."""
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
    return folder / sha256[:2] / sha256


def store_file(folder: Path, content: bytes) -> str:
    """Keep `content` under its SHA-256 in `folder` and return the hash; a file already kept is not written again.

    Written to a temporary file and renamed, so a reader never sees half a file and a crash leaves none.
    """
    sha256 = hashlib.sha256(content).hexdigest()
    target = media_path(folder, sha256)
    if target.exists():
        return sha256
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".part-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return sha256


def fetch_media(
    app: Flask, now: dt.datetime, *, worker: str | None = None, limit: int | None = None
) -> MediaReport:
    """Download the due pending attachments, one leased row at a time, up to `limit` (``[media] batch_size``).

    Commits its own short transactions; never raises for a WeChat failure (each row records its outcome).
    """
    settings = MediaSettings.from_app(app)
    worker = worker or worker_name()
    report = MediaReport()
    clients: dict[str, QingsuWechatClient] = {}
    with ExitStack() as open_clients:
        for _ in range(limit if limit is not None else settings.batch_size):
            with session_scope(app) as session:
                claimed = _claim(session, now, worker, settings.lease)
            if claimed is None:
                break
            attachment_id, media_id, account, attempts, created_at = claimed
            if account is None:
                outcome = _retry(attempts, created_at, now, settings, "本区公众号未配置或已停用")
            else:
                if account.appid not in clients:
                    clients[account.appid] = open_clients.enter_context(client_for(account, app))
                outcome = _fetch(clients[account.appid], media_id, attempts, created_at, now, settings)
            with session_scope(app) as session:
                if _record(session, attachment_id, worker, now, outcome):
                    if outcome.state == MediaState.STORED:
                        report.stored += 1
                    elif outcome.state == MediaState.LOST:
                        report.lost += 1
                    else:
                        report.retrying += 1
    return report


def _claim(
    session: Session, now: dt.datetime, worker: str, lease: dt.timedelta
) -> tuple[int, str, WechatAccount | None, int, dt.datetime] | None:
    """Lease one due attachment; with its media id, its account (detached; None when missing or disabled), the
    attempts made before this one and when it arrived. None when nothing is due."""
    due = (
        Attachment.media_state == MediaState.PENDING,
        Attachment.next_fetch_at <= now,
        or_(Attachment.locked_until.is_(None), Attachment.locked_until <= now),
    )
    candidate = lease_one(
        session,
        Attachment,
        due,
        (Attachment.next_fetch_at, Attachment.id),
        {"locked_by": worker, "locked_until": now + lease, "fetch_attempts": Attachment.fetch_attempts + 1},
    )
    if candidate is None:
        return None
    row = session.execute(
        select(Attachment.media_id, Attachment.fetch_attempts, Attachment.created_at, WechatAccount)
        .join(Petition, Petition.id == Attachment.petition_id)
        .outerjoin(
            WechatAccount,
            (WechatAccount.district_code == Petition.district_code) & WechatAccount.enabled.is_(True),
        )
        .where(Attachment.id == candidate)
    ).one()
    account = row[3]
    if account is not None:
        session.expunge(account)
    return candidate, str(row[0]), account, int(row[1]), row[2]


def _fetch(
    client: QingsuWechatClient,
    media_id: str,
    attempts: int,
    created_at: dt.datetime,
    now: dt.datetime,
    settings: MediaSettings,
) -> _Outcome:
    try:
        media = client.get_media(media_id)
    except WechatApiError as exc:
        reason = f"errcode {exc.errcode}: {exc.errmsg}" if exc.errcode is not None else str(exc.errmsg)
        if exc.errcode == MEDIA_EXPIRED_ERRCODE:
            return _Outcome(MediaState.LOST, f"微信已不再保存该文件（{reason}）")
        return _retry(attempts, created_at, now, settings, reason)
    except Exception as exc:
        log.exception("fetching media %s failed", media_id)
        return _retry(attempts, created_at, now, settings, f"{type(exc).__name__}: {exc}")
    if not media.content:
        return _retry(attempts, created_at, now, settings, "微信返回了空文件")
    try:
        sha256 = store_file(settings.folder, media.content)
    except OSError as exc:
        log.exception("storing media %s in %s failed", media_id, settings.folder)
        return _retry(attempts, created_at, now, settings, f"无法写入媒体文件夹：{exc}")
    return _Outcome(MediaState.STORED, file=media, sha256=sha256)


def _retry(
    attempts: int, created_at: dt.datetime, now: dt.datetime, settings: MediaSettings, error: str
) -> _Outcome:
    retry_at = now + backoff(attempts, settings.backoff_base, settings.backoff_max)
    if attempts >= settings.max_attempts:
        return _Outcome(MediaState.LOST, f"已尝试{attempts}次仍未下载，最后一次：{error}")
    if retry_at >= created_at + MEDIA_LIFETIME:
        return _Outcome(MediaState.LOST, f"微信临时素材只保存3天，到期前未能下载：{error}")
    return _Outcome(MediaState.PENDING, error, retry_at=retry_at)


def _record(session: Session, attachment_id: int, worker: str, now: dt.datetime, outcome: _Outcome) -> bool:
    """Write the outcome and release the lease; False (nothing written) when the lease is no longer ours."""
    lock_for_write(session)
    attachment = session.get(Attachment, attachment_id, with_for_update=True)
    if attachment is None or attachment.locked_by != worker:
        log.warning("attachment %s: lease lost before its outcome was recorded", attachment_id)
        return False
    attachment.locked_by = None
    attachment.locked_until = None
    attachment.media_state = outcome.state
    attachment.last_error = outcome.error
    if outcome.retry_at is not None:
        attachment.next_fetch_at = outcome.retry_at
    if outcome.state == MediaState.LOST:
        log.warning("attachment %s (media %s) lost: %s", attachment.id, attachment.media_id, outcome.error)
    if outcome.file is not None and outcome.sha256 is not None:
        attachment.sha256 = outcome.sha256
        attachment.content_type = (outcome.file.content_type or "application/octet-stream")[:100]
        attachment.size = len(outcome.file.content)
        attachment.fetched_at = now
        attachment.next_fetch_at = None
    return True


def stored_file(folder: Path, attachment: Attachment) -> Path | None:
    """The kept copy of `attachment`, or None when it is not stored (yet, or any more)."""
    if attachment.media_state != MediaState.STORED or not attachment.sha256:
        return None
    path = media_path(folder, attachment.sha256)
    return path if path.is_file() else None
