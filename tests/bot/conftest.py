"""Fixtures for the bot's tests: a fake WeChat API served over real HTTP."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from models import Citizen, utcnow
from tests.factories import make_account, make_district
from tests.fake_wechat import FakeWechatServer, fake_wechat  # noqa: F401  (a fixture of the bot's tests)
from tests.wechat_wire import WireAccount, decrypt_reply, parse_reply, sign_request

# --- the bot's own fixtures: the webhook registered, district accounts, and a citizen's phone -------------------


# Every test account's AES key; plain-mode accounts have none.
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


@pytest.fixture
def bot_app(app: Flask) -> Flask:
    """The test app with the bot registered (the factory does it once the lead wires `bot.init_app`)."""
    if "bot" not in app.blueprints:
        import bot

        bot.init_app(app)
    return app


@dataclass(frozen=True)
class Accounts:
    """Two district accounts: shinan in safe (AES) mode, shibei in plain mode; all ten districts exist."""

    safe: WireAccount
    plain: WireAccount


@pytest.fixture
def accounts(bot_app: Flask, db_session: Session) -> Accounts:
    from models.district import TEN_DISTRICTS

    for code, *_ in TEN_DISTRICTS:
        make_district(db_session, code)
    safe = make_account(db_session, "shinan", token="shinantoken", encoding_aes_key=AES_KEY)
    plain = make_account(db_session, "shibei", token="shibeitoken", encoding_aes_key=None)
    db_session.commit()
    return Accounts(
        safe=WireAccount(appid=safe.appid, token="shinantoken", encoding_aes_key=AES_KEY),
        plain=WireAccount(appid=plain.appid, token="shibeitoken"),
    )


@dataclass
class Phone:
    """One citizen's WeChat talking to one district account through the signed (and encrypted) protocol."""

    client: Any
    wire: WireAccount
    district_code: str
    openid: str
    last_event_time: int = 0

    def post(self, xml: str, **sign: Any) -> tuple[int, str]:
        """POST inbound `xml`; the HTTP status and the reply's Content ("" for no reply)."""
        query, body = sign_request(self.wire, xml, **sign)
        response = self.client.post(
            f"/wechat/{self.district_code}", query_string=query, data=body, content_type="text/xml"
        )
        if response.status_code != 200:
            return response.status_code, response.get_data(as_text=True)
        plain = decrypt_reply(self.wire, query, response.get_data())
        if plain.strip() in ("", "success"):
            return 200, ""
        reply = parse_reply(plain)
        assert reply["MsgType"] == "text"
        assert reply["ToUserName"] == self.openid
        return 200, reply["Content"]

    def send(self, xml: str) -> str:
        status, content = self.post(xml)
        assert status == 200, content
        return content

    def say(self, text: str) -> str:
        return self.send(self.wire.build_text(self.openid, text))

    def click(self, key: str) -> str:
        # WeChat tells events apart by sender, CreateTime and event, so a real citizen's taps are a second apart.
        self.last_event_time = max(int(utcnow().timestamp()), self.last_event_time + 1)
        return self.send(self.wire.build_event(self.openid, "CLICK", key, create_time=self.last_event_time))

    def voice(self, recognition: str | None) -> str:
        return self.send(self.wire.build_voice(self.openid, recognition))

    def image(self, url: str = "http://mmbiz.qpic.cn/test.jpg") -> str:
        return self.send(self.wire.build_image(self.openid, pic_url=url))

    def location(self, lat: float, lng: float, label: str) -> str:
        return self.send(self.wire.build_location(self.openid, lat, lng, label))

    def citizen(self, session: Session) -> Citizen:
        session.expire_all()
        return session.query(Citizen).filter_by(district_code=self.district_code, openid=self.openid).one()


@pytest.fixture
def phone(bot_app: Flask, accounts: Accounts, trained_classifier: Any) -> Callable[..., Phone]:
    """`phone()` is a new citizen on the safe-mode shinan account; `phone(plain=True)` on plain-mode shibei."""
    counter = iter(range(1, 1000))

    def make(plain: bool = False, openid: str | None = None) -> Phone:
        wire = accounts.plain if plain else accounts.safe
        return Phone(
            bot_app.test_client(),
            wire,
            "shibei" if plain else "shinan",
            openid or f"oCitizen{next(counter):04d}xxxxxxxxxxxxxxxx",
        )

    return make


