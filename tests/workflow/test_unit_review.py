"""答复审核 by the unit: its reviewer approves, and a handler only where a manager allowed the unit self-review."""

from __future__ import annotations

import pytest

from models.enums import PetitionState
from tests.workflow.test_engine import MON, REPLY, new_petition
from workflow.engine import available_actions, perform
from workflow.errors import TransitionRefused


def _at_unit_review(world):
    s = world.session
    petition = new_petition(world)
    perform(s, petition, "dispatch", world.dispatcher, MON, unit_id=world.community.id, nature="complaint")
    perform(s, petition, "accept", world.community_handler, MON)
    perform(s, petition, "submit_reply", world.community_handler, MON, **REPLY)
    return petition


def test_rule_a_handler_does_not_approve_the_units_reply_without_an_explicit_unit_setting(world):
    """Rule: 答复内容须经办理单位专门科(处)室及负责人审核把关后，提交区(市)平台 — not by the handler who wrote it."""
    petition = _at_unit_review(world)
    assert [t.action for t in available_actions(petition, world.community_handler)] == []
    with pytest.raises(TransitionRefused, match="承办单位科室负责人"):
        perform(world.session, petition, "approve_reply", world.community_handler, MON)


def test_rule_a_unit_allowed_to_self_review_lets_its_handler_approve(world):
    """Rule: a unit with no reviewer of its own may be allowed, by its manager's explicit setting, to have its
    handlers approve their replies; only its own handlers, and the platform still reviews after."""
    world.community.handler_self_review = True
    petition = _at_unit_review(world)
    with pytest.raises(TransitionRefused):
        perform(world.session, petition, "approve_reply", world.street_handler, MON)
    assert "approve_reply" in [t.action for t in available_actions(petition, world.community_handler)]
    perform(world.session, petition, "approve_reply", world.community_handler, MON)
    assert petition.state == PetitionState.PLATFORM_REVIEW
