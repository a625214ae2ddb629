"""The citizen's side of WeChat, for trying the bot without WeChat: the page at /simulator and `qingsu simulate`.

Both play WeChat's servers: they build the inbound XML a phone would cause, sign it with the account's token,
encrypt it with its EncodingAESKey in safe mode, POST it to the webhook with the standard query parameters, then
verify and decrypt the passive reply. So the simulator exercises exactly the path real messages take.
Protocol: https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Message_encryption_and_decryption_instructions.html
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import click
import requests
import xmltodict
from flask import Blueprint, Flask, abort, current_app, jsonify, render_template, request
from sqlalchemy import select
from wechatpy.crypto import WeChatCrypto

from bot.menu import MENU_LABELS
from bot.webhook import signature_of
from models import Citizen, WechatAccount, utcnow
from models.db import get_session

# The ToUserName of simulated messages: WeChat puts the account's original ID (原始ID) here; the bot ignores it.
SIMULATED_ORIGINAL_ID = "gh_simulator"
MESSAGE_KINDS = ("text", "voice", "image", "location", "click", "subscribe", "unsubscribe")


class SimulatorError(Exception):
    """The webhook answered with an error status, or with a reply that does not verify."""


@dataclass(frozen=True)
class AccountKeys:
    """What WeChat's servers know about an account: enough to sign, encrypt and decrypt its messages."""

    district_code: str
    appid: str
    token: str
    encoding_aes_key: str | None

    @classmethod
    def of(cls, account: WechatAccount) -> AccountKeys:
        return cls(account.district_code, account.appid, account.token, account.encoding_aes_key or None)


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def build_message(kind: str, openid: str, fields: Mapping[str, str], now: int | None = None) -> str:
    """The inbound XML WeChat would push for `kind` ("text", "voice", "image", "location", "click", "subscribe",
    "unsubscribe") from `openid`, with `fields` as given by the phone (Content, Recognition, Label, EventKey, …).

    :raises ValueError: for an unknown kind.
    """
    created = int(utcnow().timestamp()) if now is None else now
    if kind not in MESSAGE_KINDS:
        raise ValueError(f"unknown message kind {kind!r}")
    values: dict[str, str] = {}
    if kind in ("click", "subscribe", "unsubscribe"):
        values["MsgType"] = "event"
        values["Event"] = "CLICK" if kind == "click" else kind
        if kind == "click":
            values["EventKey"] = fields.get("EventKey", "")
    else:
        values["MsgType"] = kind
        values.update({key: value for key, value in fields.items() if key != "MsgType"})
        values["MsgId"] = str(secrets.randbits(62))
    parts = [
        f"<ToUserName>{_cdata(SIMULATED_ORIGINAL_ID)}</ToUserName>",
        f"<FromUserName>{_cdata(openid)}</FromUserName>",
        f"<CreateTime>{created}</CreateTime>",
    ]
    for name, value in values.items():
        parts.append(f"<{name}>{value if name == 'MsgId' else _cdata(value)}</{name}>")
    return "<xml>" + "".join(parts) + "</xml>"


