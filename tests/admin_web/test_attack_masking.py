"""Issue 12, attack 9: phone numbers written into free text in other shapes (with the 86 prefix, dotted, in
full-width digits, landlines with an area code) were shown in full to roles that see phones masked."""

from __future__ import annotations

import json

import pytest

from admin_web.api.tokens import issue_token
from admin_web.scoping import mask_text
from models import utcnow
from tests.admin_web.conftest import World

# The attack's numbers; the landline differs from the reply's own contact phone (the unit's, shown to reviewers).
ATTACK_NUMBERS = ["8613911112222", "139.1111.3333", "１３９１１１１４４４４", "0532-87776666"]


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("电话8613911112222", "电话86139****2222"),
        ("电话139.1111.3333", "电话139****3333"),
        ("电话１３９１１１１４４４４", "电话139****4444"),
        ("电话0532-88886666", "电话0532-****6666"),
        ("+86 139 1111 2222", "+86 139****2222"),
        ("0086-13911112222", "0086-139****2222"),
        ("（0532）8888 6666。", "(0532)****6666。"),
        ("010-62345678", "010-****5678"),
        ("0532 888 6666", "0532-***6666"),
        ("１３９－１１１１－５５５５", "139****5555"),
    ],
)
def test_attack_9_phone_numbers_in_free_text_escape_masking(text: str, masked: str) -> None:
    assert mask_text(text) == masked


@pytest.mark.parametrize(
    "ordinary",
    [
        "诉求编号SN202611270001",
        "2026-11-27 10:00",
        "2026.11.27",
        "20261127",
        "门牌号2024号，3单元1201室",
        "订单号123456789012345",
        "身份证370202199001011234",
        "编号0123456789",
        "金额13,500元，面积139.5平方米",
        "邮编266071",
    ],
)
def test_ordinary_numbers_stay_readable(ordinary: str) -> None:
    assert mask_text(ordinary) == ordinary


def test_attack_9_the_reviewer_sees_none_of_them_on_the_page_or_in_the_api(world: World, login_as) -> None:  # type: ignore[no-untyped-def]
    content = "楼下烧烤扰民。联系：" + "，".join(ATTACK_NUMBERS)
    petition = world.replied_by_urban(content=content)
    reviewer = login_as(world.urban_reviewer)
    page = reviewer.get(f"/admin/petitions/{petition.number}").get_data(as_text=True)
    for number in ATTACK_NUMBERS:
        assert number not in page
    assert "139****4444" in page and "0532-****6666" in page
    token = issue_token(world.session, world.urban_reviewer, utcnow()).raw
    world.session.commit()
    api = reviewer.get(f"/api/v1/petitions/{petition.number}", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200
    body = json.dumps(api.get_json(), ensure_ascii=False)
    assert not any(number in body for number in ATTACK_NUMBERS) and "139****4444" in body
    handler_page = (
        login_as(world.urban_handler).get(f"/admin/petitions/{petition.number}").get_data(as_text=True)
    )
    assert all(number in handler_page for number in ATTACK_NUMBERS)
