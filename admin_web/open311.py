"""Open311 GeoReport v2 (/open311/v2): another system (a street's grid app, the city's open-data portal) reads
petitions and files new ones through the standard interface (http://wiki.open311.org/GeoReport_v2).

The mapping onto the platform:

* services are the 21 department types (`DeptType`): ``service_code`` its value, ``service_name`` its Chinese
  label, no extra attributes (``metadata`` false, ``type`` realtime);
* a service request is a petition of kind 民生 or 发展 (执法 petitions are between units and not shown):
  ``service_request_id`` its number, ``status`` closed once the citizen has the reply (or the rejection) and open
  otherwise (a second handling opens it again), ``status_notes`` the result of the reply they received (or the
  rejection's reason), ``agency_responsible`` the unit holding it, ``expected_datetime`` its deadline,
  ``jurisdiction_id`` its district's code;
* no personal data is returned: no name, no telephone, phone numbers in the description masked.

Reading requests needs an Open311 client's ``api_key`` too unless ``[open311] public_read`` is true (the standard
leaves it open, but a petition's text is the citizen's words about their own street: the city decides to publish it);
``services.json`` is always open. Filing (``POST requests.json``) needs the ``api_key`` of an Open311 client
(`Role.OPEN311`, issued with ``qingsu open311 add-client``); the petition goes to the district platform like any
other, through `workflow.intake.take_in`, with the checks of the hotline's intake. A filing is idempotent: by the
client's ``Idempotency-Key`` header (or ``idempotency_key`` parameter) when it sends one, otherwise by what it sent
that day, so a client retrying after a timeout never files twice.

Only JSON is served: a ``.xml`` address answers 400 saying so. Errors are the standard's
``[{"code": <status>, "description": "..."}]``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
from collections.abc import Callable, Iterable
from typing import Any
from zoneinfo import ZoneInfo

import click
from flask import Blueprint, Flask, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload
from werkzeug.exceptions import HTTPException

from admin_web.api.tokens import find_token, issue_token, revoke_token
from admin_web.audit import audit
from admin_web.passwords import hash_password
from admin_web.scoping import mask_text
from classifier import suggest_if_trained
from models import ApiToken, District, Petition, Reply, User, utcnow
from models.bounds import check_instant, parse_day
from models.db import get_session
from models.enums import Channel, DeptType, PetitionKind, PetitionState, ReplyState, Role
from workflow.errors import IntakeConflict, InvalidInput
from workflow.intake import intake_digest, take_in

PREFIX = "/open311/v2"
SHANGHAI = ZoneInfo("Asia/Shanghai")
# The standard's defaults: without dates, the last 90 days; at most 1000 requests an answer.
DEFAULT_WINDOW = dt.timedelta(days=90)
MAX_RESULTS = 1000
MAX_IDS = 200
KEY_LIFETIME = dt.timedelta(days=365)
MAX_IDEMPOTENCY_KEY = 40
MAX_CLIENT_FIELD = 64
_KEY_RE = re.compile(r"[A-Za-z0-9._:\-]+")

# Closed: the citizen has the reply (awaiting or past their rating) or the rejection.
CLOSED_STATES = frozenset(
    {
        PetitionState.REJECTED,
        PetitionState.AWAITING_EVALUATION,
        PetitionState.ASSESSMENT,
        PetitionState.CLOSED,
        PetitionState.UNRATED,
        PetitionState.ACCOUNTABILITY,
    }
)
OPEN_STATES = frozenset(PetitionState) - CLOSED_STATES
PUBLIC_KINDS = (PetitionKind.LIVELIHOOD, PetitionKind.DEVELOPMENT)
SERVICE_GROUPS = {
    "城乡建设与管理": (
        DeptType.HOUSING,
        DeptType.URBAN_MGMT,
        DeptType.NATURAL_RES,
        DeptType.TRANSPORT,
        DeptType.WATER,
        DeptType.HEATING,
        DeptType.UTILITIES,
    ),
    "生态环境": (DeptType.ECOLOGY,),
    "社会事业": (
        DeptType.EDUCATION,
        DeptType.HRSS,
        DeptType.HEALTH,
        DeptType.CIVIL,
        DeptType.CULTURE_TOURISM,
        DeptType.MEDICAL_INS,
    ),
    "经济与营商环境": (
        DeptType.MARKET,
        DeptType.COMMERCE,
        DeptType.TAX,
        DeptType.APPROVAL,
        DeptType.INDUSTRY,
        DeptType.AGRI,
    ),
    "公共安全": (DeptType.POLICE,),
}
GROUP_OF = {dept: group for group, depts in SERVICE_GROUPS.items() for dept in depts}

open311 = Blueprint("open311", __name__, url_prefix=PREFIX)


class Open311Error(Exception):
    """A failure answered in the standard's format with HTTP status `code`."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def error_response(code: int, description: str) -> Response:
    """``[{"code": code, "description": description}]`` with HTTP status `code`."""
    response = jsonify([{"code": code, "description": description}])
    response.status_code = code
    return response


