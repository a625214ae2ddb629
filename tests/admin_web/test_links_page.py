"""Linking a duplicate on the staff site: the small form on the petition page posts to POST
/admin/petitions/<number>/link (``target``, CSRF like every action form), which the "可能重复" suggestions use too;
the pages say what is linked to what; errors are clear pages; a double click changes nothing."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from models import PetitionEvent
from models.enums import PetitionState
from tests.factories import make_citizen

LINK_FORM_RE = re.compile(r'<form method="post" action="/admin/petitions/([^/]+)/link".*?</form>', re.S)


def body(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def _petition(world, district_code: str = "shinan"):  # type: ignore[no-untyped-def]
    return world.petition(citizen=make_citizen(world.session, district_code), district_code=district_code)


def _events(world, petition) -> int:  # type: ignore[no-untyped-def]
    world.session.expire_all()
    return world.session.scalar(
        select(func.count(PetitionEvent.id)).where(PetitionEvent.petition_id == petition.id)
    )


def test_the_dispatcher_links_from_the_petition_page_and_both_pages_say_so(
    client, login_as, csrf, world
) -> None:
    """Rule: the district's dispatcher sees a small link form (an input for the master's number) on a 待研判
    petition; after linking the page says 已关联至 <master> and offers 取消关联; the master lists its duplicates."""
    master, duplicate = _petition(world), _petition(world)
    login_as(world.dispatcher)
    page = body(client.get(f"/admin/petitions/{duplicate.number}"))
    (form,) = [m.group(0) for m in LINK_FORM_RE.finditer(page)]
    assert 'name="target"' in form and 'name="csrf_token"' in form
    assert '<input type="hidden" name="expected_state" value="pending_dispatch">' in form
    token = csrf(f"/admin/petitions/{duplicate.number}")
    answer = client.post(
        f"/admin/petitions/{duplicate.number}/link",
        data={"csrf_token": token, "target": master.number, "expected_state": "pending_dispatch"},
    )
    assert answer.status_code == 302 and answer.headers["Location"].endswith(
        f"/admin/petitions/{duplicate.number}"
    )
    shown = body(client.get(answer.headers["Location"]))
    assert re.search(rf'已关联至\s*<a href="/admin/petitions/{master.number}">{master.number}</a>', shown)
    assert "主诉求答复时一并答复" in shown  # the flash
    assert 'data-action="unlink"' in shown and 'data-action="link"' not in shown
    master_page = body(client.get(f"/admin/petitions/{master.number}"))
    assert "关联诉求" in master_page and f'href="/admin/petitions/{duplicate.number}"' in master_page


def test_a_double_click_changes_nothing_and_says_so(client, login_as, csrf, world) -> None:
    master, duplicate = _petition(world), _petition(world)
    login_as(world.dispatcher)
    token = csrf(f"/admin/petitions/{duplicate.number}")
    data = {"csrf_token": token, "target": master.number, "expected_state": "pending_dispatch"}
    assert client.post(f"/admin/petitions/{duplicate.number}/link", data=data).status_code == 302
    count = _events(world, duplicate)
    again = client.post(f"/admin/petitions/{duplicate.number}/link", data=data)
    assert again.status_code == 302
    assert "无需重复操作" in body(client.get(again.headers["Location"]))
    assert _events(world, duplicate) == count


def test_link_errors_are_clear_pages_and_change_nothing(client, login_as, csrf, world) -> None:
    """Rules: no CSRF token 400; unknown or another district's number 404; itself 422 (the form again with the
    reason); a target that is itself linked or a petition linked elsewhere 409; a unit's handler 404 (not in scope)."""
    master, duplicate, third = _petition(world), _petition(world), _petition(world)
    laoshan = _petition(world, district_code="laoshan")
    login_as(world.dispatcher)
    token = csrf(f"/admin/petitions/{duplicate.number}")

    def link(petition, target):  # type: ignore[no-untyped-def]
        return client.post(
            f"/admin/petitions/{petition.number}/link", data={"csrf_token": token, "target": target}
        )

    assert (
        client.post(f"/admin/petitions/{duplicate.number}/link", data={"target": master.number}).status_code
        == 400
    )
    missing = link(duplicate, "SN209901010001")
    assert missing.status_code == 404 and "SN209901010001" in body(missing)
    assert link(duplicate, laoshan.number).status_code == 404
    itself = link(duplicate, duplicate.number)
    assert itself.status_code == 422 and "不能把诉求关联到它自己" in body(itself)
    assert link(third, master.number).status_code == 302
    chained = link(duplicate, third.number)
    assert chained.status_code == 409 and f"请关联至主诉求 {master.number}" in body(chained)
    elsewhere = link(third, duplicate.number)
    assert elsewhere.status_code == 409 and "请先取消关联" in body(elsewhere)
    assert _events(world, duplicate) == 1
    login_as(world.urban_handler)
    token = csrf("/admin/workbench")
    assert link(duplicate, master.number).status_code == 404


def test_a_dispatched_petition_or_a_stale_form_is_409(client, login_as, csrf, world) -> None:
    master = _petition(world)
    dispatched = world.assigned_to_urban(citizen=make_citizen(world.session, "shinan"))
    login_as(world.dispatcher)
    token = csrf(f"/admin/petitions/{master.number}")
    stale = client.post(
        f"/admin/petitions/{dispatched.number}/link",
        data={"csrf_token": token, "target": master.number, "expected_state": "pending_dispatch"},
    )
    assert stale.status_code == 409 and "已被他人处理" in body(stale)
    late = client.post(
        f"/admin/petitions/{dispatched.number}/link", data={"csrf_token": token, "target": master.number}
    )
    assert late.status_code == 409
    world.session.refresh(dispatched)
    assert dispatched.state == PetitionState.ASSIGNED


def test_unlink_from_the_page_puts_it_back_in_the_queue(client, login_as, csrf, world) -> None:
    master, duplicate = _petition(world), _petition(world)
    login_as(world.dispatcher)
    token = csrf(f"/admin/petitions/{duplicate.number}")
    client.post(
        f"/admin/petitions/{duplicate.number}/link", data={"csrf_token": token, "target": master.number}
    )
    undone = client.post(
        f"/admin/petitions/{duplicate.number}/actions/unlink",
        data={"csrf_token": token, "expected_state": "linked", "note": "不是同一问题"},
    )
    assert undone.status_code == 302
    world.session.refresh(duplicate)
    assert duplicate.state == PetitionState.PENDING_DISPATCH and duplicate.duplicate_of_id is None
    assert 'class="linked-to"' not in body(client.get(f"/admin/petitions/{duplicate.number}"))
