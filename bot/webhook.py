"""`GET|POST /wechat/<district_code>`: the one webhook for the ten district accounts.

A request goes through one pipeline: find the account → verify the signature and the timestamp → read the
body → decrypt (safe mode) → parse once → handle it exactly once → reply (encrypted in safe mode).
Protocol: 接入指南 https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/Access_Overview.html and
消息加解密说明 https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Message_encryption_and_decryption_instructions.html

WeChat retries a request it got no answer to within 5 seconds, up to three times. Each message is handled in
one transaction that first inserts its dedupe row (`InboundMessage`) and ends by storing the reply: a retry that
arrives meanwhile waits on that row's unique key (PostgreSQL) or the write lock (SQLite), then finds the stored
reply and sends it again; if the first attempt failed, nothing of it was committed and the retry does the work.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import logging
import re
import secrets
from typing import Any
from xml.parsers import expat
from xml.parsers.expat import ExpatError

import xmltodict
from flask import Blueprint, Flask, Request, Response, current_app, request
from flask.sessions import SessionInterface, SessionMixin
from sqlalchemy import Column, Executable, String, bindparam, func, insert, literal, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session
from wechatpy.events import EVENT_TYPES
from wechatpy.messages import MESSAGE_TYPES, BaseMessage, UnknownMessage

from bot import texts
from bot.accounts import AccountCache, ServedAccount
from bot.handlers import LOOK_UP, PRESUMED_NEW, Inbound, Sender, dispatch, registry_key
from models import Citizen, Conversation, InboundMessage, WebhookNonce, utcnow
from models.db import execute_alone, get_session, write_alone

log = logging.getLogger(__name__)

bp = Blueprint("bot", __name__)

# WeChat's "no reply": it shows nothing to the user and does not retry.
NO_REPLY = "success"
DEDUPE_KEY_LENGTH = 160
# How often a message is handled when its transaction meets another one's new rows (see handle_once).
ATTEMPTS = 2
ACCOUNTS_KEY = "bot.accounts"
KNOWN_SENDERS_KEY = "bot.known_senders"
# A refused request reads its account afresh (a manager may have changed the keys), at most this often per account.
REREAD_AFTER_SECONDS = 1.0
# The envelope of a safe-mode reply, as wechatpy writes it.
_ENCRYPTED_REPLY = (
    "<xml>\n<Encrypt><![CDATA[{encrypt}]]></Encrypt>\n<MsgSignature><![CDATA[{signature}]]></MsgSignature>\n"
    "<TimeStamp>{timestamp}</TimeStamp>\n<Nonce><![CDATA[{nonce}]]></Nonce>\n</xml>"
)


class Rejected(Exception):
    """A request refused before anything is changed; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def signature_of(*parts: str) -> str:
    """WeChat's signature: SHA-1 over the parts sorted and concatenated."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def _check_signed(expected_parts: tuple[str, ...], given: str | None, what: str) -> None:
    # Constant-time comparison so the signature cannot be guessed byte by byte from response times.
    if not given or not hmac.compare_digest(signature_of(*expected_parts).encode(), given.encode("utf-8")):
        raise Rejected(403, f"bad {what}")


# Seconds since 1970 have had ten digits since 2001 and will until 2286; more is a millisecond stamp or an attack.
_TIMESTAMP_DIGITS = 10


def _check_timestamp(timestamp: str, now: dt.datetime, window_seconds: int) -> None:
    if not (timestamp.isascii() and timestamp.isdigit()):
        raise Rejected(403, "timestamp is not a number")
    # Compared as whole numbers: a 400-digit timestamp is simply far away (as a float it overflowed).
    if len(timestamp) > _TIMESTAMP_DIGITS or abs(int(now.timestamp()) - int(timestamp)) > window_seconds:
        raise Rejected(403, "timestamp outside the replay window")


class _Body:
    """The request body, read once however often the pipeline asks (a refused request may be tried again)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._data: bytes | None = None

    def read(self) -> bytes:
        if self._data is None:
            max_bytes = self.max_bytes
            environ = request.environ
            length = environ.get("CONTENT_LENGTH", "")
            if length.isascii() and length.isdigit():
                # As WeChat sends it: exactly Content-Length bytes from the server's input (what Werkzeug's
                # `request.stream` would wrap to read them: a tenth of the Python calls).
                if int(length) > max_bytes:
                    raise Rejected(413, "body too large")
                self._data = environ["wsgi.input"].read(int(length)) if int(length) else b""
            else:
                if request.content_length is not None and request.content_length > max_bytes:
                    raise Rejected(413, "body too large")
                # Read one byte more than allowed, so a body without Content-Length is caught too.
                self._data = request.stream.read(max_bytes + 1)
        if len(self._data) > self.max_bytes:
            raise Rejected(413, "body too large")
        return self._data


