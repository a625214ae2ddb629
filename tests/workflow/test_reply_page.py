"""The citizen's reply page, reached from the 'replied' template message's link: the whole reply, the timeline, the
rating through the workflow's own action; a wrong or expired link is refused. And the reply in full as customer-
service texts inside the 48-hour window, split at WeChat's 2048 bytes."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from models import Evaluation, utcnow
from models.clock import ShiftedClock, use_clock
from models.enums import PetitionState
from qingsu.config import merge
from tests.workflow.notify_support import (  # noqa: F401  (fixtures)
    REPLY,
    Stage,
    app_config_fixture,
    stage_fixture,
    wechat_fixture,
)
from wechat.fake import CUSTOM_TEXT_MAX_BYTES
from workflow.engine import perform
from workflow.messages import reply_parts, split_text
from workflow.outbox import deliver_due
from workflow.reply_link import sign

PUBLIC = "https://qingsu.example.cn"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
MINUTE = dt.timedelta(minutes=1)


@pytest.fixture(name="app_config")
def reply_app_config(app_config):  # type: ignore[no-untyped-def]
    return merge(app_config, {"WEB": {"public_base_url": PUBLIC, "reply_link_grace_days": 30}})


def _link(app, stage: Stage, now: dt.datetime) -> str:  # type: ignore[no-untyped-def]
    """Deliver the outbox and return the path of the 'replied' template message's link."""
    deliver_due(app, now)
    (replied,) = [m for m in stage.fake.messages() if m.template_id == "tpl-replied"]
    assert replied.url is not None and replied.url.startswith(f"{PUBLIC}/r/")
    return urlsplit(replied.url).path


def _replied(stage: Stage):  # type: ignore[no-untyped-def]
    stage.use_templates()
    return stage.replied_petition(utcnow() - MINUTE)


