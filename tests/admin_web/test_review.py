"""Review queues: the unit reviewer, the district platform's review and unified sending, the city platform's review
of city departments' replies; second handling, assessments and the accountability list."""

from __future__ import annotations

from sqlalchemy import select

from models import ExtensionRequest, Notification
from models.enums import PetitionKind, PetitionState, RequestState
from tests.admin_web.conftest import REPLY


def body(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def review_post(client, csrf, petition, action: str, **data: str):  # type: ignore[no-untyped-def]
    return client.post(
        f"/admin/petitions/{petition.number}/actions/{action}",
        data={"csrf_token": csrf("/admin/review"), "expected_state": petition.state.value, "next": "/admin/review",
              **data},
    )


def test_unit_reviewer_then_platform_approve_and_the_reply_reaches_the_citizen(client, login_as, csrf, world) -> None:
    petition = world.replied_by_urban()
    login_as(world.urban_reviewer)
    page = body(client.get("/admin/review"))
    assert "单位答复审核" in page
    assert REPLY["result"] in page
    assert review_post(client, csrf, petition, "approve_reply").headers["Location"] == "/admin/review"
    world.session.refresh(petition)
    assert petition.state == PetitionState.PLATFORM_REVIEW
    assert "「单位审核通过」已完成" in body(client.get("/admin/review"))
    assert petition.number not in body(client.get("/admin/review"))

    login_as(world.dispatcher)
    page = body(client.get("/admin/review"))
    assert "答复审核与统一答复" in page
    assert "审核通过并统一答复" in page
    review_post(client, csrf, petition, "send_reply")
    world.session.refresh(petition)
    assert petition.state == PetitionState.AWAITING_EVALUATION
    replied = world.session.scalars(
        select(Notification).where(Notification.petition_id == petition.id, Notification.event == "replied")
    ).one()
    assert replied.citizen_id == world.citizen.id
    assert replied.payload["result"] == REPLY["result"]


def test_reviewer_returns_the_reply_with_a_reason(client, login_as, csrf, world) -> None:
    petition = world.replied_by_urban()
    login_as(world.urban_reviewer)
    missing = review_post(client, csrf, petition, "return_reply")
    assert missing.status_code == 422
    review_post(client, csrf, petition, "return_reply", note="政策依据不完整")
    world.session.refresh(petition)
    assert petition.state == PetitionState.HANDLING


def test_reviewers_see_only_their_units_replies(login_as, world) -> None:
    petition = world.replied_by_urban()
    other = world.petition()
    world.do(other, "dispatch", world.dispatcher, unit_id=world.housing.id, nature="complaint")
    assert petition.number in body(login_as(world.urban_reviewer).get("/admin/review"))
    assert petition.number not in body(login_as(world.laoshan_dispatcher).get("/admin/review"))
    # Nothing is waiting for the district platform yet: the unit has not approved.
    page = body(login_as(world.dispatcher).get("/admin/review"))
    assert "没有待审核的答复" in page


def test_city_platform_reviews_city_department_replies(client, login_as, csrf, world) -> None:
    petition = world.petition()
    world.do(petition, "send_to_city", world.dispatcher, note="需市住建局", nature="complaint", dept_type="housing")
    world.do(petition, "city_dispatch", world.city_dispatcher, unit_id=world.city_housing.id)
    world.do(petition, "accept", world.city_handler)
    world.do(petition, "submit_reply", world.city_handler, **REPLY)
    world.do(petition, "approve_reply", world.city_reviewer)
    assert petition.state == PetitionState.CITY_REVIEW
    login_as(world.city_dispatcher)
    page = body(client.get("/admin/review"))
    assert "市直部门答复审核" in page
    assert petition.number in page
    review_post(client, csrf, petition, "approve_city_reply")
    world.session.refresh(petition)
    assert petition.state == PetitionState.PLATFORM_REVIEW
    assert petition.number in body(login_as(world.dispatcher).get("/admin/review"))


def test_second_handling_assessment_and_accountability(client, login_as, csrf, world) -> None:
    petition = world.replied_by_urban()
    world.do(petition, "approve_reply", world.urban_reviewer)
    world.do(petition, "send_reply", world.dispatcher)
    world.do(petition, "evaluate", world.citizen, satisfaction="unsatisfied", resolution="unresolved")
    assert petition.handling_round == 2
    login_as(world.dispatcher)
    page = body(client.get("/admin/followup"))
    assert petition.number in page.split("待履职评估")[0]  # listed under second handling

    world.do(petition, "dispatch", world.dispatcher, unit_id=world.urban.id, nature="complaint")
    world.do(petition, "accept", world.urban_handler)
    world.do(petition, "submit_reply", world.urban_handler, **REPLY)
    world.do(petition, "approve_reply", world.urban_reviewer)
    world.do(petition, "send_reply", world.dispatcher)
    world.do(petition, "evaluate", world.citizen, satisfaction="unsatisfied", resolution="unresolved")
    assert petition.state == PetitionState.ASSESSMENT

    page = body(client.get("/admin/followup"))
    assert 'data-action="assess"' in page
    response = client.post(
        f"/admin/petitions/{petition.number}/actions/assess",
        data={"csrf_token": csrf("/admin/followup"), "expected_state": "assessment", "outcome": "not_completed",
              "note": "未按期整改", "next": "/admin/followup"},
    )
    assert response.headers["Location"] == "/admin/followup"
    world.session.refresh(petition)
    assert petition.state == PetitionState.PENDING_DISPATCH
    assert petition.handling_round == 3

    # Third round fails again → a second consecutive "not done" → accountability.
    world.do(petition, "dispatch", world.dispatcher, unit_id=world.urban.id, nature="complaint")
    world.do(petition, "accept", world.urban_handler)
    world.do(petition, "submit_reply", world.urban_handler, **REPLY)
    world.do(petition, "approve_reply", world.urban_reviewer)
    world.do(petition, "send_reply", world.dispatcher)
    world.do(petition, "evaluate", world.citizen, satisfaction="unsatisfied", resolution="unresolved")
    world.do(petition, "assess", world.dispatcher, outcome="not_completed", note="仍未整改")
    assert petition.state == PetitionState.ACCOUNTABILITY
    page = body(client.get("/admin/followup")).split("移交问责")[1]
    assert petition.number in page
    assert "未按期整改" in page and "仍未整改" in page
    # Leadership reads the lists but has no assessment form.
    leader_page = body(login_as(world.leader).get("/admin/followup"))
    assert petition.number in leader_page
    assert 'data-action="assess"' not in leader_page


def test_review_page_is_for_reviewers_and_platforms(login_as, world) -> None:
    assert login_as(world.urban_handler).get("/admin/review").status_code == 403
    assert login_as(world.leader).get("/admin/review").status_code == 403


def test_rule_a_second_extension_in_a_round_waits_for_the_city_platform(client, login_as, csrf, world) -> None:
    """Rule: 诉求办理确需延期的，承办单位需向市级平台或区(市)平台提交申请 — the district platform approves one
    extension a round; a further request is listed for the city platform, which decides it."""
    petition = world.petition(kind=PetitionKind.DEVELOPMENT, with_citizen=False, citizen=None)
    world.do(petition, "dispatch", world.dispatcher, unit_id=world.urban.id)
    world.do(petition, "request_extension", world.urban_handler, extra_working_days="2", reason="需现场勘查")
    world.do(petition, "decide_extension", world.dispatcher, approve=True)
    world.do(petition, "request_extension", world.urban_handler, extra_working_days="3", reason="需再次协调")
    assert petition.number not in login_as(world.dispatcher).get("/admin/extensions").get_data(as_text=True)
    page = login_as(world.city_dispatcher).get("/admin/extensions").get_data(as_text=True)
    assert petition.number in page and "再次延期由市级平台审批" in page
    token = csrf("/admin/extensions")
    response = client.post(f"/admin/petitions/{petition.number}/actions/decide_extension",
                           data={"csrf_token": token, "expected_state": "assigned", "approve": "true"})
    assert response.status_code == 302
    world.session.expire_all()
    assert [r.state for r in world.session.scalars(select(ExtensionRequest).order_by(ExtensionRequest.id))] == [
        RequestState.APPROVED, RequestState.APPROVED]
