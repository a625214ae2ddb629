"""The JSON API: tokens, scoped listing and reading, workflow actions by name, idempotent intake, units, errors."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.serving import make_server

from admin_web.api.tokens import hash_token, issue_token
from admin_web.passwords import hash_password
from classifier import get_suggester
from classifier.model import metadata_path, read_metadata
from models import ApiToken, AuditLog, Petition, utcnow
from models.enums import Channel, Complexity, DeptType, Nature, PetitionKind, PetitionState
from tests.admin_web import f2_support
from tests.admin_web.f2_support import World
from tests.factories import MONDAY_10AM, make_petition

# The shared fixtures (tests/admin_web/conftest.py belongs to the admin site's own tests).
site, api_client, world = f2_support.site, f2_support.api_client, f2_support.world

PASSWORD = "correct horse battery"


def _error(response) -> dict:  # type: ignore[no-untyped-def]
    body = response.get_json()
    assert set(body) == {"error"}, body
    return body["error"]


# --- tokens --------------------------------------------------------------------------------------------------------


def test_token_is_issued_for_the_right_password_and_only_its_hash_is_stored(
    world: World, api_client: FlaskClient
):
    user = world.users["urban_handler"]
    user.password_hash = hash_password(PASSWORD)
    world.session.commit()

    response = api_client.post(
        "/api/v1/tokens", json={"username": user.username, "password": PASSWORD, "name": "手机"}
    )

    assert response.status_code == 201
    body = response.get_json()
    assert body["token_type"] == "Bearer" and body["user"]["role"] == "handler"
    row = world.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).one()
    assert row.token_hash == hash_token(body["token"]) and body["token"] not in row.token_hash
    assert row.name == "手机"
    listed = api_client.get("/api/v1/petitions", headers={"Authorization": f"Bearer {body['token']}"})
    assert listed.status_code == 200
    actions = world.session.scalars(select(AuditLog.action).where(AuditLog.user_id == user.id)).all()
    assert "api_token_issued" in actions


def test_wrong_passwords_lock_the_account_like_the_login(world: World, api_client: FlaskClient):
    user = world.users["dispatcher"]
    user.password_hash = hash_password(PASSWORD)
    world.session.commit()
    statuses = [
        api_client.post("/api/v1/tokens", json={"username": user.username, "password": "wrong"}).status_code
        for _ in range(5)
    ]
    assert statuses == [401] * 5
    locked = api_client.post("/api/v1/tokens", json={"username": user.username, "password": PASSWORD})
    assert locked.status_code == 423
    assert _error(locked)["code"] == "account_locked"
    assert world.session.scalars(select(ApiToken)).all() == []


def test_token_request_without_fields_is_422(api_client: FlaskClient, world: World):
    response = api_client.post("/api/v1/tokens", json={"username": "x"})
    assert response.status_code == 422
    assert _error(response)["field"] == "password"


def test_deleting_the_current_token_revokes_it(world: World, api_client: FlaskClient):
    headers = world.token("dispatcher")
    assert api_client.delete("/api/v1/tokens/current", headers=headers).status_code == 204
    after = api_client.get("/api/v1/petitions", headers=headers)
    assert after.status_code == 401
    assert after.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", [None, "Bearer nonsense", "Basic dXNlcjpwYXNz", "Bearer "])
def test_requests_without_a_valid_token_are_401(world: World, api_client: FlaskClient, header: str | None):
    headers = {"Authorization": header} if header else {}
    response = api_client.get("/api/v1/petitions", headers=headers)
    assert response.status_code == 401
    assert _error(response)["code"] == "unauthenticated"


def test_expired_tokens_and_deactivated_users_are_refused(world: World, api_client: FlaskClient):
    old = issue_token(world.session, world.users["dispatcher"], utcnow() - dt.timedelta(days=31))
    fresh = issue_token(world.session, world.users["urban_handler"], utcnow())
    world.users["urban_handler"].active = False
    world.session.commit()
    for raw in (old.raw, fresh.raw):
        assert api_client.get("/api/v1/units", headers={"Authorization": f"Bearer {raw}"}).status_code == 401


# --- listing and reading ---------------------------------------------------------------------------------------------


def test_listing_is_scoped_to_the_callers_district(world: World, api_client: FlaskClient):
    shinan = make_petition(world.session, citizen=world.citizen)
    laoshan = make_petition(world.session, district_code="laoshan")
    world.session.commit()

    def numbers(key: str) -> set[str]:
        response = api_client.get("/api/v1/petitions", headers=world.token(key))
        assert response.status_code == 200
        return {item["number"] for item in response.get_json()["items"]}

    assert numbers("dispatcher") == {shinan.number}
    assert numbers("laoshan_dispatcher") == {laoshan.number}
    assert numbers("city_dispatcher") == numbers("leader") == {shinan.number, laoshan.number}
    # A unit sees only what it holds: nothing has been dispatched to the urban management bureau yet.
    assert numbers("urban_handler") == set()


def test_filters_and_pagination(world: World, api_client: FlaskClient):
    first = make_petition(world.session, content="路灯坏了，晚上很黑。", now=MONDAY_10AM)
    second = make_petition(
        world.session,
        content="小区供暖不热。",
        kind=PetitionKind.DEVELOPMENT,
        now=MONDAY_10AM + dt.timedelta(days=2),
    )
    third = make_petition(world.session, content="噪音扰民。", now=MONDAY_10AM + dt.timedelta(days=3))
    world.session.commit()
    headers = world.token("dispatcher")

    def numbers(query: str) -> list[str]:
        response = api_client.get(f"/api/v1/petitions?{query}", headers=headers)
        assert response.status_code == 200, response.get_json()
        return [item["number"] for item in response.get_json()["items"]]

    assert numbers("") == [third.number, second.number, first.number]
    assert numbers("q=路灯") == [first.number]
    assert numbers("kind=development") == [second.number]
    assert numbers(f"number={first.number.lower()}") == [first.number]
    assert numbers("created_from=2026-11-25") == [third.number, second.number]
    assert numbers("created_to=2026-11-23") == [first.number]
    assert numbers("state=pending_dispatch&district=shinan") == [third.number, second.number, first.number]
    assert numbers("state=closed") == []
    second.updated_at = MONDAY_10AM + dt.timedelta(days=5)
    world.session.commit()
    assert numbers("updated_from=2026-11-28T00:00:00%2B08:00") == [second.number]
    assert numbers("channel=wechat") == [third.number, second.number, first.number]
    assert numbers("channel=hotline") == []
    page = api_client.get("/api/v1/petitions?per_page=2&page=2", headers=headers).get_json()
    assert [i["number"] for i in page["items"]] == [first.number]
    assert (page["total"], page["pages"], page["page"]) == (3, 2, 2)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("state=nonsense", "state"),
        ("per_page=1000", "per_page"),
        ("page=0", "page"),
        ("created_from=yesterday", "created_from"),
    ],
)
def test_invalid_filters_are_422_naming_the_parameter(
    world: World, api_client: FlaskClient, query: str, field: str
):
    response = api_client.get(f"/api/v1/petitions?{query}", headers=world.token("dispatcher"))
    assert response.status_code == 422
    assert _error(response)["field"] == field


def test_reading_a_petition_gives_events_actions_and_masks_phones_by_role(
    world: World, api_client: FlaskClient
):
    petition = make_petition(
        world.session,
        citizen=world.citizen,
        contact_phone="13812345678",
        content="我的电话13812345678，楼道堆物。",
    )
    world.session.commit()

    as_dispatcher = api_client.get(f"/api/v1/petitions/{petition.number}", headers=world.token("dispatcher"))
    assert as_dispatcher.status_code == 200
    body = as_dispatcher.get_json()
    assert [e["action"] for e in body["events"]] == ["submit"]
    assert {"dispatch", "reject", "send_to_city"} <= {a["action"] for a in body["available_actions"]}
    assert body["contact_phone"] == "13812345678" and body["citizen_phone"] == "13812345678"

    as_manager = api_client.get(
        f"/api/v1/petitions/{petition.number}", headers=world.token("district_manager")
    )
    masked = as_manager.get_json()
    assert masked["contact_phone"] == "138****5678" and masked["citizen_phone"] == "138****5678"
    assert "13812345678" not in masked["content"]
    assert masked["available_actions"] == []


def test_a_list_item_is_the_summary_of_the_petition_read_whole(world: World, api_client: FlaskClient):
    from admin_web.api.serialize import petition_summary

    held = make_petition(world.session, content="楼道堆物。")
    held.title = "楼道堆物 13812345678"
    held.current_unit = world.urban
    held.deadline = MONDAY_10AM + dt.timedelta(days=5)
    unheld = make_petition(world.session, content="噪音扰民。", now=MONDAY_10AM + dt.timedelta(hours=1))
    world.session.commit()
    for key in ("dispatcher", "district_manager"):
        headers = world.token(key)
        listed = api_client.get("/api/v1/petitions", headers=headers).get_json()["items"]
        changes = api_client.get("/api/v1/petitions?updated_from=2026-01-01", headers=headers).get_json()["items"]
        user = world.users[key]
        assert listed == [petition_summary(unheld, user), petition_summary(held, user)]
        assert sorted(changes, key=lambda item: item["number"]) == sorted(listed, key=lambda item: item["number"])
    assert listed[1]["current_unit"]["id"] == world.urban.id and "13812345678" not in listed[1]["title"]


def test_another_districts_petition_is_404_like_a_missing_one(world: World, api_client: FlaskClient):
    petition = make_petition(world.session, district_code="laoshan")
    world.session.commit()
    headers = world.token("dispatcher")
    other = api_client.get(f"/api/v1/petitions/{petition.number}", headers=headers)
    missing = api_client.get("/api/v1/petitions/SN209901010001", headers=headers)
    assert other.status_code == missing.status_code == 404
    assert _error(other) == _error(missing)
    action = api_client.post(
        f"/api/v1/petitions/{petition.number}/actions/reject",
        headers=headers,
        json={"expected_state": "pending_dispatch", "code": "military"},
    )
    assert action.status_code == 404


# --- workflow actions ------------------------------------------------------------------------------------------------


def _act(client: FlaskClient, world: World, key: str, number: str, action: str, **body):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/petitions/{number}/actions/{action}", headers=world.token(key), json=body)


def test_a_petition_goes_from_dispatch_to_the_citizen_through_the_api(world: World, api_client: FlaskClient):
    petition = make_petition(world.session, citizen=world.citizen)
    world.session.commit()
    n = petition.number
    steps = [
        (
            "dispatcher",
            "dispatch",
            "pending_dispatch",
            {
                "unit_id": world.urban.id,
                "nature": "complaint",
                "complexity": "simple",
                "dept_type": "urban_mgmt",
            },
        ),
        ("urban_handler", "accept", "assigned", {}),
        (
            "urban_handler",
            "submit_reply",
            "handling",
            {
                "petitioner_info": "张先生",
                "policy_basis": "《青岛市市容和环境卫生管理条例》",
                "result": "已取缔夜间烧烤摊",
                "responsible_person": "王科长",
                "contact_phone": "0532-88888888",
            },
        ),
        ("urban_reviewer", "approve_reply", "unit_review", {}),
        ("dispatcher", "send_reply", "platform_review", {}),
    ]
    for key, action, expected, params in steps:
        response = _act(api_client, world, key, n, action, expected_state=expected, **params)
        assert response.status_code == 200, (action, response.get_json())
        assert response.get_json()["petition"]["events"][-1]["action"] == action
    final = api_client.get(f"/api/v1/petitions/{n}", headers=world.token("dispatcher")).get_json()
    assert final["state"]["value"] == PetitionState.AWAITING_EVALUATION
    assert final["replies"][0]["state"]["value"] == "sent"
    world.session.expire_all()
    stored = world.session.scalars(select(Petition).where(Petition.number == n)).one()
    assert (stored.nature, stored.complexity, stored.dept_type) == (
        Nature.COMPLAINT,
        Complexity.SIMPLE,
        DeptType.URBAN_MGMT,
    )


def test_a_stale_expected_state_is_409_and_changes_nothing(world: World, api_client: FlaskClient):
    petition = make_petition(world.session)
    world.session.commit()
    first = _act(
        api_client,
        world,
        "dispatcher",
        petition.number,
        "reject",
        expected_state="pending_dispatch",
        code="military",
    )
    assert first.status_code == 200
    again = _act(
        api_client,
        world,
        "dispatcher",
        petition.number,
        "reject",
        expected_state="pending_dispatch",
        code="military",
    )
    assert again.status_code == 409
    assert _error(again)["code"] == "state_changed"
    assert (
        len(
            api_client.get(
                f"/api/v1/petitions/{petition.number}", headers=world.token("dispatcher")
            ).get_json()["events"]
        )
        == 2
    )


def test_an_action_the_state_does_not_allow_is_409_and_a_role_that_may_not_is_403(
    world: World, api_client: FlaskClient
):
    petition = make_petition(world.session)
    world.session.commit()
    wrong_state = _act(
        api_client, world, "dispatcher", petition.number, "send_reply", expected_state="pending_dispatch"
    )
    assert wrong_state.status_code == 409 and _error(wrong_state)["code"] == "wrong_state"
    not_allowed = _act(
        api_client,
        world,
        "district_manager",
        petition.number,
        "dispatch",
        expected_state="pending_dispatch",
        unit_id=world.urban.id,
        nature="consult",
    )
    assert not_allowed.status_code == 403 and _error(not_allowed)["code"] == "forbidden"


def test_a_workflow_rule_refusing_the_action_is_409(world: World, api_client: FlaskClient):
    petition = make_petition(world.session)
    world.session.commit()
    assert (
        _act(
            api_client,
            world,
            "dispatcher",
            petition.number,
            "dispatch",
            expected_state="pending_dispatch",
            unit_id=world.urban.id,
            nature="complaint",
            complexity="simple",
        ).status_code
        == 200
    )
    ask = {"expected_state": "assigned", "extra_working_days": 2, "reason": "需要现场勘查"}
    assert (
        _act(api_client, world, "urban_handler", petition.number, "request_extension", **ask).status_code
        == 200
    )
    twice = _act(api_client, world, "urban_handler", petition.number, "request_extension", **ask)
    assert twice.status_code == 409 and _error(twice)["code"] == "action_refused"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"code": "military"}, "expected_state"),
        ({"expected_state": "nonsense", "code": "military"}, "expected_state"),
        ({"expected_state": "pending_dispatch"}, "code"),
        ({"expected_state": "pending_dispatch", "code": "not-a-code"}, "code"),
        ({"expected_state": "pending_dispatch", "code": "military", "unit_id": 3}, "unit_id"),
        ({"expected_state": "pending_dispatch", "code": 7}, "code"),
    ],
)
def test_invalid_action_parameters_are_422_naming_the_field(
    world: World, api_client: FlaskClient, body: dict, field: str
):
    petition = make_petition(world.session)
    world.session.commit()
    response = api_client.post(
        f"/api/v1/petitions/{petition.number}/actions/reject", headers=world.token("dispatcher"), json=body
    )
    assert response.status_code == 422
    assert _error(response)["field"] == field


def test_unknown_actions_and_non_json_bodies(world: World, api_client: FlaskClient):
    petition = make_petition(world.session)
    world.session.commit()
    headers = world.token("dispatcher")
    unknown = api_client.post(
        f"/api/v1/petitions/{petition.number}/actions/delete",
        headers=headers,
        json={"expected_state": "pending_dispatch"},
    )
    assert unknown.status_code == 404 and _error(unknown)["code"] == "unknown_action"
    text = api_client.post(
        f"/api/v1/petitions/{petition.number}/actions/reject", headers=headers, data="code=x"
    )
    assert text.status_code == 422


# --- intake ------------------------------------------------------------------------------------------------------


HOTLINE_BODY = {
    "external_id": "12345-20261127-0001",
    "district_code": "shinan",
    "kind": "livelihood",
    "content": "金门路路口红绿灯故障，早高峰拥堵。",
    "contact_name": "李女士",
    "contact_phone": "13900001111",
}


def test_hotline_intake_is_idempotent_by_external_id(world: World, api_client: FlaskClient):
    headers = world.token("hotline")
    first = api_client.post("/api/v1/petitions", headers=headers, json=HOTLINE_BODY)
    assert first.status_code == 201, first.get_json()
    number = first.get_json()["number"]
    assert first.headers["Location"].endswith(f"/api/v1/petitions/{number}")
    assert number.startswith("SN") and first.get_json()["channel"] == Channel.HOTLINE
    again = api_client.post("/api/v1/petitions", headers=headers, json=HOTLINE_BODY)
    assert again.status_code == 200
    assert again.get_json()["number"] == number
    assert world.session.scalars(select(Petition)).all() == [
        world.session.scalars(select(Petition).where(Petition.number == number)).one()
    ]


def test_hotline_intake_stores_the_classifiers_suggestion(
    world: World, api_client: FlaskClient, trained_classifier: Path
):
    headers = world.token("hotline")
    created = api_client.post("/api/v1/petitions", headers=headers, json=HOTLINE_BODY)
    assert created.status_code == 201, created.get_json()
    expected = get_suggester().suggest(HOTLINE_BODY["content"], "shinan").to_dict()
    assert created.get_json()["suggestion"] == expected
    petition = world.session.scalars(select(Petition)).one()
    assert petition.suggestion == expected and expected["departments"]
    # A repeat (the same petition sent again) returns the petition as it was taken in.
    again = api_client.post("/api/v1/petitions", headers=headers, json=HOTLINE_BODY)
    assert again.status_code == 200 and again.get_json()["suggestion"] == expected


def test_hotline_intake_returns_the_unit_of_the_place_and_the_suggested_place(
    world: World, api_client: FlaskClient, trained_classifier: Path
):
    """Rule: 民生 petitions start at the village/community, then the township/street: the API returns the street
    of the address (from the gazetteer) as the suggested unit, and the suggestion names the place it read."""
    body = {**HOTLINE_BODY, "content": "八大关景区附近的路灯坏了一排，晚上漆黑一片"}
    created = api_client.post("/api/v1/petitions", headers=world.token("hotline"), json=body)
    assert created.status_code == 201, created.get_json()
    data = created.get_json()
    assert data["suggested_unit"] == {"id": world.street.id, "name": "八大关街道", "level": "street"}
    assert data["suggestion"]["place"] == {"district": "shinan", "street": "八大关街道", "community": None}
    assert data["suggestion"]["model_version"] == read_metadata(trained_classifier)["version"]
    # Once dispatched there is nothing left to suggest.
    number = data["number"]
    dispatched = _act(api_client, world, "dispatcher", number, "dispatch", expected_state="pending_dispatch",
                      unit_id=world.street.id, nature="complaint", complexity="simple", dept_type="urban_mgmt")  # fmt: skip
    assert dispatched.status_code == 200, dispatched.get_json()
    detail = api_client.get(f"/api/v1/petitions/{number}", headers=world.token("hotline")).get_json()
    assert detail["suggested_unit"] is None


def test_without_a_model_hotline_intake_goes_in_unsuggested(
    world: World, api_client: FlaskClient, site: Flask, tmp_path: Path
):
    missing = tmp_path / "not-trained-yet.joblib"
    site.config["CLASSIFIER"]["model_path"] = str(missing)
    created = api_client.post("/api/v1/petitions", headers=world.token("hotline"), json=HOTLINE_BODY)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["suggestion"] is None
    assert world.session.scalars(select(Petition.suggestion)).one() is None
    assert not missing.exists()  # a request never trains


def test_a_damaged_model_does_not_stop_hotline_intake(
    world: World, api_client: FlaskClient, site: Flask, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    damaged = tmp_path / "classifier.joblib"
    damaged.write_bytes(b"damaged")
    # Marked as a default model: the kind `get_suggester` would retrain, which a request must not.
    metadata_path(damaged).write_text(json.dumps({"source": "default"}), encoding="utf-8")
    site.config["CLASSIFIER"]["model_path"] = str(damaged)
    with caplog.at_level(logging.ERROR, logger="classifier.lifecycle"):
        created = api_client.post("/api/v1/petitions", headers=world.token("hotline"), json=HOTLINE_BODY)
    assert created.status_code == 201, created.get_json()
    assert world.session.scalars(select(Petition.suggestion)).one() is None
    assert damaged.read_bytes() == b"damaged"
    assert any(str(damaged) in record.getMessage() for record in caplog.records if record.levelno == logging.ERROR)


def test_work_app_intake_is_for_the_callers_own_district(world: World, api_client: FlaskClient):
    headers = world.token("community_handler")
    body = {"external_id": "app-1", "kind": "livelihood", "content": "楼道灯不亮。"}
    created = api_client.post("/api/v1/petitions", headers=headers, json=body)
    assert created.status_code == 201
    assert created.get_json()["district_code"] == "shinan" and created.get_json()["channel"] == "workapp"
    # The petition went to the district platform, out of the community's scope, but a retry still finds it.
    assert api_client.post("/api/v1/petitions", headers=headers, json=body).status_code == 200
    # Another district's worker reusing the id learns nothing about it.
    taken = api_client.post("/api/v1/petitions", headers=world.token("laoshan_handler"), json=body)
    assert taken.status_code == 409 and "楼道灯" not in taken.get_data(as_text=True)
    elsewhere = api_client.post(
        "/api/v1/petitions",
        headers=headers,
        json={**body, "external_id": "app-2", "district_code": "laoshan"},
    )
    assert elsewhere.status_code == 422 and _error(elsewhere)["field"] == "district_code"


def test_enforcement_petitions_come_from_the_callers_unit(world: World, api_client: FlaskClient):
    body = {"external_id": "zf-1", "kind": "enforcement", "content": "违建需要城管、住建联合执法。"}
    created = api_client.post("/api/v1/petitions", headers=world.token("street_handler"), json=body)
    assert created.status_code == 201
    assert created.get_json()["origin_unit"]["id"] == world.street.id
    community = api_client.post(
        "/api/v1/petitions", headers=world.token("community_handler"), json={**body, "external_id": "zf-2"}
    )
    assert community.status_code == 422 and _error(community)["field"] == "origin_unit"


@pytest.mark.parametrize("key", ["leader", "city_dispatcher", "district_manager", "urban_reviewer"])
def test_roles_that_do_not_take_petitions_in_are_403(world: World, api_client: FlaskClient, key: str):
    response = api_client.post("/api/v1/petitions", headers=world.token(key), json=HOTLINE_BODY)
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"external_id": ""}, "external_id"),
        ({"kind": "gossip"}, "kind"),
        ({"content": "  "}, "content"),
        ({"district_code": "atlantis"}, "district_code"),
        ({"latitude": "north"}, "latitude"),
    ],
)
def test_invalid_intake_is_422(world: World, api_client: FlaskClient, change: dict, field: str):
    response = api_client.post(
        "/api/v1/petitions", headers=world.token("hotline"), json={**HOTLINE_BODY, **change}
    )
    assert response.status_code == 422
    assert _error(response)["field"] == field


# --- units and HTTP errors --------------------------------------------------------------------------------------------


def test_units_are_the_districts_and_the_citys(world: World, api_client: FlaskClient):
    world.urban.responsibilities = "占道经营\n违法建设\n"
    world.session.commit()
    items = api_client.get("/api/v1/units", headers=world.token("dispatcher")).get_json()["items"]
    districts = {u["district_code"] for u in items}
    assert districts == {"shinan", None}
    urban = next(u for u in items if u["id"] == world.urban.id)
    assert urban["responsibilities"] == ["占道经营", "违法建设"]
    city_wide = api_client.get(
        "/api/v1/units?district=laoshan&level=district_department", headers=world.token("city_dispatcher")
    ).get_json()["items"]
    assert [u["id"] for u in city_wide] == [world.laoshan_urban.id]
    bad = api_client.get("/api/v1/units?level=galaxy", headers=world.token("dispatcher"))
    assert bad.status_code == 422


def test_unknown_api_paths_and_methods_answer_json_and_admin_pages_do_not(
    world: World, api_client: FlaskClient
):
    missing = api_client.get("/api/v1/nothing-here", headers=world.token("dispatcher"))
    assert missing.status_code == 404 and _error(missing)["code"] == "not_found"
    wrong_method = api_client.put("/api/v1/units", headers=world.token("dispatcher"))
    assert wrong_method.status_code == 405 and _error(wrong_method)["code"] == "method_not_allowed"
    page = api_client.get("/admin/nothing-here")
    assert page.status_code == 404 and not page.is_json


def test_concurrent_repeats_of_one_intake_make_one_petition(world: World, site):  # type: ignore[no-untyped-def]
    """The hotline retries at once (a timeout on its side): every answer names the same, single petition."""
    headers = world.token("hotline")
    world.session.close()
    server = make_server("127.0.0.1", 0, site, threaded=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/api/v1/petitions"
    start = threading.Barrier(4)

    def post() -> tuple[int, str]:
        start.wait()
        response = requests.post(url, json=HOTLINE_BODY, headers=headers, timeout=30)
        return response.status_code, response.json()["number"]

    try:
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda _: post(), range(4)))
    finally:
        server.shutdown()
        server.server_close()
    assert sorted(status for status, _ in answers) == [200, 200, 200, 201]
    assert len({number for _, number in answers}) == 1
    assert len(world.session.scalars(select(Petition)).all()) == 1


def test_rule_joint_enforcement_through_the_api_the_cooperating_unit_acts_under_the_workflows_names(
    world: World, api_client: FlaskClient
):
    """Rule: 联合执法 — the work app does what the admin site does: the cooperating unit sees `accept_cooperation`,
    then `submit_cooperation` with its `part`, among its available actions; the lead's reply without the part is
    422 naming `missing_parts_reason`; the petition lists the tasks."""
    petition = make_petition(world.session, kind=PetitionKind.ENFORCEMENT, with_citizen=False,
                             origin_unit=world.street)
    world.session.commit()
    n = petition.number
    response = _act(api_client, world, "dispatcher", n, "dispatch", expected_state="pending_dispatch",
                    unit_id=world.urban.id, cooperating_unit_ids=[world.community.id, world.street.id],
                    cooperation_days=4)
    assert response.status_code == 422 and _error(response)["field"] == "cooperating_unit_ids"
    response = _act(api_client, world, "dispatcher", n, "dispatch", expected_state="pending_dispatch",
                    unit_id=world.urban.id, cooperating_unit_ids=[world.street.id], cooperation_days=4)
    assert response.status_code == 200, response.get_json()
    detail = api_client.get(f"/api/v1/petitions/{n}", headers=world.token("street_handler")).get_json()
    assert detail["available_actions"] == [{"action": "accept_cooperation", "label": "签收配合任务", "params": ["note"]}]
    [task] = detail["cooperation_tasks"]
    assert (task["unit"]["id"], task["state"]["value"]) == (world.street.id, "assigned")
    assert task["deadline"] < detail["deadline"]
    assert _act(api_client, world, "street_handler", n, "accept_cooperation", expected_state="assigned").status_code == 200
    response = _act(api_client, world, "street_handler", n, "submit_cooperation", expected_state="assigned", part=12)
    assert response.status_code == 422 and _error(response)["field"] == "part"

    assert _act(api_client, world, "urban_handler", n, "accept", expected_state="assigned").status_code == 200
    reply = {"petitioner_info": "八大关街道", "policy_basis": "《城乡规划法》", "result": "已拆除",
             "responsible_person": "王队长", "contact_phone": "0532-88888888"}
    response = _act(api_client, world, "urban_handler", n, "submit_reply", expected_state="handling", **reply)
    assert response.status_code == 422 and _error(response)["field"] == "missing_parts_reason"
    response = _act(api_client, world, "street_handler", n, "submit_cooperation", expected_state="handling",
                    part="街道已组织人员配合拆除。")
    assert response.status_code == 200
    response = _act(api_client, world, "urban_handler", n, "submit_reply", expected_state="handling", **reply)
    assert response.status_code == 200
    tasks = response.get_json()["petition"]["cooperation_tasks"]
    assert [(t["state"]["value"], t["part"]) for t in tasks] == [("submitted", "街道已组织人员配合拆除。")]
