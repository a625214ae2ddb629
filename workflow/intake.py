"""Taking a petition in: its number, its first history row, and idempotent intake from other channels."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import Attachment, Citizen, District, Petition, PetitionEvent, PetitionSequence, Unit, User
from models.enums import (
    Channel,
    CitizenKind,
    Complexity,
    DeptType,
    MediaState,
    Nature,
    PetitionKind,
    PetitionState,
    UnitLevel,
)
from workflow import routing
from workflow.actors import actor_label
from workflow.calendar import load_calendar
from workflow.deadlines import compute_deadline, time_limit
from workflow.errors import IntakeConflict, InvalidInput
from workflow.limits import MAX_LENGTH

SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_CONTENT = MAX_LENGTH["content"]
TITLE_LENGTH = 30
# What another channel may send with a petition (`check_intake`); the lengths are the columns'.
MAX_LOCATION = 300
MAX_CONTACT_NAME = Petition.__table__.c.contact_name.type.length
MAX_CONTACT_PHONE = Petition.__table__.c.contact_phone.type.length
MAX_ATTACHMENTS = 20
MAX_ATTACHMENT_URL = Attachment.__table__.c.url.type.length
MAX_ATTACHMENT_KIND = Attachment.__table__.c.kind.type.length
# A telephone number as people write it: digits, an optional leading +, spaces, dashes, dots and brackets.
PHONE_PATTERN = r"\+?[0-9][0-9 ().\-]*[0-9]"
_PHONE = re.compile(PHONE_PATTERN)


def allocate_number(session: Session, district_code: str, now: dt.datetime) -> str:
    """The next petition number, `<abbreviation><YYYYMMDD><4-digit sequence>` (e.g. SN202611270001).

    The day is the Asia/Shanghai date of `now`. The counter row is incremented atomically, so two
    concurrent submissions never get the same number; numbers are never reused.

    :raises LookupError: unknown district. :raises OverflowError: more than 9,999 petitions in a district and day.
    """
    district = session.get(District, district_code)
    if district is None:
        raise LookupError(f"unknown district {district_code!r}")
    day = now.astimezone(SHANGHAI).strftime("%Y%m%d")
    bump = (
        update(PetitionSequence)
        .where(PetitionSequence.district_code == district_code, PetitionSequence.day == day)
        .values(last=PetitionSequence.last + 1)
        .returning(PetitionSequence.last)
        .execution_options(synchronize_session=False)
    )
    value = session.execute(bump).scalar_one_or_none()
    if value is None:
        try:
            with session.begin_nested():
                session.execute(insert(PetitionSequence).values(district_code=district_code, day=day, last=1))
            value = 1
        except IntegrityError:
            # Another transaction created today's row first: take the next value from it.
            value = session.execute(bump).scalar_one()
    if value > 9999:
        raise OverflowError(f"more than 9999 petitions in {district_code} on {day}")
    return f"{district.abbreviation}{day}{value:04d}"


def make_title(content: str) -> str:
    """A one-line title: the first sentence of the content, cut to 30 characters."""
    first = content.strip().replace("\r", "").split("\n", 1)[0]
    for mark in "。！？!?；;":
        first = first.split(mark, 1)[0]
    first = first.strip() or content.strip()
    return first[:TITLE_LENGTH] + ("…" if len(first) > TITLE_LENGTH else "")


def kind_for(petitioner: CitizenKind) -> PetitionKind:
    """Rule: 群众反映的民生诉求，企业等市场主体提出的发展诉求 — the kind a petitioner's identity gives their petition."""
    return PetitionKind.DEVELOPMENT if petitioner == CitizenKind.ENTERPRISE else PetitionKind.LIVELIHOOD


def expected_deadline(
    session: Session, kind: PetitionKind, nature: Nature | None, now: dt.datetime, tz: str = "Asia/Shanghai"
) -> tuple[int, dt.datetime] | None:
    """The time limit and deadline a petition would get if the platform accepted it at `now` as a simple matter.

    What a citizen is told at submission: the dispatcher sets the real nature and complexity at acceptance, so this
    is an expectation. None when the kind and nature give no limit yet (a 民生 petition whose nature is unknown).
    """
    try:
        days = time_limit(kind, nature, Complexity.SIMPLE)
    except ValueError:
        return None
    return days, compute_deadline(now, days, load_calendar(session, tz)).due


