"""Issue 12, attack 7: 500s from input. Integers past 64 bits in paths, queries and JSON bodies, a JSON body nested
100,000 deep, a dashboard period ending on 9999-12-31, a CSV export that answered 200 and broke off mid-stream, and
one petition row with an unknown state that made its page, the API list and the CSV fail. Each is now a clear 4xx,
or, for the row, a page that shows the value as unknown."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import text

from admin_web.api.tokens import issue_token
from models import utcnow
from tests.admin_web.conftest import CSRF_RE, World

BIG = "9" * 25  # past 64 bits (and PostgreSQL's integer)
HUGE = str(10**30)


def _bearer(world: World, user) -> dict[str, str]:  # type: ignore[no-untyped-def]
    raw = issue_token(world.session, user, utcnow()).raw
    world.session.commit()
    return {"Authorization": f"Bearer {raw}"}


def _csrf(client, path: str = "/admin/") -> str:  # type: ignore[no-untyped-def]
    page = client.get(path, follow_redirects=True).get_data(as_text=True)
    return CSRF_RE.search(page).group(1)


@pytest.mark.parametrize(
    ("who", "path"),
    [
        ("dispatcher", f"/admin/alerts/{BIG}/read"),
        ("district_manager", f"/admin/manage/users/{BIG}/active"),
        ("district_manager", f"/admin/manage/users/{BIG}/password"),
        ("district_manager", f"/admin/manage/units/{BIG}"),
        ("district_manager", f"/admin/manage/dead-letters/{BIG}/retry"),
        ("district_manager", "/admin/manage/dead-letters/2147483648/retry"),
    ],
)
def test_attack_7_a_big_id_in_a_path_is_404(login_as, world: World, who: str, path: str) -> None:
    client = login_as(getattr(world, who))
    token = _csrf(client)
    assert client.get(path).status_code in (404, 405)
    assert client.post(path, data={"csrf_token": token}).status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        f"unit_id={BIG}",
        "unit_id=²",  # a digit to str.isdigit, not to int()
        f"page={BIG}",
        "page=99999999999999999999999",
        "date_from=0001-01-01&date_to=9999-12-31",
    ],
)
def test_attack_7_search_parameters_never_fail_the_page(login_as, world: World, query: str) -> None:
    world.assigned_to_urban()
    client = login_as(world.dispatcher)
    response = client.get(f"/admin/search?{query}")
    assert response.status_code in (200, 400), response.status_code


def test_attack_7_the_csv_export_refuses_a_big_unit_before_it_starts(login_as, world: World) -> None:
    petition = world.assigned_to_urban()
    client = login_as(world.dispatcher)
    refused = client.get(f"/admin/search.csv?unit_id={BIG}")
    assert refused.status_code == 400
    assert "承办单位" in refused.get_data(as_text=True)
    # An ordinary export still streams every row to the end.
    rows = list(csv.reader(io.StringIO(client.get("/admin/search.csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert [row[0] for row in rows[1:]] == [petition.number]


@pytest.mark.parametrize(
    "query",
    ["end=9999-12-31", "start=0001-01-01", "start=0001-01-01&end=9999-12-31", f"end={BIG}"],
)
def test_attack_7_a_dashboard_period_at_the_ends_of_the_calendar_is_a_clear_answer(
    login_as, world: World, query: str
) -> None:
    response = login_as(world.leader).get(f"/admin/dashboard/?{query}")
    assert response.status_code in (200, 400), response.status_code
    if response.status_code == 400:
        assert "日期" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "query",
    [
        f"unit={BIG}",
        f"page={BIG}",
        f"per_page={BIG}",
        "unit=²",
        "created_to=9999-12-31",
        "created_from=0001-01-01",
        "updated_from=0001-01-01T00:00:00%2B14:00",
        "created_to=9999-12-31T23:59:59-12:00",
    ],
)
def test_attack_7_api_list_parameters_are_422_not_500(client, world: World, query: str) -> None:
    response = client.get(f"/api/v1/petitions?{query}", headers=_bearer(world, world.dispatcher))
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == "invalid_input"


def test_attack_7_api_units_page_past_the_end_is_422(client, world: World) -> None:
    response = client.get(f"/api/v1/units?page={BIG}", headers=_bearer(world, world.dispatcher))
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("action", "params"),
    [
        ("dispatch", {"unit_id": 10**30, "nature": "complaint", "dept_type": "urban_mgmt"}),
        ("dispatch", {"unit_id": HUGE, "nature": "complaint", "dept_type": "urban_mgmt"}),
        ("dispatch", {"unit_id": -(10**30), "nature": "complaint", "dept_type": "urban_mgmt"}),
        ("dispatch", {"unit_id": 1e308, "nature": "complaint", "dept_type": "urban_mgmt"}),
    ],
)
def test_attack_7_a_big_unit_id_in_a_json_body_is_422(client, world: World, action: str, params: dict) -> None:  # type: ignore[type-arg]
    petition = world.petition()
    response = client.post(
        f"/api/v1/petitions/{petition.number}/actions/{action}",
        headers=_bearer(world, world.dispatcher),
        json={"expected_state": "pending_dispatch", **params},
    )
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["error"]["field"] == "unit_id"


def test_attack_7_big_cooperating_unit_ids_are_422(client, world: World) -> None:
    from models.enums import PetitionKind

    petition = world.petition(kind=PetitionKind.ENFORCEMENT, citizen=None, with_citizen=False,
                              origin_unit=world.street, content="占道经营需联合执法")
    response = client.post(
        f"/api/v1/petitions/{petition.number}/actions/dispatch",
        headers=_bearer(world, world.dispatcher),
        json={"expected_state": "pending_dispatch", "unit_id": world.urban.id, "dept_type": "urban_mgmt",
              "cooperating_unit_ids": [world.housing.id, 10**30]},
    )
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["error"]["field"] == "cooperating_unit_ids"


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
        b"[" * 100_000,
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/petitions", "/api/v1/tokens"])
def test_attack_7_a_json_body_nested_100000_deep_is_refused(client, world: World, body: bytes, path: str) -> None:
    response = client.post(
        path, data=body, headers={**_bearer(world, world.dispatcher), "Content-Type": "application/json"}
    )
    assert response.status_code in (400, 422), response.status_code
    assert response.get_json()["error"]["code"] in ("bad_request", "invalid_input")


def test_attack_7_json_nested_past_the_limit_is_refused_even_when_python_could_read_it(client, world: World) -> None:
    body = b'{"expected_state": "pending_dispatch", "note": ' + b"[" * 200 + b"]" * 200 + b"}"
    petition = world.petition()
    response = client.post(
        f"/api/v1/petitions/{petition.number}/actions/dispatch",
        data=body,
        headers={**_bearer(world, world.dispatcher), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert "层级" in response.get_json()["error"]["message"]


# --- one row with a state this version does not know ----------------------------------------------------------


@pytest.fixture
def unknown_state(world: World):  # type: ignore[no-untyped-def]
    """A petition whose stored state is not one of ours (written by a newer version, or by hand)."""
    petition = world.assigned_to_urban()
    world.session.execute(text("UPDATE petition SET state = 'FROZEN' WHERE id = :id"), {"id": petition.id})
    world.session.commit()
    world.session.expire_all()
    return petition


def test_attack_7_an_unknown_state_shows_as_unknown_on_the_petition_page(login_as, world: World, unknown_state) -> None:  # type: ignore[no-untyped-def]
    client = login_as(world.dispatcher)
    response = client.get(f"/admin/petitions/{unknown_state.number}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "未知状态（FROZEN）" in page
    # Nothing can be done to it here: the lifecycle table knows no action from an unknown state.
    assert "/actions/" not in page


@pytest.mark.parametrize("path", ["/admin/search", "/admin/queue", "/admin/workbench", "/admin/review",
                                  "/admin/followup", "/admin/dashboard/"])
def test_attack_7_an_unknown_state_does_not_break_the_lists(login_as, world: World, unknown_state, path: str) -> None:  # type: ignore[no-untyped-def]
    other = world.petition(content="另一条诉求：路灯不亮")
    who = {"/admin/dashboard/": world.leader, "/admin/workbench": world.urban_handler}.get(path, world.dispatcher)
    response = login_as(who).get(path)
    assert response.status_code == 200
    if path == "/admin/search":
        page = response.get_data(as_text=True)
        assert unknown_state.number in page and other.number in page


def test_attack_7_an_unknown_state_in_the_csv_export(login_as, world: World, unknown_state) -> None:  # type: ignore[no-untyped-def]
    other = world.petition(content="另一条诉求：路灯不亮")
    response = login_as(world.dispatcher).get("/admin/search.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    numbers = {row[0]: row for row in rows[1:]}
    assert set(numbers) == {unknown_state.number, other.number}
    assert "未知状态（FROZEN）" in numbers[unknown_state.number]


def test_attack_7_an_unknown_state_through_the_api(client, world: World, unknown_state) -> None:  # type: ignore[no-untyped-def]
    headers = _bearer(world, world.dispatcher)
    listed = client.get("/api/v1/petitions", headers=headers)
    assert listed.status_code == 200
    item = next(i for i in listed.get_json()["items"] if i["number"] == unknown_state.number)
    assert item["state"] == {"value": "FROZEN", "label": "未知状态（FROZEN）"}
    one = client.get(f"/api/v1/petitions/{unknown_state.number}", headers=headers)
    assert one.status_code == 200
    assert one.get_json()["available_actions"] == []
    refused = client.post(
        f"/api/v1/petitions/{unknown_state.number}/actions/accept",
        headers=_bearer(world, world.urban_handler),
        json={"expected_state": "assigned"},
    )
    assert refused.status_code == 409


def test_the_states_filter_still_refuses_an_unknown_state(client, world: World) -> None:
    response = client.get("/api/v1/petitions?state=FROZEN", headers=_bearer(world, world.dispatcher))
    assert response.status_code == 422
