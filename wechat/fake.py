"""A fake WeChat API for the tests and the demo: WeChat's real JSON formats and error codes, in a small Flask app.

It keeps accounts, access tokens, template field types, subscriptions, menus and media in memory (or, for a demo served
by several processes, in an SQLite file they share: `SharedState`), records every message it "delivers", and can be told to fail (an errcode, an HTTP error, or a delay longer than the client's timeout) so the
outbox's retries can be exercised. Tests drive the `FakeWechat` object directly; over HTTP the same operations live
under ``/_fake/…``. The demo mounts it at ``/fake-wechat`` (`mount_fake`) and shows ``/fake-wechat/_fake/inbox``.

Official references for the formats mimicked here:
https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/getStableAccessToken.html,
https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Template_Message_Interface.html,
https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Service_Center_messages.html,
https://developers.weixin.qq.com/doc/offiaccount/Custom_Menus/Creating_Custom-Defined_Menu.html,
https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/Global_Return_Code.html.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import pickle
import re
import secrets
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, Response, request
from flask import render_template_string as render
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from models.clock import utcnow

TOKEN_LIFETIME_SECONDS = 7200
# stable_token hands out the current token until it has less than this left, then a new one.
STABLE_TOKEN_RENEW_SECONDS = 300
# A replaced /cgi-bin/token token stays valid this long, so in-flight calls can finish.
BASIC_TOKEN_GRACE_SECONDS = 300
# WeChat promises deduplication by client_msg_id "within 10 minutes"; the fake honours exactly that window.
CLIENT_MSG_ID_WINDOW_SECONDS = 600
# A client_msg_id already used: the template API's documentation does not say what WeChat answers, so the fake
# answers as the documented mass-send API does — 45065 with the msgid of the message already sent.
DUPLICATE_CLIENT_MSG_ID = 45065
# The API calls a shared state (`SharedState`) remembers: enough for anyone looking, small enough to rewrite each time.
SHARED_CALLS_KEPT = 2_000
CALLBACK_IPS = ("101.226.62.77", "101.226.62.78", "101.226.62.79", "101.226.62.80")

ERRMSG = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40007: "invalid media_id",
    40013: "invalid appid",
    40016: "invalid button size",
    40017: "invalid button type",
    40018: "invalid button name size",
    40019: "invalid button key size",
    40020: "invalid button url size",
    40023: "invalid sub button size",
    40024: "invalid sub button type",
    40025: "invalid sub button name size",
    40026: "invalid sub button key size",
    40027: "invalid sub button url size",
    40037: "invalid template_id",
    40125: "invalid appsecret",
    41001: "access_token missing",
    42001: "access_token expired",
    43004: "require subscribe",
    44002: "empty post data",
    45009: "reach max api daily quota limit",
    45015: "response out of time limit or subscription is canceled",
    45047: "out of response count limit",
    DUPLICATE_CLIENT_MSG_ID: "clientmsgid exist",
    46003: "menu no exist",
    47001: "data format error",
    47003: "argument invalid!",
}

# Template keyword types and what WeChat accepts for each (类目模板 keyword rules).
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
TEMPLATE_FIELD_RULES: dict[str, Callable[[str], bool]] = {
    "thing": lambda v: len(v) <= 20,
    "phrase": lambda v: len(v) <= 5 and re.fullmatch(f"[{_CJK}]*", v) is not None,
    "character_string": lambda v: len(v) <= 32 and re.fullmatch(r"[\x21-\x7e]*", v) is not None,
    "number": lambda v: len(v) <= 32 and re.fullmatch(r"\d+(\.\d+)?", v) is not None,
    "letter": lambda v: len(v) <= 32 and re.fullmatch(r"[A-Za-z]*", v) is not None,
    "name": lambda v: len(v) <= (10 if re.fullmatch(f"[{_CJK}·]*", v) else 20),
    "phone_number": lambda v: len(v) <= 17 and re.fullmatch(r"[\d+\-() ]*", v) is not None,
    "car_number": lambda v: len(v) <= 8,
    "amount": lambda v: re.fullmatch(r"[¥￥]?\d+(\.\d{1,2})?元?", v) is not None,
    "time": lambda v: re.fullmatch(r"\d{4}[-/年]\d{1,2}[-/月]\d{1,2}日?( \d{1,2}:\d{2}(:\d{2})?)?", v)
    is not None,
}


class FakeApiError(Exception):
    """A WeChat error answer: HTTP 200 with ``{"errcode": …, "errmsg": …}``."""

    def __init__(self, errcode: int, detail: str = "", extra: Mapping[str, Any] | None = None) -> None:
        super().__init__(errcode, detail)
        self.errcode = errcode
        self.errmsg = ERRMSG.get(errcode, "error") + (f" {detail}" if detail else "")
        self.extra = dict(extra or {})

    def body(self) -> dict[str, Any]:
        # Real answers end with a request id; clients must not depend on the exact text.
        rid = f"{secrets.token_hex(4)}-{secrets.token_hex(4)}-{secrets.token_hex(4)}"
        return {"errcode": self.errcode, "errmsg": f"{self.errmsg} rid: {rid}", **self.extra}


@dataclass
class DeliveredMessage:
    """A message the fake accepted for delivery to a citizen."""

    id: int
    appid: str
    openid: str
    kind: str  # "template" or "text" (customer-service message)
    msgid: int
    at: float
    template_id: str | None = None
    data: dict[str, Any] | None = None
    url: str | None = None
    content: str | None = None
    client_msg_id: str | None = None

    def text(self) -> str:
        """What the citizen reads: the text, or the template's values one per line."""
        if self.kind == "text":
            return self.content or ""
        return "\n".join(f"{key}: {value.get('value', '')}" for key, value in (self.data or {}).items())

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Failure:
    """An injected failure for the next `remaining` calls to `path` (optionally only for one appid)."""

    path: str
    remaining: int
    errcode: int | None = None
    http_status: int | None = None
    delay: float | None = None
    appid: str | None = None