def submit_petition(
    session: Session,
    *,
    district_code: str,
    kind: PetitionKind,
    content: str,
    now: dt.datetime,
    citizen: Citizen | None = None,
    location: str = "",
    latitude: float | None = None,
    longitude: float | None = None,
    contact_name: str | None = None,
    contact_phone: str | None = None,
    channel: Channel = Channel.WECHAT,
    external_id: str | None = None,
    attachments: Sequence[dict[str, Any]] = (),
    suggestion: dict[str, Any] | None = None,
    origin_unit: Unit | None = None,
    created_by: User | None = None,
    dept_type: DeptType | None = None,
) -> Petition:
    """Create a petition at the district platform (待研判) with its number and first history row.

    Flushes but does not commit. `dept_type` is the department type the sender chose (an Open311 client's service),
    which the dispatcher's form starts from. `external_id` is the sending system's id, unique per channel; for idempotent
    intake from another channel call `take_in`, which tells a new petition from a repeat.

    :raises InvalidInput: empty or oversized content, unknown district, a 执法 petition without an originating unit.
    :raises IntegrityError: a petition with this channel and `external_id` exists already.
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    text = (content or "").strip()
    if not text:
        raise InvalidInput("诉求内容不能为空", "content")
    if len(text) > MAX_CONTENT:
        raise InvalidInput(f"诉求内容过长（最多{MAX_CONTENT}字）", "content")
    if session.get(District, district_code) is None:
        raise InvalidInput(f"未知的区(市)：{district_code}", "district_code")
    if kind == PetitionKind.ENFORCEMENT and origin_unit is None:
        raise InvalidInput("执法诉求须由镇(街道)或部门(单位)提出", "origin_unit")
    if origin_unit is not None and origin_unit.level not in (UnitLevel.STREET, UnitLevel.DISTRICT_DEPARTMENT):
        raise InvalidInput("执法诉求只能由镇(街道)或区(市)部门提出", "origin_unit")

    platform = routing.district_platform(session, district_code)
    petition = Petition(
        number=allocate_number(session, district_code, now),
        district_code=district_code,
        citizen=citizen,
        kind=kind,
        title=make_title(text),
        content=text,
        location=(location or "").strip()[:300],
        latitude=latitude,
        longitude=longitude,
        contact_name=contact_name,
        contact_phone=contact_phone,
        channel=channel,
        external_id=external_id,
        dept_type=dept_type,
        state=PetitionState.PENDING_DISPATCH,
        level=UnitLevel.DISTRICT_PLATFORM,
        current_unit=platform,
        origin_unit=origin_unit,
        created_by=created_by,
        suggestion=suggestion,
        created_at=now,
        updated_at=now,
    )
    for item in attachments:
        media_id = item.get("media_id")
        petition.attachments.append(
            Attachment(
                kind=item.get("kind", "image"),
                media_id=media_id,
                url=item.get("url"),
                created_at=now,
                # A WeChat media file is kept by the media job (workflow.media), never fetched here: intake must
                # not wait on WeChat.
                media_state=MediaState.PENDING if media_id else None,
                next_fetch_at=now if media_id else None,
            )
        )
    if citizen is not None:
        label = actor_label(citizen)
    elif created_by is not None:
        label = actor_label(created_by)
    else:
        label = channel.label
    petition.events.append(
        PetitionEvent(
            action="submit",
            from_state=None,
            to_state=PetitionState.PENDING_DISPATCH,
            actor_user_id=created_by.id if created_by is not None else None,
            actor_citizen_id=citizen.id if citizen is not None else None,
            actor_label=label,
            note="",
            data={"channel": channel.value, **({"external_id": external_id} if external_id else {})},
            created_at=now,
        )
    )
    session.add(petition)
    session.flush()
    return petition


def check_intake(
    *,
    content: str,
    location: str = "",
    latitude: float | None = None,
    longitude: float | None = None,
    contact_name: str | None = None,
    contact_phone: str | None = None,
    attachments: Sequence[dict[str, Any]] = (),
    **_others: Any,
) -> None:
    """Refuse what another channel (the 12345 hotline, the work app) sends that cannot be stored as it is: each
    text within its column, a telephone number that is one, coordinates on the globe, attachments that are web
    addresses (http or https with a host; never ``javascript:`` or ``data:``), at most `MAX_ATTACHMENTS`.

    :raises InvalidInput: naming the first field at fault.
    """
    if len((content or "").strip()) > MAX_CONTENT:
        raise InvalidInput(f"诉求内容过长（最多{MAX_CONTENT}字）", "content")
    if len((location or "").strip()) > MAX_LOCATION:
        raise InvalidInput(f"地点过长（最多{MAX_LOCATION}字）", "location")
    if contact_name is not None and len(contact_name.strip()) > MAX_CONTACT_NAME:
        raise InvalidInput(f"联系人姓名过长（最多{MAX_CONTACT_NAME}字）", "contact_name")
    if contact_phone is not None:
        phone = contact_phone.strip()
        if len(phone) > MAX_CONTACT_PHONE or not _PHONE.fullmatch(phone):
            raise InvalidInput(f"联系电话须为电话号码（最多{MAX_CONTACT_PHONE}位，可含 +、-、空格）", "contact_phone")
    for name, value, bound in (("latitude", latitude, 90), ("longitude", longitude, 180)):
        if value is None:
            continue
        try:
            number = float(value)
        except (OverflowError, TypeError, ValueError):
            number = math.inf
        if not (math.isfinite(number) and -bound <= number <= bound):
            raise InvalidInput(f"{'纬度' if name == 'latitude' else '经度'}须在 -{bound} 到 {bound} 之间", name)
    if len(attachments) > MAX_ATTACHMENTS:
        raise InvalidInput(f"附件最多{MAX_ATTACHMENTS}个", "attachments")
    for item in attachments:
        url, kind = item.get("url") or "", item.get("kind") or "image"
        parts = urlsplit(url) if len(url) <= MAX_ATTACHMENT_URL else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidInput(f"附件地址须为 http 或 https 网址（最多{MAX_ATTACHMENT_URL}个字符）", "attachments")
        if not isinstance(kind, str) or len(kind) > MAX_ATTACHMENT_KIND:
            raise InvalidInput(f"附件类型过长（最多{MAX_ATTACHMENT_KIND}个字符）", "attachments")


def intake_digest(fields: dict[str, Any]) -> str:
    """A digest of what another channel sent with a petition, blind to surrounding white space: the same
    petition sent again has the same digest."""

    def text(name: str) -> str:
        return str(fields.get(name) or "").strip()

    kind = fields.get("kind")
    facts = {
        "kind": kind.value if isinstance(kind, PetitionKind) else str(kind),
        **{name: text(name) for name in ("district_code", "content", "location", "contact_name", "contact_phone")},
        "latitude": fields.get("latitude"),
        "longitude": fields.get("longitude"),
        "attachments": [[str(a.get("kind") or "image"), a.get("url")] for a in fields.get("attachments") or ()],
    }
    dept_type = fields.get("dept_type")
    if dept_type is not None:
        # Only when given, so the digests kept of earlier intakes (which had none) stay valid.
        facts["dept_type"] = str(dept_type)
    return hashlib.sha256(json.dumps(facts, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def take_in(
    session: Session, *, channel: Channel, external_id: str, **fields: Any
) -> tuple[Petition, bool]:
    """Idempotent intake from another channel: `(petition, True)` when this call created it, `(petition, False)`
    when the channel's `external_id` was taken in before with the same content (a retry); the repeat is returned
    unchanged. `fields` are `submit_petition`'s, checked by `check_intake`. Flushes but does not commit.

    A concurrent repeat (the hotline retries at once on a timeout) can commit between the look-up and the insert;
    the unique (channel, external_id) constraint then refuses this insert, and the caller, which owns the
    transaction, rolls back and calls again to get the repeat's answer.

    :raises InvalidInput: as `check_intake` and `submit_petition`, for a new petition.
    :raises IntakeConflict: the `external_id` was taken in before with other content.
    :raises IntegrityError: a concurrent call took the same `external_id` in first.
    """
    digest = intake_digest(fields)
    existing = _by_external_id(session, channel, external_id)
    if existing is not None:
        same = (
            existing.intake_digest == digest
            if existing.intake_digest is not None
            # Taken in before digests were kept: what is stored of it must match.
            else existing.content == str(fields.get("content") or "").strip() and existing.kind == fields.get("kind")
        )
        if not same:
            raise IntakeConflict(
                f"external_id「{external_id}」已用于诉求 {existing.number}，但这次的内容与之不同："
                "同一 external_id 只对应一条诉求，新的诉求请使用新的 external_id",
                existing,
            )
        return existing, False
    check_intake(**fields)
    petition = submit_petition(session, channel=channel, external_id=external_id, **fields)
    petition.intake_digest = digest
    return petition, True


def _by_external_id(session: Session, channel: Channel, external_id: str) -> Petition | None:
    return session.scalars(
        select(Petition).where(Petition.channel == channel, Petition.external_id == external_id)
    ).first()