class _NotFlat(Exception):
    """The document is not a flat ``<xml>`` of text fields: `_flat_fields` leaves it to xmltodict."""


def _flat_fields(data: bytes | str) -> dict[str, object] | None:
    """The fields of a flat ``<xml>`` document (text children without attributes, each named once), exactly as
    xmltodict gives them (`tests/bot/test_flat_xml.py` pins the two equal); None for anything else (a document type
    declaration, attributes, nesting, a repeated name, another root, no field): xmltodict then parses it.

    Every message WeChat sends is flat; parsing it here costs a third of xmltodict's Python calls.

    :raises ExpatError: the XML is malformed.
    """
    fields: dict[str, object] = {}
    # The character data of the root (the whitespace between the fields) and of the field being read.
    around: list[str] = []
    text: list[str] = []
    depth = 0

    def start(name: str, attributes: list[str]) -> None:
        nonlocal depth
        depth += 1
        if attributes or depth > 2 or (depth == 1 and name != "xml") or name in fields:
            raise _NotFlat
        text.clear()

    def end(name: str) -> None:
        nonlocal depth
        depth -= 1
        if depth == 1:
            fields[name] = "".join(text) if text else None
        elif not fields:
            raise _NotFlat
        elif around:
            # As xmltodict keeps it (strip_whitespace=False): the root's own text, after its fields.
            fields["#text"] = "".join(around)

    def characters(data: str) -> None:
        (text if depth == 2 else around).append(data)

    def refuse(*_arguments: object) -> None:
        raise _NotFlat

    # As xmltodict: text is parsed as its UTF-8 encoding, bytes in the encoding their declaration names.
    parser = expat.ParserCreate("utf-8" if isinstance(data, str) else None)
    parser.ordered_attributes = True
    parser.buffer_text = True
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    parser.StartDoctypeDeclHandler = refuse
    try:
        parser.Parse(data.encode() if isinstance(data, str) else data, True)
    except _NotFlat:
        return None
    return fields or None


def _parse_xml(data: bytes | str) -> dict[str, object]:
    try:
        flat = _flat_fields(data)
    except ExpatError as exc:
        raise Rejected(400, f"malformed XML: {exc}") from None
    if flat is not None:
        return flat
    try:
        # xmltodict refuses entity declarations (billion laughs, external entities) with ValueError.
        # Whitespace is kept: it is part of what the citizen typed.
        document = xmltodict.parse(data, strip_whitespace=False)
    except (ExpatError, ValueError) as exc:
        raise Rejected(400, f"malformed XML: {exc}") from None
    root = document.get("xml") if isinstance(document, dict) else None
    if not isinstance(root, dict):
        raise Rejected(400, "no <xml> root with fields")
    return root


# The envelope exactly as WeChat sends it: its Encrypt field is read without an XML parser. A body in any other form
# (other fields, other spacing, entities, comments) is parsed.
_CANONICAL_ENVELOPE = re.compile(
    rb"\s*<xml>\s*(?:<ToUserName><!\[CDATA\[[A-Za-z0-9_-]*\]\]></ToUserName>\s*)?"
    rb"<Encrypt><!\[CDATA\[([A-Za-z0-9+/=]+)\]\]></Encrypt>\s*</xml>\s*"
)


def _remember_signature(session: Session, account: ServedAccount, query: dict[str, str], body: bytes,
                        now: dt.datetime) -> None:
    """Plain mode: record the request's (timestamp, nonce) with a digest of its body, committed at once.

    WeChat's plain-mode signature does not cover the body, so this memory is what ties a signed query string to
    one message: the same query again with the same body is WeChat retrying (and goes on to the stored reply), with
    another body a replay (refused). Safe mode needs none: its msg_signature covers the encrypted body.

    :raises Rejected: 403 when the query was accepted before with another body.
    """
    key = hashlib.sha256(
        f"{account.district_code}\n{query.get('timestamp', '')}\n{query.get('nonce', '')}".encode()
    ).hexdigest()
    digest = hashlib.sha256(body).hexdigest()
    dialect = session.get_bind().dialect.name
    statement = (
        (pg_insert if dialect == "postgresql" else sqlite_insert)(_NONCE)
        .on_conflict_do_nothing()
        .returning(_NONCE.c.key)
    )
    inserted = execute_alone(session, statement, {"key": key, "body_digest": digest, "created_at": now}).first()
    if session.in_transaction():
        # Kept whatever becomes of the message (a retry carries the same body), and no write lock held meanwhile.
        session.commit()
    if inserted is not None:
        return
    stored = session.execute(_NONCE_DIGEST, {"key": key}).scalar()
    if stored != digest:
        raise Rejected(403, "signature already used for another message")


