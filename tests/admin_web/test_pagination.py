"""Every list is paginated: page 2 shows the next rows, the links keep the other lists' pages and the filters, a
page past the last shows the last, and a page number that is not one is a clear 400 (422 in the API), never a 500.
The API's change polling (``updated_from``) pages by cursor and returns every changed petition exactly once."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from admin_web.api.tokens import issue_token
from models import Petition, User
from models.enums import PetitionState, UnitLevel
from tests.admin_web.conftest import World
from tests.factories import MONDAY_10AM, make_unit


def body(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def numbers_in(page: str, petitions: list[Petition]) -> list[str]:
    """The petitions' numbers in the order the page shows them."""
    found = sorted((page.index(f">{p.number}<"), p.number) for p in petitions if f">{p.number}<" in page)
    return [number for _, number in found]


def petitions(world: World, n: int) -> list[Petition]:
    return [
        world.petition(content=f"第{i}条：路灯不亮。", now=MONDAY_10AM + dt.timedelta(minutes=i))
        for i in range(n)
    ]


@pytest.mark.parametrize(
    ("path", "who"),
    [
        ("/admin/queue?page=", "dispatcher"),
        ("/admin/search?state=pending_dispatch&page=", "dispatcher"),
        ("/admin/workbench?coop_page=", "urban_handler"),
        ("/admin/review?page=", "dispatcher"),
        ("/admin/extensions?page=", "dispatcher"),
        ("/admin/followup?referred_page=", "dispatcher"),
        ("/admin/alerts?page=", "dispatcher"),
        ("/admin/manage/users?page=", "district_manager"),
        ("/admin/manage/units?page=", "district_manager"),
        ("/admin/manage/dead-letters?page=", "district_manager"),
    ],
)
@pytest.mark.parametrize("bad", ["abc", "-1", "0", "1.5", "99999999999999999999999"])
def test_a_bad_page_number_is_400(login_as, world: World, path: str, who: str, bad: str) -> None:
    response = login_as(getattr(world, who)).get(path + bad)
    assert response.status_code == 400
    assert "页码" in body(response) and "无效" in body(response)


def test_the_queue_pages_through_the_oldest_first(login_as, world: World) -> None:
    made = petitions(world, 23)
    client = login_as(world.dispatcher)
    first, second = body(client.get("/admin/queue")), body(client.get("/admin/queue?page=2"))
    assert numbers_in(first, made) == [p.number for p in made[:20]]
    assert numbers_in(second, made) == [p.number for p in made[20:]]
    assert 'href="/admin/queue?page=2"' in first and 'rel="next"' in first and 'rel="prev"' not in first
    assert 'href="/admin/queue?page=1"' in second and 'rel="next"' not in second
    assert "第 2 / 2 页，共 23 条" in second
    # Past the last page: the last page.
    assert numbers_in(body(client.get("/admin/queue?page=7")), made) == [p.number for p in made[20:]]


def test_search_links_keep_the_filters(login_as, world: World) -> None:
    made = petitions(world, 45)
    page = body(login_as(world.dispatcher).get("/admin/search?state=pending_dispatch&page=2"))
    assert len(numbers_in(page, made)) == 20
    links = set(re.findall(r'href="(/admin/search\?[^"]+)"', page))
    assert "/admin/search?state=pending_dispatch&amp;page=3" in links
    assert "/admin/search?state=pending_dispatch&amp;page=1" in links


def test_the_workbench_pages_its_own_and_its_cooperating_lists_apart(login_as, world: World) -> None:
    own = [world.assigned_to_urban(content=f"第{i}条：路灯不亮。") for i in range(22)]
    for i, petition in enumerate(own):
        petition.deadline = MONDAY_10AM + dt.timedelta(days=i + 1)
    world.session.commit()
    client = login_as(world.urban_handler)
    first = body(client.get("/admin/workbench"))
    assert numbers_in(first, own) == [p.number for p in own[:20]]
    second = body(client.get("/admin/workbench?page=2"))
    assert numbers_in(second, own) == [p.number for p in own[20:]]
    assert "第 2 / 2 页，共 22 条" in second
    # Past the last page (no row to carry the count): the last page.
    assert numbers_in(body(client.get("/admin/workbench?page=9")), own) == [p.number for p in own[20:]]


