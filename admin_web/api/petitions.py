"""Petitions over the API: list and filter, read one, perform a workflow action, and take one in from another channel.

Scope is the admin site's (`admin_web.scoping`): a petition outside the caller's scope is 404, exactly like one that
does not exist. Workflow actions go through `workflow.engine.perform` under the workflow's own names.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
from typing import Any
from zoneinfo import ZoneInfo

from flask import jsonify, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import Select, func, or_, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from admin_web.api.actions import action_params
from admin_web.api.blueprint import api, api_user, json_body
from admin_web.api.errors import ApiError
from admin_web.api.serialize import event_dict, petition_detail, petition_summary
from admin_web.media import attachment_response
from admin_web.scoping import can_see, petition_or_404, scoped_petitions
from classifier import suggest_if_trained
from models import Petition, User, utcnow
from models.bounds import MAX_ID, check_instant, in_range_message, parse_day, parse_id
from models.db import get_session
from models.enums import Channel, Light, PetitionKind, PetitionState, Role
from workflow.actors import is_hotline_for
from workflow.engine import TRANSITIONS, perform, why_not
from workflow.errors import IntakeConflict, TransitionRefused
from workflow.intake import take_in
from workflow.supplements import add_supplement

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100
MAX_PAGE = 100_000
EXTERNAL_ID_MAX = Petition.__table__.c.external_id.type.length

# Who may take petitions in over the API, and through which channel: the hotline for any district, district staff
# (the work app) for their own.
INTAKE_CHANNELS: dict[Role, Channel] = {
    Role.HOTLINE: Channel.HOTLINE,
    Role.DISPATCHER: Channel.WORKAPP,
    Role.HANDLER: Channel.WORKAPP,
}


# --- listing -------------------------------------------------------------------------------------------------------


def _enum_arg(name: str, cls: type) -> Any:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return cls(raw)
    except ValueError:
        raise ApiError(422, "invalid_input", f"参数 {name} 的取值「{raw}」无效", field=name) from None


def int_arg(name: str, default: int | None, low: int, high: int = MAX_ID) -> int | None:
    """The whole number in ``?<name>=`` between `low` (at least 1) and `high`, or `default` when absent.

    :raises ApiError: 422 naming the parameter for anything else (signs, non-ASCII digits, past `high`).
    """
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    value = parse_id(raw)
    if value is None or not low <= value <= high:
        raise ApiError(422, "invalid_input", f"参数 {name} 须为整数（{low}–{high}）", field=name)
    return value


def _instant_arg(name: str, end_of_day: bool) -> dt.datetime | None:
    """A date (a whole Asia/Shanghai day: its start, or with `end_of_day` the next day's start) or an aware datetime,
    within the years `models.bounds` allows."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        day = parse_day(raw)
    except ValueError:
        pass
    else:
        start = dt.datetime.combine(day + dt.timedelta(days=int(end_of_day)), dt.time(), tzinfo=SHANGHAI)
        return start.astimezone(dt.UTC)
    try:
        instant = dt.datetime.fromisoformat(raw)
    except ValueError:
        instant = None
    if instant is None or instant.tzinfo is None:
        raise ApiError(422, "invalid_input", f"参数 {name} 须为日期（2026-11-27）或带时区的时间", field=name)
    try:
        return check_instant(instant)
    except (ValueError, OverflowError):
        raise ApiError(422, "invalid_input", in_range_message(f"参数 {name} "), field=name) from None


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@api.get("/petitions")
def list_petitions() -> ResponseReturnValue:
    """The caller's petitions, newest first, filtered and paginated by page number; with ``updated_from`` (or a
    ``cursor``) the changes since then, oldest change first, paginated by cursor."""
    user = api_user()
    query = scoped_petitions(user)
    state = _enum_arg("state", PetitionState)
    light = _enum_arg("light", Light)
    kind = _enum_arg("kind", PetitionKind)
    unit_id = int_arg("unit", None, 1)
    district = request.args.get("district", "").strip()
    number = request.args.get("number", "").strip().upper()
    text = request.args.get("q", "").strip()
    created_from = _instant_arg("created_from", end_of_day=False)
    created_to = _instant_arg("created_to", end_of_day=True)
    # For a partner that mirrors status changes (the hotline): what changed since its last poll.
    updated_from = _instant_arg("updated_from", end_of_day=False)
    channel = _enum_arg("channel", Channel)
    page = int_arg("page", 1, 1, MAX_PAGE) or 1
    per_page = int_arg("per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE) or DEFAULT_PER_PAGE
    if state is not None:
        query = query.where(Petition.state == state)
    if light is not None:
        query = query.where(Petition.light == light)
    if kind is not None:
        query = query.where(Petition.kind == kind)
    if unit_id is not None:
        query = query.where(Petition.current_unit_id == unit_id)
    if district:
        query = query.where(Petition.district_code == district)
    if number:
        query = query.where(Petition.number == number)
    if text:
        pattern = _like(text)
        query = query.where(
            or_(Petition.title.like(pattern, escape="\\"), Petition.content.like(pattern, escape="\\"))
        )
    if created_from is not None:
        query = query.where(Petition.created_at >= created_from)
    if created_to is not None:
        query = query.where(Petition.created_at < created_to)
    if updated_from is not None:
        query = query.where(Petition.updated_at >= updated_from)
    if channel is not None:
        query = query.where(Petition.channel == channel)

    session = get_session()
    query = query.options(selectinload(Petition.current_unit))
    cursor = request.args.get("cursor", "").strip()
    if updated_from is not None or cursor:
        return _changes_page(session, query, user, cursor, per_page)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = session.scalars(
        query.order_by(Petition.created_at.desc(), Petition.id.desc()).limit(per_page).offset((page - 1) * per_page)
    )
    return jsonify(
        items=[petition_summary(p, user) for p in rows],
        page=page,
        per_page=per_page,
        total=total,
        pages=math.ceil(total / per_page),
        next_cursor=None,
    )


def encode_cursor(updated_at: dt.datetime, petition_id: int) -> str:
    """The opaque position after a petition in the (updated_at, id) order."""
    raw = f"{updated_at.astimezone(dt.UTC).isoformat()}|{petition_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    """:raises ApiError: 422 for a cursor this API did not hand out."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        instant, _, petition_id = raw.partition("|")
        updated_at = dt.datetime.fromisoformat(instant)
        position = parse_id(petition_id)
        if updated_at.tzinfo is None or position is None:
            raise ValueError(raw)
        return check_instant(updated_at), position
    except (ValueError, OverflowError):
        raise ApiError(422, "invalid_input", "参数 cursor 无效：请使用上一页返回的 next_cursor", field="cursor") from None


def _changes_page(
    session: Session, query: Select[tuple[Petition]], user: User, cursor: str, per_page: int
) -> ResponseReturnValue:
    """Changes for a partner that mirrors them (the hotline polling ``updated_from``): oldest change first, by
    (updated_at, id), and a `next_cursor` that continues exactly after the last row. Unlike page numbers, the
    cursor neither skips nor repeats a petition when others change meanwhile or share an updated_at; a petition
    changed again after it was read comes again later, as a partner mirroring changes wants."""
    if request.args.get("page", "").strip() not in ("", "1"):
        raise ApiError(422, "invalid_input", "按 updated_from 同步时请用 cursor 翻页，不用 page", field="page")
    if cursor:
        after = decode_cursor(cursor)
        query = query.where(tuple_(Petition.updated_at, Petition.id) > tuple_(*after))
    rows = list(session.scalars(query.order_by(Petition.updated_at, Petition.id).limit(per_page + 1)))
    more = len(rows) > per_page
    rows = rows[:per_page]
    return jsonify(
        items=[petition_summary(p, user) for p in rows],
        per_page=per_page,
        next_cursor=encode_cursor(rows[-1].updated_at, rows[-1].id) if more else None,
    )


# --- one petition and its actions -----------------------------------------------------------------------------------


@api.get("/petitions/<number>")
def get_petition(number: str) -> ResponseReturnValue:
    """One petition with its events, replies, extension requests and the actions the caller may take."""
    session = get_session()
    user = api_user()
    return jsonify(petition_detail(session, petition_or_404(session, user, number), user))


@api.get("/petitions/<number>/attachments/<int:attachment_id>")
def petition_attachment(number: str, attachment_id: int) -> ResponseReturnValue:
    """The kept copy of an image or voice message a citizen sent (404 when not stored or outside the scope)."""
    session = get_session()
    return attachment_response(petition_or_404(session, api_user(), number), attachment_id)


@api.post("/petitions/<number>/actions/<action>")
def perform_action(number: str, action: str) -> ResponseReturnValue:
    """Run a workflow action; the body holds its parameters and the state the caller saw (``expected_state``).

    404 unknown action or petition; 409 the petition is no longer in ``expected_state``, the action does not apply
    in its state, or a workflow rule refuses it now; 403 the caller's role may not take it; 422 bad parameters.
    """
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise ApiError(404, "unknown_action", f"未知操作「{action}」")
    session = get_session()
    user = api_user()
    petition = petition_or_404(session, user, number)
    body = json_body()
    expected = body.get("expected_state")
    if not isinstance(expected, str) or expected not in PetitionState.__members__.values():
        raise ApiError(
            422, "invalid_input", "请提供 expected_state（操作前看到的诉求状态）", field="expected_state"
        )
    params = action_params(action, body)
    note = params.pop("note", None) or ""
    if petition.state == PetitionState(expected):
        reason = why_not(transition, petition, user)
        if reason is not None and petition.state not in transition.sources:
            raise ApiError(409, "wrong_state", reason)
        if reason is not None and not transition.who(petition, user):
            raise ApiError(403, "forbidden", reason)
    try:
        event = perform(
            session, petition, action, user, utcnow(), expected_state=expected, note=note, **params
        )
    except TransitionRefused as refused:
        # State and role were checked above, so what is left is a workflow rule refusing it in the present situation.
        raise ApiError(409, "action_refused", str(refused)) from None
    session.commit()
    return jsonify(event_id=event.id, petition=petition_detail(session, petition, user))


# --- intake from other channels -----------------------------------------------------------------------------------


def _intake_values(body: dict[str, Any], user: User) -> dict[str, Any]:
    strings = ("external_id", "district_code", "kind", "content", "location", "contact_name", "contact_phone")
    for field in strings:
        if body.get(field) is not None and not isinstance(body[field], str):
            raise ApiError(422, "invalid_input", f"{field} 须为字符串", field=field)
    for field in ("latitude", "longitude"):
        value = body.get(field)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ApiError(422, "invalid_input", f"{field} 须为数字", field=field)
    external_id = (body.get("external_id") or "").strip()
    if not external_id or len(external_id) > EXTERNAL_ID_MAX:
        raise ApiError(
            422, "invalid_input", f"请提供 external_id（1–{EXTERNAL_ID_MAX} 个字符）", field="external_id"
        )
    try:
        kind = PetitionKind(body.get("kind") or "")
    except ValueError:
        raise ApiError(
            422, "invalid_input", "kind 须为 livelihood、development 或 enforcement", field="kind"
        ) from None
    district_code = (body.get("district_code") or user.district_code or "").strip()
    if user.district_code is not None and district_code != user.district_code:
        raise ApiError(422, "invalid_input", "只能为本区(市)录入诉求", field="district_code")
    attachments = body.get("attachments") or []
    if not isinstance(attachments, list) or not all(
        isinstance(a, dict) and isinstance(a.get("url"), str) for a in attachments
    ):
        raise ApiError(422, "invalid_input", 'attachments 须为 [{"url": ...}] 列表', field="attachments")
    return {
        "external_id": external_id,
        "kind": kind,
        "district_code": district_code,
        "content": body.get("content") or "",
        "location": body.get("location") or "",
        "latitude": body.get("latitude"),
        "longitude": body.get("longitude"),
        "contact_name": (body.get("contact_name") or "").strip() or None,
        "contact_phone": (body.get("contact_phone") or "").strip() or None,
        "attachments": [{"kind": str(a.get("kind") or "image"), "url": a["url"]} for a in attachments],
    }


def _check_may_know(session: Session, petition: Petition, user: User) -> None:
    # The same external id from a caller who neither entered the first petition nor may see it must not reveal it.
    # (A community worker's petition goes to the district platform, out of the worker's scope, yet is theirs.)
    if petition.created_by_id != user.id and not can_see(user, petition, session):
        raise ApiError(409, "external_id_taken", "该 external_id 已被其他来源使用")


def _repeat(session: Session, petition: Petition, user: User) -> ResponseReturnValue:
    _check_may_know(session, petition, user)
    return jsonify(petition_detail(session, petition, user)), 200


@api.post("/petitions")
def create_petition() -> ResponseReturnValue:
    """Take a petition in from the 12345 hotline or the work app; idempotent per channel and ``external_id``.

    201 with the new petition the first time; 200 with the same petition when the id comes again with the same
    content (a retry); 409 ``external_id_conflict`` naming the petition (``petition_number``) when it comes with
    other content.
    """
    user = api_user()
    channel = INTAKE_CHANNELS.get(user.role)
    if channel is None:
        raise ApiError(403, "forbidden", f"「{user.role.label}」不能通过接口录入诉求")
    values = _intake_values(json_body(), user)
    session = get_session()
    origin_unit = user.unit if values["kind"] == PetitionKind.ENFORCEMENT else None
    # Computed for a repeat too (about a millisecond): whether this is a repeat is only known inside `take_in`.
    suggestion = suggest_if_trained(values["content"], values["district_code"])
    fields = {
        "now": utcnow(),
        "channel": channel,
        "created_by": user,
        "origin_unit": origin_unit,
        "suggestion": None if suggestion is None else suggestion.to_dict(),
        **values,
    }
    try:
        try:
            petition, created = take_in(session, **fields)
        except IntegrityError:
            # A concurrent repeat committed the same external id first: after the rollback its petition is found.
            session.rollback()
            petition, created = take_in(session, **fields)
    except IntakeConflict as conflict:
        taken: Petition = conflict.petition  # type: ignore[assignment]
        _check_may_know(session, taken, user)
        raise ApiError(409, "external_id_conflict", str(conflict), petition_number=taken.number) from None
    session.commit()
    if not created:
        return _repeat(session, petition, user)
    response = jsonify(petition_detail(session, petition, user))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_petition", number=petition.number)
    return response


# --- the hotline adding information -------------------------------------------------------------------------------


@api.post("/petitions/<number>/supplements")
def add_petition_supplement(number: str) -> ResponseReturnValue:
    """The 12345 hotline adds what its petitioner called back with (补充材料) to a petition it filed.

    Body: ``client_id`` (the hotline's id of this supplement: the same id again is a retry), ``text`` and optional
    ``attachments`` ([{"url", "kind"}]). 201 with the history row; 200 with the same row for a retry; 403 a role
    other than the hotline, or a petition the hotline did not file; 404 no such petition; 409 the petition is
    finished (办结, 未评价, 移交问责, 不予受理) or the client_id was used for another text; 422 bad input.
    """
    user = api_user()
    session = get_session()
    petition = petition_or_404(session, user, number)
    if user.role != Role.HOTLINE:
        raise ApiError(403, "forbidden", f"「{user.role.label}」不能通过接口补充诉求材料")
    if not is_hotline_for(user, petition):
        raise ApiError(403, "forbidden", "只能为12345热线转来的诉求补充材料")
    body = json_body()
    for field in ("client_id", "text"):
        if not isinstance(body.get(field), str):
            raise ApiError(422, "invalid_input", f"{field} 须为字符串", field=field)
    attachments = body.get("attachments") or []
    if not isinstance(attachments, list) or not all(
        isinstance(a, dict) and isinstance(a.get("url"), str) and isinstance(a.get("kind", "image"), str)
        for a in attachments
    ):
        raise ApiError(422, "invalid_input", 'attachments 须为 [{"url": ...}] 列表', field="attachments")
    try:
        event, created = add_supplement(
            session,
            petition,
            user,
            utcnow(),
            text=body["text"],
            client_id=body["client_id"],
            attachments=[{"kind": a.get("kind") or "image", "url": a["url"]} for a in attachments],
        )
    except IntakeConflict as conflict:
        raise ApiError(409, "client_id_conflict", str(conflict), field="client_id") from None
    session.commit()
    return jsonify(event=event_dict(event, user), petition_number=petition.number), 201 if created else 200
