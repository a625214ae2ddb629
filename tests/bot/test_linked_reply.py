"""A linked duplicate's petitioner (`workflow.links`) is told their petition is handled with another, receives the
master's reply as a template message from the outbox (through the local fake WeChat API) with the link to their own
reply page, is asked to rate it, and rates it in chat, for their own petition."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from bot import texts
from models import Evaluation, NotificationTemplate, WechatAccount, utcnow
from models.enums import PetitionState, Resolution, Satisfaction
from qingsu.config import merge
from tests.bot.conftest import verify_dialog
from tests.bot.test_dialog_rating import OTHER_PROBLEM, petition, submit
from workflow.jobs import request_evaluations
from workflow.links import link_duplicate
from workflow.outbox import deliver_due

PUBLIC = "https://qingsu.example.cn"
SAME_LAMP = "小区东门那盏路灯坏了两个星期了，天黑以后走路看不清。"
FIELDS = {
    "character_string1": {"source": "number", "type": "character_string"},
    "thing2": {"source": "summary", "type": "thing"},
}
EVENTS = ("accepted", "linked", "replied", "evaluation_request")


@pytest.fixture
def app_config(app_config, fake_wechat):  # type: ignore[no-untyped-def]
    return merge(
        app_config, {"WEB": {"public_base_url": PUBLIC}, "WECHAT": {"api_base_url": fake_wechat.base_url}}
    )


@pytest.fixture
def templates(accounts, fake_wechat, db_session):  # type: ignore[no-untyped-def]
    """The shinan account known to the fake, with a template message for each event of this story."""
    account = db_session.scalars(select(WechatAccount).where(WechatAccount.district_code == "shinan")).one()
    fake_wechat.fake.register_account(account.appid, account.secret)
    for event in EVENTS:
        db_session.add(
            NotificationTemplate(
                district_code="shinan", event=event, template_id=f"tpl-{event}", fields=FIELDS
            )
        )
        fake_wechat.fake.register_template(
            account.appid, f"tpl-{event}", {k: v["type"] for k, v in FIELDS.items()}
        )
    db_session.commit()
    return account


def test_a_linked_duplicates_petitioner_receives_the_reply_and_rates_it_in_chat(
    bot_app, phone, db_session, handling, fake_wechat, templates, client
):
    first, second = phone(), phone()
    master_number = submit(first, OTHER_PROBLEM)
    number = submit(second, SAME_LAMP)
    duplicate = petition(db_session, number)
    link_duplicate(db_session, duplicate, master_number, handling.dispatcher, utcnow())
    db_session.commit()
    handling.reply(petition(db_session, master_number))
    assert petition(db_session, number).state == PetitionState.AWAITING_EVALUATION

    now = utcnow()
    deliver_due(bot_app, now)
    to_second = fake_wechat.fake.messages(openid=second.openid)
    templates_sent = [m.template_id for m in to_second if m.kind == "template"]
    assert templates_sent == ["tpl-linked", "tpl-replied"]
    (replied,) = [m for m in to_second if m.template_id == "tpl-replied"]
    assert replied.data["character_string1"]["value"] == number
    assert replied.url is not None and replied.url.startswith(f"{PUBLIC}/r/")
    page = client.get(urlsplit(replied.url).path).get_data(as_text=True)
    assert number in page and "已责令烧烤摊夜间停止露天经营。" in page and 'name="satisfaction"' in page
    assert master_number not in page  # the other petitioner's petition is not shown
    # The master's petitioner got their own reply, not the duplicate's.
    assert [
        m.data["character_string1"]["value"]
        for m in fake_wechat.fake.messages(openid=first.openid)
        if m.template_id == "tpl-replied"
    ] == [master_number]

    assert request_evaluations(bot_app, now + dt.timedelta(minutes=1)) == 2
    deliver_due(bot_app, now + dt.timedelta(minutes=1))
    asked = [
        m
        for m in fake_wechat.fake.messages(openid=second.openid)
        if m.template_id == "tpl-evaluation_request"
    ]
    assert [m.data["character_string1"]["value"] for m in asked] == [number]

    title = petition(db_session, number).title
    verify_dialog(
        second,
        [
            ("评价", texts.ask_satisfaction(number, title)),
            ("2", texts.ASK_RESOLUTION),
            ("1", texts.confirm_rating("基本满意", "解决")),
            ("1", texts.rated_closed(number)),
        ],
    )
    rated = petition(db_session, number)
    assert rated.state == PetitionState.CLOSED
    (evaluation,) = db_session.scalars(select(Evaluation).where(Evaluation.petition_id == rated.id))
    assert (evaluation.satisfaction, evaluation.resolution) == (
        Satisfaction.BASICALLY_SATISFIED,
        Resolution.RESOLVED,
    )
    assert evaluation.unit_id == handling.unit.id
    assert petition(db_session, master_number).state == PetitionState.AWAITING_EVALUATION
