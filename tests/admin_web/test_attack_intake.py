"""Issue 12, attack 10: hotline intake took anything: a 5,000-character `contact_phone`, `latitude: 1e308`, an
attachment URL `javascript:alert(1)`; and the same `external_id` with different content silently returned the first
petition. Now each field is checked (422 naming it, nothing stored), a repeat with the same content is the
idempotent retry (200, the same petition) and one with other content a 409 naming the petition that holds the id."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from models import Petition
from tests.admin_web import f2_support
from tests.admin_web.f2_support import World

site, api_client, world = f2_support.site, f2_support.api_client, f2_support.world

BODY = {
    "external_id": "12345-20261127-0002",
    "district_code": "shinan",
    "kind": "livelihood",
    "content": "香港中路人行道地砖松动，老人容易绊倒。",
    "location": "香港中路10号",
    "latitude": 36.06,
    "longitude": 120.38,
    "contact_name": "王先生",
    "contact_phone": "0532-88886666",
    "attachments": [{"kind": "image", "url": "https://12345.qingdao.example/files/1.jpg"}],
}


def _petitions(world: World) -> int:
    world.session.expire_all()
    return world.session.scalar(select(func.count(Petition.id)))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"contact_phone": "1" * 5000}, "contact_phone"),
        ({"contact_phone": "请拨打我的电话"}, "contact_phone"),
        ({"contact_name": "王" * 101}, "contact_name"),
        ({"location": "路" * 301}, "location"),
        ({"content": "字" * 5001}, "content"),
        ({"latitude": 1e308}, "latitude"),
        ({"latitude": 91}, "latitude"),
        ({"longitude": -180.5}, "longitude"),
        ({"latitude": 10**30}, "latitude"),
        ({"attachments": [{"url": "javascript:alert(1)"}]}, "attachments"),
        ({"attachments": [{"url": "data:text/html,<script>alert(1)</script>"}]}, "attachments"),
        ({"attachments": [{"url": "//evil.example/x.jpg"}]}, "attachments"),
        ({"attachments": [{"url": "https://" + "a" * 1000 + ".example/"}]}, "attachments"),
        ({"attachments": [{"url": "https://x.example/1.jpg", "kind": "k" * 21}]}, "attachments"),
        ({"attachments": [{"url": f"https://x.example/{i}.jpg"} for i in range(21)]}, "attachments"),
        ({"external_id": "x" * 65}, "external_id"),
    ],
)
def test_attack_10_hotline_intake_refuses_what_it_cannot_store(
    world: World, api_client: FlaskClient, change: dict, field: str  # type: ignore[type-arg]
) -> None:
    response = api_client.post("/api/v1/petitions", headers=world.token("hotline"), json={**BODY, **change})
    assert response.status_code == 422, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == "invalid_input" and error["field"] == field
    assert _petitions(world) == 0


def test_attack_10_a_valid_hotline_petition_keeps_every_field(world: World, api_client: FlaskClient) -> None:
    response = api_client.post("/api/v1/petitions", headers=world.token("hotline"),
                               json={**BODY, "contact_phone": " +86 139-0000-1111 "})
    assert response.status_code == 201, response.get_json()
    petition = world.session.scalars(select(Petition)).one()
    assert (petition.latitude, petition.longitude) == (36.06, 120.38)
    assert petition.contact_phone == "+86 139-0000-1111"
    assert [a.url for a in petition.attachments] == ["https://12345.qingdao.example/files/1.jpg"]


def test_attack_10_the_same_external_id_with_other_content_is_409_naming_the_petition(
    world: World, api_client: FlaskClient
) -> None:
    headers = world.token("hotline")
    first = api_client.post("/api/v1/petitions", headers=headers, json=BODY)
    assert first.status_code == 201
    number = first.get_json()["number"]
    for change in ({"content": "另一件事：小区电梯停运。"}, {"contact_phone": "13900002222"},
                   {"attachments": []}, {"kind": "development"}):
        conflict = api_client.post("/api/v1/petitions", headers=headers, json={**BODY, **change})
        assert conflict.status_code == 409, change
        error = conflict.get_json()["error"]
        assert error["code"] == "external_id_conflict"
        assert error["petition_number"] == number
        assert number in error["message"] and BODY["external_id"] in error["message"]
    assert _petitions(world) == 1


def test_attack_10_a_retry_with_the_same_content_is_the_same_petition(world: World, api_client: FlaskClient) -> None:
    headers = world.token("hotline")
    first = api_client.post("/api/v1/petitions", headers=headers, json=BODY)
    # The same petition sent again, with the insignificant differences a resend may have.
    resend = {**BODY, "content": "  " + BODY["content"] + "\n", "contact_name": "王先生 "}
    again = api_client.post("/api/v1/petitions", headers=headers, json=resend)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["number"] == first.get_json()["number"]
    assert _petitions(world) == 1
