"""Taking a petition in: its number, its first history row, and idempotent intake from other channels."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import Attachment, Citizen, District, Petition, PetitionEvent, PetitionSequence, Unit, User
from models.enums import Channel, CitizenKind, Complexity, Nature, PetitionKind, PetitionState, UnitLevel
from workflow import routing
from workflow.actors import actor_label
from workflow.calendar import load_calendar
from workflow.deadlines import compute_deadline, time_limit
from workflow.errors import InvalidInput
from workflow.limits import MAX_LENGTH

SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_CONTENT = MAX_LENGTH["content"]
TITLE_LENGTH = 30


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
) -> Petition:
    """Create a petition at the district platform (待研判) with its number and first history row.

    Flushes but does not commit. `external_id` is the sending system's id, unique per channel; for idempotent
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
        petition.attachments.append(
            Attachment(kind=item.get("kind", "image"), media_id=item.get("media_id"), url=item.get("url"), created_at=now)
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


def take_in(
    session: Session, *, channel: Channel, external_id: str, **fields: Any
) -> tuple[Petition, bool]:
    """Idempotent intake from another channel: `(petition, True)` when this call created it, `(petition, False)`
    when the channel's `external_id` was taken in before; a repeat is returned unchanged. `fields` are
    `submit_petition`'s. Flushes but does not commit.

    A concurrent repeat (the hotline retries at once on a timeout) can commit between the look-up and the insert;
    the unique (channel, external_id) constraint then refuses this insert, and the caller, which owns the
    transaction, rolls back and calls again to get the repeat's answer.

    :raises InvalidInput: as `submit_petition`, for a new petition.
    :raises IntegrityError: a concurrent call took the same `external_id` in first.
    """
    existing = _by_external_id(session, channel, external_id)
    if existing is not None:
        return existing, False
    return submit_petition(session, channel=channel, external_id=external_id, **fields), True


def _by_external_id(session: Session, channel: Channel, external_id: str) -> Petition | None:
    return session.scalars(
        select(Petition).where(Petition.channel == channel, Petition.external_id == external_id)
    ).first()