@open311.errorhandler(Open311Error)
def _open311_error(error: Open311Error) -> Response:
    return error_response(error.code, error.description)


@open311.errorhandler(InvalidInput)
def _invalid_input(error: InvalidInput) -> Response:
    field = f"{error.field}: " if error.field else ""
    return error_response(400, f"{field}{error}")


def _check_format(fmt: str) -> None:
    if fmt == "json":
        return
    if fmt == "xml":
        raise Open311Error(400, "本接口只提供 JSON 格式：请把地址中的 .xml 换成 .json")
    raise Open311Error(404, f"未知的格式「.{fmt}」：请使用 .json")


# --- services ------------------------------------------------------------------------------------------------------


def service_dict(dept: DeptType) -> dict[str, Any]:
    """A department type as a GeoReport service."""
    return {
        "service_code": dept.value,
        "service_name": dept.label,
        "description": f"由{dept.label}类职能部门办理的诉求",
        "metadata": False,
        "type": "realtime",
        "keywords": ",".join(dept.label.split("/")),
        "group": GROUP_OF.get(dept, "其他"),
    }


def _service(code: str) -> DeptType | None:
    try:
        return DeptType(code)
    except ValueError:
        return None


@open311.get("/services.<fmt>")
def list_services(fmt: str) -> ResponseReturnValue:
    """Every service (department type) a request can be filed under."""
    _check_format(fmt)
    return jsonify([service_dict(dept) for dept in DeptType])


@open311.get("/services/<code>.<fmt>")
def service_definition(code: str, fmt: str) -> ResponseReturnValue:
    """A service's definition: no service asks for extra attributes, so the list is empty."""
    _check_format(fmt)
    dept = _service(code)
    if dept is None:
        raise Open311Error(404, f"未知的服务「{code}」")
    return jsonify({"service_code": dept.value, "attributes": []})


# --- reading requests ----------------------------------------------------------------------------------------------


def _w3(value: dt.datetime | None) -> str | None:
    """An instant as a W3C datetime in Qingdao's time (``2026-11-27T09:30:00+08:00``)."""
    return value.astimezone(SHANGHAI).isoformat(timespec="seconds") if value is not None else None


def status_of(petition: Petition) -> str:
    """``closed`` once the citizen has the reply or the rejection, ``open`` otherwise."""
    return "closed" if petition.state in CLOSED_STATES else "open"


def request_dict(petition: Petition, reply: Reply | None) -> dict[str, Any]:
    """A petition as a GeoReport service request, without its petitioner's personal data. `reply` is the last reply
    the citizen received."""
    notes: str | None = None
    if petition.state == PetitionState.REJECTED:
        notes = petition.reject_note or "不予受理"
    elif petition.state in CLOSED_STATES and reply is not None:
        notes = reply.result
    # Only addresses another system sent (Open311, the hotline): a WeChat photo's address is the citizen's, not public.
    media = next((a.url for a in petition.attachments if a.url and not a.media_id), None)
    return {
        "service_request_id": petition.number,
        "status": status_of(petition),
        "status_notes": mask_text(notes) if notes else None,
        "service_name": petition.dept_type.label if petition.dept_type else None,
        "service_code": petition.dept_type.value if petition.dept_type else None,
        "description": mask_text(petition.content),
        "agency_responsible": petition.current_unit.name if petition.current_unit else None,
        "service_notice": None,
        "requested_datetime": _w3(petition.created_at),
        "updated_datetime": _w3(petition.updated_at),
        "expected_datetime": _w3(petition.deadline),
        "address": petition.location or None,
        "address_id": None,
        "zipcode": None,
        "jurisdiction_id": petition.district_code,
        "lat": petition.latitude,
        "long": petition.longitude,
        "media_url": media,
    }