def _decrypt(account: ServedAccount, body: bytes, query: dict[str, str]) -> str:
    """The inner message XML of a safe-mode request, after checking msg_signature over its Encrypt field."""
    if query.get("encrypt_type") != "aes":
        raise Rejected(400, "account is in safe mode but the message is not encrypted")
    canonical = _CANONICAL_ENVELOPE.fullmatch(body)
    if canonical is not None:
        encrypted: object = canonical.group(1).decode("ascii")
    else:
        encrypted = _parse_xml(body).get("Encrypt")
    if not isinstance(encrypted, str) or not encrypted:
        raise Rejected(400, "no Encrypt field")
    _check_signed(
        (account.token, query.get("timestamp", ""), query.get("nonce", ""), encrypted),
        query.get("msg_signature"),
        "msg_signature",
    )
    assert account.prp is not None
    try:
        return account.prp.decrypt(encrypted, account.appid)
    except Exception as exc:
        # Anything from base64, the cipher, the padding, the length prefix or the appid check: not for us.
        raise Rejected(400, f"cannot decrypt: {type(exc).__name__}") from None


# The fields the handlers read; each must be plain text (xmltodict makes nested elements dicts).
_TEXT_FIELDS = (
    "MsgType",
    "FromUserName",
    "ToUserName",
    "Content",
    "Recognition",
    "Event",
    "EventKey",
    "MediaId",
    "PicUrl",
    "Location_X",
    "Location_Y",
    "Label",
    "Title",
    "Description",
    "Url",
)
_NUMERIC_FIELDS = ("MsgId", "CreateTime")


def _parse_message(xml: bytes | str) -> BaseMessage:
    """The message object for `xml`, through wechatpy's registries of message and event types."""
    fields = _parse_xml(xml)
    if not isinstance(fields.get("MsgType"), str) or not isinstance(fields.get("FromUserName"), str):
        raise Rejected(400, "message lacks MsgType or FromUserName")
    for name in _TEXT_FIELDS:
        if fields.get(name) is not None and not isinstance(fields[name], str):
            raise Rejected(400, f"{name} is not text")
    for name in _NUMERIC_FIELDS:
        value = fields.get(name)
        if value is not None and not (isinstance(value, str) and value.isascii() and value.isdigit()):
            raise Rejected(400, f"{name} is not a number")
    msg_type = str(fields["MsgType"]).lower()
    if msg_type == "event":
        message_class = EVENT_TYPES.get(str(fields.get("Event") or "").lower(), UnknownMessage)
    else:
        message_class = MESSAGE_TYPES.get(msg_type, UnknownMessage)
    return message_class(fields)


def dedupe_key(district_code: str, message: BaseMessage) -> str:
    """The identity of a message across WeChat's retries: MsgId for messages, sender + time + event for events.

    Over-long keys (an unusually long openid or EventKey) are hashed to fit the column.
    """
    if registry_key(message).startswith("event."):
        # The EventKey too: two different buttons tapped within one second are two events, a retry repeats it.
        event = f"{message._data.get('Event', '')}:{message._data.get('EventKey') or ''}"
        key = f"{district_code}:event:{message.source}:{message.time}:{event}"
    elif message.id:
        key = f"{district_code}:msg:{message.id}"
    else:
        key = f"{district_code}:msg:{message.source}:{message.time}:{message.type}"
    if len(key) > DEDUPE_KEY_LENGTH:
        key = f"{district_code}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"
    return key


# Built once: a statement object keeps its cache key, so running it again costs no construction and no key.
_INBOUND = InboundMessage.__table__
_RECORD_MESSAGE = insert(_INBOUND)
_STORE_REPLY = (
    update(_INBOUND)
    .where(_INBOUND.c.dedupe_key == bindparam("key"))
    .values(reply=bindparam("reply"), done=True)
)
_STORED_REPLY = select(_INBOUND.c.reply).where(_INBOUND.c.dedupe_key == bindparam("key"))
_INSERT_CITIZEN = insert(Citizen.__table__)
_NONCE = WebhookNonce.__table__
_NONCE_DIGEST = select(_NONCE.c.body_digest).where(_NONCE.c.key == bindparam("key"))
# SQLite: the conversation of the citizen inserted just before on the same connection.
_INSERT_CONVERSATION_OF_NEW_CITIZEN = insert(Conversation.__table__).values(
    citizen_id=func.last_insert_rowid()
)


