"""The OpenAPI document: valid OpenAPI 3.1, complete (every API route is in it, nothing else), generated from the
workflow's transitions, and truthful (real responses validate against its schemas)."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from admin_web.api.actions import ACTION_PARAMS
from tests.admin_web import f2_support
from tests.admin_web.f2_support import World
from tests.factories import make_petition
from workflow.engine import TRANSITIONS

# The shared fixtures (tests/admin_web/conftest.py belongs to the admin site's own tests).
site, api_client, world = f2_support.site, f2_support.api_client, f2_support.world

IGNORED_METHODS = {"HEAD", "OPTIONS"}


def _document(client: FlaskClient) -> dict:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def test_the_document_is_valid_openapi_3_1(api_client: FlaskClient):
    spec = _document(api_client)
    assert spec["openapi"].startswith("3.1")
    validate(spec)


def _route_operations(app: Flask) -> set[tuple[str, str]]:
    operations = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - IGNORED_METHODS:
            if "{action}" in path:
                operations.update(
                    (path.replace("{action}", action), method.lower()) for action in TRANSITIONS
                )
            else:
                operations.add((path, method.lower()))
    return operations


def test_every_api_route_is_documented_and_every_documented_operation_exists(
    site: Flask, api_client: FlaskClient
):
    spec = _document(api_client)
    documented = {(path, method) for path, item in spec["paths"].items() for method in item}
    routes = _route_operations(site)
    assert routes, "no route under /api/v1"
    assert routes == documented


def test_every_workflow_action_is_described_with_its_parameters(api_client: FlaskClient):
    spec = _document(api_client)
    assert set(ACTION_PARAMS) == set(TRANSITIONS)
    for action, transition in TRANSITIONS.items():
        operation = spec["paths"][f"/api/v1/petitions/{{number}}/actions/{action}"]["post"]
        assert transition.label in operation["summary"]
        schema = spec["components"]["schemas"][f"Action_{action}"]
        assert set(schema["properties"]) == {"expected_state", *ACTION_PARAMS[action]}
        assert "expected_state" in schema["required"]


def _validator(spec: dict, name: str) -> OAS31Validator:
    registry: Registry = Registry().with_resource(
        "urn:spec", Resource.from_contents(spec, default_specification=DRAFT202012)
    )
    return OAS31Validator({"$ref": f"urn:spec#/components/schemas/{name}"}, registry=registry)


def test_real_responses_match_the_documented_schemas(world: World, api_client: FlaskClient):
    spec = _document(api_client)
    petition = make_petition(world.session, citizen=world.citizen, contact_phone="13812345678")
    world.session.commit()
    headers = world.token("dispatcher")
    checks = [
        ("PetitionList", api_client.get("/api/v1/petitions", headers=headers)),
        ("PetitionDetail", api_client.get(f"/api/v1/petitions/{petition.number}", headers=headers)),
        ("UnitList", api_client.get("/api/v1/units", headers=headers)),
        (
            "ActionResult",
            api_client.post(
                f"/api/v1/petitions/{petition.number}/actions/dispatch",
                headers=headers,
                json={
                    "expected_state": "pending_dispatch",
                    "unit_id": world.urban.id,
                    "nature": "complaint",
                    "complexity": "simple",
                },
            ),
        ),
        ("Error", api_client.get("/api/v1/petitions/XX0", headers=headers)),
        (
            "PetitionDetail",
            api_client.post(
                "/api/v1/petitions",
                headers=world.token("hotline"),
                json={
                    "external_id": "h-1",
                    "district_code": "shinan",
                    "kind": "livelihood",
                    "content": "噪音扰民。",
                },
            ),
        ),
    ]
    for name, response in checks:
        assert response.status_code < 500
        errors = list(_validator(spec, name).iter_errors(response.get_json()))
        assert not errors, (name, [e.message for e in errors])


def test_the_action_schemas_refuse_what_the_server_refuses(api_client: FlaskClient):
    spec = _document(api_client)
    validator = _validator(spec, "Action_reject")
    assert validator.is_valid({"expected_state": "pending_dispatch", "code": "military"})
    assert not validator.is_valid({"expected_state": "pending_dispatch", "code": "not-a-code"})
    assert not validator.is_valid({"code": "military"})
    assert not validator.is_valid({"expected_state": "pending_dispatch", "code": "military", "unit_id": 1})
