"""The petition page: everything about one petition, its timeline, its light and deadline, only the allowed
actions (each a CSRF-protected form carrying the state it was shown in), and clear answers when an action fails."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from admin_web.views.forms import ACTION_FIELDS
from models import PetitionEvent
from models.enums import PetitionState
from tests.admin_web.conftest import REPLY
from workflow.engine import TRANSITIONS

FORM_RE = re.compile(r'<form method="post" action="/admin/petitions/[^/]+/actions/([a-z_]+)".*?</form>', re.S)


def body(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def action_forms(page: str) -> dict[str, str]:
    return {m.group(1): m.group(0) for m in FORM_RE.finditer(page)}


def events(world, petition) -> int:  # type: ignore[no-untyped-def]
    return world.session.scalar(select(func.count(PetitionEvent.id)).where(PetitionEvent.petition_id == petition.id))


def test_every_workflow_action_has_its_form_fields() -> None:
    assert set(ACTION_FIELDS) == set(TRANSITIONS)


def test_page_shows_facts_timeline_light_and_deadline(login_as, world) -> None:
    petition = world.assigned_to_urban()
    page = body(login_as(world.dispatcher).get(f"/admin/petitions/{petition.number}"))
    assert petition.number in page
    assert "待签收" in page
    assert world.urban.name in page
    assert "2 个工作日" in page
    # Dispatched Monday 23 November 11:00 (Shanghai 19:00) with two working days: due at the end of Wednesday.
    assert "11月25日（周三）24时前" in page  # one way to say a deadline (issue 13)
    assert re.search(r'class="light light-(blue|yellow|red)"', page)
    assert "提交诉求" in page and "确认分拨" in page  # the timeline
    assert "待研判 → 待签收" in page
    assert "烧烤摊" in page


def test_only_the_available_actions_are_offered_each_with_csrf_and_expected_state(login_as, world) -> None:
    petition = world.assigned_to_urban()
    handler_page = body(login_as(world.urban_handler).get(f"/admin/petitions/{petition.number}"))
    forms = action_forms(handler_page)
    assert set(forms) == {"accept", "return", "request_extension"}
    for form in forms.values():
        assert 'name="csrf_token"' in form
        assert '<input type="hidden" name="expected_state" value="assigned">' in form
    # The dispatcher may not act on a petition that a unit holds; the reviewer has nothing to review yet.
    assert action_forms(body(login_as(world.dispatcher).get(f"/admin/petitions/{petition.number}"))) == {}
    assert action_forms(body(login_as(world.urban_reviewer).get(f"/admin/petitions/{petition.number}"))) == {}


def test_double_submit_answers_409_with_a_clear_message(client, login_as, csrf, world) -> None:
    petition = world.assigned_to_urban()
    login_as(world.urban_handler)
    token = csrf(f"/admin/petitions/{petition.number}")
    data = {"csrf_token": token, "expected_state": "assigned"}
    first = client.post(f"/admin/petitions/{petition.number}/actions/accept", data=data)
    assert first.status_code == 302
    before = events(world, petition)
    second = client.post(f"/admin/petitions/{petition.number}/actions/accept", data=data)
    assert second.status_code == 409
    page = body(second)
    assert "已被他人处理" in page
    assert "办理中" in page  # says what the state is now
    assert f'href="/admin/petitions/{petition.number}"' in page
    assert events(world, petition) == before


def test_action_without_csrf_token_is_refused_and_changes_nothing(client, login_as, world) -> None:
    petition = world.assigned_to_urban()
    login_as(world.urban_handler)
    response = client.post(f"/admin/petitions/{petition.number}/actions/accept", data={"expected_state": "assigned"})
    assert response.status_code == 400
    world.session.refresh(petition)
    assert petition.state == PetitionState.ASSIGNED


def test_action_of_another_role_is_refused_with_403(client, login_as, csrf, world) -> None:
    petition = world.replied_by_urban()
    login_as(world.urban_handler)
    response = client.post(
        f"/admin/petitions/{petition.number}/actions/approve_reply",
        data={"csrf_token": csrf(f"/admin/petitions/{petition.number}"), "expected_state": "unit_review"},
    )
    assert response.status_code == 403
    assert "承办单位科室负责人" in body(response)
    world.session.refresh(petition)
    assert petition.state == PetitionState.UNIT_REVIEW


def test_unknown_action_and_forged_state_are_refused(client, login_as, csrf, world) -> None:
    petition = world.assigned_to_urban()
    login_as(world.urban_handler)
    token = csrf(f"/admin/petitions/{petition.number}")
    unknown = client.post(f"/admin/petitions/{petition.number}/actions/delete", data={"csrf_token": token})
    assert unknown.status_code == 404
    forged = client.post(
        f"/admin/petitions/{petition.number}/actions/accept", data={"csrf_token": token, "expected_state": "bogus"}
    )
    assert forged.status_code == 400
    world.session.refresh(petition)
    assert petition.state == PetitionState.ASSIGNED


def test_anonymous_action_goes_to_login_and_changes_nothing(client, csrf, world) -> None:
    petition = world.assigned_to_urban()
    response = client.post(
        f"/admin/petitions/{petition.number}/actions/accept",
        data={"csrf_token": csrf("/admin/login"), "expected_state": "assigned"},
    )
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login?next=")
    world.session.refresh(petition)
    assert petition.state == PetitionState.ASSIGNED


def test_reply_draft_with_a_bad_phone_keeps_what_was_typed(client, login_as, csrf, world) -> None:
    petition = world.assigned_to_urban()
    world.do(petition, "accept", world.urban_handler)
    login_as(world.urban_handler)
    response = client.post(
        f"/admin/petitions/{petition.number}/actions/submit_reply",
        data={"csrf_token": csrf(f"/admin/petitions/{petition.number}"), "expected_state": "handling",
              **{**REPLY, "contact_phone": "call me"}},
    )
    assert response.status_code == 422
    page = body(response)
    assert "联系电话格式不正确" in page
    assert REPLY["result"] in page
    assert '<details open data-action="submit_reply">' in page


def test_replies_extensions_and_review_notes_are_shown(client, login_as, csrf, world) -> None:
    petition = world.replied_by_urban()
    world.do(petition, "return_reply", world.urban_reviewer, note="请补充整改期限")
    page = body(login_as(world.dispatcher).get(f"/admin/petitions/{petition.number}"))
    assert REPLY["policy_basis"] in page
    assert "请补充整改期限" in page
    assert "已退回" in page


def test_phone_is_masked_for_roles_that_do_not_call(login_as, world) -> None:
    petition = world.petition(content="烧烤摊扰民，联系我 139-1234-5678 或本机。")
    path = f"/admin/petitions/{petition.number}"
    dispatcher_page = body(login_as(world.dispatcher).get(path))
    assert "13812341234" in dispatcher_page
    assert "139-1234-5678" in dispatcher_page
    for reader in (world.district_manager, world.leader):
        page = body(login_as(reader).get(path))
        assert "13812341234" not in page
        assert "138****1234" in page
        assert "139****5678" in page
        assert "1234-5678" not in page
