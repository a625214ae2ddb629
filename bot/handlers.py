"""What the bot does with each kind of message and event: a registry keyed by message type or event.

Keys are the message type (``text``, ``voice``, ``image``, …) or ``event.<event>`` (``event.click``,
``event.subscribe``, …), lower case as wechatpy parses them. A message nobody registered for gets a polite
reply; an event nobody registered for gets no reply. Handlers return the reply text ("" for none) and change
the session; the webhook commits.
Messages: https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Receiving_standard_messages.html
Events: https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Receiving_event_pushes.html
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from flask import Flask
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, make_transient_to_detached
from wechatpy.messages import BaseMessage

from bot import texts
from bot.accounts import DistrictNames, ServedAccount
from bot.conversation import Dialog
from classifier import suggest_if_trained
from classifier.screening import screen
from models import Citizen
from models.base import unevented
from models.db import execute_alone
from workflow.reply_link import reply_url

log = logging.getLogger(__name__)

Handler = Callable[["Inbound"], str]
HANDLERS: dict[str, Handler] = {}


def _nothing_to_claim() -> bool:
    return False


# How the sender is found: looked up (`LOOK_UP`, the default); taken as new without a lookup (`PRESUMED_NEW`: the
# webhook's write then checks it, and has the message handled again if the citizen exists); or from their row read
# already (a mapping of the citizen's columns).
LOOK_UP = "look up"
PRESUMED_NEW = "presumed new"
Sender = str | Mapping[str, Any]


@dataclass
class Inbound:
    """One parsed message with what a handler needs: the account, the session, the clock and the app.

    `claim` is called once, right before the sender's stored state is read to be changed (a known citizen): the
    webhook writes the message's dedupe row there, which makes deliveries of one message, and messages of one
    citizen, take turns from that point on. It returns True when what was read before it may have changed meanwhile
    (the citizen is then read again). A new citizen needs no claim: nothing of theirs exists to be changed, and the
    webhook writes their rows after the reply is known (see `new_citizen`).
    """

    session: Session
    account: ServedAccount
    message: BaseMessage
    now: dt.datetime
    app: Flask
    claim: Callable[[], bool] = _nothing_to_claim
    sender: Sender = LOOK_UP
    _citizen: Citizen | None = field(default=None, init=False, repr=False)
    # True when this very message created the citizen: nothing else of theirs exists yet.
    _first_contact: bool = field(default=False, init=False, repr=False)

    def field(self, name: str) -> str:
        """A field of the message as text ("" when absent); the webhook has checked it is not nested XML."""
        value = self.message._data.get(name)
        return value if isinstance(value, str) else ""

    @property
    def district(self) -> DistrictNames:
        return self.account.district

    @property
    def citizen(self) -> Citizen:
        """The sender, created on first contact."""
        return self._sender(wrote=False)

    @property
    def new_citizen(self) -> Citizen | None:
        """The sender when this message is their first contact: a new `Citizen` (with its `conversation`, if the
        dialog began one) that is not in the session unless a handler put something related there; the webhook
        writes it. None otherwise."""
        return self._citizen if self._first_contact else None

    @property
    def presumed_new(self) -> bool:
        """True when the handler worked with a new citizen taken as new without a lookup (see `PRESUMED_NEW`)."""
        return self._first_contact and self.sender is PRESUMED_NEW

    @property
    def sender_seen(self) -> bool:
        """True when the handler asked for the sender (who exists once the message is handled)."""
        return self._citizen is not None

    def writer(self) -> Citizen:
        """The sender, who has just written: the 48-hour window for customer-service messages opens now."""
        return self._sender(wrote=True)

    def _sender(self, *, wrote: bool) -> Citizen:
        if self._citizen is None:
            self._citizen, self._first_contact = _citizen_for(
                self.session,
                self.account.district_code,
                self.message.source,
                self.now,
                last_message_at=self.now if wrote else None,
                claim=self.claim,
                sender=self.sender,
            )
        if wrote and self._citizen.last_message_at != self.now:
            self._citizen.last_message_at = self.now
        return self._citizen

    def dialog(self) -> Dialog:
        """The sender's dialog, with the classifier's screening and suggestions."""
        settings = self.app.config["WECHAT"]
        citizen = self.writer()
        return Dialog(
            self.session,
            citizen,
            self.district,
            self.now,
            idle_minutes=int(settings["conversation_idle_minutes"]),
            timezone=self.app.config["CALENDAR"]["timezone"],
            screen=lambda content: screen(content, self.account.district_code),
            # Never trains: WeChat gives up after 5 seconds (see suggest_if_trained).
            suggest=lambda content: suggest_if_trained(content, self.account.district_code, self.app),
            first_contact=self._first_contact,
            reply_link=lambda petition: reply_url(self.app, petition.id, citizen.id),
        )


# Built once (it keeps its cache key): looked up on every message. A Core query: most senders are new, and for
# them nothing is loaded into the session.
_CITIZEN_ROW = select(*Citizen.__table__.columns).where(
    Citizen.district_code == bindparam("district_code"), Citizen.openid == bindparam("openid")
)


def _citizen_for(
    session: Session,
    district_code: str,
    openid: str,
    now: dt.datetime,
    last_message_at: dt.datetime | None,
    claim: Callable[[], bool] = _nothing_to_claim,
    sender: Sender = LOOK_UP,
) -> tuple[Citizen, bool]:
    """The citizen, and whether this message is their first contact; `claim` is called before a known citizen is
    returned (see `Inbound`). `sender` says how to find them (`LOOK_UP`, `PRESUMED_NEW` or their row).

    A new citizen is not added to the session: the webhook writes the row with the rest of the message's work when
    the reply is known. A concurrent first message of the same citizen then fails that commit on the unique key,
    and the webhook handles the message again, finding the citizen (see `handle_once`).
    """
    key = {"district_code": district_code, "openid": openid}
    # Outside any transaction when the message has read nothing yet: a first contact then needs none until it writes.
    row: Mapping[str, Any] | None
    if sender is PRESUMED_NEW:
        row = None
    elif sender is LOOK_UP:
        found = execute_alone(session, _CITIZEN_ROW, key).first()
        row = None if found is None else found._mapping
    else:
        assert not isinstance(sender, str)
        row = sender
    if row is None:
        # Written by the webhook from its __dict__ (`unevented`), unless the dialog changed more (then evented).
        citizen = unevented(
            Citizen,
            district_code=district_code,
            openid=openid,
            subscribed=True,
            created_at=now,
            last_message_at=last_message_at,
        )
        return citizen, True
    if claim():
        row = session.connection().execute(_CITIZEN_ROW, key).one()._mapping
    return _persistent_citizen(session, row), False


def _persistent_citizen(session: Session, row: Mapping[str, Any]) -> Citizen:
    """The session's `Citizen` for a row just read, as a query would have loaded it (without querying again)."""
    known = session.identity_map.get(session.identity_key(Citizen, row["id"]))
    if known is not None:
        # Loaded before in this session (a message handled a second time): bring it up to date.
        session.refresh(known)
        return cast(Citizen, known)
    citizen = Citizen(**row)
    make_transient_to_detached(citizen)
    session.add(citizen)
    return citizen