def _sent_replies(session: Session, petitions: list[Petition]) -> dict[int, Reply]:
    """The last reply each petition's citizen received, by petition id (one query)."""
    ids = [p.id for p in petitions if p.state in CLOSED_STATES and p.state != PetitionState.REJECTED]
    if not ids:
        return {}
    rows = session.scalars(
        select(Reply)
        .where(Reply.petition_id.in_(ids), Reply.state == ReplyState.SENT)
        .order_by(Reply.petition_id, Reply.handling_round, Reply.id)
    )
    return {reply.petition_id: reply for reply in rows}  # the last of each petition wins


def _requests_response(session: Session, petitions: list[Petition]) -> Response:
    replies = _sent_replies(session, petitions)
    return jsonify([request_dict(p, replies.get(p.id)) for p in petitions])


def _date_param(name: str, end_of_day: bool) -> dt.datetime | None:
    """A W3C datetime with its offset (``2026-11-27T00:00:00+08:00``, ``…Z``), or a date: a whole day in Qingdao."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        day = parse_day(raw) if len(raw) == 10 else None
    except ValueError:
        day = None
    if day is not None:
        start = dt.datetime.combine(day + dt.timedelta(days=int(end_of_day)), dt.time(), tzinfo=SHANGHAI)
        return start.astimezone(dt.UTC)
    try:
        instant = dt.datetime.fromisoformat(raw)
        if instant.tzinfo is None:
            raise ValueError(raw)
        return check_instant(instant)
    except (ValueError, OverflowError):
        raise Open311Error(
            400, f"{name} 须为带时区的 W3C 日期时间（如 2026-11-27T09:30:00+08:00）或日期（2026-11-27）"
        ) from None


def _list_param(name: str) -> list[str]:
    return [item.strip() for item in request.args.get(name, "").split(",") if item.strip()]


def _jurisdiction(session: Session, code: str) -> str:
    if session.get(District, code) is None:
        raise Open311Error(400, f"未知的 jurisdiction_id「{code}」：请使用区(市)代码")
    return code


def _check_reader(session: Session) -> None:
    """Reading requests: open when ``[open311] public_read`` is set, otherwise only with an Open311 client's key."""
    if not current_app.config["OPEN311"]["public_read"]:
        _client(session, request.args, "读取诉求")


@open311.get("/requests.<fmt>")
def list_requests(fmt: str) -> ResponseReturnValue:
    """Service requests, newest first, at most 1000: by ``service_request_id`` (a comma list; the other filters are
    then ignored, as the standard says), or by ``service_code`` (a comma list), ``start_date`` / ``end_date`` (the
    last 90 days when neither is given), ``status`` (open, closed or both) and ``jurisdiction_id``."""
    _check_format(fmt)
    session = get_session()
    _check_reader(session)
    query = select(Petition).where(Petition.kind.in_(PUBLIC_KINDS))
    ids = _list_param("service_request_id")
    if ids:
        if len(ids) > MAX_IDS:
            raise Open311Error(400, f"service_request_id 一次最多 {MAX_IDS} 个")
        query = query.where(Petition.number.in_([i.upper() for i in ids]))
    else:
        codes = _list_param("service_code")
        unknown = [code for code in codes if _service(code) is None]
        if unknown:
            raise Open311Error(400, f"未知的 service_code「{unknown[0]}」：见 services.json")
        if codes:
            query = query.where(Petition.dept_type.in_([DeptType(code) for code in codes]))
        start, end = _date_param("start_date", False), _date_param("end_date", True)
        if start is not None and end is not None and start >= end:
            raise Open311Error(400, "start_date 须早于 end_date")
        if start is None and end is None:
            start = utcnow() - DEFAULT_WINDOW
        if start is not None:
            query = query.where(Petition.created_at >= start)
        if end is not None:
            query = query.where(Petition.created_at < end)
        statuses = {s.lower() for s in _list_param("status")}
        if statuses - {"open", "closed"}:
            raise Open311Error(400, "status 须为 open 或 closed")
        if statuses == {"open"}:
            query = query.where(Petition.state.in_(OPEN_STATES))
        elif statuses == {"closed"}:
            query = query.where(Petition.state.in_(CLOSED_STATES))
    jurisdiction = request.args.get("jurisdiction_id", "").strip()
    if jurisdiction:
        query = query.where(Petition.district_code == _jurisdiction(session, jurisdiction))
    petitions = list(
        session.scalars(
            query.options(selectinload(Petition.current_unit), selectinload(Petition.attachments))
            .order_by(Petition.created_at.desc(), Petition.id.desc())
            .limit(MAX_RESULTS)
        )
    )
    return _requests_response(session, petitions)