def _columns_of(model: type) -> tuple[tuple[str, Column[Any]], ...]:
    """(attribute, column) of every mapped column of `model` but its primary key."""
    return tuple(
        (prop.key, prop.columns[0])
        for prop in sa_inspect(model).column_attrs
        if not prop.columns[0].primary_key
    )


_CITIZEN_COLUMNS = _columns_of(Citizen)
_CONVERSATION_COLUMNS = _columns_of(Conversation)
_INBOUND_COLUMNS = ("district_code", "dedupe_key", "created_at", "reply", "done")


def _row(obj: object, columns: tuple[tuple[str, Column[Any]], ...], *, complete: bool) -> dict[str, Any]:
    """The column values of a new `obj`. Only the attributes that were set, unless `complete`: a column left out
    then gets its default here, as the ORM's INSERT would give it."""
    values = obj.__dict__
    row = {column.key: values[attribute] for attribute, column in columns if attribute in values}
    if complete:
        for attribute, column in columns:
            if attribute not in values:
                default = column.default
                if default is None:
                    row[column.key] = None
                else:
                    row[column.key] = default.arg(None) if default.is_callable else default.arg  # type: ignore[attr-defined]
    return row


def _one_statement(with_conversation: bool) -> Executable:
    """PostgreSQL: a first contact's dedupe row, citizen and conversation in one INSERT (data-modifying WITH
    clauses): one round trip where three statements would take three. Parameters: ``m_``, ``c_`` and ``v_`` and the
    column name for the message, the citizen and the conversation."""
    citizen_table, conversation_table = Citizen.__table__, Conversation.__table__
    new_message = insert(_INBOUND).values(
        {name: bindparam(f"m_{name}", type_=_INBOUND.c[name].type) for name in _INBOUND_COLUMNS}
    )
    new_citizen = (
        insert(citizen_table)
        .values({c.key: bindparam(f"c_{c.key}", type_=c.type) for _a, c in _CITIZEN_COLUMNS})
        .returning(citizen_table.c.id)
        .cte("new_citizen")
    )
    if not with_conversation:
        return select(new_citizen.c.id).add_cte(new_message.cte("new_message"))
    columns = [c for _a, c in _CONVERSATION_COLUMNS if c.key != "citizen_id"]
    return (
        insert(conversation_table)
        .from_select(
            ["citizen_id", *(c.key for c in columns)],
            select(new_citizen.c.id, *(bindparam(f"v_{c.key}", type_=c.type) for c in columns)),
        )
        .add_cte(new_message.cte("new_message"))
    )


def _presumed_statement(with_conversation: bool) -> Executable:
    """PostgreSQL: a first contact presumed (the sender was not looked up) in one statement, one round trip: the
    citizen is inserted unless their (district_code, openid) exists, and only if it was, the dedupe row and the
    conversation. Its one row: ``inserted`` true and the new citizen, or false and the existing citizen (then nothing
    was written and the message is handled again as theirs). No row: another transaction was inserting the same
    citizen meanwhile (its row is not in this statement's snapshot) and nothing was written. Parameters as
    `_one_statement`'s."""
    citizen_table, conversation_table = Citizen.__table__, Conversation.__table__
    new_citizen = (
        pg_insert(citizen_table)
        .values({c.key: bindparam(f"c_{c.key}", type_=c.type) for _a, c in _CITIZEN_COLUMNS})
        .on_conflict_do_nothing(index_elements=[citizen_table.c.district_code, citizen_table.c.openid])
        .returning(*citizen_table.c)
        .cte("new_citizen")
    )
    new_message = insert(_INBOUND).from_select(
        list(_INBOUND_COLUMNS),
        select(
            *(bindparam(f"m_{name}", type_=_INBOUND.c[name].type) for name in _INBOUND_COLUMNS)
        ).select_from(new_citizen),
    )
    # The existing citizen, read in the statement's snapshot: it cannot see the row the WITH clause inserts.
    existing = select(literal(False).label("inserted"), *citizen_table.c).where(
        citizen_table.c.district_code == bindparam("c_district_code", type_=String()),
        citizen_table.c.openid == bindparam("c_openid", type_=String()),
    )
    found = select(literal(True).label("inserted"), *new_citizen.c).union_all(existing)
    found = found.add_cte(new_message.cte("new_message"))
    if with_conversation:
        columns = [c for _a, c in _CONVERSATION_COLUMNS if c.key != "citizen_id"]
        new_conversation = insert(conversation_table).from_select(
            ["citizen_id", *(c.key for c in columns)],
            select(new_citizen.c.id, *(bindparam(f"v_{c.key}", type_=c.type) for c in columns)),
        )
        found = found.add_cte(new_conversation.cte("new_conversation"))
    return found