@dataclass
class _Token:
    appid: str
    expires_at: float
    revoked: bool = False


@dataclass
class _State:
    accounts: dict[str, str] = field(default_factory=dict)
    templates: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    # What a phone shows of them: each template's title and keywords' names, each account's name.
    template_titles: dict[tuple[str, str], tuple[str, dict[str, str]]] = field(default_factory=dict)
    account_names: dict[str, str] = field(default_factory=dict)
    unsubscribed: set[tuple[str, str]] = field(default_factory=set)
    closed_windows: set[tuple[str, str]] = field(default_factory=set)
    tokens: dict[str, _Token] = field(default_factory=dict)
    stable: dict[str, str] = field(default_factory=dict)
    basic: dict[str, str] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    messages: list[DeliveredMessage] = field(default_factory=list)
    client_msg_ids: dict[tuple[str, str, str], tuple[float, int]] = field(default_factory=dict)
    menus: dict[str, dict[str, Any]] = field(default_factory=dict)
    media: dict[tuple[str, str], tuple[bytes, str]] = field(default_factory=dict)
    # Bounded: the demo serves the fake for days, and only recent calls matter to anyone looking.
    calls: deque[tuple[str, str | None]] = field(default_factory=lambda: deque(maxlen=100_000))
    last_id: int = 0
    last_msgid: int = 2_000_000_000

    def next_id(self) -> int:
        self.last_id += 1
        return self.last_id

    def next_msgid(self) -> int:
        self.last_msgid += 1
        return self.last_msgid


