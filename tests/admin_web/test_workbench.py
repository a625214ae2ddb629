"""The unit workbench: the unit's petitions only, most urgent light first; accept from the list; the rest of the
handling (escalate, return, reply, extension) through the petition page; 执法 petitions from a township."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from models import ExtensionRequest, Petition, utcnow
from models.enums import PetitionKind, PetitionState, RequestState, UnitLevel
from tests.admin_web.conftest import REPLY


def body(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def post_action(client, csrf, petition, action: str, **data: str):  # type: ignore[no-untyped-def]
    token = csrf(f"/admin/petitions/{petition.number}")
    return client.post(
        f"/admin/petitions/{petition.number}/actions/{action}",
        data={"csrf_token": token, "expected_state": petition.state.value, **data},
    )


def test_workbench_orders_by_light_then_deadline(login_as, world) -> None:
    now = utcnow()
    blue, red, yellow = (world.assigned_to_urban() for _ in range(3))
    # Deadlines relative to the real clock, since the page computes lights at the moment it is shown.
    red.deadline = now - dt.timedelta(hours=1)
    yellow.deadline = now + dt.timedelta(hours=2)
    blue.deadline = now + dt.timedelta(days=30)
    for p in (blue, red, yellow):
        p.accepted_at = now - dt.timedelta(days=10)
    world.session.commit()
    page = body(login_as(world.urban_handler).get("/admin/workbench"))
    positions = [page.index(f'data-number="{p.number}"') for p in (red, yellow, blue)]
    assert positions == sorted(positions)
    assert 'class="light light-red"' in page
    assert 'class="light light-yellow"' in page
    assert 'class="light light-blue"' in page


def test_workbench_shows_only_the_units_petitions(login_as, world) -> None:
    mine = world.assigned_to_urban()
    other = world.petition()
    world.do(other, "dispatch", world.dispatcher, unit_id=world.housing.id, nature="complaint")
    page = body(login_as(world.urban_handler).get("/admin/workbench"))
    assert mine.number in page
    assert other.number not in page


def test_accept_from_the_list(client, login_as, csrf, world) -> None:
    petition = world.assigned_to_urban()
    login_as(world.urban_handler)
    response = post_action(client, csrf, petition, "accept", next="/admin/workbench")
    assert response.headers["Location"] == "/admin/workbench"
    world.session.refresh(petition)
    assert petition.state == PetitionState.HANDLING


def test_community_escalates_to_its_street_with_a_reason(client, login_as, csrf, world) -> None:
    petition = world.petition()
    world.do(petition, "dispatch", world.dispatcher, unit_id=world.community.id, nature="complaint")
    login_as(world.community_handler)
    assert petition.number in body(client.get("/admin/workbench"))
    refused = post_action(client, csrf, petition, "escalate")
    assert refused.status_code == 422
    response = post_action(client, csrf, petition, "escalate", note="需街道协调城管执法")
    assert response.status_code == 302
    world.session.refresh(petition)
    assert petition.current_unit_id == world.street.id
    # The community no longer sees it; the street does.
    assert client.get(f"/admin/petitions/{petition.number}").status_code == 404
    assert petition.number in body(login_as(world.street_handler).get("/admin/workbench"))


def test_return_to_platform(client, login_as, csrf, world) -> None:
    petition = world.assigned_to_urban()
    login_as(world.urban_handler)
    response = post_action(client, csrf, petition, "return", note="不属于本单位职责")
    assert response.status_code == 302
    world.session.refresh(petition)
    assert petition.state == PetitionState.PENDING_DISPATCH


def test_reply_draft_goes_to_unit_review(client, login_as, csrf, world) -> None:
    petition = world.assigned_to_urban()
    world.do(petition, "accept", world.urban_handler)
    login_as(world.urban_handler)
    response = post_action(client, csrf, petition, "submit_reply", **REPLY)
    assert response.status_code == 302
    world.session.refresh(petition)
    assert petition.state == PetitionState.UNIT_REVIEW


def test_extension_request_and_platform_decision(client, login_as, csrf, world) -> None:
    petition = world.assigned_to_urban()
    world.do(petition, "accept", world.urban_handler)
    old_deadline = petition.deadline
    login_as(world.urban_handler)
    response = post_action(client, csrf, petition, "request_extension", extra_working_days="3", reason="需第三方检测")
    assert response.status_code == 302

    login_as(world.dispatcher)
    page = body(client.get("/admin/extensions"))
    assert petition.number in page
    assert "需第三方检测" in page
    token = csrf("/admin/extensions")
    response = client.post(
        f"/admin/petitions/{petition.number}/actions/decide_extension",
        data={"csrf_token": token, "expected_state": "handling", "approve": "true", "next": "/admin/extensions"},
    )
    assert response.headers["Location"] == "/admin/extensions"
    world.session.refresh(petition)
    assert petition.deadline > old_deadline
    request = world.session.scalars(select(ExtensionRequest)).one()
    assert request.state == RequestState.APPROVED
    assert "「审批延期」已完成" in body(client.get("/admin/extensions"))
    assert petition.number not in body(client.get("/admin/extensions"))


def test_township_creates_an_enforcement_petition(client, login_as, csrf, world, trained_classifier) -> None:
    login_as(world.street_handler)
    token = csrf("/admin/enforcement/new")
    empty = client.post("/admin/enforcement/new", data={"csrf_token": token, "content": " "})
    assert empty.status_code == 422
    assert "诉求内容不能为空" in body(empty)
    response = client.post(
        "/admin/enforcement/new",
        data={"csrf_token": token, "content": "八大关景区周边违规占道经营，需城管、市场监管联合执法。",
              "location": "八大关景区"},
    )
    assert response.status_code == 302
    petition = world.session.scalars(select(Petition).where(Petition.kind == PetitionKind.ENFORCEMENT)).one()
    assert petition.origin_unit_id == world.street.id
    assert petition.suggestion is not None and petition.suggestion["departments"]
    assert petition.state == PetitionState.PENDING_DISPATCH
    assert response.headers["Location"] == f"/admin/petitions/{petition.number}"
    # The township still sees the petition it raised; the dispatcher gets it in the queue.
    assert client.get(f"/admin/petitions/{petition.number}").status_code == 200
    assert petition.number in body(login_as(world.dispatcher).get("/admin/queue"))


def test_enforcement_petition_without_a_model_goes_in_unsuggested(app, client, login_as, csrf, world, tmp_path) -> None:
    app.config["CLASSIFIER"]["model_path"] = str(tmp_path / "no-model-here.joblib")
    login_as(world.street_handler)
    response = client.post(
        "/admin/enforcement/new",
        data={"csrf_token": csrf("/admin/enforcement/new"), "content": "违规占道经营需联合执法"},
    )
    assert response.status_code == 302
    petition = world.session.scalars(select(Petition)).one()
    assert petition.suggestion is None


def test_communities_cannot_raise_enforcement_petitions(login_as, world) -> None:
    assert world.community.level == UnitLevel.COMMUNITY
    response = login_as(world.community_handler).get("/admin/enforcement/new")
    assert response.status_code == 403


def test_rule_a_cooperating_unit_accepts_its_task_from_the_workbench_and_submits_its_part(
    client, login_as, csrf, world
) -> None:
    """Rule: 联合执法 — the cooperating unit sees the 执法 petition with its own task (state, deadline), accepts it from
    the list and submits its part on the petition page; the lead unit then sees the part beside its reply form."""
    petition = world.petition(kind=PetitionKind.ENFORCEMENT, citizen=None, with_citizen=False,
                              origin_unit=world.street)
    world.do(petition, "dispatch", world.dispatcher, unit_id=world.urban.id, complexity="complex",
             cooperating_unit_ids=[world.housing.id, world.street.id])
    login_as(world.housing_handler)
    page = body(client.get("/admin/workbench"))
    assert "配合办理的执法诉求" in page and petition.number in page
    assert "待签收" in page and "签收配合任务" in page
    response = post_action(client, csrf, petition, "accept_cooperation", next="/admin/workbench")
    assert response.headers["Location"] == "/admin/workbench"
    page = body(client.get("/admin/workbench"))
    assert "办理中" in page and "提交配合意见" in page
    detail = body(client.get(f"/admin/petitions/{petition.number}"))
    assert 'name="part"' in detail
    response = post_action(client, csrf, petition, "submit_cooperation", part="已核查该彩钢板房未办理规划许可。")
    assert response.status_code == 302

    login_as(world.urban_handler)
    world.do(petition, "accept", world.urban_handler)
    detail = body(client.get(f"/admin/petitions/{petition.number}"))
    assert "配合单位办理情况" in detail and "已核查该彩钢板房未办理规划许可。" in detail
    assert "尚未提交配合意见：八大关街道" in detail and 'name="missing_parts_reason"' in detail
    response = post_action(client, csrf, petition, "submit_reply", **REPLY)
    assert response.status_code == 422
    assert "八大关街道" in body(response)
    response = post_action(client, csrf, petition, "submit_reply", **REPLY, missing_parts_reason="街道配合拆除下周进行")
    assert response.status_code == 302
    world.session.refresh(petition)
    assert petition.state == PetitionState.UNIT_REVIEW