def _second_round(world: World, i: int, state: PetitionState = PetitionState.PENDING_DISPATCH) -> Petition:
    petition = world.petition(content=f"第{i}条：路灯不亮。")
    petition.handling_round = 2
    petition.state = state
    petition.updated_at = MONDAY_10AM + dt.timedelta(minutes=i + 1)
    world.session.commit()
    return petition


def test_followup_pages_each_list_on_its_own(login_as, world: World) -> None:
    second = [_second_round(world, i) for i in range(23)]
    assessing = [_second_round(world, 100 + i, PetitionState.ASSESSMENT) for i in range(2)]
    client = login_as(world.dispatcher)
    page = body(client.get("/admin/followup?second_page=2"))
    assert numbers_in(page, second) == [p.number for p in second[20:]]
    assert len(numbers_in(page, assessing)) == 2
    assert 'href="/admin/followup?second_page=1#second"' in page


def test_manage_users_are_paginated(login_as, world: World) -> None:
    from models.enums import Role
    from tests.factories import make_user

    for i in range(55):
        make_user(world.session, Role.HANDLER, unit=world.urban, username=f"zz_handler{i:02d}")
    world.session.commit()
    client = login_as(world.district_manager)
    first, second = body(client.get("/admin/manage/users")), body(client.get("/admin/manage/users?page=2"))
    names = lambda page: set(re.findall(r"zz_handler\d\d", page))  # noqa: E731
    assert len(names(first) | names(second)) == 55
    assert not names(first) & names(second)
    assert "/admin/manage/users?district=shinan&amp;page=2" in first


def test_all_unread_alerts_are_reachable(login_as, world: World) -> None:
    from models import StaffAlert

    for i in range(25):
        world.session.add(
            StaffAlert(
                kind="red",
                audience="platform",
                district_code="shinan",
                unit_id=world.platform.id,
                title=f"提醒第{i:02d}条",
                dedupe_key=f"k{i}",
                created_at=MONDAY_10AM + dt.timedelta(minutes=i),
            )
        )
    world.session.commit()
    client = login_as(world.dispatcher)
    assert "查看全部 25 条" in body(client.get("/admin/queue"))
    seen = set()
    for n in (1, 2):
        seen |= set(re.findall(r"提醒第\d\d条", body(client.get(f"/admin/alerts?page={n}"))))
    assert len(seen) == 25


# --- the API ------------------------------------------------------------------------------------------------------


@pytest.fixture
def headers(app: Flask, world: World):  # type: ignore[no-untyped-def]
    def for_user(user: User) -> dict[str, str]:
        issued = issue_token(world.session, user, MONDAY_10AM.replace(year=2099))
        world.session.commit()
        return {"Authorization": f"Bearer {issued.raw}"}

    return for_user


def test_change_polling_returns_every_change_exactly_once(client: FlaskClient, world: World, headers) -> None:
    made = petitions(world, 11)
    # Seven share one instant, to the microsecond: pages must split between them without losing or repeating one.
    same = MONDAY_10AM + dt.timedelta(days=2, microseconds=123456)
    for i, petition in enumerate(made):
        petition.updated_at = same if i % 3 else MONDAY_10AM + dt.timedelta(days=1, hours=i)
    made[0].updated_at = MONDAY_10AM - dt.timedelta(days=1)  # before updated_from: not a change to report
    world.session.commit()
    auth = headers(world.dispatcher)
    expected = sorted((p for p in made[1:]), key=lambda p: (p.updated_at, p.id))
    url = "/api/v1/petitions?updated_from=2026-11-23T10:00:00%2B08:00&per_page=3"
    seen: list[str] = []
    pages = 0
    while url:
        answer = client.get(url, headers=auth)
        assert answer.status_code == 200, answer.get_json()
        data = answer.get_json()
        assert "total" not in data and len(data["items"]) <= 3
        seen += [item["number"] for item in data["items"]]
        pages += 1
        cursor = data["next_cursor"]
        url = (
            f"/api/v1/petitions?updated_from=2026-11-23T10:00:00%2B08:00&per_page=3&cursor={cursor}"
            if cursor
            else ""
        )
        assert pages < 10
    assert seen == [p.number for p in expected]
    assert pages == 4