@open311.get("/requests/<number>.<fmt>")
def get_request(number: str, fmt: str) -> ResponseReturnValue:
    """One service request (a list of one, as the standard has it); 404 when there is none by that id."""
    _check_format(fmt)
    session = get_session()
    _check_reader(session)
    petition = session.scalars(
        select(Petition).where(Petition.number == number.strip().upper(), Petition.kind.in_(PUBLIC_KINDS))
    ).first()
    if petition is None:
        raise Open311Error(404, f"没有编号为「{number}」的诉求")
    return _requests_response(session, [petition])


# --- filing a request ----------------------------------------------------------------------------------------------


def _posted() -> dict[str, Any]:
    """The POSTed parameters: form-encoded as the standard has it, or a JSON object."""
    if request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise Open311Error(400, "请求体须为表单参数或 JSON 对象")
        return body
    return request.form.to_dict()


def _client(session: Session, values: Any, doing: str = "提交诉求") -> User:
    raw = values.get("api_key")
    if not isinstance(raw, str) or not raw.strip():
        raise Open311Error(403, f"缺少 api_key：{doing}须使用平台发放的 api_key")
    token = find_token(session, raw.strip(), utcnow())
    if token is None:
        raise Open311Error(403, "api_key 无效、已过期或已停用")
    if token.user.role != Role.OPEN311:
        raise Open311Error(403, "该 api_key 不属于 Open311 接入系统")
    return token.user


def _text(values: dict[str, Any], name: str, limit: int | None = None) -> str:
    value = values.get(name)
    if value is None:
        return ""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise Open311Error(400, f"{name} 须为文本")
    text = str(value).strip()
    if limit is not None and len(text) > limit:
        raise Open311Error(400, f"{name} 过长（最多 {limit} 个字符）")
    return text


def _coordinate(values: dict[str, Any], name: str) -> float | None:
    raw = _text(values, name)
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise Open311Error(400, f"{name} 须为数字（WGS84 度）") from None


def _idempotency_key(values: dict[str, Any]) -> str | None:
    key = (request.headers.get("Idempotency-Key") or _text(values, "idempotency_key")).strip()
    if not key:
        return None
    if len(key) > MAX_IDEMPOTENCY_KEY or not _KEY_RE.fullmatch(key):
        raise Open311Error(400, f"Idempotency-Key 须为 1–{MAX_IDEMPOTENCY_KEY} 个字母、数字或 . _ : -")
    return key


def _external_id(client: User, key: str | None, fields: dict[str, Any], now: dt.datetime) -> str:
    """The petition's external id, unique per client: its idempotency key, or else the digest of what it sent that
    day (Qingdao's day), so a retry without a key is recognised too."""
    if key is not None:
        return f"k:{client.id}:{key}"
    day = now.astimezone(SHANGHAI).strftime("%Y%m%d")
    facts = {
        "digest": intake_digest(fields),
        "device_id": fields.get("_device"),
        "account": fields.get("_account"),
    }
    digest = hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:32]
    return f"d:{client.id}:{day}:{digest}"


