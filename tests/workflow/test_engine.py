"""The petition lifecycle, rule by rule from the source document (受理 / 办理 / 答复 / 评价)."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlalchemy import func, select

from models import Assessment, Evaluation, ExtensionRequest, Notification, Petition, PetitionEvent, Reply
from models.enums import (
    AssessmentOutcome,
    InadmissibleCode,
    Light,
    PetitionKind,
    PetitionState,
    ReplyState,
    RequestState,
)
from tests.factories import MONDAY_10AM, make_petition
from workflow.engine import TRANSITIONS, available_actions, facts_for, perform
from workflow.errors import InvalidInput, StateConflict, TransitionRefused

SH = dt.timezone(dt.timedelta(hours=8))
# Monday 2026-11-23 10:00 in Qingdao; the following days of the same plain working week.
MON = MONDAY_10AM
TUE = MON + dt.timedelta(days=1)
WED = MON + dt.timedelta(days=2)
FRI = MON + dt.timedelta(days=4)

REPLY = {
    "petitioner_info": "张女士，市南区太平角社区居民",
    "policy_basis": "《青岛市城市市容和环境卫生管理条例》第二十条",
    "result": "已责令烧烤摊整改，夜间22点后停止露天经营，执法队员每晚巡查。",
    "responsible_person": "李明",
    "contact_phone": "0532-88886666",
}


def end_of_day(year: int, month: int, day: int) -> dt.datetime:
    """24:00 of that day in Qingdao: a deadline is the end of its last working day."""
    return dt.datetime(year, month, day, tzinfo=SH) + dt.timedelta(days=1)


def events_of(session, petition) -> list[str]:
    return [e.action for e in session.scalars(select(PetitionEvent).where(PetitionEvent.petition_id == petition.id)
                                              .order_by(PetitionEvent.id))]


def notifications_of(session, petition) -> list[str]:
    return list(session.scalars(select(Notification.event).where(Notification.petition_id == petition.id)
                                .order_by(Notification.id)))


def new_petition(world, **kw) -> Petition:
    kw.setdefault("citizen", world.citizen)
    petition = make_petition(world.session, **kw)
    world.session.commit()
    return petition


def handle_and_reply(world, petition, handler, reviewer, now):
    s = world.session
    perform(s, petition, "accept", handler, now)
    perform(s, petition, "submit_reply", handler, now, **REPLY)
    perform(s, petition, "approve_reply", reviewer, now)
    perform(s, petition, "send_reply", world.dispatcher, now)
    s.commit()


def to_awaiting_evaluation(world, now=MON) -> Petition:
    petition = new_petition(world)
    perform(world.session, petition, "dispatch", world.dispatcher, now, unit_id=world.urban.id,
            nature="complaint", complexity="simple", dept_type="urban_mgmt")
    handle_and_reply(world, petition, world.urban_handler, world.urban_reviewer, now)
    return petition


# --- 受理 ------------------------------------------------------------------------------------------------------


def test_rule_petition_number_is_abbreviation_date_and_sequence_unique_per_district_and_day(world):
    first = new_petition(world)
    second = new_petition(world)
    laoshan = new_petition(world, district_code="laoshan", citizen=None)
    assert first.number == "SN202611230001"
    assert second.number == "SN202611230002"
    assert laoshan.number == "LS202611230001"
    # The day is Qingdao's: 2026-11-23 20:00 UTC is already the 24th there.
    late = new_petition(world, now=dt.datetime(2026, 11, 23, 20, 0, tzinfo=dt.UTC))
    assert late.number == "SN202611240001"


def test_rule_a_new_petition_waits_at_the_district_platform_with_a_submit_event(world):
    petition = new_petition(world)
    assert petition.state == PetitionState.PENDING_DISPATCH
    assert petition.current_unit == world.platform
    assert events_of(world.session, petition) == ["submit"]


@pytest.mark.parametrize(
    ("kind", "nature", "complexity", "days", "due"),
    [
        # Accepted Monday 2026-11-23: the acceptance day does not count.
        ("livelihood", "consult", "simple", 1, end_of_day(2026, 11, 24)),
        ("livelihood", "suggest", "simple", 1, end_of_day(2026, 11, 24)),
        ("livelihood", "complaint", "simple", 2, end_of_day(2026, 11, 25)),
        ("livelihood", "complaint", "complex", 5, end_of_day(2026, 11, 30)),
        ("development", None, "simple", 10, end_of_day(2026, 12, 7)),
        ("development", None, "especially_complex", 20, end_of_day(2026, 12, 21)),
    ],
)
def test_rule_time_limit_in_working_days_after_acceptance(world, kind, nature, complexity, days, due):
    petition = new_petition(world, kind=PetitionKind(kind))
    target = world.community if kind == "livelihood" else world.urban
    perform(world.session, petition, "dispatch", world.dispatcher, MON, unit_id=target.id, nature=nature,
            complexity=complexity, dept_type="urban_mgmt")
    assert petition.time_limit_days == days
    assert petition.deadline == due
    assert petition.accepted_at == MON
    assert petition.light == Light.BLUE
    assert notifications_of(world.session, petition) == ["accepted"]


def test_rule_livelihood_without_a_nature_cannot_be_accepted(world):
    petition = new_petition(world)
    with pytest.raises(InvalidInput, match="诉求性质") as info:
        perform(world.session, petition, "dispatch", world.dispatcher, MON, unit_id=world.community.id)
    assert info.value.field == "nature"
    assert petition.state == PetitionState.PENDING_DISPATCH


def test_rule_livelihood_chain_community_then_street_then_platform_then_department(world):
    s = world.session
    petition = new_petition(world)
    perform(s, petition, "dispatch", world.dispatcher, MON, unit_id=world.community.id, nature="complaint")
    deadline = petition.deadline
    perform(s, petition, "accept", world.community_handler, MON)
    perform(s, petition, "escalate", world.community_handler, MON, note="社区无执法权")
    assert (petition.state, petition.current_unit) == (PetitionState.ASSIGNED, world.street)
    perform(s, petition, "escalate", world.street_handler, TUE, note="需区职能部门处理")
    assert (petition.state, petition.current_unit) == (PetitionState.PENDING_DISPATCH, world.platform)
    # Once the chain is exhausted, the platform turns it over to a functional department only.
    with pytest.raises(InvalidInput, match="区\\(市\\)职能部门"):
        perform(s, petition, "dispatch", world.dispatcher, TUE, unit_id=world.community.id)
    perform(s, petition, "dispatch", world.dispatcher, TUE, unit_id=world.urban.id, dept_type="urban_mgmt")
    assert petition.current_unit == world.urban
    assert petition.deadline == deadline, "the citizen's clock does not restart when the chain moves up"
    assert events_of(s, petition) == ["submit", "dispatch", "accept", "escalate", "escalate", "dispatch"]


def test_rule_departments_do_not_escalate_they_return_to_the_platform(world):
    s = world.session
    petition = new_petition(world, kind=PetitionKind.DEVELOPMENT)
    perform(s, petition, "dispatch", world.dispatcher, MON, unit_id=world.urban.id)
    with pytest.raises(TransitionRefused, match="退回平台"):
        perform(s, petition, "escalate", world.urban_handler, MON, note="x")
    perform(s, petition, "return", world.urban_handler, MON, note="不属于本局职责，建议转住建局")
    assert (petition.state, petition.current_unit) == (PetitionState.PENDING_DISPATCH, world.platform)


def test_rule_development_goes_from_the_platform_to_a_department(world):
    petition = new_petition(world, kind=PetitionKind.DEVELOPMENT)
    with pytest.raises(InvalidInput):
        perform(world.session, petition, "dispatch", world.dispatcher, MON, unit_id=world.community.id)
    perform(world.session, petition, "dispatch", world.dispatcher, MON, unit_id=world.housing.id)
    assert petition.current_unit == world.housing
    assert petition.time_limit_days == 10


def test_rule_enforcement_names_a_lead_unit_cooperating_units_and_a_deadline(world):
    s = world.session
    petition = new_petition(world, kind=PetitionKind.ENFORCEMENT, citizen=None, with_citizen=False,
                            origin_unit=world.street)
    with pytest.raises(InvalidInput, match="配合单位"):
        perform(s, petition, "dispatch", world.dispatcher, MON, unit_id=world.urban.id)
    with pytest.raises(InvalidInput, match="主责单位不能同时"):
        perform(s, petition, "dispatch", world.dispatcher, MON, unit_id=world.urban.id,
                cooperating_unit_ids=[world.urban.id])
    perform(s, petition, "dispatch", world.dispatcher, MON, unit_id=world.urban.id,
            cooperating_unit_ids=[world.housing.id, world.street.id], complexity="especially_complex")
    assert petition.lead_unit == world.urban
    assert {u.id for u in petition.cooperating_units} == {world.housing.id, world.street.id}
    assert petition.time_limit_days == 20


def test_rule_enforcement_petitions_come_from_a_township_or_department(world):
    with pytest.raises(InvalidInput, match="执法诉求"):
        new_petition(world, kind=PetitionKind.ENFORCEMENT)


@pytest.mark.parametrize("code", list(InadmissibleCode))
def test_rule_inadmissible_rejection_carries_a_code_and_tells_the_citizen_why(world, code):
    petition = new_petition(world)
    perform(world.session, petition, "reject", world.dispatcher, MON, code=code.value, note="")
    assert petition.state == PetitionState.REJECTED
    assert petition.inadmissible_code == code
    note = world.session.scalars(select(Notification).where(Notification.petition_id == petition.id)).one()
    assert note.event == "rejected"
    assert code.label in note.payload["text"]
    assert note.payload["advice"]


def test_rule_reject_needs_a_code(world):
    petition = new_petition(world)
    with pytest.raises(InvalidInput) as info:
        perform(world.session, petition, "reject", world.dispatcher, MON)
    assert info.value.field == "code"


# --- district → city → city department ----------------------------------------------------------------------


def test_rule_district_to_city_platform_to_city_department_and_the_reply_comes_back_the_same_way(world):
    s = world.session
    petition = new_petition(world)
    with pytest.raises(InvalidInput, match="说明"):
        perform(s, petition, "send_to_city", world.dispatcher, MON)
    perform(s, petition, "send_to_city", world.dispatcher, MON, note="涉及市级住房保障政策", nature="complaint",
            dept_type="housing")
    assert (petition.state, petition.current_unit, petition.via_city) == (
        PetitionState.AT_CITY, world.city_platform, True)
    # A district dispatcher cannot assign city departments; the city dispatcher can.
    assert not [t for t in available_actions(petition, world.dispatcher)]
    with pytest.raises(InvalidInput):
        perform(s, petition, "city_dispatch", world.city_dispatcher, MON, unit_id=world.urban.id)
    perform(s, petition, "city_dispatch", world.city_dispatcher, MON, unit_id=world.city_housing.id)
    perform(s, petition, "accept", world.city_handler, MON)
    perform(s, petition, "submit_reply", world.city_handler, TUE, **REPLY)
    perform(s, petition, "approve_reply", world.city_reviewer, TUE)
    assert petition.state == PetitionState.CITY_REVIEW
    with pytest.raises(TransitionRefused):
        perform(s, petition, "send_reply", world.dispatcher, TUE)
    perform(s, petition, "approve_city_reply", world.city_dispatcher, TUE)
    assert petition.state == PetitionState.PLATFORM_REVIEW
    perform(s, petition, "send_reply", world.dispatcher, WED)
    assert petition.state == PetitionState.AWAITING_EVALUATION
    # The citizen hears of the acceptance, of the city department taking it on, and of the reply.
    assert notifications_of(s, petition) == ["accepted", "assigned", "replied"]


def test_rule_city_platform_can_hand_a_petition_back_to_the_district(world):
    s = world.session
    petition = new_petition(world)
    perform(s, petition, "send_to_city", world.dispatcher, MON, note="需市级协调", nature="consult")
    perform(s, petition, "return_to_district", world.city_dispatcher, MON, note="区级职能部门可办理")
    assert (petition.state, petition.current_unit, petition.via_city) == (
        PetitionState.PENDING_DISPATCH, world.platform, False)


# --- 答复 -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("missing", sorted(REPLY))
def test_rule_reply_contains_petitioner_policy_basis_result_responsible_person_and_phone(world, missing):
    s = world.session
    petition = new_petition(world, kind=PetitionKind.DEVELOPMENT)
    perform(s, petition, "dispatch", world.dispatcher, MON, unit_id=world.urban.id)
    perform(s, petition, "accept", world.urban_handler, MON)
    with pytest.raises(InvalidInput) as info:
        perform(s, petition, "submit_reply", world.urban_handler, MON, **{**REPLY, missing: "  "})
    assert info.value.field == missing
    assert petition.state == PetitionState.HANDLING
    assert s.scalar(select(func.count()).select_from(Reply)) == 0


def test_rule_reply_is_approved_by_the_unit_reviewer_then_the_platform_before_the_citizen_sees_it(world):
    s = world.session
    petition = new_petition(world, kind=PetitionKind.DEVELOPMENT)
    perform(s, petition, "dispatch", world.dispatcher, MON, unit_id=world.urban.id)
    perform(s, petition, "accept", world.urban_handler, MON)
    perform(s, petition, "submit_reply", world.urban_handler, MON, **REPLY)
    assert notifications_of(s, petition) == ["accepted"]
    # Neither the handler nor the platform may skip the unit's reviewer.
    for actor, action in ((world.urban_handler, "approve_reply"), (world.dispatcher, "send_reply")):
        with pytest.raises(TransitionRefused):
            perform(s, petition, action, actor, MON)
    perform(s, petition, "return_reply", world.urban_reviewer, MON, note="政策依据写明条款")
    assert petition.state == PetitionState.HANDLING
    perform(s, petition, "submit_reply", world.urban_handler, TUE, **REPLY)
    perform(s, petition, "approve_reply", world.urban_reviewer, TUE)
    assert petition.state == PetitionState.PLATFORM_REVIEW
    assert notifications_of(s, petition) == ["accepted"]
    perform(s, petition, "send_reply", world.dispatcher, TUE)
    replies = s.scalars(select(Reply).where(Reply.petition_id == petition.id).order_by(Reply.id)).all()
    assert [r.state for r in replies] == [ReplyState.RETURNED, ReplyState.SENT]
    assert notifications_of(s, petition) == ["accepted", "replied"]
    replied = s.scalars(select(Notification).where(Notification.event == "replied")).one()
    assert replied.payload["result"] == REPLY["result"]


# --- 评价 -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("satisfaction", "resolution", "state"),
    [
        ("satisfied", "resolved", PetitionState.CLOSED),
        ("basically_satisfied", "resolved", PetitionState.CLOSED),
        ("satisfied", "basically_resolved", PetitionState.CLOSED),
        ("basically_satisfied", "basically_resolved", PetitionState.CLOSED),
        ("unsatisfied", "resolved", PetitionState.PENDING_DISPATCH),
        ("satisfied", "unresolved", PetitionState.PENDING_DISPATCH),
        ("unsatisfied", "unresolved", PetitionState.PENDING_DISPATCH),
    ],
)
def test_rule_satisfied_and_resolved_closes_otherwise_second_handling(world, satisfaction, resolution, state):
    s = world.session
    petition = to_awaiting_evaluation(world)
    perform(s, petition, "evaluate", world.citizen, WED, satisfaction=satisfaction, resolution=resolution)
    assert petition.state == state
    if state == PetitionState.CLOSED:
        assert petition.closed_at == WED
        assert notifications_of(s, petition)[-1] == "closed"
    else:
        assert petition.handling_round == 2
        assert petition.current_unit == world.platform
        assert petition.deadline is None
        assert notifications_of(s, petition)[-1] == "second_handling"


def test_rule_only_the_petitioner_rates_and_only_once_per_round(world):
    s = world.session
    petition = to_awaiting_evaluation(world)
    from tests.factories import make_citizen

    stranger = make_citizen(s, "shinan")
    with pytest.raises(TransitionRefused):
        perform(s, petition, "evaluate", stranger, WED, satisfaction="satisfied", resolution="resolved")
    with pytest.raises(TransitionRefused):
        perform(s, petition, "evaluate", world.dispatcher, WED, satisfaction="satisfied", resolution="resolved")
    perform(s, petition, "evaluate", world.citizen, WED, satisfaction="satisfied", resolution="resolved")
    with pytest.raises(TransitionRefused, match=r"待评价|办结"):
        perform(s, petition, "evaluate", world.citizen, WED, satisfaction="unsatisfied", resolution="unresolved")
    assert s.scalar(select(func.count()).select_from(Evaluation)) == 1


def _fail_round(world, petition, now):
    perform(world.session, petition, "evaluate", world.citizen, now, satisfaction="unsatisfied",
            resolution="unresolved")


def _redo_round(world, petition, now):
    s = world.session
    perform(s, petition, "dispatch", world.dispatcher, now, unit_id=world.urban.id)
    handle_and_reply(world, petition, world.urban_handler, world.urban_reviewer, now)


def test_rule_unsatisfied_after_second_handling_leads_to_the_units_performance_assessment(world):
    s = world.session
    petition = to_awaiting_evaluation(world)
    _fail_round(world, petition, TUE)
    _redo_round(world, petition, WED)
    assert petition.deadline is not None and petition.state == PetitionState.AWAITING_EVALUATION
    _fail_round(world, petition, FRI)
    assert petition.state == PetitionState.ASSESSMENT
    assert petition.current_unit == world.urban
    assert notifications_of(s, petition)[-1] == "assessment_started"
    perform(s, petition, "assess", world.dispatcher, FRI, outcome="completed", note="已按政策答复，诉求超出政策范围")
    assert petition.state == PetitionState.CLOSED


def test_rule_two_consecutive_failed_assessments_are_referred_for_accountability(world):
    s = world.session
    petition = to_awaiting_evaluation(world)
    _fail_round(world, petition, TUE)
    _redo_round(world, petition, TUE)
    _fail_round(world, petition, WED)
    with pytest.raises(InvalidInput, match="说明"):
        perform(s, petition, "assess", world.dispatcher, WED, outcome="not_completed")
    perform(s, petition, "assess", world.dispatcher, WED, outcome="not_completed", note="未实地核查")
    assert (petition.state, petition.handling_round) == (PetitionState.PENDING_DISPATCH, 3)
    _redo_round(world, petition, WED)
    _fail_round(world, petition, FRI)
    perform(s, petition, "assess", world.dispatcher, FRI, outcome="not_completed", note="仍未整改")
    assert petition.state == PetitionState.ACCOUNTABILITY
    outcomes = s.scalars(select(Assessment.outcome).order_by(Assessment.id)).all()
    assert outcomes == [AssessmentOutcome.NOT_COMPLETED, AssessmentOutcome.NOT_COMPLETED]


# --- extensions ------------------------------------------------------------------------------------------------


def test_rule_a_unit_applies_for_an_extension_and_the_platform_approves_it(world):
    s = world.session
    petition = new_petition(world, kind=PetitionKind.DEVELOPMENT)
    perform(s, petition, "dispatch", world.dispatcher, MON, unit_id=world.urban.id)
    perform(s, petition, "accept", world.urban_handler, MON)
    assert petition.deadline == end_of_day(2026, 12, 7)
    with pytest.raises(InvalidInput, match="1到20"):
        perform(s, petition, "request_extension", world.urban_handler, MON, extra_working_days="0", reason="x")
    perform(s, petition, "request_extension", world.urban_handler, TUE, extra_working_days="3",
            reason="需协调供电公司现场勘查")
    with pytest.raises(TransitionRefused, match="已有待审批"):
        perform(s, petition, "request_extension", world.urban_handler, TUE, extra_working_days="3", reason="再次")
    with pytest.raises(TransitionRefused):
        perform(s, petition, "decide_extension", world.urban_handler, TUE, approve=True)
    perform(s, petition, "decide_extension", world.dispatcher, WED, approve=True)
    assert petition.deadline == end_of_day(2026, 12, 10)
    assert petition.state == PetitionState.HANDLING
    request = s.scalars(select(ExtensionRequest)).one()
    assert (request.state, request.new_deadline) == (RequestState.APPROVED, end_of_day(2026, 12, 10))
    assert notifications_of(s, petition) == ["accepted", "extended"]


def test_rule_a_refused_extension_keeps_the_deadline_and_needs_a_reason(world):
    s = world.session
    petition = new_petition(world, kind=PetitionKind.DEVELOPMENT)
    perform(s, petition, "dispatch", world.dispatcher, MON, unit_id=world.urban.id)
    perform(s, petition, "request_extension", world.urban_handler, MON, extra_working_days="5", reason="人手不足")
    with pytest.raises(InvalidInput):
        perform(s, petition, "decide_extension", world.dispatcher, MON, approve=False)
    perform(s, petition, "decide_extension", world.dispatcher, MON, approve=False, note="理由不充分")
    assert petition.deadline == end_of_day(2026, 12, 7)
    assert s.scalars(select(ExtensionRequest)).one().state == RequestState.REFUSED


# --- the engine's own guarantees --------------------------------------------------------------------------------


def test_an_illegal_action_names_the_state_and_the_action_and_writes_nothing(world):
    s = world.session
    petition = new_petition(world)
    before = events_of(s, petition)
    with pytest.raises(TransitionRefused) as info:
        perform(s, petition, "send_reply", world.dispatcher, MON)
    message = str(info.value)
    assert "send_reply" in message and "pending_dispatch" in message
    assert "审核通过并统一答复" in message and "待研判" in message
    s.commit()
    assert events_of(s, petition) == before
    assert petition.state == PetitionState.PENDING_DISPATCH


def test_a_refused_effect_rolls_back_everything_it_started(world):
    s = world.session
    petition = new_petition(world)
    with pytest.raises(InvalidInput):
        perform(s, petition, "dispatch", world.dispatcher, MON, unit_id=world.community.id, nature="complaint",
                complexity="especially_complex")
    s.commit()
    s.expire_all()
    assert petition.state == PetitionState.PENDING_DISPATCH
    assert petition.accepted_at is None and petition.current_unit == world.platform
    assert notifications_of(s, petition) == []


def test_unknown_action_is_refused_by_name(world):
    petition = new_petition(world)
    with pytest.raises(TransitionRefused, match="fly_to_moon"):
        perform(world.session, petition, "fly_to_moon", world.dispatcher, MON)


def test_a_dispatcher_of_another_district_cannot_act(world):
    petition = new_petition(world)
    assert available_actions(petition, world.laoshan_dispatcher) == []
    with pytest.raises(TransitionRefused, match="无权"):
        perform(world.session, petition, "dispatch", world.laoshan_dispatcher, MON, unit_id=world.community.id,
                nature="consult")


def test_expected_state_conflict_when_the_petition_moved_on(world):
    s = world.session
    petition = new_petition(world)
    perform(s, petition, "reject", world.dispatcher, MON, code="harassment")
    with pytest.raises(StateConflict, match="已被他人处理"):
        perform(s, petition, "dispatch", world.other_dispatcher, MON, expected_state="pending_dispatch",
                unit_id=world.community.id, nature="consult")


def test_two_dispatchers_clicking_at_once_one_wins_the_other_gets_a_conflict(world, app):
    """Two sessions load the same petition; both act; the second commit must fail with a clear conflict."""
    petition_id = new_petition(world).id
    maker = app.extensions["qingsu.sessionmaker"]
    first, second = maker(), maker()
    try:
        p1 = first.get(Petition, petition_id)
        p2 = second.get(Petition, petition_id)
        d1 = first.merge(world.dispatcher, load=True)
        d2 = second.merge(world.other_dispatcher, load=True)
        perform(first, p1, "reject", d1, MON, expected_state="pending_dispatch", code="harassment")
        first.commit()
        with pytest.raises(StateConflict):
            perform(second, p2, "dispatch", d2, MON, expected_state="pending_dispatch",
                    unit_id=world.community.id, nature="consult")
        second.rollback()
    finally:
        first.close()
        second.close()
    world.session.expire_all()
    petition = world.session.get(Petition, petition_id)
    assert petition.state == PetitionState.REJECTED
    assert events_of(world.session, petition) == ["submit", "reject"]


def test_every_transition_writes_a_history_row_with_actor_states_and_time(world):
    s = world.session
    petition = to_awaiting_evaluation(world)
    perform(s, petition, "evaluate", world.citizen, WED, satisfaction="satisfied", resolution="resolved")
    events = s.scalars(select(PetitionEvent).where(PetitionEvent.petition_id == petition.id)
                       .order_by(PetitionEvent.id)).all()
    assert [e.action for e in events] == ["submit", "dispatch", "accept", "submit_reply", "approve_reply",
                                          "send_reply", "evaluate"]
    for previous, event in itertools.pairwise(events):
        assert event.from_state == previous.to_state
        assert event.actor_label
        assert event.created_at is not None
    assert events[-1].actor_citizen_id == world.citizen.id and events[-1].actor_label == "诉求人"
    assert events[1].actor_user_id == world.dispatcher.id


def test_available_actions_shows_each_role_only_its_buttons(world):
    s = world.session
    petition = new_petition(world)
    names = lambda actor: [t.action for t in available_actions(petition, actor)]  # noqa: E731
    assert names(world.dispatcher) == ["dispatch", "reject", "send_to_city", "link"]
    assert names(world.urban_handler) == []
    perform(s, petition, "dispatch", world.dispatcher, MON, unit_id=world.community.id, nature="complaint")
    assert names(world.community_handler) == ["accept", "return", "escalate", "request_extension"]
    assert names(world.urban_handler) == []
    perform(s, petition, "request_extension", world.community_handler, MON, extra_working_days="1", reason="需核实")
    assert names(world.community_handler) == ["accept", "return", "escalate"]
    assert names(world.dispatcher) == ["decide_extension"]


def test_facts_read_for_a_list_give_the_same_buttons_as_asking_one_petition_at_a_time(world):
    s = world.session
    asking, quiet = new_petition(world), new_petition(world)
    for petition in (asking, quiet):
        perform(s, petition, "dispatch", world.dispatcher, MON, unit_id=world.urban.id, nature="complaint")
    perform(s, asking, "request_extension", world.urban_handler, MON, extra_working_days="2", reason="需检测")
    rated, unrated = to_awaiting_evaluation(world), to_awaiting_evaluation(world)
    perform(s, rated, "evaluate", world.citizen, WED, satisfaction="unsatisfied", resolution="unresolved")
    # Back at the platform for round 2: round 1's rating must not count as this round's.
    _redo_round(world, rated, WED)
    s.commit()
    listed = [asking, quiet, rated, unrated]
    facts = facts_for(s, listed)
    for actor in (world.dispatcher, world.urban_handler, world.citizen):
        for petition in listed:
            one_by_one = [t.action for t in available_actions(petition, actor)]
            assert [t.action for t in available_actions(petition, actor, facts)] == one_by_one
    assert facts.pending_extension(asking) is not None and facts.pending_extension(quiet) is None
    assert not facts.rated_this_round(rated) and not facts.rated_this_round(unrated)
    perform(s, unrated, "evaluate", world.citizen, WED, satisfaction="satisfied", resolution="resolved")
    assert facts_for(s, [unrated]).rated_this_round(unrated)


def test_suggestion_acceptance_is_recorded_against_the_dispatchers_choice(world):
    s = world.session
    suggestion = {"departments": [{"type": "urban_mgmt", "score": 0.8}, {"type": "ecology", "score": 0.1}],
                  "nature": "complaint"}
    kept = new_petition(world, suggestion=suggestion)
    changed = new_petition(world, suggestion=suggestion)
    perform(s, kept, "dispatch", world.dispatcher, MON, unit_id=world.urban.id, dept_type="urban_mgmt",
            nature="complaint")
    perform(s, changed, "dispatch", world.dispatcher, MON, unit_id=world.housing.id, dept_type="housing",
            nature="complaint")
    assert (kept.suggestion_accepted, changed.suggestion_accepted) == (True, False)


def test_the_transition_table_declares_every_action_once_with_reachable_targets():
    targets = set().union(*(t.targets for t in TRANSITIONS.values()))
    sources = set().union(*(t.sources for t in TRANSITIONS.values()))
    assert PetitionState.PENDING_DISPATCH in sources
    # Every state is reachable, and only the terminal states have no way out.
    assert targets | {PetitionState.PENDING_DISPATCH} == set(PetitionState)
    assert set(PetitionState) - sources == {PetitionState.REJECTED, PetitionState.CLOSED,
                                            PetitionState.UNRATED, PetitionState.ACCOUNTABILITY}


def test_naive_now_is_a_programming_error(world):
    petition = new_petition(world)
    with pytest.raises(ValueError, match="aware"):
        perform(world.session, petition, "reject", world.dispatcher, dt.datetime(2026, 11, 23), code="harassment")