def _presumed_sqlite_statements() -> tuple[Executable, Executable, Executable]:
    """SQLite: a first contact presumed (the sender was not looked up), as three INSERTs for one transaction: the
    citizen unless their (district_code, openid) exists; then, only if it was inserted, their conversation and the
    dedupe row, each conditioned on its predecessor having written its row (``changes()``), the conversation's
    citizen the row just inserted (``last_insert_rowid()``). The last returns a row only if it wrote: none means the
    citizen existed and nothing was written. Parameters: the column names of each row."""
    citizen_table, conversation_table = Citizen.__table__, Conversation.__table__
    new_citizen = sqlite_insert(citizen_table).on_conflict_do_nothing(
        index_elements=[citizen_table.c.district_code, citizen_table.c.openid]
    )
    wrote = func.changes() == 1
    columns = [c for _a, c in _CONVERSATION_COLUMNS if c.key != "citizen_id"]
    new_conversation = insert(conversation_table).from_select(
        ["citizen_id", *(c.key for c in columns)],
        select(func.last_insert_rowid(), *(bindparam(c.key, type_=c.type) for c in columns)).where(wrote),
    )
    new_message = (
        insert(_INBOUND)
        .from_select(
            list(_INBOUND_COLUMNS),
            select(*(bindparam(name, type_=_INBOUND.c[name].type) for name in _INBOUND_COLUMNS)).where(wrote),
        )
        .returning(_INBOUND.c.id)
    )
    return new_citizen, new_conversation, new_message


# Built once each (they keep their cache keys).
_FIRST_CONTACT = {True: _one_statement(True), False: _one_statement(False)}
_PRESUMED_CITIZEN, _PRESUMED_CONVERSATION, _PRESUMED_MESSAGE = _presumed_sqlite_statements()
_PRESUMED_FIRST_CONTACT = {True: _presumed_statement(True), False: _presumed_statement(False)}


class KnownSenders:
    """The (district code, openid) of citizens this process has seen exist, at most `size` (the oldest forgotten
    first). Only a hint for the webhook's choice of path (`handle_once`): a sender it does not hold is presumed new
    and checked at the write, one it holds is looked up first; either way the database decides, so an entry that
    is stale (a citizen deleted) or missing (another worker's citizen) costs time, never correctness. 20,000 entries
    (about 4 MB) hold every sender of the last hours at the seed's volume, so a citizen in the middle of a report
    is looked up as before."""

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._seen: dict[tuple[str, str], None] = {}

    def __contains__(self, key: tuple[str, str]) -> bool:
        return key in self._seen

    def add(self, key: tuple[str, str]) -> None:
        seen = self._seen
        if key in seen:
            return
        seen[key] = None
        if len(seen) > self.size:
            # Another thread may change it meanwhile: then the next one forgets.
            with contextlib.suppress(KeyError, RuntimeError, StopIteration):
                del seen[next(iter(seen))]


def _evented_links(citizen: Citizen) -> None:
    """Set a new citizen's conversation again through the relationship, so that the ORM's flush knows it (the dialog
    linked the two without events: `models.base.unevented`)."""
    conversation = citizen.__dict__.get("conversation")
    if conversation is not None:
        del citizen.__dict__["conversation"]
        conversation.__dict__.pop("citizen", None)
        conversation.citizen = citizen


