"""Property-based fuzzing of the JSON API from its own OpenAPI document (issue 12): Schemathesis makes requests
for every documented operation — valid ones, and ones that break the document on purpose (wrong types, values past
the bounds, missing fields, odd strings) — and the API answers each without a server error.

Bounded and seeded: Hypothesis derandomized (the same examples on every run, so CI sees what a developer saw), a
fixed number of examples, no example database. About fifteen seconds on a quiet machine.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import given
from hypothesis import strategies as st
from schemathesis import GenerationMode

from models import Petition
from tests.admin_web import f2_support
from tests.admin_web.f2_support import World
from tests.factories import make_petition
from tests.fuzzing import bounded

site, api_client, world = f2_support.site, f2_support.api_client, f2_support.world

FUZZ = bounded(150)
# The roles whose tokens the requests carry: their scopes and permissions reach every branch of the API.
ROLES = ("dispatcher", "urban_handler", "hotline", "city_dispatcher")


@pytest.fixture
def api_schema(site, world: World):  # type: ignore[no-untyped-def]
    """The document the API serves, loaded by Schemathesis against the application itself (WSGI, no socket)."""
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", site)


def _petition(world: World) -> Petition:
    petition = make_petition(world.session)
    world.session.commit()
    return petition


def _no_server_error(case, world: World, headers: dict[str, str], role: str) -> None:  # type: ignore[no-untyped-def]
    # The application context of the test is shared with its requests: start each one as a fresh request would.
    world.session.rollback()
    if case.method.upper() == "DELETE":
        headers = world.token(role)  # revokes the token it carries: a fresh one, so the others stay valid
    response = case.call(headers=headers)
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} as {role} → {response.status_code}\n{case.as_curl_command()}"
        f"\n{response.text[:2000]}"
    )


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_no_generated_request_makes_a_server_error(api_schema, world: World, mode: GenerationMode) -> None:
    # Every operation, on a petition that exists (path parameter fixed) and on whatever number is generated.
    number = _petition(world).number
    tokens = {role: world.token(role) for role in ROLES}
    operations = [operation.ok() for operation in api_schema.get_all_operations()]
    strategies = []
    for operation in operations:
        strategies.append(operation.as_strategy(generation_mode=mode))
        if "{number}" in operation.path:
            strategies.append(operation.as_strategy(generation_mode=mode, path_parameters={"number": number}))

    @FUZZ
    @given(case=st.one_of(strategies), role=st.sampled_from(ROLES))
    def fuzz(case, role: str) -> None:  # type: ignore[no-untyped-def]
        _no_server_error(case, world, tokens[role], role)

    fuzz()


def test_every_documented_operation_is_fuzzed(api_schema) -> None:
    operations = {(o.ok().method.upper(), o.ok().path) for o in api_schema.get_all_operations()}
    assert {("GET", "/api/v1/petitions"), ("POST", "/api/v1/petitions"), ("GET", "/api/v1/units"),
            ("POST", "/api/v1/petitions/{number}/actions/dispatch"), ("DELETE", "/api/v1/tokens/current")} <= operations
    assert len(operations) >= 20
