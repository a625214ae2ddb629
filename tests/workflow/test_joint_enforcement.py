"""联合执法: the district platform names a lead unit, cooperating units and the time limits; each cooperating unit has
its own task on the petition, and the lead unit replies with their parts."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import CooperationTask, PetitionEvent
from models.enums import PetitionKind, PetitionState, TaskState, UnitLevel
from tests.factories import make_unit, make_user
from tests.workflow.test_engine import MON, REPLY, TUE, WED, end_of_day, new_petition
from workflow.effects import cooperation_tasks
from workflow.engine import available_actions, facts_for, perform
from workflow.errors import InvalidInput, TransitionRefused


def names(petition, actor) -> list[str]:
    return [t.action for t in available_actions(petition, actor)]


def enforcement_petition(world):
    return new_petition(world, kind=PetitionKind.ENFORCEMENT, citizen=None, with_citizen=False,
                        origin_unit=world.street)


def test_rule_joint_enforcement_each_cooperating_unit_has_its_task_and_the_lead_replies_with_the_parts(world):
    """Rule: 对于执法诉求，由平台进行研判，明确主责部门(单位)、配合部门(单位)和完成时限，按规定开展联合执法.

    Two cooperating units each accept their own task and submit their part before their own deadline, which lies
    inside the lead unit's; the lead unit sees the parts, and cannot submit the reply while a part is missing
    unless it records why.
    """
    s = world.session
    petition = enforcement_petition(world)
    with pytest.raises(InvalidInput, match="1到9个工作日") as info:
        perform(s, petition, "dispatch", world.dispatcher, MON, unit_id=world.urban.id,
                cooperating_unit_ids=[world.housing.id, world.street.id], cooperation_days="10")
    assert info.value.field == "cooperation_days"
    perform(s, petition, "dispatch", world.dispatcher, MON, unit_id=world.urban.id,
            cooperating_unit_ids=[world.housing.id, world.street.id], cooperation_days="3")
    s.commit()
    # Lead: 10 working days after Monday 2026-11-23 → Monday 12-07; each part: 3 → Thursday 11-26.
    assert petition.deadline == end_of_day(2026, 12, 7)
    tasks = {t.unit_id: t for t in cooperation_tasks(s, petition)}
    assert set(tasks) == {world.housing.id, world.street.id}
    for task in tasks.values():
        assert (task.state, task.deadline, task.handling_round) == (TaskState.ASSIGNED, end_of_day(2026, 11, 26), 1)
        assert task.deadline <= petition.deadline

    # Each cooperating unit acts on its own task, and only on it.
    assert names(petition, world.housing_handler) == ["accept_cooperation"]
    assert names(petition, world.community_handler) == []
    with pytest.raises(TransitionRefused, match="请先签收"):
        perform(s, petition, "submit_cooperation", world.housing_handler, MON, part="已排查")
    with pytest.raises(TransitionRefused, match="不是此诉求本轮的配合单位"):
        perform(s, petition, "accept_cooperation", world.community_handler, MON)
    perform(s, petition, "accept_cooperation", world.housing_handler, MON)
    perform(s, petition, "accept_cooperation", world.street_handler, MON)
    assert names(petition, world.housing_handler) == ["submit_cooperation"]
    with pytest.raises(InvalidInput, match="配合办理情况"):
        perform(s, petition, "submit_cooperation", world.housing_handler, TUE, part="  ")
    perform(s, petition, "submit_cooperation", world.housing_handler, TUE,
            part="已核查该违建无规划许可手续，出具认定意见。")
    assert names(petition, world.housing_handler) == []
    assert petition.state == PetitionState.ASSIGNED, "the cooperating units' work does not move the petition"

    # The lead: its reply waits for the street's part, or says why it goes without it.
    perform(s, petition, "accept", world.urban_handler, TUE)
    with pytest.raises(InvalidInput, match="八大关街道") as info:
        perform(s, petition, "submit_reply", world.urban_handler, WED, **REPLY)
    assert info.value.field == "missing_parts_reason"
    assert "住房" not in str(info.value), "the housing bureau's part is in"
    assert petition.state == PetitionState.HANDLING
    perform(s, petition, "submit_reply", world.urban_handler, WED, **REPLY,
            missing_parts_reason="街道配合拆除须待施工队进场，已电话确认下周完成，不影响答复结论")
    assert petition.state == PetitionState.UNIT_REVIEW
    s.commit()

    events = s.scalars(select(PetitionEvent).where(PetitionEvent.petition_id == petition.id)
                       .order_by(PetitionEvent.id)).all()
    assert [(e.action, e.unit_id) for e in events if "cooperation" in e.action] == [
        ("accept_cooperation", world.housing.id),
        ("accept_cooperation", world.street.id),
        ("submit_cooperation", world.housing.id),
    ]
    assert events[-1].data["missing_parts"] == [world.street.id]
    assert "施工队" in events[-1].data["missing_parts_reason"]
    housing = s.scalars(select(CooperationTask).where(CooperationTask.unit_id == world.housing.id)).one()
    assert (housing.state, housing.submitted_at, housing.submitted_by_id) == (
        TaskState.SUBMITTED, TUE, world.housing_handler.id)
    assert "认定意见" in housing.part
    # Once the reply is under review, the cooperating units' tasks are closed to them.
    with pytest.raises(TransitionRefused, match="答复待单位审核"):
        perform(s, petition, "submit_cooperation", world.street_handler, WED, part="迟到的意见")


def test_rule_joint_enforcement_with_every_part_in_the_lead_replies_without_a_reason(world):
    """Rule: 联合执法 — when every cooperating unit has submitted its part, the lead unit's reply needs nothing more."""
    s = world.session
    petition = enforcement_petition(world)
    perform(s, petition, "dispatch", world.dispatcher, MON, unit_id=world.urban.id,
            cooperating_unit_ids=[world.housing.id, world.street.id])
    for handler in (world.housing_handler, world.street_handler):
        perform(s, petition, "accept_cooperation", handler, MON)
        perform(s, petition, "submit_cooperation", handler, TUE, part="已完成配合事项")
    perform(s, petition, "accept", world.urban_handler, TUE)
    perform(s, petition, "submit_reply", world.urban_handler, WED, **REPLY)
    assert petition.state == PetitionState.UNIT_REVIEW
    # The default part deadline is half the lead's time limit: 5 of 10 working days → Monday 11-30.
    assert {t.deadline for t in cooperation_tasks(s, petition)} == {end_of_day(2026, 11, 30)}