def _write_first_contact(
    session: Session, record: dict[str, Any], citizen: Citizen | None, *, presumed: bool = False
) -> Sender | None:
    """Write a message's dedupe row (`record`, with the reply) and, on a first contact, the new citizen and the
    conversation the dialog began (if any). None when written; otherwise (`presumed`: the citizen was taken as new
    without a lookup, and was not) nothing was written and the message must be handled again with the sender
    returned: the existing citizen's row, or `LOOK_UP` when another transaction was creating them meanwhile.

    Core statements when that is all the message changed (the common case: the ORM's unit of work would cost more
    than the rest of the turn), sent with the driver if no transaction has begun: one on PostgreSQL, in autocommit
    mode; three on SQLite, in one transaction of their own (`write_alone`). Otherwise the citizen joins the session
    and its flush writes it with the rest, after the dedupe row.
    """
    if session.new or session.dirty or session.deleted:
        if presumed:
            # A dialog that changed more than a first contact's rows: handled again from a lookup (rare).
            session.rollback()
            return LOOK_UP
        session.connection().execute(_RECORD_MESSAGE, record)
        if citizen is not None:
            _evented_links(citizen)
            session.add(citizen)  # cascades to its conversation
        return None
    if citizen is None:
        # A message that changes nobody: its dedupe row alone, atomic by itself.
        execute_alone(session, _RECORD_MESSAGE, record)
        return None
    conversation = citizen.__dict__.get("conversation")
    if session.get_bind().dialect.name == "postgresql":
        parameters = {f"m_{name}": value for name, value in record.items()}
        for name, value in _row(citizen, _CITIZEN_COLUMNS, complete=True).items():
            parameters[f"c_{name}"] = value
        if conversation is not None:
            for name, value in _row(conversation, _CONVERSATION_COLUMNS, complete=True).items():
                if name != "citizen_id":
                    parameters[f"v_{name}"] = value
        # Atomic by itself: outside a transaction if the message has read nothing in one (no BEGIN, no COMMIT).
        if not presumed:
            execute_alone(session, _FIRST_CONTACT[conversation is not None], parameters)
            return None
        found = execute_alone(session, _PRESUMED_FIRST_CONTACT[conversation is not None], parameters).first()
        if found is None:
            return LOOK_UP
        if found[0]:
            return None
        row = dict(found._mapping)
        del row["inserted"]
        return row
    # SQLite: three INSERTs in one transaction of their own, the conversation's citizen the row just inserted;
    # presumed, the citizen's only if absent and the others only if it was written (`_presumed_sqlite_statements`).
    if presumed:
        insert_citizen, insert_conversation = _PRESUMED_CITIZEN, _PRESUMED_CONVERSATION
    else:
        insert_citizen, insert_conversation = _INSERT_CITIZEN, _INSERT_CONVERSATION_OF_NEW_CITIZEN
    writes: list[tuple[Executable, dict[str, Any]]] = [
        (insert_citizen, _row(citizen, _CITIZEN_COLUMNS, complete=True))
    ]
    if conversation is not None:
        row = _row(conversation, _CONVERSATION_COLUMNS, complete=True)
        del row["citizen_id"]
        writes.append((insert_conversation, row))
    if not presumed:
        writes.insert(0, (_RECORD_MESSAGE, record))
        write_alone(session, writes)
        return None
    writes.append((_PRESUMED_MESSAGE, record))
    # Nothing written: the citizen exists (the write lock made their row visible); handled again as theirs.
    return None if write_alone(session, writes).first() is not None else LOOK_UP