def sign_request(keys: AccountKeys, xml: str, now: int | None = None) -> tuple[dict[str, str], bytes]:
    """The query parameters and body WeChat would POST for `xml` (encrypted when the account is in safe mode)."""
    timestamp = str(int(utcnow().timestamp()) if now is None else now)
    nonce = str(secrets.randbelow(10**10))
    openid = xmltodict.parse(xml)["xml"]["FromUserName"]
    query = {
        "signature": signature_of(keys.token, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
        "openid": openid,
    }
    if not keys.encoding_aes_key:
        return query, xml.encode("utf-8")
    crypto = WeChatCrypto(keys.token, keys.encoding_aes_key, keys.appid)
    envelope = xmltodict.parse(crypto.encrypt_message(xml, nonce, timestamp))["xml"]
    query["encrypt_type"] = "aes"
    query["msg_signature"] = envelope["MsgSignature"]
    body = f"<xml><ToUserName>{_cdata(SIMULATED_ORIGINAL_ID)}</ToUserName><Encrypt>{_cdata(envelope['Encrypt'])}</Encrypt></xml>"
    return query, body.encode("utf-8")


def read_reply(keys: AccountKeys, body: bytes) -> str:
    """The text of the webhook's passive reply ("" for none), verified and decrypted in safe mode.

    :raises SimulatorError: when a safe-mode reply's signature does not verify or it does not decrypt.
    """
    text = body.decode("utf-8")
    if text.strip() in ("", "success"):
        return ""
    if keys.encoding_aes_key:
        envelope = xmltodict.parse(text)["xml"]
        crypto = WeChatCrypto(keys.token, keys.encoding_aes_key, keys.appid)
        try:
            text = crypto.decrypt_message(
                text, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"]
            )
        except Exception as exc:
            raise SimulatorError(f"the reply does not verify or decrypt: {type(exc).__name__}") from exc
    reply = xmltodict.parse(text)["xml"]
    return reply.get("Content") or ""


class Transport(Protocol):
    def post(self, path: str, query: Mapping[str, str], body: bytes) -> tuple[int, bytes]: ...


class InProcessTransport:
    """Calls the webhook inside this process through the WSGI interface (no network, no second server)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def post(self, path: str, query: Mapping[str, str], body: bytes) -> tuple[int, bytes]:
        # A fresh application context, so the webhook's transaction is its own and not the caller's.
        with self.app.app_context():
            response = self.app.test_client().post(
                path, query_string=dict(query), data=body, content_type="application/xml"
            )
        return response.status_code, response.get_data()


class HttpTransport:
    """Calls the webhook of a running server at `base_url`."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def post(self, path: str, query: Mapping[str, str], body: bytes) -> tuple[int, bytes]:
        response = requests.post(
            self.base_url + path,
            params=dict(query),
            data=body,
            headers={"Content-Type": "application/xml"},
            timeout=self.timeout,
        )
        return response.status_code, response.content


def send(transport: Transport, keys: AccountKeys, kind: str, openid: str, fields: Mapping[str, str]) -> str:
    """Send one simulated message to the account's webhook and return the bot's reply text.

    :raises SimulatorError: when the webhook refuses the message or its reply does not verify.
    :raises ValueError: for an unknown message kind.
    """
    xml = build_message(kind, openid, fields)
    query, body = sign_request(keys, xml)
    status, answer = transport.post(f"/wechat/{keys.district_code}", query, body)
    if status != 200:
        raise SimulatorError(f"the webhook answered {status}: {answer[:200].decode('utf-8', 'replace')}")
    return read_reply(keys, answer)


# --- the demo page -----------------------------------------------------------------------------------------------

bp = Blueprint(
    "simulator", __name__, url_prefix="/simulator", template_folder="templates", static_folder="static"
)


@bp.before_request
def _demo_only() -> None:
    if not current_app.config.get("DEMO"):
        abort(404)


def _accounts() -> list[WechatAccount]:
    return list(
        get_session().scalars(
            select(WechatAccount).where(WechatAccount.enabled.is_(True)).order_by(WechatAccount.id)
        )
    )


@bp.get("")
def page() -> str:
    """The phone-chat page: pick a district account, type, tap the menu, send a location or a picture."""
    accounts = [
        {"code": a.district_code, "platform": a.district.platform_name, "district": a.district.name}
        for a in sorted(_accounts(), key=lambda a: a.district.position)
    ]
    menu = [{"key": key.value, "label": label} for key, label in MENU_LABELS.items()]
    return render_template("simulator.html", accounts=accounts, menu=menu, citizens=_demo_citizens())


def _demo_citizens() -> list[dict[str, str]]:
    """The demo's citizens (seed-demo's `demo-citizen-N`), so the page can act as one of them: their petitions,
    replies and requests to rate are waiting for them."""
    rows = get_session().execute(
        select(Citizen.openid, Citizen.name, Citizen.district_code)
        .where(Citizen.openid.like("demo-citizen-%"))
        .order_by(Citizen.district_code, Citizen.id)
    )
    return [{"openid": openid, "name": name or "", "district": district} for openid, name, district in rows]


@bp.get("/messages")
def messages() -> Any:
    """What the simulated citizen received from the account outside the chat's replies (template and customer-service
    messages, as the demo's fake WeChat recorded them), after the message id `after`: {"messages": [...]}."""
    code, openid = request.args.get("district", ""), request.args.get("openid", "")
    try:
        after = int(request.args.get("after", "0"))
    except ValueError:
        return jsonify(error="after must be a message id"), 400
    account = next((a for a in _accounts() if a.district_code == code), None)
    fake = current_app.extensions.get("qingsu.fake_wechat")
    if account is None or fake is None or not openid:
        return jsonify(messages=[])
    found = []
    for message in fake.messages(account.appid, openid):
        if message.id <= after:
            continue
        title, lines = fake.shown(message)
        found.append({"id": message.id, "kind": message.kind, "title": title, "lines": lines, "url": message.url})
    return jsonify(messages=found)


@bp.post("/send")
def send_from_page() -> Any:
    """Relay one message from the page to the webhook through the real protocol; answers {"reply": text}."""
    payload = request.get_json(silent=True) or {}
    code, openid, kind = payload.get("district"), payload.get("openid"), payload.get("kind")
    fields = payload.get("fields") or {}
    if not (
        isinstance(code, str)
        and isinstance(openid, str)
        and 0 < len(openid) <= 64
        and kind in MESSAGE_KINDS
        and isinstance(fields, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in fields.items())
    ):
        return jsonify(error="district, openid (1–64 characters), kind and text fields are required"), 400
    account = next((a for a in _accounts() if a.district_code == code), None)
    if account is None:
        return jsonify(error=f"no enabled account for {code}"), 404
    keys = AccountKeys.of(account)
    try:
        reply = send(InProcessTransport(current_app._get_current_object()), keys, kind, openid, fields)
    except SimulatorError as exc:
        return jsonify(error=str(exc)), 502
    return jsonify(reply=reply)


# --- the terminal ------------------------------------------------------------------------------------------------

TERMINAL_HELP = """Type as the citizen would. Besides plain text:
  /menu 1|2|3            tap 我要反映 / 我的诉求 / 办事指南
  /voice [words]         a voice message (no words: speech not recognised)
  /image [url]           a picture
  /location LAT LNG [label]
  /subscribe, /unsubscribe
  /quit"""


def parse_terminal_line(line: str) -> tuple[str, dict[str, str]] | None:
    """What a line typed in `qingsu simulate` sends: (kind, fields), or None to quit.

    :raises ValueError: for a command it does not understand, with a hint.
    """
    if not line.startswith("/"):
        return "text", {"Content": line}
    command, _, rest = line.partition(" ")
    rest = rest.strip()
    keys = list(MENU_LABELS)
    if command == "/quit":
        return None
    if command == "/menu" and rest in ("1", "2", "3"):
        return "click", {"EventKey": keys[int(rest) - 1].value}
    if command == "/voice":
        return "voice", (
            {"MediaId": "simulated-voice", "Format": "amr", "Recognition": rest}
            if rest
            else {"MediaId": "simulated-voice", "Format": "amr"}
        )
    if command == "/image":
        return "image", {
            "MediaId": f"simulated-{secrets.token_hex(4)}",
            "PicUrl": rest or "http://example.invalid/a.jpg",
        }
    if command == "/location":
        parts = rest.split(maxsplit=2)
        if len(parts) >= 2:
            float(parts[0]), float(parts[1])
            label = parts[2] if len(parts) == 3 else ""
            return "location", {"Location_X": parts[0], "Location_Y": parts[1], "Scale": "15", "Label": label}
    if command in ("/subscribe", "/unsubscribe"):
        return command[1:], {}
    raise ValueError(f"not understood: {line!r}\n{TERMINAL_HELP}")


@click.command("simulate")
@click.option(
    "--district", "district_code", required=True, help="The district account to talk to, e.g. shinan."
)
@click.option(
    "--url", default=None, help="Base URL of a running server; default: this application, in-process."
)
@click.option("--openid", default=None, help="The simulated citizen's openid; default: a new one.")
def simulate_command(district_code: str, url: str | None, openid: str | None) -> None:
    """Chat with a district account from the terminal, through the real signed (and encrypted) protocol."""
    account = next((a for a in _accounts() if a.district_code == district_code), None)
    if account is None:
        raise click.ClickException(f"no enabled account for district {district_code!r}")
    keys = AccountKeys.of(account)
    platform = account.district.platform_name
    get_session().close()
    transport: Transport = (
        HttpTransport(url) if url else InProcessTransport(current_app._get_current_object())
    )
    openid = openid or f"simulated-{secrets.token_hex(6)}"
    click.echo(
        f"{platform}（{district_code}，{'安全模式' if keys.encoding_aes_key else '明文模式'}），openid {openid}"
    )
    click.echo(TERMINAL_HELP)
    while True:
        click.echo("你> ", nl=False)
        line = sys.stdin.readline()
        if not line:
            break
        line = line.rstrip("\n")
        if not line.strip():
            continue
        try:
            parsed = parse_terminal_line(line)
        except ValueError as exc:
            click.echo(str(exc))
            continue
        if parsed is None:
            break
        kind, fields = parsed
        try:
            reply = send(transport, keys, kind, openid, fields)
        except SimulatorError as exc:
            click.echo(f"[错误] {exc}")
            continue
        click.echo(f"{platform}> {reply}" if reply else f"{platform}> （无回复）")
