"""Hot issues on the dashboard and over the API, and 可能重复 on the queue and the petition page."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from admin_web.api.tokens import issue_token
from models import Petition, User, utcnow
from models.enums import DeptType, PetitionState
from tests.admin_web import f2_support
from tests.admin_web.f2_support import World
from tests.factories import make_petition
from tests.workflow.test_hot_issues import LAMP
from workflow.duplicates import check_new_petitions
from workflow.hot_issues import compute_hot_issues

site, api_client, world = f2_support.site, f2_support.api_client, f2_support.world

Login = Callable[[User], FlaskClient]
UNRELATED = "社区的健身器材坏了，孩子玩的时候受伤"
NEAR_DUPLICATE = "江苏路的路灯坏了，晚上路上一片漆黑"


def _lamps(world: World, state: PetitionState = PetitionState.PENDING_DISPATCH) -> list[Petition]:
    now = utcnow()
    lamps = []
    for i, text in enumerate(LAMP):
        p = make_petition(world.session, content=text, now=now - dt.timedelta(hours=30 - 3 * i))
        p.dept_type, p.state = DeptType.URBAN_MGMT, state
        lamps.append(p)
    # The same matter in 崂山区: a hot issue of its own, not 市南区's business.
    for i, text in enumerate(LAMP[:3]):
        p = make_petition(
            world.session,
            district_code="laoshan",
            content=text.replace("江苏路", "沙子口"),
            now=now - dt.timedelta(hours=10 + i),
        )
        p.dept_type = DeptType.URBAN_MGMT
    world.session.commit()
    return lamps


def _bearer(world: World, key: str) -> dict[str, str]:
    token = issue_token(world.session, world.users[key], utcnow())
    world.session.commit()
    return {"Authorization": f"Bearer {token.raw}"}


def test_the_dashboard_panel_shows_the_hot_issue_with_its_size_and_link(
    site: Flask, world: World, login_as: Login
):
    lamps = _lamps(world)
    compute_hot_issues(site, utcnow())
    page = login_as(world.users["leader"]).get("/admin/dashboard/").get_data(as_text=True)
    panel = page[page.index('id="hot"') : page.index("</section>", page.index('id="hot"'))]
    assert "8 件" in panel and "3 件" in panel and "路灯" in panel and "市南区" in panel and "↑ +8" in panel
    link = re.search(r'href="(/admin/hot-issues/\d+)"', panel)
    assert link is not None
    listing = login_as(world.users["leader"]).get(link.group(1)).get_data(as_text=True)
    assert all(p.number in listing for p in lamps)


def test_the_panel_says_when_nothing_was_computed(world: World, login_as: Login):
    page = login_as(world.users["leader"]).get("/admin/dashboard/").get_data(as_text=True)
    assert "热点尚未计算" in page


def test_a_district_dashboard_shows_its_own_hot_issues_only(site: Flask, world: World, login_as: Login):
    _lamps(world)
    compute_hot_issues(site, utcnow())
    page = login_as(world.users["laoshan_manager"]).get("/admin/dashboard/").get_data(as_text=True)
    panel = page[page.index('id="hot"') : page.index("</section>", page.index('id="hot"'))]
    assert "3 件" in panel and "8 件" not in panel
    other = re.search(r'href="(/admin/hot-issues/\d+)"', panel)
    assert other is not None
    shinan = login_as(world.users["leader"]).get("/admin/dashboard/?district=shinan").get_data(as_text=True)
    shinan_link = re.search(r'href="(/admin/hot-issues/\d+)"', shinan[shinan.index('id="hot"') :])
    assert shinan_link is not None
    assert login_as(world.users["laoshan_manager"]).get(shinan_link.group(1)).status_code == 404


def test_the_api_lists_hot_issues_within_the_callers_districts(
    site: Flask, world: World, api_client: FlaskClient
):
    lamps = _lamps(world)
    compute_hot_issues(site, utcnow())
    city = api_client.get("/api/v1/hot-issues", headers=_bearer(world, "leader"))
    assert city.status_code == 200
    body = city.get_json()
    assert body["days"] == 7 and body["computed_at"] is not None
    assert [i["size"] for i in body["items"]] == [8, 3]
    first = body["items"][0]
    assert sorted(first["petitions"]) == sorted(p.number for p in lamps)
    assert first["districts"] == ["shinan"] and first["trend"] == 8 and len(first["daily"]) == 7
    only = api_client.get("/api/v1/hot-issues?district=laoshan", headers=_bearer(world, "leader")).get_json()
    assert [i["size"] for i in only["items"]] == [3]
    laoshan = api_client.get("/api/v1/hot-issues", headers=_bearer(world, "laoshan_dispatcher")).get_json()
    assert [i["districts"] for i in laoshan["items"]] == [["laoshan"]]
    refused = api_client.get(
        "/api/v1/hot-issues?district=shinan", headers=_bearer(world, "laoshan_dispatcher")
    )
    assert refused.status_code == 404
    assert api_client.get("/api/v1/hot-issues?days=5", headers=_bearer(world, "leader")).status_code == 422
    assert api_client.get("/api/v1/hot-issues", headers=_bearer(world, "urban_handler")).status_code == 403
    assert api_client.get("/api/v1/hot-issues").status_code == 401


def test_the_openapi_document_describes_hot_issues(api_client: FlaskClient):
    spec = api_client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/hot-issues" in spec["paths"] and "HotIssueList" in spec["components"]["schemas"]


def test_possible_duplicates_show_on_the_petition_page_and_in_the_queue(
    site: Flask, world: World, login_as: Login
):
    lamps = _lamps(world, PetitionState.HANDLING)
    new = make_petition(world.session, content=NEAR_DUPLICATE, now=utcnow() - dt.timedelta(minutes=5))
    unrelated = make_petition(world.session, content=UNRELATED, now=utcnow() - dt.timedelta(minutes=4))
    new.dept_type = unrelated.dept_type = DeptType.URBAN_MGMT
    world.session.commit()
    check_new_petitions(site, utcnow())
    client = login_as(world.users["dispatcher"])
    page = client.get(f"/admin/petitions/{new.number}").get_data(as_text=True)
    assert "可能重复" in page and "关联为重复" in page
    assert f'action="/admin/petitions/{new.number}/link"' in page
    assert any(f'name="target" value="{p.number}"' in page for p in lamps)
    assert 'name="csrf_token"' in page[page.index("可能重复") :]
    plain = client.get(f"/admin/petitions/{unrelated.number}").get_data(as_text=True)
    assert "可能重复" not in plain and "关联为重复" not in plain
    queue = client.get("/admin/queue").get_data(as_text=True)
    new_item = queue[queue.index(f'id="q-{new.number}"') :]
    assert "可能重复" in new_item[: new_item.index("</article>")]
    other_item = queue[queue.index(f'id="q-{unrelated.number}"') :]
    assert "可能重复" not in other_item[: other_item.index("</article>")]