@open311.post("/requests.<fmt>")
def create_request(fmt: str) -> ResponseReturnValue:
    """File a service request as a petition at the district platform.

    Parameters: ``api_key``; ``service_code``; ``lat`` and ``long`` or ``address_string``; ``description``;
    optional ``jurisdiction_id`` (a district code: required unless the client belongs to one district),
    ``first_name``, ``last_name``, ``phone`` (kept for the handler, never returned), ``email`` (not kept: the
    platform writes no e-mail), ``device_id``, ``account_id``, ``media_url``. 201 with
    ``[{"service_request_id", "service_notice", "account_id"}]``; 200 with the same for a repeat.
    """
    _check_format(fmt)
    session = get_session()
    values = _posted()
    client = _client(session, values)
    dept = _service(_text(values, "service_code"))
    if dept is None:
        code = _text(values, "service_code")
        raise Open311Error(
            400, f"未知的 service_code「{code}」：见 services.json" if code else "缺少 service_code"
        )
    latitude, longitude = _coordinate(values, "lat"), _coordinate(values, "long")
    address = _text(values, "address_string")
    if (latitude is None) != (longitude is None):
        raise Open311Error(400, "lat 与 long 须同时提供")
    if latitude is None and not address:
        raise Open311Error(400, "须提供位置：lat 与 long，或 address_string")
    description = _text(values, "description")
    if not description:
        raise Open311Error(400, "缺少 description（诉求内容）")
    jurisdiction = _text(values, "jurisdiction_id") or client.district_code or ""
    if not jurisdiction:
        raise Open311Error(400, "缺少 jurisdiction_id：请提供诉求所在区(市)的代码")
    if client.district_code is not None and jurisdiction != client.district_code:
        raise Open311Error(400, f"该 api_key 只能提交 jurisdiction_id「{client.district_code}」的诉求")
    _jurisdiction(session, jurisdiction)
    name = (_text(values, "last_name", 50) + _text(values, "first_name", 50)).strip()
    phone = _text(values, "phone")
    media_url = _text(values, "media_url")
    account_id = _text(values, "account_id", MAX_CLIENT_FIELD) or None
    device_id = _text(values, "device_id", MAX_CLIENT_FIELD) or None
    key = _idempotency_key(values)
    now = utcnow()
    fields: dict[str, Any] = {
        "kind": PetitionKind.LIVELIHOOD,
        "district_code": jurisdiction,
        "content": description,
        "location": address,
        "latitude": latitude,
        "longitude": longitude,
        "contact_name": name or None,
        "contact_phone": phone or None,
        "attachments": [{"kind": "image", "url": media_url}] if media_url else [],
        "dept_type": dept,
    }
    external_id = _external_id(client, key, {**fields, "_device": device_id, "_account": account_id}, now)
    suggestion = suggest_if_trained(description, jurisdiction)
    intake = {
        **fields,
        "now": now,
        "channel": Channel.OPEN311,
        "external_id": external_id,
        "created_by": client,
        "suggestion": None if suggestion is None else suggestion.to_dict(),
    }
    try:
        try:
            petition, created = take_in(session, **intake)
        except IntegrityError:
            # A concurrent retry committed the same external id first: after the rollback its petition is found.
            session.rollback()
            petition, created = take_in(session, **intake)
    except IntakeConflict as conflict:
        taken: Petition = conflict.petition  # type: ignore[assignment]
        raise Open311Error(
            409,
            f"Idempotency-Key 已用于诉求 {taken.number}，但这次的内容不同：新的诉求请使用新的 Idempotency-Key",
        ) from None
    if created and (account_id or device_id):
        petition.events[0].data = {
            **petition.events[0].data,
            "account_id": account_id,
            "device_id": device_id,
        }
    session.commit()
    answer_account = account_id if created else (petition.events[0].data or {}).get("account_id")
    notice = f"诉求已提交至{petition.current_unit.name if petition.current_unit else '区(市)平台'}，编号 {petition.number}"
    response = jsonify(
        [{"service_request_id": petition.number, "service_notice": notice, "account_id": answer_account}]
    )
    response.status_code = 201 if created else 200
    return response


# --- errors outside the views, and registration ----------------------------------------------------------------------


def _is_open311_path() -> bool:
    return request.path == PREFIX or request.path.startswith(PREFIX + "/")


