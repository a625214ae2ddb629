"""The dispatcher queue: the suggestion is shown, the suggested routing is one submit away, corrections and
rejections are recorded, 执法 needs lead and cooperating units, and the city platform has its own queue."""

from __future__ import annotations

import re

from sqlalchemy import select

from models import Notification, PetitionEvent
from models.enums import Complexity, DeptType, InadmissibleCode, PetitionKind, PetitionState, UnitLevel
from tests.admin_web.conftest import SUGGESTION


def body(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def test_queue_shows_the_suggestion_with_confidence_and_terms(login_as, world) -> None:
    petition = world.petition()
    other = world.petition(district_code="laoshan", citizen=None, with_citizen=False)
    client = login_as(world.dispatcher)
    page = body(client.get("/admin/queue"))
    assert petition.number in page
    assert other.number not in page
    # Top-3 departments with their confidence, the nature and the terms behind it.
    assert re.search(r"城市管理/综合执法.*?置信度 81%", page, re.S)
    assert "生态环境" in page and "置信度 11%" in page
    assert "市场监管" in page and "置信度 4%" in page
    for term in ("烧烤", "油烟", "噪音"):
        assert f'<span class="tag">{term}</span>' in page
    # The dispatch form starts on the suggestion: department, its unit and the nature are preselected.
    assert '<option value="urban_mgmt" selected>' in page
    assert f'<option value="{world.urban.id}" data-dept="urban_mgmt"\n                      selected>' in page
    assert '<option value="complaint" selected>' in page


def test_confirming_the_suggestion_dispatches_and_records_acceptance(client, login_as, csrf, world) -> None:
    petition = world.petition()
    login_as(world.dispatcher)
    response = client.post(
        f"/admin/petitions/{petition.number}/actions/dispatch",
        data={
            "csrf_token": csrf("/admin/queue"),
            "expected_state": "pending_dispatch",
            "next": "/admin/queue",
            "kind": "livelihood",
            "nature": "complaint",
            "complexity": "simple",
            "dept_type": "urban_mgmt",
            "unit_id": str(world.urban.id),
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/queue"
    world.session.refresh(petition)
    assert petition.state == PetitionState.ASSIGNED
    assert petition.current_unit_id == world.urban.id
    assert petition.suggestion_accepted is True
    assert petition.time_limit_days == 2
    assert petition.deadline is not None
    # The citizen is told the petition was accepted.
    assert world.session.scalar(select(Notification.event).where(Notification.petition_id == petition.id)) == "accepted"
    assert "「确认分拨」已完成" in body(client.get("/admin/queue"))
    assert petition.number not in body(client.get("/admin/queue"))


def test_correcting_the_department_is_recorded_as_not_accepted(client, login_as, csrf, world) -> None:
    petition = world.petition()
    login_as(world.dispatcher)
    client.post(
        f"/admin/petitions/{petition.number}/actions/dispatch",
        data={
            "csrf_token": csrf("/admin/queue"),
            "expected_state": "pending_dispatch",
            "kind": "livelihood",
            "nature": "complaint",
            "complexity": "complex",
            "dept_type": "housing",
            "unit_id": str(world.housing.id),
        },
    )
    world.session.refresh(petition)
    assert petition.state == PetitionState.ASSIGNED
    assert petition.dept_type == DeptType.HOUSING
    assert petition.complexity == Complexity.COMPLEX
    assert petition.time_limit_days == 5
    assert petition.suggestion_accepted is False
    event = world.session.scalars(select(PetitionEvent).where(PetitionEvent.action == "dispatch")).one()
    assert event.data["suggested_department"] == "urban_mgmt"


def test_reject_with_a_code_tells_the_citizen_why(client, login_as, csrf, world) -> None:
    petition = world.petition(content="我家着火了，快来人！")
    login_as(world.dispatcher)
    response = client.post(
        f"/admin/petitions/{petition.number}/actions/reject",
        data={"csrf_token": csrf("/admin/queue"), "expected_state": "pending_dispatch", "code": "emergency",
              "note": "请立即拨打119"},
    )
    assert response.status_code == 302
    world.session.refresh(petition)
    assert petition.state == PetitionState.REJECTED
    assert petition.inadmissible_code == InadmissibleCode.EMERGENCY
    notification = world.session.scalars(select(Notification).where(Notification.petition_id == petition.id)).one()
    assert notification.event == "rejected"
    assert "119" in notification.payload["text"]


def test_reject_without_a_code_reopens_the_form_with_422(client, login_as, csrf, world) -> None:
    petition = world.petition()
    login_as(world.dispatcher)
    response = client.post(
        f"/admin/petitions/{petition.number}/actions/reject",
        data={"csrf_token": csrf("/admin/queue"), "expected_state": "pending_dispatch", "note": "没有原因"},
    )
    assert response.status_code == 422
    page = body(response)
    assert "请选择不予受理原因" in page
    assert '<details open data-action="reject">' in page
    assert "没有原因" in page  # what was typed is kept
    world.session.refresh(petition)
    assert petition.state == PetitionState.PENDING_DISPATCH


def test_enforcement_needs_cooperating_units_then_records_lead_and_cooperators(client, login_as, csrf, world) -> None:
    petition = world.petition(kind=PetitionKind.ENFORCEMENT, citizen=None, with_citizen=False,
                              origin_unit=world.street)
    login_as(world.dispatcher)
    page = body(client.get("/admin/queue"))
    assert "配合单位" in page
    data = {
        "csrf_token": csrf("/admin/queue"),
        "expected_state": "pending_dispatch",
        "kind": "enforcement",
        "complexity": "complex",
        "dept_type": "urban_mgmt",
        "unit_id": str(world.urban.id),
    }
    missing = client.post(f"/admin/petitions/{petition.number}/actions/dispatch", data=data)
    assert missing.status_code == 422
    assert "配合单位" in body(missing)
    response = client.post(
        f"/admin/petitions/{petition.number}/actions/dispatch",
        data={**data, "cooperating_unit_ids": [str(world.housing.id), str(world.street.id)]},
    )
    assert response.status_code == 302
    world.session.refresh(petition)
    assert petition.lead_unit_id == world.urban.id
    assert {u.id for u in petition.cooperating_units} == {world.housing.id, world.street.id}
    assert petition.time_limit_days == 10


def test_send_to_city_and_city_dispatch(client, login_as, csrf, world) -> None:
    petition = world.petition()
    login_as(world.dispatcher)
    response = client.post(
        f"/admin/petitions/{petition.number}/actions/send_to_city",
        data={"csrf_token": csrf("/admin/queue"), "expected_state": "pending_dispatch", "kind": "livelihood",
              "nature": "complaint", "complexity": "simple", "dept_type": "housing", "note": "需市住建局办理"},
    )
    assert response.status_code == 302
    world.session.refresh(petition)
    assert petition.state == PetitionState.AT_CITY

    login_as(world.city_dispatcher)
    page = body(client.get("/admin/queue"))
    assert petition.number in page
    assert "市南区 · " in page  # the city platform sees which district sent it
    assert "市直承办部门" in page
    assert world.city_housing.name in page
    assert world.urban.name not in page  # district units are not offered to the city platform
    response = client.post(
        f"/admin/petitions/{petition.number}/actions/city_dispatch",
        data={"csrf_token": csrf("/admin/queue"), "expected_state": "at_city", "kind": "livelihood",
              "nature": "complaint", "complexity": "simple", "dept_type": "housing",
              "unit_id": str(world.city_housing.id)},
    )
    assert response.status_code == 302
    world.session.refresh(petition)
    assert petition.state == PetitionState.ASSIGNED
    assert petition.current_unit_id == world.city_housing.id


def test_a_development_suggestion_is_shown(login_as, world) -> None:
    world.petition(suggestion={**SUGGESTION, "development": True})
    assert "建议类别：发展" in body(login_as(world.dispatcher).get("/admin/queue"))


def test_queue_offers_only_this_districts_units(login_as, world) -> None:
    world.petition()
    client = login_as(world.dispatcher)
    page = body(client.get("/admin/queue"))
    assert world.urban.name in page
    assert world.laoshan_urban.name not in page


def test_second_handling_is_flagged(login_as, world) -> None:
    petition = world.petition()
    petition.handling_round = 2
    world.session.commit()
    page = body(login_as(world.dispatcher).get("/admin/queue"))
    assert "二次办理" in page


def test_queue_is_for_dispatchers_only(login_as, world) -> None:
    assert login_as(world.urban_handler).get("/admin/queue").status_code == 403
    assert login_as(world.leader).get("/admin/queue").status_code == 403


def test_livelihood_targets_include_communities_and_streets(login_as, world) -> None:
    world.petition()
    page = body(login_as(world.dispatcher).get("/admin/queue"))
    assert f"{UnitLevel.COMMUNITY.label} · {world.community.name}" in page
    assert f"{UnitLevel.STREET.label} · {world.street.name}" in page


def test_nature_choice_is_required_for_livelihood(client, login_as, csrf, world) -> None:
    petition = world.petition(suggestion=None)
    login_as(world.dispatcher)
    response = client.post(
        f"/admin/petitions/{petition.number}/actions/dispatch",
        data={"csrf_token": csrf("/admin/queue"), "expected_state": "pending_dispatch", "kind": "livelihood",
              "complexity": "simple", "unit_id": str(world.community.id)},
    )
    assert response.status_code == 422
    assert "诉求性质" in body(response)
    world.session.refresh(petition)
    assert petition.nature is None


def _selected_unit(page: str) -> str | None:
    """The unit the dispatch form starts on (the option of the unit select marked selected)."""
    match = re.search(r'<option value="(\d+)" data-dept="[^"]*"\s+selected>', page)
    return match.group(1) if match else None


def test_a_petition_at_a_known_address_gets_its_streets_unit_prefilled(login_as, world) -> None:
    """Rule: 民生 petitions go to the village/community first, then the township/street: the place the petition
    names (its text or its address) picks that unit from the gazetteer; without a place the department's unit."""
    client = login_as(world.dispatcher)
    # 汇泉 lies in 八大关街道 (classifier/data/qingdao_streets.csv).
    at_street = world.petition(content="汇泉湾边上的路灯坏了一排，晚上漆黑一片")
    page = body(client.get(f"/admin/petitions/{at_street.number}"))
    assert _selected_unit(page) == str(world.street.id)
    assert "地点研判" not in page  # the stored suggestion predates places; the form reads the place itself
    # An address given apart from the text (the WeChat location or the hotline's address field) counts too.
    by_address = world.petition(content="路灯坏了一排，晚上漆黑一片", location="青岛市市南区八大关街道山海关路")
    assert _selected_unit(body(client.get(f"/admin/petitions/{by_address.number}"))) == str(world.street.id)
    # A community the district has as a unit is more precise than its street.
    in_community = world.petition(content="太平角社区门口的垃圾桶满了没人清")
    assert _selected_unit(body(client.get(f"/admin/petitions/{in_community.number}"))) == str(world.community.id)
    # No place: the department of the suggested type, as before.
    nowhere = world.petition()
    assert _selected_unit(body(client.get(f"/admin/petitions/{nowhere.number}"))) == str(world.urban.id)
    # 发展 petitions go to a department whatever the place.
    development = world.petition(kind=PetitionKind.DEVELOPMENT, content="八大关一家企业的技改补贴没有拨付")
    assert _selected_unit(body(client.get(f"/admin/petitions/{development.number}"))) == str(world.urban.id)


def test_the_suggestion_box_shows_uncertainty_version_place_and_highlighted_terms(login_as, world) -> None:
    uncertain = {
        **SUGGESTION,
        "departments": [{"type": "urban_mgmt", "score": 0.41}, {"type": "ecology", "score": 0.38},
                        {"type": "market", "score": 0.1}],
        "uncertain": True,
        "model_version": "v0007",
        "place": {"district": "shinan", "street": "八大关街道", "community": None},
    }  # fmt: skip
    petition = world.petition(suggestion=uncertain, content="楼下烧烤<b>油烟</b>太大，烧烤摊还有噪音")
    page = body(login_as(world.dispatcher).get("/admin/queue"))
    assert "不确定" in page and "以下三个部门供参考" in page
    assert "置信度 41%" in page and "置信度 38%" in page and "置信度 10%" in page
    assert "模型版本：v0007" in page
    assert "地点研判：八大关街道" in page
    # The terms are marked in the petition's text, which stays escaped.
    assert '楼下<mark class="term">烧烤</mark>&lt;b&gt;<mark class="term">油烟</mark>&lt;/b&gt;' in page
    assert page.count('<mark class="term">烧烤</mark>') == 2
    assert petition.number in page
    confident = world.petition(content="烧烤摊油烟")
    page = body(login_as(world.dispatcher).get(f"/admin/petitions/{confident.number}"))
    assert "不确定" not in page and "模型版本：未记录" in page


def test_rule_the_dispatcher_sees_the_units_whose_responsibility_lists_match_beside_the_suggestion(
    login_as, world
) -> None:
    """Rule: 制定统一的镇街、部门职责任务清单，作为诉求分办的依据 — beside the classifier's suggestion the queue shows the
    units whose lists name the petition's matter, with the matching duties; the suggested department is marked."""
    world.urban.responsibilities = "查处占道经营、露天烧烤等违法行为\n查处违法建设"
    world.housing.responsibilities = "物业服务企业监督管理"
    world.session.commit()
    petition = world.petition(content="小区门口烧烤摊占道经营，油烟很大，物业也不管。")
    page = body(login_as(world.dispatcher).get("/admin/queue"))
    card = page[page.index(f'id="q-{petition.number}"'):]
    box = card[card.index("职责清单匹配"):card.index("</ol>", card.index("职责清单匹配"))]
    assert box.index(world.urban.name) < box.index(world.housing.name)
    assert "查处占道经营、露天烧烤等违法行为" in box and "物业服务企业监督管理" in box
    assert '<span class="tag">建议部门</span>' in box.split(world.housing.name)[0]
    assert "查处违法建设" not in box, "only the duties that match are shown"
