"""延期: how many extensions a round may have, who approves a further one, and how long a round may last in all."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from models import ExtensionRequest
from models.enums import PetitionKind, RequestState
from tests.workflow.test_engine import MON, TUE, WED, end_of_day, new_petition
from workflow.engine import available_actions, facts_for, perform
from workflow.errors import InvalidInput, TransitionRefused
from workflow.extensions import SESSION_KEY, ExtensionPolicy, policy_of


def names(petition, actor) -> list[str]:
    return [t.action for t in available_actions(petition, actor)]


def development(world, complexity: str = "simple"):
    petition = new_petition(world, kind=PetitionKind.DEVELOPMENT)
    perform(world.session, petition, "dispatch", world.dispatcher, MON, unit_id=world.urban.id,
            complexity=complexity)
    perform(world.session, petition, "accept", world.urban_handler, MON)
    return petition


def extend(world, petition, days: int, decider, now=TUE) -> None:
    perform(world.session, petition, "request_extension", world.urban_handler, now, extra_working_days=str(days),
            reason="需协调多个部门现场勘查")
    perform(world.session, petition, "decide_extension", decider, now, approve=True)


def test_rule_a_10_day_matter_lasts_at_most_20_working_days_with_its_extensions(world):
    """Rule: 对于发展诉求和执法诉求，承办单位一般应在受理后10个工作日内办结，特别复杂的问题一般不超过20个工作日."""
    s = world.session
    petition = development(world)
    with pytest.raises(InvalidInput, match="最多还能延期10个工作日") as info:
        perform(s, petition, "request_extension", world.urban_handler, TUE, extra_working_days="11", reason="x")
    assert info.value.field == "extra_working_days"
    extend(world, petition, 6, world.dispatcher)
    extend(world, petition, 4, world.city_dispatcher, now=WED)
    assert petition.deadline == end_of_day(2026, 12, 21), "10 + 6 + 4 = 20 working days after 2026-11-23"
    assert "request_extension" not in names(petition, world.urban_handler)
    with pytest.raises(TransitionRefused, match="已达20个工作日的上限"):
        perform(s, petition, "request_extension", world.urban_handler, WED, extra_working_days="1", reason="x")


def test_rule_an_especially_complex_matter_is_not_extended_past_20_working_days(world):
    """Rule: 特别复杂的问题一般不超过20个工作日 — a 20-day 发展 petition cannot be extended at all (before, five
    extensions of 20 days moved it from 2026-12-21 to 2027-05-10)."""
    petition = development(world, "especially_complex")
    assert petition.deadline == end_of_day(2026, 12, 21)
    assert "request_extension" not in names(petition, world.urban_handler)
    with pytest.raises(TransitionRefused, match="上限"):
        perform(world.session, petition, "request_extension", world.urban_handler, TUE, extra_working_days="5",
                reason="x")


def test_rule_livelihood_matters_are_extended_at_most_to_the_longest_livelihood_limit(world):
    """Rule: 民生投诉类简单问题2个工作日、复杂问题5个工作日办结 — a 民生 round lasts at most 5 working days in all."""
    s = world.session
    petition = new_petition(world)
    perform(s, petition, "dispatch", world.dispatcher, MON, unit_id=world.community.id, nature="complaint")
    with pytest.raises(InvalidInput, match="民生诉求办理时限连同延期合计不超过5个工作日"):
        perform(s, petition, "request_extension", world.community_handler, MON, extra_working_days="4", reason="x")
    perform(s, petition, "request_extension", world.community_handler, MON, extra_working_days="3", reason="需核实")
    perform(s, petition, "decide_extension", world.dispatcher, MON, approve=True)
    assert petition.deadline == end_of_day(2026, 11, 30)


def test_rule_one_approved_extension_a_round_unless_the_city_platform_approves_another(world):
    """Rule: 诉求办理确需延期的，承办单位需向市级平台或区(市)平台提交申请 — the district platform approves one extension
    a round; a further request goes to the city platform, and the district platform cannot decide it."""
    s = world.session
    petition = development(world)
    perform(s, petition, "request_extension", world.urban_handler, TUE, extra_working_days="2", reason="第一次")
    assert "decide_extension" not in names(petition, world.city_dispatcher), "the first is the district's"
    perform(s, petition, "decide_extension", world.dispatcher, TUE, approve=True)
    # A refused request does not use up the allowance; an approved one does.
    perform(s, petition, "request_extension", world.urban_handler, WED, extra_working_days="3", reason="第二次")
    request = s.scalars(select(ExtensionRequest).order_by(ExtensionRequest.id.desc())).first()
    assert request.needs_city and request.handling_round == 1
    assert "decide_extension" not in names(petition, world.dispatcher)
    with pytest.raises(TransitionRefused, match="须由市级平台审批"):
        perform(s, petition, "decide_extension", world.dispatcher, WED, approve=True)
    assert names(petition, world.city_dispatcher) == ["decide_extension"]
    assert [t.action for t in available_actions(petition, world.city_dispatcher, facts_for(s, [petition]))] == [
        "decide_extension"]
    perform(s, petition, "decide_extension", world.city_dispatcher, WED, approve=True)
    assert petition.deadline == end_of_day(2026, 12, 14), "10 + 2 + 3 working days after 2026-11-23"
    states = s.scalars(select(ExtensionRequest.state).order_by(ExtensionRequest.id)).all()
    assert states == [RequestState.APPROVED, RequestState.APPROVED]


def test_rule_a_refused_extension_does_not_count_against_the_round(world):
    """Rule: only approved extensions count: after a refusal the district platform still decides the next request."""
    s = world.session
    petition = development(world)
    perform(s, petition, "request_extension", world.urban_handler, TUE, extra_working_days="2", reason="x")
    perform(s, petition, "decide_extension", world.dispatcher, TUE, approve=False, note="理由不充分")
    perform(s, petition, "request_extension", world.urban_handler, WED, extra_working_days="2", reason="补充理由")
    assert names(petition, world.dispatcher) == ["decide_extension"]


def test_rule_the_extension_allowance_starts_again_with_each_handling_round(world):
    """Rule: 二次办理 is a new handling with its own time limit: the round's extensions are counted anew."""
    s = world.session
    from tests.workflow.test_engine import REPLY

    petition = development(world)
    extend(world, petition, 10, world.dispatcher)
    perform(s, petition, "submit_reply", world.urban_handler, TUE, **REPLY)
    perform(s, petition, "approve_reply", world.urban_reviewer, TUE)
    perform(s, petition, "send_reply", world.dispatcher, TUE)
    perform(s, petition, "evaluate", world.citizen, WED, satisfaction="unsatisfied", resolution="unresolved")
    perform(s, petition, "dispatch", world.dispatcher, WED, unit_id=world.urban.id)
    assert petition.handling_round == 2
    assert "request_extension" in names(petition, world.urban_handler)
    extend(world, petition, 5, world.dispatcher, now=WED)
    assert [r.handling_round for r in s.scalars(select(ExtensionRequest).order_by(ExtensionRequest.id))] == [1, 2]


