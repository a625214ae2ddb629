"""WeChat's message wire format, written from the official protocol description for the tests.

Deliberately independent of wechatpy: the bot uses wechatpy to verify and decrypt, so the messages it is tested with
must be built by a second implementation, otherwise a wechatpy bug would pass its own test.

The protocol, from 接入指南 and 消息加解密说明
(https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/Access_Overview.html,
https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Message_encryption_and_decryption_instructions.html):

- ``signature = sha1("".join(sorted([token, timestamp, nonce])))``, sent on every request (query ``signature``);
- safe mode: ``AESKey = base64decode(EncodingAESKey + "=")`` (32 bytes), IV = its first 16 bytes, AES-256-CBC over
  ``16 random bytes + 4-byte big-endian length + msg + appid`` padded PKCS#7 to a multiple of 32 bytes;
  ``msg_signature = sha1("".join(sorted([token, timestamp, nonce, Encrypt])))``;
- a safe-mode request body is ``<xml><ToUserName/><Encrypt/></xml>``; a safe-mode reply is
  ``<xml><Encrypt/><MsgSignature/><TimeStamp/><Nonce/></xml>``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import struct
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from models.clock import utcnow

BLOCK_SIZE = 32


class WireError(ValueError):
    """A reply that WeChat itself would reject: bad signature, wrong appid, broken padding or envelope."""


@dataclass(frozen=True)
class WireAccount:
    """One official account as WeChat's servers see it."""

    appid: str
    token: str
    encoding_aes_key: str | None = None
    # The account's original ID (原始ID), the ToUserName of every inbound message.
    original_id: str = "gh_0123456789ab"

    @property
    def safe_mode(self) -> bool:
        return bool(self.encoding_aes_key)

    @property
    def aes_key(self) -> bytes:
        """The 32-byte AES key: the 43-character EncodingAESKey plus "=" is base64 for it.

        :raises WireError: when the account is in plain mode or the key does not decode to 32 bytes.
        """
        if not self.encoding_aes_key:
            raise WireError(f"account {self.appid} has no EncodingAESKey (plain mode)")
        key = base64.b64decode(self.encoding_aes_key + "=")
        if len(key) != 32:
            raise WireError(f"EncodingAESKey of {self.appid} decodes to {len(key)} bytes, not 32")
        return key

    def build_text(
        self, openid: str, content: str, msg_id: int | None = None, create_time: int | None = None
    ) -> str:
        """A text message from `openid`."""
        return _inbound(self, openid, "text", create_time, {"Content": content, "MsgId": _msg_id(msg_id)})

    def build_event(
        self,
        openid: str,
        event: str,
        event_key: str | None = None,
        create_time: int | None = None,
        extra: Mapping[str, str | int] | None = None,
    ) -> str:
        """An event push (subscribe, unsubscribe, CLICK, VIEW, TEMPLATESENDJOBFINISH, …).

        `extra` adds event-specific fields, e.g. ``{"MsgID": 123, "Status": "success"}`` for TEMPLATESENDJOBFINISH.
        """
        fields: dict[str, str | int] = {"Event": event}
        if event_key is not None:
            fields["EventKey"] = event_key
        fields.update(extra or {})
        return _inbound(self, openid, "event", create_time, fields)

    def build_voice(
        self,
        openid: str,
        recognition: str | None,
        media_id: str = "voice-media-id",
        msg_id: int | None = None,
        create_time: int | None = None,
    ) -> str:
        """A voice message; `recognition` None leaves out the Recognition field (recognition switched off)."""
        fields: dict[str, str | int] = {"MediaId": media_id, "Format": "amr"}
        if recognition is not None:
            fields["Recognition"] = recognition
        fields["MsgId"] = _msg_id(msg_id)
        return _inbound(self, openid, "voice", create_time, fields)

    def build_image(
        self,
        openid: str,
        pic_url: str = "http://mmbiz.qpic.cn/test.jpg",
        media_id: str = "image-media-id",
        msg_id: int | None = None,
        create_time: int | None = None,
    ) -> str:
        """An image message."""
        fields = {"PicUrl": pic_url, "MediaId": media_id, "MsgId": _msg_id(msg_id)}
        return _inbound(self, openid, "image", create_time, fields)

    def build_location(
        self,
        openid: str,
        lat: float,
        lng: float,
        label: str,
        msg_id: int | None = None,
        create_time: int | None = None,
        scale: int = 15,
    ) -> str:
        """A location message (Location_X is the latitude, Location_Y the longitude)."""
        fields: dict[str, str | int | float] = {
            "Location_X": lat,
            "Location_Y": lng,
            "Scale": scale,
            "Label": label,
            "MsgId": _msg_id(msg_id),
        }
        return _inbound(self, openid, "location", create_time, fields)

    def build_link(
        self,
        openid: str,
        title: str,
        description: str,
        url: str,
        msg_id: int | None = None,
        create_time: int | None = None,
    ) -> str:
        """A link message."""
        fields = {"Title": title, "Description": description, "Url": url, "MsgId": _msg_id(msg_id)}
        return _inbound(self, openid, "link", create_time, fields)


