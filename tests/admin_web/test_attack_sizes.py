"""Issue 12, attack 8: no size limits outside the webhook. 40 MB JSON bodies and forms were read, and a 5 MB note
on `accept` was stored, making the petition page 5 MB for everyone. Now the whole application has a body limit
(413 with a clear message, JSON under /api) and every free-text field its declared length (workflow/limits.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from admin_web.api.tokens import issue_token
from models import PetitionEvent, utcnow
from models.enums import PetitionState
from tests.admin_web.conftest import CSRF_RE, World
from workflow import limits

FORTY_MB = 40 * 1024 * 1024


def _bearer(world: World, user) -> dict[str, str]:  # type: ignore[no-untyped-def]
    raw = issue_token(world.session, user, utcnow()).raw
    world.session.commit()
    return {"Authorization": f"Bearer {raw}"}


def _events(world: World, action: str) -> int:
    world.session.expire_all()
    return world.session.scalar(select(func.count(PetitionEvent.id)).where(PetitionEvent.action == action))


def test_attack_8_a_40_mb_json_body_is_refused_with_413(client, world: World) -> None:  # type: ignore[no-untyped-def]
    petition = world.assigned_to_urban()
    response = client.post(
        f"/api/v1/petitions/{petition.number}/actions/accept",
        headers={**_bearer(world, world.urban_handler), "Content-Type": "application/json"},
        data=b'{"note": "' + b"x" * FORTY_MB + b'"}',
    )
    assert response.status_code == 413
    assert response.get_json()["error"] == {
        "code": "payload_too_large",
        "message": "请求内容过大：最多 2048 KB",
    }
    assert _events(world, "accept") == 0


def test_attack_8_a_40_mb_form_is_refused_with_413(client, world: World, login_as) -> None:  # type: ignore[no-untyped-def]
    petition = world.assigned_to_urban()
    handler = login_as(world.urban_handler)
    token = CSRF_RE.search(handler.get(f"/admin/petitions/{petition.number}").get_data(as_text=True)).group(1)
    response = handler.post(
        f"/admin/petitions/{petition.number}/actions/accept",
        data={"csrf_token": token, "expected_state": "assigned", "note": "x" * FORTY_MB},
    )
    assert response.status_code == 413
    assert "请求内容过大：最多 2048 KB，请缩短填写的内容后重新提交" in response.get_data(as_text=True)
    assert _events(world, "accept") == 0


def test_attack_8_a_5_mb_accept_note_is_not_stored(client, world: World, login_as) -> None:  # type: ignore[no-untyped-def]
    # A body limit above the note's size, so the field's own length is what refuses it.
    client.application.config["MAX_CONTENT_LENGTH"] = 8 * 1024 * 1024
    petition = world.assigned_to_urban()
    five_mb = "x" * (5 * 1024 * 1024)
    api = client.post(
        f"/api/v1/petitions/{petition.number}/actions/accept",
        headers=_bearer(world, world.urban_handler),
        json={"note": five_mb, "expected_state": "assigned"},
    )
    assert api.status_code == 422
    error = api.get_json()["error"]
    assert error["field"] == "note" and error["message"].startswith("说明过长：最多500字")

    handler = login_as(world.urban_handler)
    token = CSRF_RE.search(handler.get(f"/admin/petitions/{petition.number}").get_data(as_text=True)).group(1)
    page = handler.post(
        f"/admin/petitions/{petition.number}/actions/accept",
        data={"csrf_token": token, "expected_state": "assigned", "note": "备注" * 300},
    )
    assert page.status_code == 422 and "说明过长：最多500字" in page.get_data(as_text=True)
    world.session.expire_all()
    assert petition.state == PetitionState.ASSIGNED and _events(world, "accept") == 0


@pytest.mark.parametrize("field", sorted(limits.MAX_LENGTH))
def test_every_free_text_field_is_refused_one_character_past_its_length(world: World, field: str) -> None:
    from workflow.effects import FIELD_LABELS
    from workflow.errors import InvalidInput

    limit = limits.MAX_LENGTH[field]
    limits.check_lengths({field: "字" * limit}, FIELD_LABELS)
    with pytest.raises(InvalidInput) as refused:
        limits.check_lengths({field: "字" * (limit + 1)}, FIELD_LABELS)
    assert refused.value.field == field
    assert f"最多{limit}字，现有{limit + 1}字" in str(refused.value)


def test_a_reply_field_past_its_length_is_refused_through_the_api(client, world: World) -> None:  # type: ignore[no-untyped-def]
    from tests.admin_web.conftest import REPLY

    petition = world.assigned_to_urban()
    world.do(petition, "accept", world.urban_handler)
    response = client.post(
        f"/api/v1/petitions/{petition.number}/actions/submit_reply",
        headers=_bearer(world, world.urban_handler),
        json={**REPLY, "responsible_person": "李" * 61, "expected_state": "handling"},
    )
    assert response.status_code == 422 and response.get_json()["error"]["field"] == "responsible_person"


def test_the_forms_and_the_openapi_document_carry_the_same_lengths(client, world: World, login_as) -> None:  # type: ignore[no-untyped-def]
    petition = world.assigned_to_urban()
    world.do(petition, "accept", world.urban_handler)
    page = login_as(world.urban_handler).get(f"/admin/petitions/{petition.number}").get_data(as_text=True)
    assert 'name="result" required placeholder="" maxlength="4000"' in page
    assert 'maxlength="60"' in page
    document = client.get("/api/v1/openapi.json").get_json()
    reply = document["components"]["schemas"]["Action_submit_reply"]["properties"]
    assert reply["result"]["maxLength"] == limits.MAX_LENGTH["result"]
    assert reply["note"]["maxLength"] == limits.MAX_LENGTH["note"]