@dataclass(frozen=True)
class Contains:
    """An expected reply given by the fragments it must contain, in order."""

    fragments: Sequence[str]

    def __init__(self, *fragments: str) -> None:
        object.__setattr__(self, "fragments", fragments)

    def check(self, reply: str) -> bool:
        at = 0
        for fragment in self.fragments:
            at = reply.find(fragment, at)
            if at < 0:
                return False
            at += len(fragment)
        return True


Said = str | Callable[[Phone], str]
Expected = str | Contains


def verify_dialog(phone: Phone, turns: Sequence[tuple[Said, Expected]]) -> list[str]:
    """Play a dialog table: each (citizen says, bot answers) in turn. A string said is a text message; a callable
    sends anything else (a menu click, voice, an image, a location). The answer is the exact reply, or `Contains`.
    Returns the replies."""
    replies = []
    for number, (said, expected) in enumerate(turns, start=1):
        reply = phone.say(said) if isinstance(said, str) else said(phone)
        replies.append(reply)
        ok = expected.check(reply) if isinstance(expected, Contains) else reply == expected
        assert ok, f"turn {number}: citizen said {said!r}\n--- expected ---\n{expected}\n--- bot answered ---\n{reply}"
    return replies


def menu(key: str) -> Callable[[Phone], str]:
    return lambda p: p.click(key)


def voice(recognition: str | None) -> Callable[[Phone], str]:
    return lambda p: p.voice(recognition)


def image(url: str = "http://mmbiz.qpic.cn/test.jpg") -> Callable[[Phone], str]:
    return lambda p: p.image(url)


def location(lat: float, lng: float, label: str) -> Callable[[Phone], str]:
    return lambda p: p.location(lat, lng, label)


def now_utc() -> dt.datetime:
    return utcnow()


@dataclass
class Handling:
    """A district's handling side, to take a petition through the workflow up to the citizen's rating."""

    session: Session
    dispatcher: Any
    unit: Any
    handler: Any
    reviewer: Any

    def dispatch(self, petition: Any) -> None:
        """The platform accepts the petition (2 working days: a simple complaint) and assigns it to the unit."""
        from workflow.engine import perform

        self.session.refresh(petition)
        perform(self.session, petition, "dispatch", self.dispatcher, now_utc(), unit_id=self.unit.id,
                nature="complaint", complexity="simple", dept_type="urban_mgmt")
        self.session.commit()

    def reply(self, petition: Any) -> None:
        """Dispatch, accept, answer, review and send the reply: the petition then awaits the citizen's rating."""
        from workflow.engine import perform

        self.dispatch(petition)
        now = now_utc()
        perform(self.session, petition, "accept", self.handler, now)
        perform(self.session, petition, "submit_reply", self.handler, now, petitioner_info="市南区居民",
                policy_basis="《青岛市城市市容和环境卫生管理条例》", result="已责令烧烤摊夜间停止露天经营。",
                responsible_person="李明", contact_phone="0532-88886666")
        perform(self.session, petition, "approve_reply", self.reviewer, now)
        perform(self.session, petition, "send_reply", self.dispatcher, now)
        self.session.commit()


@pytest.fixture
def handling(accounts: Accounts, db_session: Session) -> Handling:
    from models.enums import DeptType, Role
    from tests.factories import make_unit, make_user

    unit = make_unit(db_session, dept_type=DeptType.URBAN_MGMT, name="市南区城市管理局")
    result = Handling(
        session=db_session,
        dispatcher=make_user(db_session, Role.DISPATCHER),
        unit=unit,
        handler=make_user(db_session, Role.HANDLER, unit=unit),
        reviewer=make_user(db_session, Role.UNIT_REVIEWER, unit=unit),
    )
    db_session.commit()
    return result