def handle_once(session: Session, account: ServedAccount, message: BaseMessage, now: dt.datetime) -> str:
    """The reply text for `message`, doing its work at most once however often WeChat delivers it.

    One transaction, whose dedupe row (unique per message) makes every other delivery of the message fail: the
    losers roll back and answer with the stored reply. When the row is written depends on the sender:

    - a known citizen: right before their state is read to be changed (`Inbound.claim`), so that deliveries of one
      message and messages of one citizen take turns from there (SQLite: the write lock; PostgreSQL: a concurrent
      delivery waits on the row's unique key, and the dialog locks its conversation row);
    - a new citizen, or a message that changes nobody: at the end, with the reply and the new rows, after the
      dialog has run; on SQLite the write lock is then held only for those INSERTs. Concurrent deliveries of such a
      message all do the (read-only) work; only the first to commit keeps it.

    A sender this process has not seen (`KnownSenders`) is not looked up first: the dialog runs as for a new citizen
    and the write inserts the citizen if absent and, only then, the dedupe row and conversation (PostgreSQL: one
    statement; SQLite: three in one transaction). If the citizen existed (or another message was creating them),
    nothing was written and the message is handled again as theirs (PostgreSQL: with their row from that statement,
    no lookup more; SQLite: from a lookup).

    A connection the database server closed is met by handling the message again on a new one. An unexpected error
    rolls everything back, so nothing of a failed attempt remains and a delivery of the same message after it
    (WeChat's retry, if the failure made us late) does the work afresh; the citizen is asked to send the message
    again. A unique key taken meanwhile by another message's transaction (two first messages of a new citizen at
    once) fails the commit: the message is then handled again, once, and finds that row.
    """
    key = dedupe_key(account.district_code, message)
    app = current_app._get_current_object()
    record = {"district_code": account.district_code, "dedupe_key": key, "created_at": now}
    dialect = session.get_bind().dialect.name
    # On SQLite the transaction begins at its first write: rows read before it may have changed when it begins.
    # On PostgreSQL each statement sees what was committed when it began, and the dialog locks its own row.
    reread_after_claim = dialect == "sqlite"
    known: KnownSenders = app.extensions[KNOWN_SENDERS_KEY]
    sender_key = (account.district_code, message.source)
    # A sender this process has not seen is presumed new, so that a first contact needs no lookup (on PostgreSQL it is
    # one round trip: the lookup is part of its INSERT); when they exist after all, the message is handled again as
    # theirs (a known citizen's turn then pays a dialog run, and on SQLite an empty write transaction, for nothing).
    sender: Sender = PRESUMED_NEW if sender_key not in known else LOOK_UP
    attempt = 1
    while True:
        claimed = False

        def claim() -> bool:
            nonlocal claimed
            # Core statements on the session's connection (its transaction): the dedupe row needs no object, no
            # flush of the session and none of the ORM's statement handling.
            session.connection().execute(_RECORD_MESSAGE, record)
            claimed = True
            return reread_after_claim

        inbound = Inbound(
            session=session, account=account, message=message, now=now, app=app, claim=claim, sender=sender
        )
        try:
            reply = texts.fit(dispatch(inbound) or "")
            if claimed:
                session.connection().execute(_STORE_REPLY, {"key": key, "reply": reply})
            else:
                again = _write_first_contact(
                    session,
                    {**record, "reply": reply, "done": True},
                    inbound.new_citizen,
                    presumed=inbound.presumed_new,
                )
                if again is not None:
                    # Presumed new, and not: nothing was written; handled again (not a failed attempt).
                    log.info("%s: the sender presumed new exists; handling it again as theirs", key)
                    sender = again
                    continue
            if session.in_transaction() or session.new or session.dirty or session.deleted:
                # Otherwise (a first contact on PostgreSQL) its statements were committed as they ran.
                session.commit()
            if inbound.sender_seen:
                known.add(sender_key)
            return reply
        except IntegrityError:
            session.rollback()
            stored = session.execute(_STORED_REPLY, {"key": key}).first()
            if stored is not None:
                log.info("retry of %s answered with the stored reply", key)
                return stored.reply or ""
            if attempt < ATTEMPTS:
                log.info("%s met a concurrent write of the same rows; handling it again", key)
                attempt += 1
                sender = LOOK_UP
                continue
            log.exception("handling %s failed; nothing was kept", key)
            break
        except DBAPIError as exc:
            session.rollback()
            if exc.connection_invalidated and attempt < ATTEMPTS:
                # The server closed the connection (restart, terminated backend): nothing was kept, and the pool has
                # discarded it with every connection opened before; the next attempt gets a new one.
                log.warning("lost the database connection handling %s; handling it again", key)
                attempt += 1
                sender = LOOK_UP
                continue
            log.exception("handling %s failed; nothing was kept", key)
            break
        except Exception:
            session.rollback()
            log.exception("handling %s failed; nothing was kept", key)
            break
    return texts.SYSTEM_BUSY


def cdata_safe(text: str) -> str:
    """`text` ready for wechatpy's ``<![CDATA[...]]>`` template, arriving intact at the reader.

    A "]]>" inside ends the section early, so it is split across two sections; a carriage return would be
    turned into a line feed by every XML parser, so it leaves the section as a character reference.
    """
    return text.replace("]]>", "]]]]><![CDATA[>").replace("\r", "]]>&#13;<![CDATA[")


# A passive text reply exactly as wechatpy's `TextReply.render` writes it (its fields in its order), without its
# descriptors and conversions: `tests/bot/test_reply_render.py` pins the two equal.
_TEXT_REPLY = (
    "<xml>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[{content}]]></Content>\n"
    "<FromUserName><![CDATA[{source}]]></FromUserName>\n<ToUserName><![CDATA[{target}]]></ToUserName>\n"
    "<CreateTime>{time}</CreateTime>\n</xml>"
)


