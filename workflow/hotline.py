"""Pushing a hotline petition's changes to the 12345 hotline ("12345 both ways"): the rows and the HTTP sender.

Every change of a petition the hotline filed (`Channel.HOTLINE`) writes, in the same transaction, one outbox row with
``channel`` "hotline" (`push_values`, called by `workflow.engine`); `workflow.outbox` delivers it like any
notification (lease, retries with backoff, dead letters) through `HotlineSender`, which POSTs the JSON body to
``[hotline] push_url`` signed ``X-Qingsu-Signature: sha256=<hex HMAC-SHA256 of the raw body with push_secret>``.
The body carries the petition number, the hotline's external id, the state, the time, the action, the notices a
WeChat petitioner would have received (the hotline calls or texts its petitioner: they have no WeChat) and, once
replied, the reply with its five elements. ``delivery_id`` (also header ``X-Qingsu-Delivery``) is the same on every
retry of one push, so the hotline can ignore a repeat. Pushes of one petition are delivered in the order written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from typing import Any

import requests
from flask import Flask

from models import Petition
from models.enums import Channel, NotificationState, PetitionState
from workflow.messages import TEXTS

HOTLINE = "hotline"
PUSH_EVENT = "hotline_push"
PUSH_LABEL = "推送12345热线"
SIGNATURE_HEADER = "X-Qingsu-Signature"
DELIVERY_HEADER = "X-Qingsu-Delivery"
REPLY_ELEMENTS = ("petitioner_info", "policy_basis", "result", "responsible_person", "contact_phone")


@dataclass(frozen=True)
class PushSettings:
    """``[hotline]`` of the configuration (see config.example.toml)."""

    url: str
    secret: str
    timeout: float

    @classmethod
    def from_app(cls, app: Flask) -> PushSettings:
        """The settings of `app`'s configuration."""
        h = app.config.get("HOTLINE") or {}
        return cls(
            url=str(h.get("push_url") or "").strip(),
            secret=str(h.get("push_secret") or ""),
            timeout=float(h.get("timeout_seconds") or 5),
        )


def push_values(
    petition: Petition,
    action: str,
    from_state: PetitionState | None,
    now: dt.datetime,
    notices: list[tuple[str, dict[str, Any]]],
) -> dict[str, Any] | None:
    """The outbox row pushing `action` on a hotline petition; None for another channel, or when the action changed
    neither the state nor anything the petitioner is told."""
    if petition.channel != Channel.HOTLINE or (petition.state == from_state and not notices):
        return None
    base = {"number": petition.number, "title": petition.title}
    payload: dict[str, Any] = {
        "number": petition.number,
        "external_id": petition.external_id,
        "district_code": petition.district_code,
        "action": action,
        "from_state": from_state.value if from_state is not None else None,
        "state": petition.state.value,
        "state_label": petition.state.label,
        "round": petition.handling_round,
        "time": now.astimezone(dt.UTC).isoformat(),
        "notices": [{"event": event, "text": TEXTS[event]({**base, **facts})} for event, facts in notices],
    }
    replied = next((facts for event, facts in notices if event == "replied"), None)
    if replied is not None:
        payload["reply"] = {
            "unit_name": replied.get("unit_name"),
            **{name: replied.get(name) for name in REPLY_ELEMENTS},
        }
    return {
        "district_code": petition.district_code,
        "citizen_id": None,
        "petition_id": petition.id,
        "channel": HOTLINE,
        "event": PUSH_EVENT,
        "payload": payload,
        "state": NotificationState.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "client_msg_id": uuid.uuid4().hex,
        "created_at": now,
    }


def push_body(payload: dict[str, Any], delivery_id: str) -> bytes:
    """The exact bytes POSTed (and signed): the row's payload with its delivery id, as UTF-8 JSON."""
    document = {**payload, "delivery_id": delivery_id}
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def signature(body: bytes, secret: str) -> str:
    """The ``X-Qingsu-Signature`` value of `body`: ``sha256=`` and the hex HMAC-SHA256 with `secret`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_valid(body: bytes, header: str | None, secret: str) -> bool:
    """What the hotline checks (in constant time): `header` is the signature of `body` under `secret`."""
    return header is not None and hmac.compare_digest(header, signature(body, secret))


class PushFailed(Exception):
    """The hotline did not take the push; `retryable` for timeouts, connection errors, 408, 429 and 5xx."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class HotlineSender:
    """POSTs signed pushes to ``[hotline] push_url`` over one HTTP connection per delivery run."""

    def __init__(self, settings: PushSettings) -> None:
        self.settings = settings
        self.http = requests.Session()

    def __enter__(self) -> HotlineSender:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.http.close()

    def send(self, body: bytes, delivery_id: str) -> None:
        """:raises PushFailed: the hotline did not answer 2xx (or did not answer in time)."""
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            SIGNATURE_HEADER: signature(body, self.settings.secret),
            DELIVERY_HEADER: delivery_id,
        }
        try:
            response = self.http.post(
                self.settings.url, data=body, headers=headers, timeout=self.settings.timeout
            )
        except requests.Timeout:
            raise PushFailed(f"热线平台{self.settings.timeout:g}秒内未应答", retryable=True) from None
        except requests.RequestException as exc:
            raise PushFailed(f"无法连接热线平台：{type(exc).__name__}", retryable=True) from None
        if 200 <= response.status_code < 300:
            return
        status = response.status_code
        detail = response.text[:200].strip()
        retryable = status in (408, 429) or status >= 500
        hint = "（签名不符？请核对 push_secret）" if status in (401, 403) else ""
        raise PushFailed(f"热线平台答复 HTTP {status}{hint}：{detail}", retryable=retryable)