def test_a_petition_changed_during_polling_comes_again_later(
    client: FlaskClient, world: World, headers
) -> None:
    made = petitions(world, 4)
    for i, petition in enumerate(made):
        petition.updated_at = MONDAY_10AM + dt.timedelta(hours=i)
    world.session.commit()
    auth = headers(world.dispatcher)
    first = client.get("/api/v1/petitions?updated_from=2026-11-23&per_page=2", headers=auth).get_json()
    assert [i["number"] for i in first["items"]] == [made[0].number, made[1].number]
    made[0].updated_at = MONDAY_10AM + dt.timedelta(days=3)
    world.session.commit()
    rest = client.get(f"/api/v1/petitions?per_page=5&cursor={first['next_cursor']}", headers=auth).get_json()
    assert [i["number"] for i in rest["items"]] == [made[2].number, made[3].number, made[0].number]
    assert rest["next_cursor"] is None


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("updated_from=2026-11-23&cursor=bm90LWEtY3Vyc29y", "cursor"),
        ("cursor=%%%", "cursor"),
        ("updated_from=2026-11-23&page=2", "page"),
        ("page=99999999999", "page"),
        ("page=-3", "page"),
    ],
)
def test_bad_paging_parameters_are_422(
    client: FlaskClient, world: World, headers, query: str, field: str
) -> None:
    response = client.get(f"/api/v1/petitions?{query}", headers=headers(world.dispatcher))
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == field


def test_the_api_list_counts_up_to_its_limit_and_says_when_there_are_more(
    client: FlaskClient, world: World, headers, monkeypatch: pytest.MonkeyPatch
) -> None:
    import admin_web.api.petitions as api_petitions

    made = petitions(world, 5)
    auth = headers(world.dispatcher)
    exact = client.get("/api/v1/petitions?per_page=2", headers=auth).get_json()
    assert (exact["total"], exact["total_capped"], exact["pages"]) == (5, False, 3)
    past_the_end = client.get("/api/v1/petitions?per_page=2&page=9", headers=auth).get_json()
    assert (past_the_end["items"], past_the_end["total"], past_the_end["total_capped"]) == ([], 5, False)
    monkeypatch.setattr(api_petitions, "COUNT_LIMIT", 3)
    capped = client.get("/api/v1/petitions?per_page=2", headers=auth).get_json()
    assert (capped["total"], capped["total_capped"], capped["pages"]) == (3, True, 2)
    assert [i["number"] for i in capped["items"]] == [made[4].number, made[3].number]
    # Pages past the counted ones still answer: the list goes on.
    third = client.get("/api/v1/petitions?per_page=2&page=3", headers=auth).get_json()
    assert [i["number"] for i in third["items"]] == [made[0].number]
    assert (third["total"], third["total_capped"]) == (3, True)
    assert client.get("/api/v1/petitions?per_page=2&page=9", headers=auth).get_json()["total_capped"] is True
    monkeypatch.setattr(api_petitions, "COUNT_LIMIT", 5)
    at_the_limit = client.get("/api/v1/petitions?per_page=2", headers=auth).get_json()
    assert (at_the_limit["total"], at_the_limit["total_capped"]) == (5, False)


def test_units_are_paginated(client: FlaskClient, world: World, headers) -> None:
    for i in range(5):
        make_unit(world.session, UnitLevel.STREET, name=f"分页街道{i}")
    world.session.commit()
    auth = headers(world.dispatcher)
    every = client.get("/api/v1/units?level=street", headers=auth).get_json()
    assert every["total"] == 6 and len(every["items"]) == 6 and every["pages"] == 1
    second = client.get("/api/v1/units?level=street&per_page=4&page=2", headers=auth).get_json()
    assert [u["id"] for u in second["items"]] == [u["id"] for u in every["items"][4:]]
    assert client.get("/api/v1/units?per_page=501", headers=auth).status_code == 422
