"""Linked duplicates (关联重复诉求, `workflow.links`): a dispatcher links a duplicate to an open petition instead of
dispatching it twice; one handling, and every petitioner gets the reply and rates it."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from models import Notification, Petition, PetitionEvent, Reply
from models.enums import PetitionState as S
from models.enums import ReplyState
from tests.factories import MONDAY_10AM, make_citizen, make_petition
from workflow.actors import SYSTEM
from workflow.engine import TRANSITIONS, perform
from workflow.errors import InvalidInput, LinkConflict, TransitionRefused, UnknownPetition
from workflow.jobs import district_day
from workflow.lights import CLOCK_RUNNING
from workflow.links import duplicates_of, link_duplicate
from workflow.rates import Rate, on_time_rates, resolution_rates, satisfaction_rates

MON = MONDAY_10AM
LATER = MON + dt.timedelta(hours=2)
REPLY = {
    "petitioner_info": "张女士，太平角社区居民，电话13800000001",
    "policy_basis": "《青岛市城市市容和环境卫生管理条例》",
    "result": "已修复路灯并安排每周巡查。",
    "responsible_person": "李明",
    "contact_phone": "0532-88886666",
}
LAMP = "香港中路10号门口路灯坏了半个月，晚上出行很不方便。"


def _petition(world, **kw):
    citizen = kw.pop("citizen", None) or make_citizen(world.session, "shinan")
    return make_petition(world.session, citizen=citizen, content=kw.pop("content", LAMP), now=MON, **kw)


def _dispatch(world, petition, when=MON):
    perform(
        world.session,
        petition,
        "dispatch",
        world.dispatcher,
        when,
        unit_id=world.urban.id,
        nature="complaint",
        complexity="simple",
        dept_type="urban_mgmt",
    )


def _reply(world, master, when=LATER):
    s = world.session
    if master.state == S.PENDING_DISPATCH:
        _dispatch(world, master)
    perform(s, master, "accept", world.urban_handler, when)
    perform(s, master, "submit_reply", world.urban_handler, when, **REPLY)
    perform(s, master, "approve_reply", world.urban_reviewer, when)
    return perform(s, master, "send_reply", world.dispatcher, when)


def _events(session, petition, name):
    return [
        n.event
        for n in session.scalars(
            select(Notification).where(Notification.petition_id == petition.id).order_by(Notification.id)
        )
        if n.event == name
    ]


def test_a_linked_duplicate_waits_with_no_unit_clock_or_light_and_its_petitioner_is_told(world):
    """Rule: link (待研判 → 已关联) by the district's dispatcher; the duplicate is not handled on its own, has no
    light or deadline (it closes with its master), and its citizen hears it is handled together with another."""
    s = world.session
    master, duplicate = _petition(world), _petition(world)
    _dispatch(world, master)
    event = link_duplicate(s, duplicate, master.number.lower(), world.dispatcher, MON, note="同一路灯")
    s.commit()
    assert event is not None and event.action == "link" and event.to_state == S.LINKED
    assert event.data["master_number"] == master.number
    assert duplicate.state == S.LINKED and duplicate.duplicate_of_id == master.id
    assert (duplicate.deadline, duplicate.accepted_at, duplicate.light) == (None, None, None)
    assert S.LINKED not in CLOCK_RUNNING
    assert duplicates_of(s, master) == [duplicate]
    (told,) = s.scalars(
        select(Notification).where(Notification.petition_id == duplicate.id, Notification.event == "linked")
    )
    assert told.citizen_id == duplicate.citizen_id
    # The other petitioner's number is not told to this one.
    assert master.number not in str(told.payload)


def test_the_masters_reply_reaches_every_linked_duplicate_as_its_own_reply_with_a_history_row(world):
    """Rule: when the master's reply is sent (统一答复), each duplicate gets its own copy of the reply (without the
    master's petitioner's details), moves to 待评价 through the workflow, and its citizen gets the 'replied' message."""
    s = world.session
    master, first, second = _petition(world), _petition(world), _petition(world)
    _dispatch(world, master)
    link_duplicate(s, first, master.number, world.dispatcher, MON)
    link_duplicate(s, second, master.number, world.dispatcher, MON)
    _reply(world, master)
    s.commit()
    (sent,) = s.scalars(select(Reply).where(Reply.petition_id == master.id))
    for duplicate in (first, second):
        s.refresh(duplicate)
        assert duplicate.state == S.AWAITING_EVALUATION
        assert duplicate.duplicate_of_id == master.id  # still shown as handled together
        (copy,) = s.scalars(select(Reply).where(Reply.petition_id == duplicate.id))
        assert (
            copy.state == ReplyState.SENT
            and copy.linked_from_id == sent.id
            and copy.unit_id == world.urban.id
        )
        assert copy.result == REPLY["result"] and copy.deadline is None
        assert "张女士" not in copy.petitioner_info
        (row,) = s.scalars(
            select(PetitionEvent).where(
                PetitionEvent.petition_id == duplicate.id, PetitionEvent.action == "linked_reply"
            )
        )
        assert (row.from_state, row.to_state, row.actor_label) == (S.LINKED, S.AWAITING_EVALUATION, "系统")
        assert _events(s, duplicate, "replied") == ["replied"]
    assert master.state == S.AWAITING_EVALUATION


def test_only_the_platform_that_dispatches_it_may_link_a_petition(world):
    """Rule: the district's dispatcher links a 待研判 petition; another district's dispatcher and a unit may not; at
    the city (市级平台待研判) the city platform links it."""
    s = world.session
    master, duplicate = _petition(world), _petition(world)
    for outsider in (world.laoshan_dispatcher, world.urban_handler, world.city_dispatcher):
        with pytest.raises(TransitionRefused):
            perform(s, duplicate, "link", outsider, MON, target=master.number)
    at_city = _petition(world)
    perform(
        s,
        at_city,
        "send_to_city",
        world.dispatcher,
        MON,
        nature="complaint",
        complexity="simple",
        note="需市住建局办理",
    )
    assert at_city.deadline is not None
    with pytest.raises(TransitionRefused):
        perform(s, at_city, "link", world.dispatcher, MON, target=master.number)
    perform(s, at_city, "link", world.city_dispatcher, MON, target=master.number)
    assert at_city.state == S.LINKED and at_city.deadline is None and at_city.light is None


def test_a_dispatched_petition_is_no_longer_linked(world):
    """Rule: only while the duplicate is not yet dispatched."""
    s = world.session
    master, duplicate = _petition(world), _petition(world)
    _dispatch(world, duplicate)
    with pytest.raises(TransitionRefused, match="待签收"):
        link_duplicate(s, duplicate, master.number, world.dispatcher, MON)
    assert "link" in TRANSITIONS and S.ASSIGNED not in TRANSITIONS["link"].sources


def test_the_master_must_be_another_open_unreplied_petition_of_the_district_and_not_itself_linked(world):
    """Rules: unknown number or another district's → unknown (404); itself → invalid (422); a closed or replied
    petition, or a linked one (name its master instead) → conflict (409); nothing is written on a refusal."""
    s = world.session
    master, duplicate, third = _petition(world), _petition(world), _petition(world)
    laoshan = make_petition(s, district_code="laoshan", content=LAMP, now=MON)
    with pytest.raises(UnknownPetition):
        link_duplicate(s, duplicate, "SN209901010001", world.dispatcher, MON)
    with pytest.raises(UnknownPetition):
        link_duplicate(s, duplicate, laoshan.number, world.dispatcher, MON)
    with pytest.raises(InvalidInput, match="它自己") as itself:
        link_duplicate(s, duplicate, duplicate.number, world.dispatcher, MON)
    assert not isinstance(itself.value, UnknownPetition) and itself.value.field == "target"
    for malformed in ("  ", "SN2026\x0011", "S" * 21, "诉求一"):
        with pytest.raises(InvalidInput) as bad:
            link_duplicate(s, duplicate, malformed, world.dispatcher, MON)
        assert not isinstance(bad.value, UnknownPetition) and bad.value.field == "target"

    perform(s, third, "link", world.dispatcher, MON, target=master.number)
    with pytest.raises(LinkConflict, match=f"请关联至主诉求 {master.number}"):
        link_duplicate(s, duplicate, third.number, world.dispatcher, MON)

    replied = _petition(world)
    _reply(world, replied)
    with pytest.raises(LinkConflict, match="待评价"):
        link_duplicate(s, duplicate, replied.number, world.dispatcher, MON)
    rejected = _petition(world)
    perform(s, rejected, "reject", world.dispatcher, MON, code="harassment")
    with pytest.raises(LinkConflict, match="不予受理"):
        link_duplicate(s, duplicate, rejected.number, world.dispatcher, MON)
    s.commit()
    s.refresh(duplicate)
    assert duplicate.state == S.PENDING_DISPATCH and duplicate.duplicate_of_id is None
    assert not [e for e in duplicate.events if e.action == "link"]


def test_links_are_one_level_deep_so_there_is_no_cycle(world):
    """Rule: a petition that has duplicates of its own may not be linked (A ← B, then A → B is refused)."""
    s = world.session
    a, b = _petition(world), _petition(world)
    link_duplicate(s, b, a.number, world.dispatcher, MON)
    with pytest.raises(LinkConflict, match="请关联至主诉求"):
        link_duplicate(s, a, b.number, world.dispatcher, MON)
    c = _petition(world)
    with pytest.raises(LinkConflict, match="已有关联诉求"):
        link_duplicate(s, a, c.number, world.dispatcher, MON)
    assert a.state == S.PENDING_DISPATCH and a.duplicate_of_id is None


def test_a_repeat_of_the_same_link_changes_nothing_and_another_target_is_a_conflict(world):
    """Rule: a double click is idempotent (no second history row or notice); linking elsewhere needs an unlink."""
    s = world.session
    master, other, duplicate = _petition(world), _petition(world), _petition(world)
    assert link_duplicate(s, duplicate, master.number, world.dispatcher, MON) is not None
    assert (
        link_duplicate(s, duplicate, master.number, world.dispatcher, MON, expected_state="pending_dispatch")
        is None
    )
    with pytest.raises(LinkConflict, match="请先取消关联"):
        link_duplicate(s, duplicate, other.number, world.dispatcher, MON)
    s.commit()
    assert [e.action for e in duplicate.events].count("link") == 1
    assert _events(s, duplicate, "linked") == ["linked"]


def test_a_mistaken_link_is_undone_before_the_masters_reply(world):
    """Rule: unlink (已关联 → 待研判) by the district's dispatcher puts the petition back in the queue, to be
    dispatched on its own (its clock then starts); its citizen is told; after the reply there is nothing to undo."""
    s = world.session
    master, duplicate = _petition(world), _petition(world)
    link_duplicate(s, duplicate, master.number, world.dispatcher, MON)
    with pytest.raises(TransitionRefused):
        perform(s, duplicate, "unlink", world.urban_handler, MON)
    perform(s, duplicate, "unlink", world.dispatcher, MON, note="不是同一路灯")
    assert duplicate.state == S.PENDING_DISPATCH and duplicate.duplicate_of_id is None
    assert duplicate.current_unit_id == world.platform.id
    assert _events(s, duplicate, "unlinked") == ["unlinked"]
    _dispatch(world, duplicate)
    assert duplicate.deadline is not None
    _reply(world, master)
    assert duplicate.state == S.ASSIGNED  # not carried along any more
    later = _petition(world)
    other_master = _petition(world)
    link_duplicate(s, later, other_master.number, world.dispatcher, MON)
    _reply(world, other_master)
    with pytest.raises(TransitionRefused):
        perform(s, later, "unlink", world.dispatcher, LATER)


def test_a_master_rejected_without_a_reply_sends_its_duplicates_back_to_the_queue(world):
    """Rule: a duplicate never waits for a reply that will not come: the system unlinks it when its master is
    rejected, with a history row, and the platform handles it on its own."""
    s = world.session
    master, duplicate = _petition(world), _petition(world)
    link_duplicate(s, duplicate, master.number, world.dispatcher, MON)
    perform(s, master, "reject", world.dispatcher, LATER, code="out_of_jurisdiction")
    s.commit()
    s.refresh(duplicate)
    assert duplicate.state == S.PENDING_DISPATCH and duplicate.duplicate_of_id is None
    (row,) = [e for e in duplicate.events if e.action == "unlink"]
    assert row.actor_label == "系统" and master.number in row.note
    assert _events(s, duplicate, "rejected") == []


def test_a_linked_petitioner_rates_their_own_petition_and_unsatisfied_goes_to_its_own_second_handling(world):
    """Rule: each petitioner rates their own petition; an unsatisfied rating of a duplicate sends it, unlinked, to
    its own second handling (二次办理) with the shared reply as its first round; the master is untouched."""
    s = world.session
    master, duplicate = _petition(world, citizen=world.citizen), _petition(world)
    link_duplicate(s, duplicate, master.number, world.dispatcher, MON)
    _reply(world, master)
    with pytest.raises(TransitionRefused):  # the master's petitioner cannot rate the duplicate
        perform(
            s, duplicate, "evaluate", world.citizen, LATER, satisfaction="satisfied", resolution="resolved"
        )
    perform(
        s,
        duplicate,
        "evaluate",
        duplicate.citizen,
        LATER,
        satisfaction="unsatisfied",
        resolution="unresolved",
    )
    assert duplicate.state == S.PENDING_DISPATCH and duplicate.handling_round == 2
    assert duplicate.duplicate_of_id is None and duplicate.current_unit_id == world.platform.id
    assert _events(s, duplicate, "second_handling") == ["second_handling"]
    assert master.state == S.AWAITING_EVALUATION
    perform(s, master, "evaluate", world.citizen, LATER, satisfaction="satisfied", resolution="resolved")
    assert master.state == S.CLOSED


def test_each_rating_counts_for_its_own_petition_and_the_handling_once_in_the_on_time_rate(world):
    """Rule (workflow.rates): a master and two duplicates rated satisfied, satisfied, unsatisfied make three
    ratings (2 of 3 satisfied, for the unit that replied), none missed or counted twice; the reply is one handling,
    counted once in the on-time rate (the duplicates' copies have no deadline of their own)."""
    s = world.session
    master, first, second = _petition(world, citizen=world.citizen), _petition(world), _petition(world)
    link_duplicate(s, first, master.number, world.dispatcher, MON)
    link_duplicate(s, second, master.number, world.dispatcher, MON)
    _reply(world, master)
    perform(s, master, "evaluate", world.citizen, LATER, satisfaction="satisfied", resolution="resolved")
    perform(
        s, first, "evaluate", first.citizen, LATER, satisfaction="basically_satisfied", resolution="resolved"
    )
    perform(s, second, "evaluate", second.citizen, LATER, satisfaction="unsatisfied", resolution="unresolved")
    s.commit()
    assert satisfaction_rates(s) == {"all": Rate(2, 3)}
    assert resolution_rates(s) == {"all": Rate(2, 3)}
    assert satisfaction_rates(s, "unit") == {str(world.urban.id): Rate(2, 3)}
    assert on_time_rates(s) == {"all": Rate(1, 1)}
    day = district_day(s, "shinan", LATER.astimezone(ZoneInfo("Asia/Shanghai")).date(), "Asia/Shanghai")
    assert (day.replied, day.replied_on_time) == (1, 1)  # the daily summary counts the handling once too
    assert len(list(s.scalars(select(Reply).where(Reply.state == ReplyState.SENT)))) == 3


def test_the_linked_reply_is_the_systems_own(world):
    """Rule: nobody but the system moves a duplicate to 待评价, and only with its master's sent reply."""
    s = world.session
    master, duplicate = _petition(world), _petition(world)
    link_duplicate(s, duplicate, master.number, world.dispatcher, MON)
    with pytest.raises(TransitionRefused):
        perform(s, duplicate, "linked_reply", world.dispatcher, MON, reply_id=1)
    with pytest.raises(InvalidInput):
        perform(s, duplicate, "linked_reply", SYSTEM, MON, reply_id=999999)
    assert s.get(Petition, duplicate.id).state == S.LINKED
