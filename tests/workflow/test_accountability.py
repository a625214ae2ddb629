"""二次办理, 履职评估 and 问责 over a petition's rounds, and what the citizen hears of them."""

from __future__ import annotations

from sqlalchemy import select

from models import Notification, PetitionEvent
from models.enums import PetitionKind, PetitionState
from tests.factories import make_user
from tests.workflow.test_engine import FRI, MON, TUE, WED, handle_and_reply, new_petition, notifications_of
from workflow.engine import perform
from workflow.messages import render_text


def _round(world, petition, unit, handler, reviewer, now) -> None:
    perform(world.session, petition, "dispatch", world.dispatcher, now, unit_id=unit.id)
    handle_and_reply(world, petition, handler, reviewer, now)
    perform(world.session, petition, "evaluate", world.citizen, now, satisfaction="unsatisfied",
            resolution="unresolved")


def test_rule_accountability_counts_a_units_failed_assessments_across_a_change_of_unit(world):
    """Rule: 二次办理结果评价"不满意"或者"未解决"的，对承办单位进行履职评估，连续两次评估未完成的，移交有关部门依规依纪
    依法问责追责 — the count follows the unit over the petition's rounds: another unit's round in between neither
    resets nor adds to it, and two failed assessments of different units are not two of the same unit."""
    s = world.session
    petition = new_petition(world, kind=PetitionKind.DEVELOPMENT)
    urban = (world.urban, world.urban_handler, world.urban_reviewer)
    housing_reviewer = make_user(s, world.urban_reviewer.role, unit=world.housing)
    housing = (world.housing, world.housing_handler, housing_reviewer)

    _round(world, petition, *urban, MON)  # round 1 → second handling
    _round(world, petition, *urban, TUE)  # round 2 → assessment of the urban bureau
    assert (petition.state, petition.current_unit) == (PetitionState.ASSESSMENT, world.urban)
    perform(s, petition, "assess", world.dispatcher, TUE, outcome="not_completed", note="未实地核查")
    assert (petition.state, petition.handling_round) == (PetitionState.PENDING_DISPATCH, 3)

    _round(world, petition, *housing, WED)  # round 3 at another unit
    perform(s, petition, "assess", world.dispatcher, WED, outcome="not_completed", note="答复与事实不符")
    assert petition.state == PetitionState.PENDING_DISPATCH, "one failure each of two units is no accountability"
    assert petition.handling_round == 4

    _round(world, petition, *urban, FRI)  # round 4 back at the urban bureau: its second failure
    perform(s, petition, "assess", world.dispatcher, FRI, outcome="not_completed", note="仍未整改")
    assert petition.state == PetitionState.ACCOUNTABILITY
    assert petition.closed_at == FRI
    last = s.scalars(select(PetitionEvent).where(PetitionEvent.petition_id == petition.id)
                     .order_by(PetitionEvent.id.desc())).first()
    assert (last.data["accountable_unit"], last.data["consecutive_failures"]) == (world.urban.id, 2)

    # The citizen hears that accountability started, naming the unit.
    assert notifications_of(s, petition)[-1] == "accountability"
    notice = s.scalars(select(Notification).where(Notification.petition_id == petition.id)
                       .order_by(Notification.id.desc())).first()
    assert notice.payload["unit_name"] == world.urban.name
    text = render_text(notice)
    assert petition.number in text and world.urban.name in text and "问责" in text


def test_rule_a_later_round_does_not_tell_the_citizen_again_that_the_petition_was_accepted(world):
    """Rule: 受理 happens once: round 2 restarts the clock, and the citizen is told where the petition went
    ('assigned'), not 'accepted' a second time."""
    s = world.session
    petition = new_petition(world, kind=PetitionKind.DEVELOPMENT)
    _round(world, petition, world.urban, world.urban_handler, world.urban_reviewer, MON)
    perform(s, petition, "dispatch", world.dispatcher, TUE, unit_id=world.housing.id)
    assert petition.accepted_at == TUE and petition.handling_round == 2
    sent = notifications_of(s, petition)
    assert sent.count("accepted") == 1
    assert sent[sent.index("second_handling"):] == ["second_handling", "assigned"]