# --------------------------------------------------------------------------------------------- signatures and cipher


def sha1_signature(*parts: str) -> str:
    """WeChat's signature: SHA-1 over the parts sorted as strings and concatenated."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def pkcs7_pad(data: bytes) -> bytes:
    """PKCS#7 to a multiple of 32 bytes (WeChat's block size, not AES's 16); always adds 1..32 bytes."""
    count = BLOCK_SIZE - len(data) % BLOCK_SIZE
    return data + bytes([count]) * count


def pkcs7_unpad(data: bytes) -> bytes:
    """Remove PKCS#7 padding, checking every pad byte.

    :raises WireError: when the padding is not well-formed.
    """
    if not data or len(data) % 16:
        raise WireError("ciphertext length is not a multiple of the AES block")
    count = data[-1]
    if not 1 <= count <= BLOCK_SIZE or data[-count:] != bytes([count]) * count:
        raise WireError("bad PKCS#7 padding")
    return data[:-count]


def encrypt_message(account: WireAccount, message: str, random_prefix: bytes | None = None) -> str:
    """The base64 ``Encrypt`` value for `message` (UTF-8) from `account`."""
    prefix = os.urandom(16) if random_prefix is None else random_prefix
    if len(prefix) != 16:
        raise WireError("the random prefix is 16 bytes")
    body = message.encode("utf-8")
    plaintext = prefix + struct.pack(">I", len(body)) + body + account.appid.encode("utf-8")
    key = account.aes_key
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    ciphertext = encryptor.update(pkcs7_pad(plaintext)) + encryptor.finalize()
    return base64.b64encode(ciphertext).decode("ascii")


def decrypt_message(account: WireAccount, encrypted: str) -> str:
    """The message inside a base64 ``Encrypt`` value, checking length and appid.

    :raises WireError: when the value does not decrypt, is malformed, or was encrypted for another appid.
    """
    key = account.aes_key
    try:
        ciphertext = base64.b64decode(encrypted, validate=True)
    except ValueError as exc:
        raise WireError(f"Encrypt is not base64: {exc}") from exc
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    try:
        padded = decryptor.update(ciphertext) + decryptor.finalize()
    except ValueError as exc:
        raise WireError(f"Encrypt does not decrypt: {exc}") from exc
    plaintext = pkcs7_unpad(padded)
    if len(plaintext) < 20:
        raise WireError("decrypted message is too short")
    (length,) = struct.unpack(">I", plaintext[16:20])
    if 20 + length > len(plaintext):
        raise WireError("declared message length exceeds the plaintext")
    message = plaintext[20 : 20 + length]
    appid = plaintext[20 + length :].decode("utf-8", errors="replace")
    if appid != account.appid:
        raise WireError(f"message was encrypted for appid {appid!r}, expected {account.appid!r}")
    return message.decode("utf-8")


# ------------------------------------------------------------------------------------------------- inbound messages


