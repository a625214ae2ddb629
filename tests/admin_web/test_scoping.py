"""Scope: another district's petition answers 404 (not 403); units see only their work; the city sees all;
phone numbers are masked for the roles that do not call petitioners."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from admin_web.scoping import (
    mask_phone,
    mask_text,
    petition_scope,
    phone_for,
    reads_phone_numbers,
    scoped_petitions,
)
from models import Petition
from models.enums import PetitionKind, PetitionState, Role
from tests.factories import make_user


def without_tokens(response) -> str:  # type: ignore[no-untyped-def]
    """The page without its CSRF tokens, which are signed with the time and so differ from second to second."""
    return re.sub(r'(content|value)="[\w.-]{40,}"', "", response.get_data(as_text=True))


def visible(world, user) -> set[str]:  # type: ignore[no-untyped-def]
    """The petitions `user` may see; the list's form of the scope (UNION) and the lookup's (OR) must agree."""
    listed = set(world.session.scalars(scoped_petitions(user).with_only_columns(Petition.number)))
    looked_up = set(world.session.scalars(select(Petition.number).where(petition_scope(user))))
    assert listed == looked_up
    return listed


def test_another_districts_petition_is_404_for_page_and_action(client, login_as, csrf, world) -> None:
    laoshan = world.petition(district_code="laoshan", citizen=None, with_citizen=False)
    shinan = world.petition()
    login_as(world.dispatcher)
    assert client.get(f"/admin/petitions/{shinan.number}").status_code == 200
    assert client.get(f"/admin/petitions/{laoshan.number}").status_code == 404
    # Same answer as a number that does not exist, so numbers cannot be probed.
    missing = client.get("/admin/petitions/LS202611239999")
    assert missing.status_code == 404
    assert without_tokens(client.get(f"/admin/petitions/{laoshan.number}")) == without_tokens(missing)
    response = client.post(
        f"/admin/petitions/{laoshan.number}/actions/reject",
        data={"csrf_token": csrf("/admin/queue"), "expected_state": "pending_dispatch", "code": "harassment"},
    )
    assert response.status_code == 404
    world.session.refresh(laoshan)
    assert laoshan.state == PetitionState.PENDING_DISPATCH


def test_json_404_for_json_clients(login_as, world) -> None:
    laoshan = world.petition(district_code="laoshan", citizen=None, with_citizen=False)
    response = login_as(world.dispatcher).get(
        f"/admin/petitions/{laoshan.number}", headers={"Accept": "application/json"}
    )
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_district_scope(world) -> None:
    shinan = world.petition()
    laoshan = world.petition(district_code="laoshan", citizen=None, with_citizen=False)
    assert visible(world, world.dispatcher) == {shinan.number}
    assert visible(world, world.district_manager) == {shinan.number}
    assert visible(world, world.laoshan_dispatcher) == {laoshan.number}
    for city_user in (world.city_dispatcher, world.leader):
        assert visible(world, city_user) == {shinan.number, laoshan.number}


def test_unit_scope_current_lead_cooperating_and_origin(world) -> None:
    at_urban = world.assigned_to_urban()
    at_housing = world.petition()
    world.do(at_housing, "dispatch", world.dispatcher, unit_id=world.housing.id, nature="complaint")
    enforcement = world.petition(kind=PetitionKind.ENFORCEMENT, citizen=None, with_citizen=False,
                                 origin_unit=world.street)
    world.do(enforcement, "dispatch", world.dispatcher, unit_id=world.urban.id, complexity="complex",
             cooperating_unit_ids=[world.housing.id])
    assert visible(world, world.urban_handler) == {at_urban.number, enforcement.number}
    assert visible(world, world.urban_reviewer) == {at_urban.number, enforcement.number}
    assert visible(world, world.housing_handler) == {at_housing.number, enforcement.number}
    assert visible(world, world.street_handler) == {enforcement.number}
    assert visible(world, world.community_handler) == set()
    assert visible(world, world.laoshan_handler) == set()


def test_unit_user_gets_404_for_other_units_petitions(login_as, world) -> None:
    petition = world.assigned_to_urban()
    assert login_as(world.urban_handler).get(f"/admin/petitions/{petition.number}").status_code == 200
    assert login_as(world.housing_handler).get(f"/admin/petitions/{petition.number}").status_code == 404
    assert login_as(world.laoshan_handler).get(f"/admin/petitions/{petition.number}").status_code == 404


def test_users_without_scope_see_nothing(world) -> None:
    world.petition()
    unitless_handler = make_user(world.session, Role.HANDLER, unit=None)
    inactive = make_user(world.session, Role.CITY_DISPATCHER, district_code=None)
    inactive.active = False
    assert visible(world, unitless_handler) == set()
    assert visible(world, inactive) == set()
    assert world.session.scalar(select(Petition.id).where(petition_scope(inactive))) is None


@pytest.mark.parametrize(
    ("phone", "masked"),
    [("13812341234", "138****1234"), ("0532-88886666", "053******6666"), ("12345", "***45"), ("", "")],
)
def test_mask_phone(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


def test_mask_text_hides_mobile_numbers_in_free_text() -> None:
    text = "请联系13812341234或139 1234 5678，门牌号2024号，订单号123456789012345"
    assert mask_text(text) == "请联系138****1234或139****5678，门牌号2024号，订单号123456789012345"


@pytest.mark.parametrize(
    ("role", "reads"),
    [
        (Role.DISPATCHER, True),
        (Role.CITY_DISPATCHER, True),
        (Role.HANDLER, True),
        (Role.UNIT_REVIEWER, False),
        (Role.DISTRICT_MANAGER, False),
        (Role.CITY_MANAGER, False),
        (Role.LEADER, False),
        (Role.HOTLINE, False),
    ],
)
def test_who_reads_phone_numbers(world, role: Role, reads: bool) -> None:
    user = make_user(world.session, role)
    assert reads_phone_numbers(user) is reads
    assert phone_for(user, "13812341234") == ("13812341234" if reads else "138****1234")


def test_masked_on_workbench_for_reviewers_but_not_handlers(login_as, world) -> None:
    petition = world.replied_by_urban()
    handler_page = login_as(world.urban_handler).get(f"/admin/petitions/{petition.number}").get_data(as_text=True)
    reviewer_page = login_as(world.urban_reviewer).get(f"/admin/petitions/{petition.number}").get_data(as_text=True)
    assert "13812341234" in handler_page
    assert "13812341234" not in reviewer_page
    assert "138****1234" in reviewer_page