def test_rule_joint_enforcement_a_unit_dropped_at_redispatch_loses_its_task_and_a_new_round_starts_new_tasks(world):
    """Rule: the platform names the cooperating units: when it names others (the lead returned the petition), the
    dropped unit's open task is withdrawn; a second handling round gives every cooperating unit a new task."""
    s = world.session
    ecology = make_unit(s, UnitLevel.DISTRICT_DEPARTMENT, name="市南生态环境分局")
    ecology_handler = make_user(s, unit=ecology, role=world.urban_handler.role)
    petition = enforcement_petition(world)
    perform(s, petition, "dispatch", world.dispatcher, MON, unit_id=world.urban.id,
            cooperating_unit_ids=[world.housing.id, world.street.id])
    perform(s, petition, "accept_cooperation", world.housing_handler, MON)
    perform(s, petition, "return", world.urban_handler, MON, note="主责应为住建局")
    perform(s, petition, "dispatch", world.dispatcher, TUE, unit_id=world.housing.id,
            cooperating_unit_ids=[world.urban.id, ecology.id])
    tasks = {t.unit_id: t.state for t in cooperation_tasks(s, petition)}
    assert tasks == {world.housing.id: TaskState.WITHDRAWN, world.street.id: TaskState.WITHDRAWN,
                     world.urban.id: TaskState.ASSIGNED, ecology.id: TaskState.ASSIGNED}
    assert names(petition, world.street_handler) == []
    assert names(petition, ecology_handler) == ["accept_cooperation"]
    # The lead does not wait for withdrawn tasks, only for the units named now.
    perform(s, petition, "accept", world.housing_handler, TUE)
    with pytest.raises(InvalidInput) as info:
        perform(s, petition, "submit_reply", world.housing_handler, TUE, **REPLY)
    assert "八大关街道" not in str(info.value) and "生态环境" in str(info.value)


def test_facts_for_a_list_give_the_cooperating_units_the_same_buttons(world):
    s = world.session
    joint, other = enforcement_petition(world), enforcement_petition(world)
    for petition in (joint, other):
        perform(s, petition, "dispatch", world.dispatcher, MON, unit_id=world.urban.id,
                cooperating_unit_ids=[world.housing.id])
    perform(s, joint, "accept_cooperation", world.housing_handler, MON)
    s.commit()
    facts = facts_for(s, [joint, other])
    for actor in (world.housing_handler, world.urban_handler, world.street_handler, world.dispatcher):
        for petition in (joint, other):
            assert [t.action for t in available_actions(petition, actor, facts)] == names(petition, actor)