def cdata(text: str) -> str:
    """`text` as CDATA; a "]]>" inside is split across two sections, the only way XML allows it."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _now() -> int:
    return int(utcnow().timestamp())


def _new_msg_id() -> int:
    # WeChat's MsgId is a 64-bit integer; random ones keep unrelated test messages from colliding.
    return secrets.randbits(62)


def _inbound(
    account: WireAccount,
    openid: str,
    msg_type: str,
    create_time: int | None,
    fields: Mapping[str, str | int | float],
) -> str:
    parts = [
        f"<ToUserName>{cdata(account.original_id)}</ToUserName>",
        f"<FromUserName>{cdata(openid)}</FromUserName>",
        f"<CreateTime>{_now() if create_time is None else create_time}</CreateTime>",
        f"<MsgType>{cdata(msg_type)}</MsgType>",
    ]
    for name, value in fields.items():
        parts.append(f"<{name}>{cdata(value) if isinstance(value, str) else value}</{name}>")
    return "<xml>" + "".join(parts) + "</xml>"


def _msg_id(msg_id: int | None) -> int:
    return _new_msg_id() if msg_id is None else msg_id


# ------------------------------------------------------------------------------------------------ requests, replies


def _timestamp_nonce(timestamp: int | str | None, nonce: str | None) -> tuple[str, str]:
    return str(_now() if timestamp is None else timestamp), nonce or str(secrets.randbelow(10**10))


def _from_user(xml: str) -> str:
    return ET.fromstring(xml).findtext("FromUserName") or ""


def sign_request(
    account: WireAccount, xml: str, timestamp: int | str | None = None, nonce: str | None = None
) -> tuple[dict[str, str], bytes]:
    """The query parameters and body WeChat POSTs for inbound `xml` (encrypted when the account is in safe mode)."""
    ts, nc = _timestamp_nonce(timestamp, nonce)
    query = {
        "signature": sha1_signature(account.token, ts, nc),
        "timestamp": ts,
        "nonce": nc,
        "openid": _from_user(xml),
    }
    if not account.safe_mode:
        return query, xml.encode("utf-8")
    encrypted = encrypt_message(account, xml)
    query["encrypt_type"] = "aes"
    query["msg_signature"] = sha1_signature(account.token, ts, nc, encrypted)
    body = f"<xml><ToUserName>{cdata(account.original_id)}</ToUserName><Encrypt>{cdata(encrypted)}</Encrypt></xml>"
    return query, body.encode("utf-8")


def verify_url_params(
    account: WireAccount, echostr: str, timestamp: int | str | None = None, nonce: str | None = None
) -> dict[str, str]:
    """The query of WeChat's URL-verification GET; the server must answer with `echostr` unchanged.

    Official accounts verify the URL the same way in plain and safe mode: echostr is sent in clear.
    """
    ts, nc = _timestamp_nonce(timestamp, nonce)
    return {
        "signature": sha1_signature(account.token, ts, nc),
        "timestamp": ts,
        "nonce": nc,
        "echostr": echostr,
    }


def encrypt_reply(
    account: WireAccount, xml: str, timestamp: int | str | None = None, nonce: str | None = None
) -> str:
    """A safe-mode reply envelope for `xml`, as a correct server would produce it (for testing `decrypt_reply`)."""
    ts, nc = _timestamp_nonce(timestamp, nonce)
    encrypted = encrypt_message(account, xml)
    signature = sha1_signature(account.token, ts, nc, encrypted)
    return (
        f"<xml><Encrypt>{cdata(encrypted)}</Encrypt><MsgSignature>{cdata(signature)}</MsgSignature>"
        f"<TimeStamp>{ts}</TimeStamp><Nonce>{cdata(nc)}</Nonce></xml>"
    )


def decrypt_reply(account: WireAccount, query: Mapping[str, str] | None, body: bytes | str) -> str:
    """The reply XML a server sent back, decrypted and verified when the request was in safe mode.

    `query` is the request's query (safe mode when ``encrypt_type=aes``); None means "the account's mode". An empty
    body or ``success`` (WeChat's "no reply") is returned as it is in either mode.

    :raises WireError: when a safe-mode reply is not an encrypted envelope, its MsgSignature does not match, or it
        was encrypted for another appid.
    """
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    safe = account.safe_mode if query is None else query.get("encrypt_type") == "aes"
    if not safe or text.strip() in ("", "success"):
        return text
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise WireError(f"reply is not XML: {exc}") from exc
    encrypted = root.findtext("Encrypt")
    signature = root.findtext("MsgSignature")
    timestamp = root.findtext("TimeStamp")
    nonce = root.findtext("Nonce")
    if not (encrypted and signature and timestamp and nonce):
        raise WireError("safe-mode reply lacks Encrypt, MsgSignature, TimeStamp or Nonce")
    expected = sha1_signature(account.token, timestamp, nonce, encrypted)
    if not hmac.compare_digest(expected, signature):
        raise WireError("reply MsgSignature does not match")
    return decrypt_message(account, encrypted)


def parse_reply(xml: str) -> dict[str, Any]:
    """A passive reply as a dict: MsgType, Content, ToUserName, FromUserName, CreateTime, …

    Nested elements become dicts (``Image`` → ``{"MediaId": …}``); ``Articles`` becomes a list of item dicts.

    :raises WireError: when `xml` is not a well-formed ``<xml>`` document.
    """
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise WireError(f"reply is not XML: {exc}") from exc
    if root.tag != "xml":
        raise WireError(f"reply root is <{root.tag}>, not <xml>")
    return {child.tag: _element_value(child) for child in root}


def _element_value(element: ET.Element) -> Any:
    children = list(element)
    if not children:
        return element.text or ""
    if element.tag == "Articles":
        return [_element_value(item) for item in children]
    return {child.tag: _element_value(child) for child in children}
