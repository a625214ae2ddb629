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

import datetime as dt
import hashlib
import hmac
import logging
import secrets
from xml.parsers.expat import ExpatError

import xmltodict
from flask import Blueprint, Response, current_app, request
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.events import EVENT_TYPES
from wechatpy.messages import MESSAGE_TYPES, BaseMessage, UnknownMessage
from wechatpy.replies import TextReply

from bot import texts
from bot.handlers import Inbound, dispatch, registry_key
from models import InboundMessage, WechatAccount, utcnow
from qingsu.db import get_session

log = logging.getLogger(__name__)

bp = Blueprint("bot", __name__)

# WeChat's "no reply": it shows nothing to the user and does not retry.
NO_REPLY = "success"
DEDUPE_KEY_LENGTH = 160


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


def _check_timestamp(timestamp: str, now: dt.datetime, window_seconds: int) -> None:
    try:
        sent = int(timestamp)
    except ValueError:
        raise Rejected(403, "timestamp is not a number") from None
    if abs(now.timestamp() - sent) > window_seconds:
        raise Rejected(403, "timestamp outside the replay window")


def _read_body(max_bytes: int) -> bytes:
    if request.content_length is not None and request.content_length > max_bytes:
        raise Rejected(413, "body too large")
    # Read one byte more than allowed, so a body without Content-Length is caught too.
    body = request.stream.read(max_bytes + 1)
    if len(body) > max_bytes:
        raise Rejected(413, "body too large")
    return body


def _parse_xml(data: bytes | str) -> dict[str, object]:
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


def _decrypt(account: WechatAccount, body: bytes, query: dict[str, str]) -> str:
    """The inner message XML of a safe-mode request, after checking msg_signature over its Encrypt field."""
    if query.get("encrypt_type") != "aes":
        raise Rejected(400, "account is in safe mode but the message is not encrypted")
    envelope = _parse_xml(body)
    encrypted = envelope.get("Encrypt")
    if not isinstance(encrypted, str) or not encrypted:
        raise Rejected(400, "no Encrypt field")
    _check_signed(
        (account.token, query.get("timestamp", ""), query.get("nonce", ""), encrypted),
        query.get("msg_signature"),
        "msg_signature",
    )
    try:
        return PrpCrypto(_aes_key(account)).decrypt(encrypted, account.appid)
    except Exception as exc:
        # Anything from base64, the cipher, the padding, the length prefix or the appid check: not for us.
        raise Rejected(400, f"cannot decrypt: {type(exc).__name__}") from None


def _aes_key(account: WechatAccount) -> bytes:
    return WeChatCrypto(account.token, account.encoding_aes_key, account.appid).key


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


def handle_once(session: Session, account: WechatAccount, message: BaseMessage, now: dt.datetime) -> str:
    """The reply text for `message`, doing its work at most once however often WeChat delivers it.

    Commits the work and the stored reply together. An unexpected error rolls everything back, so nothing of a
    failed attempt remains and a delivery of the same message after it (WeChat's retry, if the failure made us
    late) does the work afresh; the citizen is asked to send the message again.
    """
    key = dedupe_key(account.district_code, message)
    district_code = account.district_code
    record = InboundMessage(district_code=district_code, dedupe_key=key, created_at=now)
    session.add(record)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        stored = session.scalar(select(InboundMessage.reply).where(InboundMessage.dedupe_key == key))
        log.info("retry of %s answered with the stored reply", key)
        return stored or ""
    try:
        reply = dispatch(
            Inbound(
                session=session,
                account=account,
                message=message,
                now=now,
                app=current_app._get_current_object(),
            )
        )
        reply = texts.fit(reply or "")
        record.reply = reply
        record.done = True
        session.commit()
    except Exception:
        session.rollback()
        log.exception("handling %s failed; nothing was kept", key)
        return texts.SYSTEM_BUSY
    return reply


def cdata_safe(text: str) -> str:
    """`text` ready for wechatpy's ``<![CDATA[...]]>`` template, arriving intact at the reader.

    A "]]>" inside ends the section early, so it is split across two sections; a carriage return would be
    turned into a line feed by every XML parser, so it leaves the section as a character reference.
    """
    return text.replace("]]>", "]]]]><![CDATA[>").replace("\r", "]]>&#13;<![CDATA[")


def render_reply(account: WechatAccount, message: BaseMessage, text: str, now: dt.datetime) -> str:
    """The HTTP body answering `message` with `text`: a passive text reply, encrypted in safe mode.

    Passive replies: https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Passive_user_reply_message.html
    """
    if not text:
        return NO_REPLY
    reply = TextReply(message=message, content=cdata_safe(text), time=int(now.timestamp())).render()
    if not account.safe_mode:
        return reply
    crypto = WeChatCrypto(account.token, account.encoding_aes_key, account.appid)
    return crypto.encrypt_message(reply, secrets.token_hex(8), str(int(now.timestamp())))


@bp.route("/wechat/<district_code>", methods=["GET", "POST"])
def webhook(district_code: str) -> Response:
    """URL verification (GET, echostr) and message delivery (POST) for one district account."""
    session = get_session()
    account = session.scalar(
        select(WechatAccount).where(
            WechatAccount.district_code == district_code, WechatAccount.enabled.is_(True)
        )
    )
    if account is None:
        return Response("unknown district", status=404, mimetype="text/plain")
    settings = current_app.config["WECHAT"]
    now = utcnow()
    query = request.args.to_dict()
    try:
        timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        _check_signed((account.token, timestamp, nonce), query.get("signature"), "signature")
        _check_timestamp(timestamp, now, int(settings["timestamp_window_seconds"]))
        if request.method == "GET":
            return Response(query.get("echostr", ""), mimetype="text/plain")
        body = _read_body(int(settings["max_body_bytes"]))
        inner = _decrypt(account, body, query) if account.safe_mode else body
        message = _parse_message(inner)
    except Rejected as rejected:
        log.warning("webhook %s: %s (%d)", district_code, rejected.reason, rejected.status)
        return Response(rejected.reason, status=rejected.status, mimetype="text/plain")
    text = handle_once(session, account, message, now)
    return Response(render_reply(account, message, text, utcnow()), mimetype="application/xml")


def forget_handled_messages(session: Session, older_than: dt.datetime) -> int:
    """Delete the dedupe rows of messages handled before `older_than`; returns how many.

    WeChat retries within about 15 seconds, so a day's rows are plenty; the scheduler calls this daily.
    Does not commit.
    """
    result = session.execute(delete(InboundMessage).where(InboundMessage.created_at < older_than))
    return int(result.rowcount or 0)