class TestConfiguredPolicy:
    """The caps are settings: ``[extensions] max_approved_per_round`` and ``max_total_working_days``."""

    @pytest.fixture
    def app_config(self, app_config: dict[str, Any]) -> dict[str, Any]:
        app_config["EXTENSIONS"] = {"max_approved_per_round": 2, "max_total_working_days": {"development": 15}}
        return app_config

    def test_the_configuration_sets_the_caps_of_every_session(self, world):
        s = world.session
        assert policy_of(s) == ExtensionPolicy(2, {PetitionKind.LIVELIHOOD: 5, PetitionKind.DEVELOPMENT: 15,
                                                   PetitionKind.ENFORCEMENT: 20})
        assert isinstance(s.info[SESSION_KEY], ExtensionPolicy)
        petition = development(world)
        extend(world, petition, 2, world.dispatcher)
        extend(world, petition, 2, world.dispatcher)
        perform(s, petition, "request_extension", world.urban_handler, WED, extra_working_days="1", reason="x")
        assert names(petition, world.dispatcher) == [], "the third goes to the city platform"
        perform(s, petition, "decide_extension", world.city_dispatcher, WED, approve=True)
        assert "request_extension" not in names(petition, world.urban_handler), "10 + 5 = 15"


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"max_approved_per_round": -1}, "max_approved_per_round"),
        ({"max_total_working_days": {"tax": 5}}, "unknown kind"),
        ({"max_total_working_days": {"development": 0}}, "at least 1"),
    ],
)
def test_a_wrong_extension_setting_is_refused_by_name(section, message):
    with pytest.raises(ValueError, match=message):
        ExtensionPolicy.from_config(section)