def render_reply(account: ServedAccount, message: BaseMessage, text: str, now: dt.datetime) -> str:
    """The HTTP body answering `message` with `text`: a passive text reply, encrypted in safe mode.

    Passive replies: https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Passive_user_reply_message.html
    """
    if not text:
        return NO_REPLY
    timestamp = str(int(now.timestamp()))
    reply = _TEXT_REPLY.format(
        content=cdata_safe(text), source=message.target, target=message.source, time=timestamp
    )
    if account.prp is None:
        return reply
    nonce = secrets.token_hex(8)
    encrypted = account.prp.encrypt(reply, account.appid).decode("ascii")
    signature = signature_of(account.token, timestamp, nonce, encrypted)
    return _ENCRYPTED_REPLY.format(encrypt=encrypted, signature=signature, timestamp=timestamp, nonce=nonce)


class WithoutSessionFor(SessionInterface):
    """The app's session interface, except that requests whose path starts with `prefix` get no session: the
    webhook is authenticated by WeChat's signature, never by a cookie, so reading (and signing) one would be wasted
    on every message."""

    def __init__(self, inner: SessionInterface, prefix: str) -> None:
        self.inner = inner
        self.prefix = prefix

    def open_session(self, app: Flask, request: Request) -> SessionMixin | None:
        if request.path.startswith(self.prefix):
            return self.make_null_session(app)
        return self.inner.open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        self.inner.save_session(app, session, response)


def query_of(environ: dict[str, Any]) -> dict[str, str]:
    """The request's query parameters, the first value of each name: `request.args.to_dict()`, split directly when
    nothing in the query string is encoded (WeChat's parameters never are), for a tenth of the Python calls."""
    raw = environ.get("QUERY_STRING", "")
    if "%" in raw or "+" in raw or not raw.isascii():
        return request.args.to_dict()
    query: dict[str, str] = {}
    for pair in raw.split("&"):
        if pair:
            name, _equals, value = pair.partition("=")
            query.setdefault(name, value)
    return query


def init_account_cache(app: Flask) -> None:
    """Give the app its cache of served accounts (one per application: apps on other databases never share one)."""
    app.extensions[ACCOUNTS_KEY] = AccountCache(float(app.config["WECHAT"]["account_cache_seconds"]))
    app.extensions[KNOWN_SENDERS_KEY] = KnownSenders()


def account_cache(app: Flask) -> AccountCache:
    """The app's cache of served accounts."""
    return app.extensions[ACCOUNTS_KEY]


def _accept(
    account: ServedAccount, query: dict[str, str], body: _Body, now: dt.datetime
) -> BaseMessage | str:
    """The message of a verified request, or the echostr a URL verification (GET) answers with.

    :raises Rejected: the signature, timestamp, size, encryption or XML is not right for this account.
    """
    settings = current_app.config["WECHAT"]
    timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
    _check_signed((account.token, timestamp, nonce), query.get("signature"), "signature")
    _check_timestamp(timestamp, now, int(settings["timestamp_window_seconds"]))
    if request.method == "GET":
        return query.get("echostr", "")
    raw = body.read()
    if account.safe_mode:
        return _parse_message(_decrypt(account, raw, query))
    message = _parse_message(raw)
    _remember_signature(get_session(), account, query, raw, now)
    return message


@bp.route("/wechat/<district_code>", methods=["GET", "POST"])
def webhook(district_code: str) -> Response:
    """URL verification (GET, echostr) and message delivery (POST) for one district account."""
    session = get_session()
    accounts = account_cache(current_app)
    account = accounts.get(session, district_code)
    if account is None:
        return Response("unknown district", status=404, mimetype="text/plain")
    now = utcnow()
    query = query_of(request.environ)
    body = _Body(int(current_app.config["WECHAT"]["max_body_bytes"]))
    try:
        try:
            accepted = _accept(account, query, body, now)
        except Rejected:
            # Refused with the keys this process holds: a manager may just have changed them in another worker.
            if accounts.age(account) < REREAD_AFTER_SECONDS:
                raise
            fresh = accounts.get(session, district_code, fresh=True)
            if fresh is None:
                return Response("unknown district", status=404, mimetype="text/plain")
            if fresh.same_keys(account):
                raise
            account = fresh
            accepted = _accept(account, query, body, now)
    except Rejected as rejected:
        log.warning("webhook %s: %s (%d)", district_code, rejected.reason, rejected.status)
        return Response(rejected.reason, status=rejected.status, mimetype="text/plain")
    if isinstance(accepted, str):
        return Response(accepted, mimetype="text/plain")
    text = handle_once(session, account, accepted, now)
    return Response(render_reply(account, accepted, text, utcnow()), mimetype="application/xml")