class SharedState:
    """The fake's state in an SQLite file, so every process of the demo (gunicorn's workers, the scheduler) sees
    one WeChat: the same tokens, the same inbox. Each operation reads the state, changes it and writes it back in one
    exclusive transaction; an operation that fails (a `FakeApiError`) leaves it as it was.

    The file is the demo's own (it is never sent anywhere and only this program writes it), so it holds the state
    pickled. Only the latest API calls are kept (`SHARED_CALLS_KEPT`), as each operation rewrites the whole state.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as connection, connection:
            connection.execute(
                "CREATE TABLE IF NOT EXISTS fake_wechat_state (id INTEGER PRIMARY KEY, state BLOB)"
            )

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        return connection

    @contextmanager
    def transaction(self) -> Iterator[_State]:
        with closing(self._connect()) as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                row = connection.execute("SELECT state FROM fake_wechat_state WHERE id = 1").fetchone()
                state = pickle.loads(row[0]) if row else _State(calls=deque(maxlen=SHARED_CALLS_KEPT))
                yield state
                connection.execute(
                    "INSERT INTO fake_wechat_state (id, state) VALUES (1, ?)"
                    " ON CONFLICT (id) DO UPDATE SET state = excluded.state",
                    (pickle.dumps(state),),
                )
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise


class FakeWechat:
    """The fake's state and behaviour; thread-safe, so one instance can serve a threaded server and a test at once.

    `clock` returns seconds since the epoch (tests pass their own to move time); `token_lifetime` is the
    ``expires_in`` of new access tokens.
    """

    def __init__(
        self,
        clock: Callable[[], float] | None = None,
        token_lifetime: int = TOKEN_LIFETIME_SECONDS,
        shared_file: str | Path | None = None,
    ) -> None:
        # By default WeChat's clock is the application's (`models.clock`), so a test's shifted clock moves both.
        self.clock = clock or (lambda: utcnow().timestamp())
        self.token_lifetime = token_lifetime
        self._lock = threading.RLock()
        self._state = _State()
        self._shared = SharedState(Path(shared_file)) if shared_file else None

    @contextmanager
    def _locked(self) -> Iterator[_State]:
        """The state, for one operation at a time: this process's (in memory), or the one every process on this host
        shares through `shared_file` (gunicorn's workers in the demo), read and written back in one transaction."""
        with self._lock:
            if self._shared is None:
                yield self._state
            else:
                with self._shared.transaction() as state:
                    yield state

    # ------------------------------------------------------------------------------------------------- control

    def reset(self) -> None:
        """Forget everything: accounts, tokens, messages, failures."""
        with self._locked() as state:
            fresh = _State()
            for name in state.__dataclass_fields__:
                setattr(state, name, getattr(fresh, name))

    def register_account(self, appid: str, secret: str, name: str | None = None) -> None:
        """Make `appid` a known account with `secret` (a changed secret replaces the old one) and, for the inbox, its
        `name` (e.g. 市南区诉办平台)."""
        with self._locked() as state:
            state.accounts[appid] = secret
            if name:
                state.account_names[appid] = name

    def register_template(
        self,
        appid: str,
        template_id: str,
        fields: Mapping[str, str],
        *,
        title: str | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> None:
        """Declare a template and its fields' keyword types (``{"thing1": "thing", …}``), and, for the inbox, its
        `title` and keywords' names (``{"thing1": "诉求内容", …}``).

        Once an account has declared templates, sending with an undeclared template id answers 40037, and values
        that break their type's rules answer 47003.
        """
        with self._locked() as state:
            state.templates.setdefault(appid, {})[template_id] = dict(fields)
            if title or labels:
                state.template_titles[(appid, template_id)] = (title or template_id, dict(labels or {}))

    def account_name(self, appid: str) -> str:
        """The name registered for `appid`, else the appid."""
        with self._locked() as state:
            return state.account_names.get(appid, appid)

    def shown(self, message: DeliveredMessage) -> tuple[str, list[tuple[str, str]]]:
        """A message as a phone shows it: its title, and its lines (keyword name or key, value)."""
        if message.kind == "text":
            return "客服消息", [("", message.content or "")]
        with self._locked() as state:
            title, labels = state.template_titles.get(
                (message.appid, message.template_id or ""), (f"模板消息 {message.template_id}", {})
            )
        return title, [
            (labels.get(key, key), str(item.get("value", ""))) for key, item in (message.data or {}).items()
        ]

    def unsubscribe(self, appid: str, openid: str) -> None:
        """Mark `openid` as no longer following `appid` (sends answer 43004)."""
        with self._locked() as state:
            state.unsubscribed.add((appid, openid))

    def subscribe(self, appid: str, openid: str) -> None:
        """Undo `unsubscribe`."""
        with self._locked() as state:
            state.unsubscribed.discard((appid, openid))

    def close_window(self, appid: str, openid: str) -> None:
        """Customer-service messages to `openid` answer 45015, as when the citizen's 48 hours have passed."""
        with self._locked() as state:
            state.closed_windows.add((appid, openid))

    def fail_next(
        self,
        path: str,
        count: int = 1,
        *,
        errcode: int | None = None,
        http_status: int | None = None,
        delay: float | None = None,
        appid: str | None = None,
    ) -> None:
        """Make the next `count` calls to `path` (e.g. ``/cgi-bin/message/template/send``) fail.

        With `errcode` the answer is WeChat's JSON error; with `http_status` an HTTP error page; with `delay` the
        answer comes that many seconds late — and, as with the real server, the call still takes effect, so a client
        that timed out and retries must rely on client_msg_id. `appid` limits the failure to one account.

        :raises ValueError: when none of errcode, http_status and delay is given.
        """
        if errcode is None and http_status is None and delay is None:
            raise ValueError("a failure needs an errcode, an http_status or a delay")
        with self._locked() as state:
            state.failures.append(Failure(path, count, errcode, http_status, delay, appid))

    def expire_tokens(self, appid: str) -> None:
        """Let every access token of `appid` run out now (calls answer 42001)."""
        with self._locked() as state:
            for token in state.tokens.values():
                if token.appid == appid:
                    token.expires_at = min(token.expires_at, self.clock())

    def revoke_tokens(self, appid: str) -> None:
        """Invalidate every access token of `appid` (calls answer 40001), as when another system refreshed it."""
        with self._locked() as state:
            for token in state.tokens.values():
                if token.appid == appid:
                    token.revoked = True

    def add_media(self, appid: str, media_id: str, content: bytes, content_type: str = "image/jpeg") -> None:
        """A temporary media file `media/get` can return."""
        with self._locked() as state:
            state.media[(appid, media_id)] = (content, content_type)

    def messages(self, appid: str | None = None, openid: str | None = None) -> list[DeliveredMessage]:
        """Messages delivered so far, oldest first, optionally for one account and/or one citizen."""
        with self._locked() as state:
            return [
                m
                for m in state.messages
                if (appid is None or m.appid == appid) and (openid is None or m.openid == openid)
            ]

    def clear_messages(self) -> None:
        with self._locked() as state:
            state.messages.clear()

    def menu(self, appid: str) -> dict[str, Any] | None:
        """The menu last created for `appid`."""
        with self._locked() as state:
            return state.menus.get(appid)

    def api_calls(self, path: str | None = None, appid: str | None = None) -> list[tuple[str, str | None]]:
        """(path, appid) of every API call received, e.g. to count token requests."""
        with self._locked() as state:
            return [
                c for c in state.calls if (path is None or c[0] == path) and (appid is None or c[1] == appid)
            ]

    # ---------------------------------------------------------------------------------------------- the API

    def record_call(self, path: str, appid: str | None) -> Failure | None:
        """Note a call and hand back the failure injected for it, if any (consuming one use)."""
        with self._locked() as state:
            state.calls.append((path, appid))
            for failure in state.failures:
                if failure.path == path and failure.remaining > 0 and failure.appid in (None, appid):
                    failure.remaining -= 1
                    if failure.remaining == 0:
                        state.failures.remove(failure)
                    return failure
            return None

    def appid_of_token(self, access_token: str | None) -> str | None:
        with self._locked() as state:
            token = state.tokens.get(access_token or "")
            return token.appid if token else None

    def _check_credentials(self, state: _State, appid: str, secret: str | None) -> None:
        known = state.accounts.get(appid)
        if known is None:
            raise FakeApiError(40013)
        if secret != known:
            raise FakeApiError(40125)

    def _new_token(self, state: _State, appid: str) -> str:
        token = secrets.token_urlsafe(48)
        state.tokens[token] = _Token(appid, self.clock() + self.token_lifetime)
        return token

    def _answer(self, state: _State, token: str) -> dict[str, Any]:
        remaining = int(state.tokens[token].expires_at - self.clock())
        return {"access_token": token, "expires_in": remaining}

    def stable_token(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /cgi-bin/stable_token``: the current token unless it is about to run out or a refresh is forced.

        :raises FakeApiError: 40002 for another grant_type, 40013/40125 for a wrong appid/secret.
        """
        if body.get("grant_type") != "client_credential":
            raise FakeApiError(40002)
        appid = str(body.get("appid") or "")
        force = bool(body.get("force_refresh"))
        with self._locked() as state:
            self._check_credentials(state, appid, body.get("secret"))
            current = state.stable.get(appid, "")
            token = state.tokens.get(current)
            left = token.expires_at - self.clock() if token is not None and not token.revoked else 0
            if force or left < STABLE_TOKEN_RENEW_SECONDS:
                if token is not None and force:
                    # A forced refresh invalidates the previous stable token at once.
                    token.revoked = True
                current = self._new_token(state, appid)
                state.stable[appid] = current
            return self._answer(state, current)

    def basic_token(self, query: Mapping[str, str]) -> dict[str, Any]:
        """``GET /cgi-bin/token``: a new token on every call; the previous one lives five more minutes.

        :raises FakeApiError: 40002, 40013, 40125 as for `stable_token`.
        """
        if query.get("grant_type") != "client_credential":
            raise FakeApiError(40002)
        appid = str(query.get("appid") or "")
        with self._locked() as state:
            self._check_credentials(state, appid, query.get("secret"))
            previous = state.tokens.get(state.basic.get(appid, ""))
            if previous is not None:
                previous.expires_at = min(previous.expires_at, self.clock() + BASIC_TOKEN_GRACE_SECONDS)
            token = self._new_token(state, appid)
            state.basic[appid] = token
            return self._answer(state, token)

    def authenticate(self, access_token: str | None) -> str:
        """The appid an API call's access token belongs to.

        :raises FakeApiError: 41001 missing, 40001 unknown or revoked, 42001 expired.
        """
        if not access_token:
            raise FakeApiError(41001)
        with self._locked() as state:
            token = state.tokens.get(access_token)
            if token is None or token.revoked:
                raise FakeApiError(40001)
            if token.expires_at <= self.clock():
                raise FakeApiError(42001)
            return token.appid

    def send_template(self, appid: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /cgi-bin/message/template/send``.

        :raises FakeApiError: 43004 unsubscribed, 40037 undeclared template, 47003 a value breaking its type's
            rules, 45065 (with the first send's msgid) for a client_msg_id already used for this citizen within ten
            minutes — nothing is delivered.
        """
        openid = str(body.get("touser") or "")
        template_id = str(body.get("template_id") or "")
        data = body.get("data")
        if not openid or not template_id or not isinstance(data, dict):
            raise FakeApiError(47001)
        client_msg_id = body.get("client_msg_id")
        with self._locked() as state:
            if (appid, openid) in state.unsubscribed:
                raise FakeApiError(43004)
            declared = state.templates.get(appid)
            if declared is not None:
                if template_id not in declared:
                    raise FakeApiError(40037)
                _validate_template_data(declared[template_id], data)
            now = self.clock()
            if client_msg_id:
                seen = state.client_msg_ids.get((appid, openid, str(client_msg_id)))
                if seen is not None and now - seen[0] < CLIENT_MSG_ID_WINDOW_SECONDS:
                    raise FakeApiError(DUPLICATE_CLIENT_MSG_ID, extra={"msgid": seen[1]})
            msgid = state.next_msgid()
            if client_msg_id:
                state.client_msg_ids[(appid, openid, str(client_msg_id))] = (now, msgid)
            state.messages.append(
                DeliveredMessage(
                    id=state.next_id(),
                    appid=appid,
                    openid=openid,
                    kind="template",
                    msgid=msgid,
                    at=now,
                    template_id=template_id,
                    data=json.loads(json.dumps(data)),
                    url=body.get("url"),
                    client_msg_id=str(client_msg_id) if client_msg_id else None,
                )
            )
            return {"errcode": 0, "errmsg": "ok", "msgid": msgid}

    def send_custom(self, appid: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /cgi-bin/message/custom/send`` (text messages).

        :raises FakeApiError: 43004 unsubscribed, 45015 outside the 48-hour window, 47001 malformed.
        """
        openid = str(body.get("touser") or "")
        text = body.get("text")
        if not openid or body.get("msgtype") != "text" or not isinstance(text, dict) or "content" not in text:
            raise FakeApiError(47001)
        with self._locked() as state:
            if (appid, openid) in state.unsubscribed:
                raise FakeApiError(43004)
            if (appid, openid) in state.closed_windows:
                raise FakeApiError(45015)
            state.messages.append(
                DeliveredMessage(
                    id=state.next_id(),
                    appid=appid,
                    openid=openid,
                    kind="text",
                    msgid=state.next_msgid(),
                    at=self.clock(),
                    content=str(text["content"]),
                )
            )
            return {"errcode": 0, "errmsg": "ok"}

    def create_menu(self, appid: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /cgi-bin/menu/create``, with WeChat's size and type rules.

        :raises FakeApiError: 40016–40027 for a menu WeChat would refuse.
        """
        _validate_menu(body)
        with self._locked() as state:
            state.menus[appid] = json.loads(json.dumps(body))
        return {"errcode": 0, "errmsg": "ok"}

    def get_menu(self, appid: str) -> dict[str, Any]:
        """``GET /cgi-bin/menu/get``.

        :raises FakeApiError: 46003 when no menu was created.
        """
        with self._locked() as state:
            menu = state.menus.get(appid)
        if menu is None:
            raise FakeApiError(46003)
        return {"menu": menu}

    def get_media(self, appid: str, media_id: str) -> tuple[bytes, str]:
        """``GET /cgi-bin/media/get``: the file's bytes and content type.

        :raises FakeApiError: 40007 for an unknown media id.
        """
        with self._locked() as state:
            found = state.media.get((appid, media_id))
        if found is None:
            raise FakeApiError(40007)
        return found


def _validate_template_data(types: Mapping[str, str], data: Mapping[str, Any]) -> None:
    for name, item in data.items():
        if not isinstance(item, dict) or not isinstance(item.get("value"), str):
            raise FakeApiError(47001, f"data.{name}.value")
        rule = TEMPLATE_FIELD_RULES.get(types.get(name, ""))
        if rule is not None and not rule(item["value"]):
            raise FakeApiError(47003, f"data.{name}.value invalid")


def _validate_menu(body: Mapping[str, Any]) -> None:
    buttons = body.get("button")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        raise FakeApiError(40016)
    for button in buttons:
        subs = button.get("sub_button") or []
        if len(subs) > 5:
            raise FakeApiError(40023)
        _validate_button(button, name_bytes=16, sub=False, has_subs=bool(subs))
        for sub in subs:
            _validate_button(sub, name_bytes=60, sub=True, has_subs=False)


def _validate_button(button: Mapping[str, Any], name_bytes: int, sub: bool, has_subs: bool) -> None:
    codes = (40024, 40025, 40026, 40027) if sub else (40017, 40018, 40019, 40020)
    name = button.get("name")
    if not isinstance(name, str) or not name or len(name.encode("utf-8")) > name_bytes:
        raise FakeApiError(codes[1])
    if has_subs:
        return
    kind = button.get("type")
    if kind == "click":
        key = button.get("key")
        if not isinstance(key, str) or not key or len(key.encode("utf-8")) > 128:
            raise FakeApiError(codes[2])
    elif kind == "view":
        url = button.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")) or len(url) > 1024:
            raise FakeApiError(codes[3])
    else:
        raise FakeApiError(codes[0])


# ---------------------------------------------------------------------------------------------------- the web app


def _json(payload: Mapping[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(payload, ensure_ascii=False), status=status, mimetype="application/json")


def _body() -> dict[str, Any]:
    """The JSON body; WeChat answers 44002 for none and 47001 for a malformed one."""
    raw = request.get_data()
    if not raw:
        raise FakeApiError(44002)
    try:
        parsed = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FakeApiError(47001) from exc
    if not isinstance(parsed, dict):
        raise FakeApiError(47001)
    return parsed


def create_fake_app(fake: FakeWechat) -> Flask:
    """The fake as a WSGI application: the WeChat API under ``/cgi-bin``, its control under ``/_fake``."""
    app = Flask(__name__)

    def api(path: str, methods: list[str], handler: Callable[[], Response]) -> None:
        def view() -> Response:
            # Work out whose call this is (for appid-specific failures) before deciding whether it fails.
            appid = fake.appid_of_token(request.args.get("access_token")) or request.args.get("appid")
            if appid is None:
                # stable_token names the account in its body; clients need not send a JSON content type.
                body = request.get_json(force=True, silent=True)
                appid = body.get("appid") if isinstance(body, dict) else None
            failure = fake.record_call(path, appid)
            if failure is not None and failure.delay:
                time.sleep(failure.delay)
            if failure is not None and failure.http_status:
                return Response("<html><body>Service Unavailable</body></html>", status=failure.http_status)
            if failure is not None and failure.errcode is not None:
                return _json(FakeApiError(failure.errcode).body())
            try:
                return handler()
            except FakeApiError as exc:
                return _json(exc.body())

        app.add_url_rule(path, endpoint=path, view_func=view, methods=methods)

    def authed() -> str:
        return fake.authenticate(request.args.get("access_token"))

    def media() -> Response:
        content, content_type = fake.get_media(authed(), request.args.get("media_id", ""))
        response = Response(content, mimetype=content_type)
        extension = content_type.rsplit("/", 1)[-1]
        response.headers["Content-disposition"] = (
            f'attachment; filename="{request.args.get("media_id")}.{extension}"'
        )
        return response

    def callback_ips() -> Response:
        authed()
        return _json({"ip_list": list(CALLBACK_IPS)})

    api("/cgi-bin/stable_token", ["POST"], lambda: _json(fake.stable_token(_body())))
    api("/cgi-bin/token", ["GET"], lambda: _json(fake.basic_token(request.args)))
    api("/cgi-bin/message/template/send", ["POST"], lambda: _json(fake.send_template(authed(), _body())))
    api("/cgi-bin/message/custom/send", ["POST"], lambda: _json(fake.send_custom(authed(), _body())))
    api("/cgi-bin/menu/create", ["POST"], lambda: _json(fake.create_menu(authed(), _body())))
    api("/cgi-bin/menu/get", ["GET"], lambda: _json(fake.get_menu(authed())))
    api("/cgi-bin/getcallbackip", ["GET"], callback_ips)
    api("/cgi-bin/media/get", ["GET"], media)

    _add_control(app, fake)
    return app


def _add_control(app: Flask, fake: FakeWechat) -> None:
    def payload() -> dict[str, Any]:
        return request.get_json(force=True, silent=True) or {}

    def ok() -> Response:
        return _json({"ok": True})

    @app.post("/_fake/reset")
    def reset() -> Response:
        fake.reset()
        return ok()

    @app.post("/_fake/accounts")
    def accounts() -> Response:
        body = payload()
        fake.register_account(str(body["appid"]), str(body["secret"]))
        return ok()

    @app.post("/_fake/templates")
    def templates() -> Response:
        body = payload()
        fake.register_template(str(body["appid"]), str(body["template_id"]), body.get("fields") or {})
        return ok()

    @app.post("/_fake/subscriptions")
    def subscriptions() -> Response:
        body = payload()
        if body.get("subscribed", False):
            fake.subscribe(str(body["appid"]), str(body["openid"]))
        else:
            fake.unsubscribe(str(body["appid"]), str(body["openid"]))
        return ok()

    @app.post("/_fake/windows")
    def windows() -> Response:
        body = payload()
        fake.close_window(str(body["appid"]), str(body["openid"]))
        return ok()

    @app.post("/_fake/failures")
    def failures() -> Response:
        body = payload()
        try:
            fake.fail_next(
                str(body["path"]),
                int(body.get("count", 1)),
                errcode=body.get("errcode"),
                http_status=body.get("http_status"),
                delay=body.get("delay"),
                appid=body.get("appid"),
            )
        except ValueError as exc:
            return _json({"ok": False, "error": str(exc)}, status=400)
        return ok()

    @app.post("/_fake/tokens/expire")
    def expire() -> Response:
        fake.expire_tokens(str(payload()["appid"]))
        return ok()

    @app.post("/_fake/tokens/revoke")
    def revoke() -> Response:
        fake.revoke_tokens(str(payload()["appid"]))
        return ok()

    @app.post("/_fake/media")
    def add_media() -> Response:
        body = payload()
        content = base64.b64decode(str(body["content_base64"]))
        fake.add_media(
            str(body["appid"]), str(body["media_id"]), content, str(body.get("content_type", "image/jpeg"))
        )
        return ok()

    @app.get("/_fake/messages")
    def messages() -> Response:
        found = fake.messages(request.args.get("appid"), request.args.get("openid"))
        return _json({"messages": [m.to_json() for m in found]})

    @app.delete("/_fake/messages")
    def clear() -> Response:
        fake.clear_messages()
        return ok()

    @app.get("/_fake/inbox")
    def inbox() -> str:
        openid = (request.args.get("openid") or "").strip() or None
        everyone = fake.messages()
        by_citizen: dict[tuple[str, str], list[DeliveredMessage]] = {}
        for message in reversed(everyone):  # newest first
            if openid is None or message.openid == openid:
                by_citizen.setdefault((message.appid, message.openid), []).append(message)
        # The citizen with the latest message first.
        citizens = sorted(by_citizen.items(), key=lambda item: -item[1][0].id)
        return render(
            INBOX_PAGE,
            citizens=citizens,
            openids=sorted({m.openid for m in everyone}),
            chosen=openid,
            when=_local_time,
            shown=fake.shown,
            account=fake.account_name,
        )


def _local_time(seconds: float) -> str:
    china = dt.timezone(dt.timedelta(hours=8))
    return dt.datetime.fromtimestamp(seconds, china).strftime("%Y-%m-%d %H:%M:%S")


INBOX_PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>模拟微信：群众收到的消息</title>
<style>
body { font-family: system-ui, "PingFang SC", "Microsoft YaHei", sans-serif; margin: 2em; background: #ededed; }
section { background: #fff; border-radius: 8px; padding: 1em 1.5em; margin-bottom: 1.5em; max-width: 42em; }
h2 { font-size: 1em; color: #555; }
.msg { border-left: 3px solid #07c160; padding: .4em .8em; margin: .6em 0; }
.msg h3 { font-size: 1em; margin: .2em 0 .4em; }
.msg dl { display: grid; grid-template-columns: max-content 1fr; gap: .2em 1em; margin: 0; }
.msg dt { color: #888; } .msg dd { margin: 0; white-space: pre-wrap; }
.text { white-space: pre-wrap; }
.meta { color: #888; font-size: .85em; }
</style>
</head>
<body>
<h1>模拟微信：群众收到的消息</h1>
<p>本页列出演示环境中每位群众在微信里会收到的模板消息和客服消息（由本地模拟的微信接口记录，未真正发出），最新的在前。</p>
<form method="get">
  <label>只看群众 <select name="openid" onchange="this.form.submit()">
    <option value="">全部</option>
    {% for o in openids %}<option value="{{ o }}"{% if o == chosen %} selected{% endif %}>{{ o }}</option>{% endfor %}
  </select></label>
  <noscript><button type="submit">筛选</button></noscript>
</form>
{% for (appid, openid), items in citizens %}
<section>
  <h2>{{ account(appid) }} → 群众 {{ openid }}（{{ items|length }} 条）</h2>
  {% for m in items %}{% set title, lines = shown(m) %}
  <div class="msg">
    <div class="meta">{{ when(m.at) }} · {% if m.kind == "template" %}模板消息{% else %}客服消息{% endif %}</div>
    {% if m.kind == "template" %}<h3>{{ title }}</h3>
    <dl>{% for label, value in lines %}<dt>{{ label }}</dt><dd>{{ value }}</dd>{% endfor %}</dl>
    {% else %}<div class="text">{{ m.content }}</div>{% endif %}
    {% if m.url %}<div class="meta"><a href="{{ m.url }}">详情</a></div>{% endif %}
  </div>
  {% endfor %}
</section>
{% else %}
<p>还没有发出任何消息。</p>
{% endfor %}
</body>
</html>
"""


def mount_fake(
    app: Flask, fake: FakeWechat, prefix: str = "/fake-wechat", names: Mapping[str, str] | None = None
) -> Flask:
    """Serve `fake` from `app` under `prefix` (the demo) and register the configured accounts with it.

    The fake is kept in ``app.extensions["qingsu.fake_wechat"]`` so the admin site can show what was sent.
    Returns the fake's own Flask app. `names` (district code → account name) label the inbox.
    """
    names = names or {}
    for account in app.config.get("ACCOUNTS", []):
        fake.register_account(account["appid"], account["secret"], names.get(account.get("district", "")))
    fake_app = create_fake_app(fake)
    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {prefix: fake_app})  # type: ignore[method-assign]
    app.extensions["qingsu.fake_wechat"] = fake
    return fake_app
