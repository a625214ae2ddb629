"""Linking a duplicate over the JSON API: POST /api/v1/petitions/<number>/link {"target": …}, its errors, its
idempotence, what a petition says about its links, and the OpenAPI document that describes it."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import func, select

from models import PetitionEvent
from tests.admin_web import f2_support
from tests.admin_web.f2_support import World
from tests.admin_web.test_api_openapi import _document, _validator
from tests.factories import make_citizen, make_petition

site, api_client, world = f2_support.site, f2_support.api_client, f2_support.world

LAMP = "香港中路10号门口路灯坏了半个月，晚上出行很不方便。"


def _petition(world: World, district_code: str = "shinan"):  # type: ignore[no-untyped-def]
    petition = make_petition(
        world.session,
        district_code=district_code,
        content=LAMP,
        citizen=make_citizen(world.session, district_code),
    )
    world.session.commit()
    return petition


def _events(world: World, petition) -> int:  # type: ignore[no-untyped-def]
    world.session.expire_all()
    return world.session.scalar(
        select(func.count(PetitionEvent.id)).where(PetitionEvent.petition_id == petition.id)
    )


def test_the_dispatcher_links_a_duplicate_and_a_repeat_changes_nothing(world: World, api_client: FlaskClient):
    """Rule: link by the district's dispatcher; the petition then says 已关联至 <master>, the master lists it; a
    double submission answers 200 with linked false and writes nothing; both answers match the document."""
    spec = _document(api_client)
    master, duplicate = _petition(world), _petition(world)
    headers = world.token("dispatcher")
    url = f"/api/v1/petitions/{duplicate.number}/link"
    first = api_client.post(url, headers=headers, json={"target": master.number, "note": "同一路灯"})
    assert first.status_code == 200, first.get_json()
    body = first.get_json()
    assert body["linked"] is True and isinstance(body["event_id"], int)
    assert body["petition"]["state"]["value"] == "linked"
    assert body["petition"]["linked_label"] == f"已关联至 {master.number}"
    assert body["petition"]["duplicate_of"] == {
        "number": master.number,
        "state": {"value": "pending_dispatch", "label": "待研判"},
        "waiting": True,
    }
    assert not list(_validator(spec, "LinkResult").iter_errors(body))
    count = _events(world, duplicate)
    again = api_client.post(url, headers=headers, json={"target": master.number})
    assert (
        again.status_code == 200
        and again.get_json()["linked"] is False
        and again.get_json()["event_id"] is None
    )
    assert not list(_validator(spec, "LinkResult").iter_errors(again.get_json()))
    assert _events(world, duplicate) == count
    shown = api_client.get(f"/api/v1/petitions/{master.number}", headers=headers).get_json()
    assert shown["duplicates"] == [
        {"number": duplicate.number, "state": {"value": "linked", "label": "已关联"}}
    ]
    assert shown["duplicate_of"] is None and shown["linked_label"] is None
    assert not list(_validator(spec, "PetitionDetail").iter_errors(shown))


def test_link_errors_are_404_409_422_and_403(world: World, api_client: FlaskClient):
    """Rules: unknown or another district's target 404; the petition itself 422; a target itself linked, a
    dispatched petition, or one linked elsewhere 409; a unit's handler 403; another district's petition 404."""
    master, duplicate, third = _petition(world), _petition(world), _petition(world)
    laoshan = _petition(world, "laoshan")
    headers = world.token("dispatcher")

    def link(petition, body, who=headers):  # type: ignore[no-untyped-def]
        return api_client.post(f"/api/v1/petitions/{petition.number}/link", headers=who, json=body)

    for target in ("SN209901010001", laoshan.number):
        answer = link(duplicate, {"target": target})
        assert answer.status_code == 404 and answer.get_json()["error"]["field"] == "target"
    assert link(duplicate, {"target": duplicate.number}).status_code == 422
    assert link(duplicate, {}).status_code == 422
    assert link(duplicate, {"target": master.number, "colour": "red"}).status_code == 422
    assert link(duplicate, {"target": 42}).status_code == 422
    assert (
        link(duplicate, {"target": master.number}, world.token("urban_handler")).status_code == 404
    )  # not in scope
    assert link(laoshan, {"target": master.number}).status_code == 404
    assert link(third, {"target": master.number}).status_code == 200
    chained = link(duplicate, {"target": third.number})
    assert (
        chained.status_code == 409
        and f"请关联至主诉求 {master.number}" in chained.get_json()["error"]["message"]
    )
    assert link(third, {"target": duplicate.number}).status_code == 409  # linked elsewhere already
    assert link(master, {"target": duplicate.number}, world.token("city_dispatcher")).status_code == 403
    dispatched = _petition(world)
    api_client.post(
        f"/api/v1/petitions/{dispatched.number}/actions/dispatch",
        headers=headers,
        json={"expected_state": "pending_dispatch", "unit_id": world.urban.id, "nature": "complaint"},
    )
    wrong_state = link(dispatched, {"target": master.number})
    assert wrong_state.status_code == 409 and wrong_state.get_json()["error"]["code"] == "wrong_state"
    assert _events(world, duplicate) == 1  # only its submission


def test_link_and_unlink_are_workflow_actions_of_the_api_too(world: World, api_client: FlaskClient):
    """The generic action endpoint takes link (unknown target 404) and unlink; linked_reply is the system's."""
    master, duplicate = _petition(world), _petition(world)
    headers = world.token("dispatcher")
    base = f"/api/v1/petitions/{duplicate.number}/actions"
    unknown = api_client.post(
        f"{base}/link", headers=headers, json={"expected_state": "pending_dispatch", "target": "X1"}
    )
    assert unknown.status_code == 404
    linked = api_client.post(
        f"{base}/link", headers=headers, json={"expected_state": "pending_dispatch", "target": master.number}
    )
    assert linked.status_code == 200 and linked.get_json()["petition"]["state"]["value"] == "linked"
    actions = [a["action"] for a in linked.get_json()["petition"]["available_actions"]]
    assert actions == ["unlink"]
    refused = api_client.post(f"{base}/linked_reply", headers=headers, json={"expected_state": "linked"})
    assert refused.status_code == 403
    undone = api_client.post(
        f"{base}/unlink", headers=headers, json={"expected_state": "linked", "note": "误关联"}
    )
    assert undone.status_code == 200
    assert undone.get_json()["petition"]["state"]["value"] == "pending_dispatch"
    assert undone.get_json()["petition"]["duplicate_of"] is None


def test_the_link_endpoint_is_in_the_openapi_document(api_client: FlaskClient):
    spec = _document(api_client)
    operation = spec["paths"]["/api/v1/petitions/{number}/link"]["post"]
    assert operation["operationId"] == "link_duplicate"
    assert set(operation["responses"]) >= {"200", "403", "404", "409", "422"}
    request = spec["components"]["schemas"]["LinkRequest"]
    assert request["required"] == ["target"] and request["additionalProperties"] is False
    assert set(spec["components"]["schemas"]["Action_link"]["properties"]) == {
        "expected_state",
        "target",
        "note",
    }