def test_the_template_link_opens_the_whole_reply_with_its_timeline_and_the_rating(app, client, stage: Stage):
    """Rule: the reply contains the petitioner's details, the policy basis, the result, the responsible person and
    a contact phone, and the citizen rates it; the page shows all of it, for this petition only."""
    other = stage.accepted_petition(utcnow() - 2 * MINUTE, content="另一件诉求：小区门口的路灯不亮已经一个月了")
    petition = _replied(stage)
    path = _link(app, stage, petition.created_at + MINUTE)
    page = client.get(path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for element in REPLY.values():
        assert element in html
    assert petition.number in html and "市南区城市管理局" in html
    assert "已答复" in html and "已提交" in html  # the timeline
    assert 'name="satisfaction"' in html and 'name="resolution"' in html and "csrf_token" in html
    assert other.number not in html and "路灯不亮" not in html
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")


def test_a_wrong_signature_is_refused_and_shows_nothing(app, client, stage: Stage):
    petition = _replied(stage)
    path = _link(app, stage, petition.created_at + MINUTE)
    token = path.rsplit("/", 1)[1]
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    forged = sign("not-the-secret-key-of-this-site-at-all", petition.id, petition.citizen_id)
    for bad in (tampered, forged, "x", sign(app.config["SECRET_KEY"], petition.id, petition.citizen_id + 1)):
        answer = client.get(f"/r/{bad}")
        assert answer.status_code == 403
        html = answer.get_data(as_text=True)
        assert "链接无效" in html and petition.number not in html and REPLY["result"] not in html
        assert client.post(f"/r/{bad}/rating", data={}).status_code in (400, 403)


def test_the_link_expires_a_grace_period_after_the_petition_closes(app, client, stage: Stage):
    """Rule: satisfied and resolved closes the petition (办结); its reply page then lasts [web] reply_link_grace_days."""
    petition = _replied(stage)
    path = _link(app, stage, petition.created_at + MINUTE)
    token = CSRF_RE.search(client.get(path).get_data(as_text=True)).group(1)
    rated = client.post(f"{path}/rating", data={"csrf_token": token, "satisfaction": "satisfied", "resolution": "resolved"})
    assert rated.status_code == 303
    stage.session.refresh(petition)
    assert petition.state == PetitionState.CLOSED
    closed_at = petition.closed_at
    previous = use_clock(ShiftedClock(closed_at + dt.timedelta(days=30) - MINUTE))
    try:
        still = client.get(path)
        assert still.status_code == 200 and "您的评价：满意、解决" in still.get_data(as_text=True)
        use_clock(ShiftedClock(closed_at + dt.timedelta(days=30) + MINUTE))
        expired = client.get(path)
        assert expired.status_code == 410
        html = expired.get_data(as_text=True)
        assert "链接已过期" in html and REPLY["result"] not in html
    finally:
        use_clock(previous)


def test_rating_on_the_page_is_the_evaluate_action_once_per_round(app, client, stage: Stage):
    """Rule: unsatisfied or unresolved sends the petition back for second handling (二次办理); one rating per round,
    so a second submission changes nothing."""
    petition = _replied(stage)
    path = _link(app, stage, petition.created_at + MINUTE)
    token = CSRF_RE.search(client.get(path).get_data(as_text=True)).group(1)
    form = {"satisfaction": "unsatisfied", "resolution": "unresolved", "comment": "烧烤摊还是照常营业到半夜"}
    assert client.post(f"{path}/rating", data=form).status_code == 400  # no CSRF token: refused
    assert client.post(f"{path}/rating", data={**form, "csrf_token": token, "satisfaction": "great"}).status_code == 422
    first = client.post(f"{path}/rating", data={**form, "csrf_token": token})
    assert first.status_code == 303
    assert "二次办理" in client.get(first.headers["Location"]).get_data(as_text=True)
    again = client.post(f"{path}/rating", data={**form, "csrf_token": token})
    assert again.status_code == 409 and "已评价过本轮" in again.get_data(as_text=True)
    stage.session.expire_all()
    (evaluation,) = stage.session.scalars(select(Evaluation).where(Evaluation.petition_id == petition.id))
    assert (evaluation.handling_round, evaluation.comment) == (1, "烧烤摊还是照常营业到半夜")
    assert stage.session.get(type(petition), petition.id).state == PetitionState.PENDING_DISPATCH
    assert 'name="satisfaction"' not in client.get(path).get_data(as_text=True)


def test_inside_the_window_the_whole_reply_also_goes_as_texts_within_2048_bytes(app, stage: Stage):
    """Customer-service texts are refused over 2048 bytes (45002): a long reply is split, each part within it."""
    stage.use_templates()
    long_result = "执法队员每晚巡查，已责令烧烤店整改并停止夜间露天经营。" * 60
    petition = stage.accepted_petition(utcnow() - MINUTE)
    stage.world.citizen.last_message_at = petition.created_at
    s, w = stage.session, stage.world
    now = petition.created_at
    perform(s, petition, "accept", w.urban_handler, now)
    perform(s, petition, "submit_reply", w.urban_handler, now, **{**REPLY, "result": long_result})
    perform(s, petition, "approve_reply", w.urban_reviewer, now)
    perform(s, petition, "send_reply", w.dispatcher, now)
    s.commit()
    deliver_due(app, now + MINUTE)
    texts = [m.content or "" for m in stage.fake.messages() if m.kind == "text"]
    assert 2 <= len(texts) <= 3
    assert all(len(t.encode("utf-8")) <= CUSTOM_TEXT_MAX_BYTES for t in texts)
    joined = "".join(re.sub(r"^（\d/\d）", "", t) for t in texts)
    assert long_result in joined.replace("\n", "")
    assert f"{PUBLIC}/r/" in texts[-1]
    replied = next(n for n in stage.notifications(petition) if n.event == "replied")
    assert replied.last_error is None


def test_split_text_keeps_everything_and_reply_parts_stay_within_three():
    text = "\n".join(["第一行", "很长的一行" * 300, "最后一行"])
    pieces = split_text(text, 500)
    assert all(len(p.encode("utf-8")) <= 500 for p in pieces)
    assert "".join(pieces).replace("\n", "") == text.replace("\n", "")
    parts = reply_parts({"number": "SN202611230001", "result": "整改" * 5000}, "https://x/r/t")
    assert len(parts) == 3 and parts[-1].endswith("https://x/r/t") and "全文请点击链接查看" in parts[-1]
    assert all(len(p.encode("utf-8")) <= CUSTOM_TEXT_MAX_BYTES for p in parts)