def registry_key(message: BaseMessage) -> str:
    """``text``, ``image``, … for messages; ``event.<name>`` for events (lower case)."""
    msg_type = str(message._data.get("MsgType") or "").lower()
    if msg_type == "event":
        return f"event.{str(message._data.get('Event') or '').lower()}"
    return msg_type


def handles(*keys: str) -> Callable[[Handler], Handler]:
    """Register the decorated function for these registry keys."""

    def register(handler: Handler) -> Handler:
        for key in keys:
            HANDLERS[key] = handler
        return handler

    return register


def dispatch(inbound: Inbound) -> str:
    """The reply to `inbound` from its registered handler (unknown messages: a polite reply; events: none)."""
    key = registry_key(inbound.message)
    handler = HANDLERS.get(key)
    if handler is None:
        log.info("no handler for %s", key)
        return "" if key.startswith("event.") else unsupported(inbound)
    return handler(inbound)


# --- messages ----------------------------------------------------------------------------------------------------


@handles("text")
def text(inbound: Inbound) -> str:
    """A typed message: the dialog answers it."""
    return inbound.dialog().on_text(inbound.field("Content"))


@handles("voice")
def voice(inbound: Inbound) -> str:
    """A voice message: its recognised text is used as if typed (and the recording kept with the report in
    progress); without one, the citizen is asked to type."""
    # Recognition is present only when the account has speech recognition on, and empty when it heard nothing.
    recognised = inbound.field("Recognition").strip()
    dialog = inbound.dialog()
    if not recognised:
        return dialog.on_unsupported(texts.VOICE_NOT_RECOGNIZED)
    return dialog.on_voice(recognised, inbound.field("MediaId"))


@handles("image")
def image(inbound: Inbound) -> str:
    """A picture: attached to the petition being written."""
    return inbound.dialog().on_image(inbound.field("MediaId"), inbound.field("PicUrl"))


@handles("location")
def location(inbound: Inbound) -> str:
    """A location shared from the map: the place of the petition being written."""
    return inbound.dialog().on_location(
        _coordinate(inbound.field("Location_X")),
        _coordinate(inbound.field("Location_Y")),
        inbound.field("Label"),
    )


@handles("link")
def link(inbound: Inbound) -> str:
    """A shared link: not usable as a petition; the citizen is asked to describe the problem."""
    return inbound.dialog().on_unsupported(texts.LINK_NOT_SUPPORTED)


@handles("video", "shortvideo", "unknown")
def unsupported(inbound: Inbound) -> str:
    """Video, unknown types: a polite reply and a reminder of the current step."""
    return inbound.dialog().on_unsupported(texts.UNSUPPORTED)


def _coordinate(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


# --- events ------------------------------------------------------------------------------------------------------


@handles("event.subscribe")
def subscribe(inbound: Inbound) -> str:
    """Following the account: welcome, and the citizen gets notifications again."""
    # Following the account opens the 48-hour window for customer-service messages, as a message does.
    inbound.writer().subscribed = True
    district = inbound.district
    return texts.welcome(district.platform_name, district.name)


@handles("event.unsubscribe")
def unsubscribe(inbound: Inbound) -> str:
    """Unfollowing: notifications stop."""
    # Notifications stop being sent; nothing can be shown to someone who has just left.
    inbound.citizen.subscribed = False
    return ""


@handles("event.click")
def click(inbound: Inbound) -> str:
    """A menu button (我要反映 / 我的诉求 / 办事指南)."""
    return inbound.dialog().on_menu(inbound.field("EventKey"))


@handles("event.view", "event.templatesendjobfinish", "event.location")
def no_reply(inbound: Inbound) -> str:
    """Events that need no answer."""
    # Opening a menu link, a template delivery report, a periodic location report: nothing to answer.
    if registry_key(inbound.message) == "event.templatesendjobfinish":
        log.info("template message %s: %s", inbound.field("MsgID"), inbound.field("Status"))
    return ""
