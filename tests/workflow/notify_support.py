"""Shared pieces of the outbox, job and scheduler tests: a fake WeChat API over real HTTP, an account registered
with it, templates for every event, and petitions driven through the real workflow.

Test modules import the fixtures they use from here. Each fixture is named explicitly (``name=``), so a test module
imports ``stage_fixture`` while its tests ask for ``stage``, and the import is not shadowed by the parameter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Notification, NotificationTemplate, Petition, WechatAccount
from qingsu.config import merge
from tests.factories import MONDAY_10AM, make_account, make_petition
from tests.live import serve
from wechat.fake import FakeWechat, create_fake_app
from workflow.engine import perform
from workflow.notify import EVENTS

TEMPLATE_SEND = "/cgi-bin/message/template/send"
CUSTOM_SEND = "/cgi-bin/message/custom/send"
# The client's timeout in these tests: the production default, so a send on a busy CI machine is never a timeout.
CLIENT_TIMEOUT = 5.0
# The timeout a test sets (`short_timeout`) when it makes the fake answer late; a fake delay longer than this is one.
SHORT_TIMEOUT = 0.4

REPLY = {
    "petitioner_info": "张女士，市南区太平角社区居民",
    "policy_basis": "《青岛市城市市容和环境卫生管理条例》第二十条",
    "result": "已责令烧烤摊整改，夜间22点后停止露天经营，执法队员每晚巡查。",
    "responsible_person": "李明",
    "contact_phone": "0532-88886666",
}

# One template layout for every event, with the keyword types WeChat's category templates use.
TEMPLATE_FIELDS: dict[str, dict[str, str]] = {
    "character_string1": {"source": "number", "type": "character_string"},
    "thing2": {"source": "title", "type": "thing"},
    "phrase3": {"source": "state_label", "type": "phrase"},
    "thing4": {"source": "summary", "type": "thing"},
    "time5": {"source": "created_at", "type": "time"},
}


@dataclass(frozen=True)
class FakeServer:
    """A running fake WeChat API: `fake` to arrange and inspect, `base_url` for ``[wechat] api_base_url``."""

    fake: FakeWechat
    base_url: str


@pytest.fixture(name="wechat")
def wechat_fixture() -> Iterator[FakeServer]:
    """A fresh fake WeChat API on 127.0.0.1 (a real threaded HTTP server on a free port)."""
    fake = FakeWechat()
    with serve(create_fake_app(fake)) as url:
        yield FakeServer(fake, url)


@pytest.fixture(name="short_timeout")
def short_timeout_fixture(app: Any, monkeypatch: pytest.MonkeyPatch) -> float:
    """Clients made from `app` give up after `SHORT_TIMEOUT` seconds, for the tests of late answers."""
    monkeypatch.setitem(app.config["WECHAT"], "api_timeout_seconds", SHORT_TIMEOUT)
    return SHORT_TIMEOUT


@pytest.fixture(name="app_config")
def app_config_fixture(app_config: dict[str, Any], wechat: FakeServer) -> dict[str, Any]:
    """The test configuration pointed at the fake, with short retries so a test can walk through them."""
    return merge(
        app_config,
        {
            "WECHAT": {"api_base_url": wechat.base_url, "api_timeout_seconds": CLIENT_TIMEOUT},
            "SCHEDULER": {"max_attempts": 8, "backoff_base_seconds": 30, "backoff_max_seconds": 3600},
        },
    )


@dataclass
class Stage:
    """The world of the workflow tests plus the shinan account, registered with the fake."""

    world: Any
    fake: FakeWechat
    account: WechatAccount

    @property
    def session(self) -> Session:
        return self.world.session

    def use_templates(
        self, events: tuple[str, ...] = tuple(EVENTS), fields: dict[str, Any] | None = None
    ) -> None:
        """Configure a template for each of `events` (ours and the fake's, with the same keyword types)."""
        layout = fields or TEMPLATE_FIELDS
        for event in events:
            template_id = f"tpl-{event}"
            self.session.add(
                NotificationTemplate(
                    district_code="shinan", event=event, template_id=template_id, fields=layout
                )
            )
            self.fake.register_template(
                self.account.appid, template_id, {k: v["type"] for k, v in layout.items()}
            )
        self.session.commit()

    def notifications(self, petition: Petition | None = None) -> list[Notification]:
        """Every notification (of `petition`), oldest first, as the database has them now."""
        self.session.expire_all()
        query = select(Notification).order_by(Notification.id)
        if petition is not None:
            query = query.where(Notification.petition_id == petition.id)
        return list(self.session.scalars(query))

    def accepted_petition(self, now: dt.datetime = MONDAY_10AM, **kw: Any) -> Petition:
        """A new petition of the world's citizen, dispatched to the urban management bureau (→ 'accepted')."""
        petition = make_petition(self.session, citizen=self.world.citizen, now=now, **kw)
        perform(
            self.session,
            petition,
            "dispatch",
            self.world.dispatcher,
            now,
            unit_id=self.world.urban.id,
            nature="complaint",
            complexity="simple",
            dept_type="urban_mgmt",
        )
        self.session.commit()
        return petition

    def replied_petition(self, now: dt.datetime = MONDAY_10AM) -> Petition:
        """A petition whose reply the platform has sent (→ 'accepted' and 'replied' queued)."""
        petition = self.accepted_petition(now)
        s, w = self.session, self.world
        perform(s, petition, "accept", w.urban_handler, now)
        perform(s, petition, "submit_reply", w.urban_handler, now, **REPLY)
        perform(s, petition, "approve_reply", w.urban_reviewer, now)
        perform(s, petition, "send_reply", w.dispatcher, now)
        s.commit()
        return petition


@pytest.fixture(name="stage")
def stage_fixture(world: Any, wechat: FakeServer) -> Stage:
    account = make_account(world.session, "shinan")
    world.session.commit()
    wechat.fake.register_account(account.appid, account.secret)
    return Stage(world=world, fake=wechat.fake, account=account)
