"""12345 both ways (issue 14, item 4), what the hotline sends: information its petitioner adds (a supplement), and
the rating it forwards counting like a WeChat petitioner's."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from models import Attachment, Evaluation, Petition, PetitionEvent, User, utcnow
from models.enums import PetitionState, Satisfaction
from tests.admin_web import f2_support, test_hotline_push
from tests.admin_web.f2_support import World
from tests.admin_web.test_api_openapi import _validator
from tests.admin_web.test_hotline_push import (
    TO_REPLY,
    Receiver,
    _act,
    _deliver_until_quiet,
    _hotline_petition,
)
from tests.factories import make_petition
from workflow.rates import satisfaction_rates

site, api_client, world = f2_support.site, f2_support.api_client, f2_support.world
receiver = test_hotline_push.receiver

SUPPLEMENT = {
    "client_id": "12345-20261125-0042-S1",
    "text": "市民来电补充：故障路口是金门路与宁夏路交叉口，东南角信号灯完全不亮。",
    "attachments": [{"url": "https://hotline.example.cn/media/0042-1.jpg", "kind": "image"}],
}


def _url(number: str) -> str:
    return f"/api/v1/petitions/{number}/supplements"


def test_the_hotline_adds_its_petitioners_information_once_and_the_handler_sees_it(
    site: Flask, world: World, api_client: FlaskClient, login_as: Callable[[User], FlaskClient]
):
    """Rule (issue 14: the hotline can add information): a supplement is a history row with its text and its
    attachments, shown on the petition page and in the API to the handler; the same client_id again is a retry that
    adds nothing, with another text a 409."""
    petition = _hotline_petition(world, api_client)
    _act(world, petition, TO_REPLY[:2])  # now handled by the urban management bureau
    headers = world.token("hotline")

    added = api_client.post(_url(petition.number), headers=headers, json=SUPPLEMENT)
    retried = api_client.post(_url(petition.number), headers=headers, json=SUPPLEMENT)
    other = api_client.post(
        _url(petition.number), headers=headers, json={**SUPPLEMENT, "text": "另一段补充。"}
    )

    assert (added.status_code, retried.status_code, other.status_code) == (201, 200, 409)
    assert added.get_json()["event"] == retried.get_json()["event"]
    assert added.get_json()["event"]["label"] == "补充材料"
    spec = api_client.get("/api/v1/openapi.json").get_json()
    _validator(spec, "SupplementRequest").validate(SUPPLEMENT)
    _validator(spec, "SupplementResult").validate(added.get_json())
    assert other.get_json()["error"]["field"] == "client_id"
    rows = world.session.scalars(
        select(PetitionEvent).where(
            PetitionEvent.petition_id == petition.id, PetitionEvent.action == "supplement"
        )
    ).all()
    assert len(rows) == 1 and rows[0].note == SUPPLEMENT["text"]
    assert rows[0].from_state == rows[0].to_state == PetitionState.HANDLING
    urls = world.session.scalars(select(Attachment.url).where(Attachment.petition_id == petition.id)).all()
    assert urls == [SUPPLEMENT["attachments"][0]["url"]]

    handler_api = api_client.get(f"/api/v1/petitions/{petition.number}", headers=world.token("urban_handler"))
    assert any(
        e["action"] == "supplement" and e["note"] == SUPPLEMENT["text"]
        for e in handler_api.get_json()["events"]
    )
    page = login_as(world.users["urban_handler"]).get(f"/admin/petitions/{petition.number}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "补充材料" in html and "东南角信号灯完全不亮" in html


def test_a_supplement_is_refused_for_a_finished_petition_and_for_petitions_not_from_the_hotline(
    world: World, api_client: FlaskClient
):
    """Rule: only the hotline adds information, only to petitions it filed (403), to existing ones (404), and not once
    the petition is finished (409: closed, unrated, handed to accountability or not admitted); bad input is 422."""
    hotline = world.token("hotline")
    wechat = make_petition(world.session, citizen=world.citizen, now=utcnow())
    world.session.commit()
    assert api_client.post(_url(wechat.number), headers=hotline, json=SUPPLEMENT).status_code == 403
    assert api_client.post(_url("SN209901019999"), headers=hotline, json=SUPPLEMENT).status_code == 404

    petition = _hotline_petition(world, api_client)
    dispatcher = world.token("dispatcher")
    assert api_client.post(_url(petition.number), headers=dispatcher, json=SUPPLEMENT).status_code == 403
    for bad in ({**SUPPLEMENT, "text": " "}, {**SUPPLEMENT, "client_id": ""}, {**SUPPLEMENT, "text": 5}):
        assert api_client.post(_url(petition.number), headers=hotline, json=bad).status_code == 422
    bad_link = {**SUPPLEMENT, "attachments": [{"url": "javascript:alert(1)"}]}
    assert api_client.post(_url(petition.number), headers=hotline, json=bad_link).status_code == 422

    _act(world, petition, TO_REPLY)
    rating = {"expected_state": "awaiting_evaluation", "satisfaction": "satisfied", "resolution": "resolved"}
    rated = api_client.post(
        f"/api/v1/petitions/{petition.number}/actions/evaluate", headers=hotline, json=rating
    )
    assert rated.status_code == 200 and rated.get_json()["petition"]["state"]["value"] == PetitionState.CLOSED
    late = api_client.post(_url(petition.number), headers=hotline, json={**SUPPLEMENT, "client_id": "late"})
    assert late.status_code == 409 and "办结" in late.get_json()["error"]["message"]


def test_a_rating_the_hotline_forwards_counts_in_the_satisfaction_rate_and_an_unsatisfied_one_is_handled_again(
    site: Flask, world: World, api_client: FlaskClient, receiver: Receiver
):
    """Rule (source: the three rates count every petitioner's rating; 不满意 → 二次办理): the ratings the hotline
    forwards are counted like a WeChat petitioner's, and an unsatisfied one sends the petition back to the district
    platform, the hotline told through the push (its petitioner has no WeChat)."""
    happy = _hotline_petition(world, api_client)
    unhappy_body_id = {"external_id": "12345-20261125-0043", "content": "宁夏路公交站台顶棚漏雨。"}
    created = api_client.post(
        "/api/v1/petitions",
        headers=world.token("hotline"),
        json={"district_code": "shinan", "kind": "livelihood", **unhappy_body_id},
    )
    assert created.status_code == 201
    unhappy = world.session.scalars(
        select(Petition).where(Petition.number == created.get_json()["number"])
    ).one()
    for petition in (happy, unhappy):
        _act(world, petition, TO_REPLY)
    hotline = world.token("hotline")

    def rate(number: str, satisfaction: str, resolution: str) -> None:
        answer = api_client.post(
            f"/api/v1/petitions/{number}/actions/evaluate",
            headers=hotline,
            json={
                "expected_state": "awaiting_evaluation",
                "satisfaction": satisfaction,
                "resolution": resolution,
            },
        )
        assert answer.status_code == 200, answer.get_json()

    rate(happy.number, "satisfied", "resolved")
    rate(unhappy.number, "unsatisfied", "unresolved")

    ratings = world.session.scalars(select(Evaluation).order_by(Evaluation.petition_id)).all()
    assert [r.satisfaction for r in ratings] == [Satisfaction.SATISFIED, Satisfaction.UNSATISFIED]
    overall = satisfaction_rates(world.session, district_code="shinan")["all"]
    assert (overall.numerator, overall.denominator) == (1, 2)
    world.session.expire_all()
    assert happy.state == PetitionState.CLOSED
    assert unhappy.state == PetitionState.PENDING_DISPATCH and unhappy.handling_round == 2

    _deliver_until_quiet(site, utcnow())
    last = [push for push in receiver.received if push["number"] == unhappy.number][-1]
    assert last["action"] == "evaluate" and last["round"] == 2 and last["notices"]