def _register_http_error_handler(app: Flask) -> None:
    """Answer HTTP errors (unknown path, wrong method, body too large) under /open311/v2 in the standard's format,
    keeping the handler registered before for every other path."""
    previous: Callable[[HTTPException], Any] | None = app.error_handler_spec[None][None].get(HTTPException)

    def handle(error: HTTPException) -> Any:
        if _is_open311_path():
            return error_response(error.code or 500, error.description or "请求失败")
        return previous(error) if previous is not None else error

    app.register_error_handler(HTTPException, handle)


# --- issuing keys --------------------------------------------------------------------------------------------------


@click.group("open311")
def open311_group() -> None:
    """Open311 clients and their api keys."""


def _client_named(session: Session, username: str) -> User:
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None or user.role != Role.OPEN311:
        raise click.BadParameter(f"no Open311 client {username!r}", param_hint="--username")
    return user


def _print_key(raw: str, row: ApiToken) -> None:
    click.echo(f"api_key: {raw}")
    click.echo(
        f"expires: {row.expires_at.isoformat() if row.expires_at else 'never'} (shown once; keep it secret)"
    )


@open311_group.command("add-client")
@click.option("--username", required=True, help="The client's account name, e.g. shinan-grid-app.")
@click.option("--name", "display_name", required=True, help="Who it is, shown in the petitions' history.")
@click.option(
    "--district", "district_code", default=None, help="Its one district; omit for a city-wide client."
)
@click.option("--days", default=KEY_LIFETIME.days, show_default=True, type=click.IntRange(1, 3660))
def add_client_command(username: str, display_name: str, district_code: str | None, days: int) -> None:
    """Create an Open311 client's account and print its first api_key. The account cannot sign in anywhere else
    (its password is random and never shown)."""
    session = get_session()
    if not re.fullmatch(r"[A-Za-z0-9_.\-]{3,60}", username):
        raise click.BadParameter("3 to 60 letters, digits or _ . -", param_hint="--username")
    if session.scalars(select(User.id).where(User.username == username)).first() is not None:
        raise click.BadParameter(f"{username} already exists", param_hint="--username")
    if not 1 <= len(display_name.strip()) <= 60:
        raise click.BadParameter("1 to 60 characters", param_hint="--name")
    if district_code is not None and session.get(District, district_code) is None:
        raise click.BadParameter(f"unknown district {district_code!r}", param_hint="--district")
    user = User(
        username=username,
        display_name=display_name.strip(),
        role=Role.OPEN311,
        district_code=district_code,
        password_hash=hash_password(secrets.token_urlsafe(32)),
        must_change_password=True,
    )
    session.add(user)
    session.flush()
    issued = issue_token(session, user, utcnow(), "open311", lifetime=dt.timedelta(days=days))
    audit(session, None, "open311_client_created", f"user:{username}", f"district={district_code or 'city'}")
    session.commit()
    _print_key(issued.raw, issued.row)


@open311_group.command("issue-key")
@click.option("--username", required=True)
@click.option("--days", default=KEY_LIFETIME.days, show_default=True, type=click.IntRange(1, 3660))
def issue_key_command(username: str, days: int) -> None:
    """Print a new api_key for an Open311 client (the old ones keep working until revoked or expired)."""
    session = get_session()
    user = _client_named(session, username)
    issued = issue_token(session, user, utcnow(), "open311", lifetime=dt.timedelta(days=days))
    audit(session, None, "api_token_issued", f"token:{issued.row.id}", f"open311 client {username}")
    session.commit()
    _print_key(issued.raw, issued.row)


@open311_group.command("revoke-keys")
@click.option("--username", required=True)
def revoke_keys_command(username: str) -> None:
    """Stop every api_key of an Open311 client."""
    session = get_session()
    user = _client_named(session, username)
    rows: Iterable[ApiToken] = session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked.is_(False))
    )
    count = 0
    for row in rows:
        revoke_token(row)
        count += 1
    audit(session, None, "api_token_revoked", f"user:{username}", f"{count} open311 keys")
    session.commit()
    click.echo(f"revoked {count} key(s) of {username}")


def init_app(app: Flask) -> None:
    """Register the Open311 blueprint (exempt from CSRF: no cookie is involved), its error format and its commands."""
    app.register_blueprint(open311)
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(open311)
    _register_http_error_handler(app)
    app.cli.add_command(open311_group)
