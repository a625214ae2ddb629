"""`qingsu seed-volume`: generated petitions in every state, consistent with the workflow, and safe to run."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from itertools import pairwise
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from models import (
    Assessment,
    Base,
    Citizen,
    District,
    Evaluation,
    ExtensionRequest,
    Petition,
    PetitionEvent,
    PetitionSequence,
    Reply,
    Unit,
    petition_cooperating_unit,
)
from models.enums import (
    AssessmentOutcome,
    Complexity,
    DeptType,
    Light,
    Nature,
    PetitionKind,
    PetitionState,
    ReplyState,
    RequestState,
    Role,
    UnitLevel,
)
from qingsu.volume.lifecycle import EXPIRE_EVALUATION, MARKER
from qingsu.volume.writer import check_columns
from tests.factories import make_user
from workflow.calendar import load_calendar
from workflow.deadlines import compute_deadline, time_limit
from workflow.effects import LINK_TARGET_STATES, LINKED_PETITIONER_INFO
from workflow.engine import perform
from workflow.intake import SHANGHAI, submit_petition
from workflow.jobs import close_unrated_evaluations, recompute_lights, remind_evaluations, request_evaluations
from workflow.lights import CLOCK_RUNNING, light_for
from workflow.tallies import rebuild, refresh_tallies, refreshed_at

# Friday 27 November 2026, 10:00 in Qingdao: the instant every generated volume here ends at.
NOW_TEXT = "2026-11-27T10:00:00+08:00"
NOW = dt.datetime(2026, 11, 27, 2, 0, tzinfo=dt.UTC)
FINAL = {PetitionState.REJECTED, PetitionState.CLOSED, PetitionState.UNRATED, PetitionState.ACCOUNTABILITY}
WINDOW = dt.timedelta(days=7)
NUMBER = re.compile(r"^(SN|SB|LC|LS|HD|CY|JM|JZ|PD|LX)(\d{8})(\d{4})$")


def seed(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=["seed-volume", "--now", NOW_TEXT, *args])


def empty(app: Flask) -> None:
    """Every table emptied and every id counter back at the start."""
    engine = app.extensions["qingsu.engine"]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())


def generated(session: Session) -> list[Petition]:
    return list(session.scalars(select(Petition).order_by(Petition.id)))


def state_at(trail: list[PetitionEvent], instant: dt.datetime) -> PetitionState:
    """The state a petition's audit trail says it was in at `instant`."""
    return [e for e in trail if e.created_at <= instant][-1].to_state


def copy_of(reply: Reply) -> tuple[Any, ...]:
    """What a linked duplicate's copy of a reply shares with it (not the round: the copy is of its own first)."""
    return (
        reply.unit_id,
        reply.author_id,
        reply.policy_basis,
        reply.result,
        reply.responsible_person,
        reply.contact_phone,
        reply.state,
        reply.sent_at,
    )


@pytest.fixture
def volume(app: Flask, db_session: Session) -> list[Petition]:
    result = seed(app, "--petitions", "300", "--seed", "7")
    assert result.exit_code == 0, result.output
    return generated(db_session)


def test_the_summary_line_counts_what_was_written(app, db_session):
    result = seed(app, "--petitions", "120", "--seed", "2")
    assert result.exit_code == 0, result.output
    summary = [line for line in result.output.splitlines() if line.startswith("seed-volume: 120 petitions")]
    assert len(summary) == 1
    events = db_session.scalar(select(func.count(PetitionEvent.id)))
    replies = db_session.scalar(select(func.count(Reply.id)))
    citizens = db_session.scalar(select(func.count(Citizen.id)))
    assert re.fullmatch(
        rf"seed-volume: 120 petitions, {events} events, {replies} replies, \d+ evaluations, \d+ extensions, "
        rf"\d+ assessments, {citizens} citizens in \d+\.\d s",
        summary[0],
    )


def test_the_dashboard_stops_trusting_its_tallies_until_they_are_rebuilt(app, db_session):
    # Generated rows carry past instants that the tallies' refresh cannot see as changes.
    with app.app_context():
        rebuild(app, NOW)
    assert refreshed_at(db_session) is not None
    db_session.rollback()
    assert seed(app, "--petitions", "60", "--seed", "3").exit_code == 0
    assert refreshed_at(db_session) is None
    # Even a small volume has its linked duplicates, waiting and replied.
    states = [p.state for p in generated(db_session) if p.duplicate_of_id is not None]
    assert {PetitionState.LINKED, PetitionState.AWAITING_EVALUATION} <= set(states)
    db_session.rollback()
    assert refresh_tallies(app, NOW).rebuilt


def test_every_state_kind_light_and_department_appears(volume):
    assert len(volume) == 300
    assert {p.state for p in volume} == set(PetitionState)
    assert {p.kind for p in volume} == set(PetitionKind)
    assert {p.light for p in volume} == {None, *Light}
    assert {p.dept_type for p in volume} == {None, *DeptType}
    assert {p.nature for p in volume} == set(Nature)
    assert {p.complexity for p in volume} == set(Complexity)
    assert {p.district_code for p in volume} >= {"shinan", "shibei", "huangdao", "laixi"}
    assert any(p.via_city for p in volume)
    assert all(p.external_id == f"{MARKER}{p.id}" for p in volume)


def test_numbers_are_unique_dated_and_the_counters_advanced(volume, db_session):
    numbers = [p.number for p in volume]
    assert len(set(numbers)) == len(numbers)
    abbreviations = dict(db_session.execute(select(District.code, District.abbreviation)).all())
    highest: dict[tuple[str, str], int] = defaultdict(int)
    for p in volume:
        match = NUMBER.match(p.number)
        assert match, p.number
        assert match[1] == abbreviations[p.district_code]
        assert match[2] == p.created_at.astimezone(SHANGHAI).strftime("%Y%m%d")
        key = (p.district_code, match[2])
        # Numbers follow submission time: ids and sequence numbers grow together within a district and day.
        assert int(match[3]) == highest[key] + 1
        highest[key] = int(match[3])
    counters = {(s.district_code, s.day): s.last for s in db_session.scalars(select(PetitionSequence))}
    assert counters == dict(highest)
    # A real petition submitted now continues after the generated ones of today.
    real = submit_petition(
        db_session,
        district_code="huangdao",
        kind=PetitionKind.LIVELIHOOD,
        content="小区门口路灯不亮",
        now=NOW,
    )
    assert real.number not in numbers
    assert int(real.number[-4:]) == highest[("huangdao", "20261127")] + 1


def test_every_petition_keeps_the_workflows_invariants(app, volume, db_session):
    calendar = load_calendar(db_session)
    fraction = app.config["LIGHTS"]["yellow_fraction_left"]
    units = {u.id: u for u in db_session.scalars(select(Unit))}
    events: dict[int, list[PetitionEvent]] = defaultdict(list)
    for event in db_session.scalars(select(PetitionEvent).order_by(PetitionEvent.id)):
        events[event.petition_id].append(event)
    replies: dict[int, list[Reply]] = defaultdict(list)
    for reply in db_session.scalars(select(Reply).order_by(Reply.id)):
        replies[reply.petition_id].append(reply)
    evaluations: dict[int, list[Evaluation]] = defaultdict(list)
    for evaluation in db_session.scalars(select(Evaluation).order_by(Evaluation.handling_round)):
        evaluations[evaluation.petition_id].append(evaluation)
    assessments: dict[int, list[Assessment]] = defaultdict(list)
    for assessment in db_session.scalars(select(Assessment).order_by(Assessment.id)):
        assessments[assessment.petition_id].append(assessment)
    approved = {
        e.petition_id
        for e in db_session.scalars(select(ExtensionRequest))
        if e.state == RequestState.APPROVED
    }
    cooperating = defaultdict(set)
    for petition_id, unit_id in db_session.execute(select(petition_cooperating_unit)).all():
        cooperating[petition_id].add(unit_id)
    by_id = {p.id: p for p in volume}
    reply_by_id = {r.id: r for rs in replies.values() for r in rs}

    for p in volume:
        trail = events[p.id]
        # The audit trail: a chain of states from the submission to the petition's state, in time order.
        assert trail[0].action == "submit" and trail[0].from_state is None
        assert all(a.to_state == b.from_state for a, b in pairwise(trail))
        assert all(a.created_at <= b.created_at for a, b in pairwise(trail))
        assert trail[-1].to_state == p.state, p.number
        assert trail[0].created_at == p.created_at and trail[-1].created_at == p.updated_at <= NOW
        assert p.created_at >= NOW - dt.timedelta(days=366)

        unit = units[p.current_unit_id]
        assert p.level == unit.level
        assert (p.closed_at is not None) == (p.state in FINAL), p.number
        if p.state in (PetitionState.PENDING_DISPATCH, PetitionState.REJECTED):
            assert unit.level == UnitLevel.DISTRICT_PLATFORM and unit.district_code == p.district_code
        if p.state == PetitionState.AT_CITY:
            assert unit.level == UnitLevel.CITY_PLATFORM and p.via_city
        if p.state in (PetitionState.CITY_REVIEW,):
            assert unit.level == UnitLevel.CITY_DEPARTMENT and p.via_city
        if unit.district_code is not None:
            assert unit.district_code == p.district_code

        # The clock: started on acceptance with the limit of the kind, nature and complexity, by the calendar.
        if p.accepted_at is not None:
            assert p.time_limit_days == time_limit(p.kind, p.nature, p.complexity)
            assert p.deadline > p.accepted_at
            if p.id not in approved:
                assert p.deadline == compute_deadline(p.accepted_at, p.time_limit_days, calendar).due
        else:
            assert p.deadline is None and p.time_limit_days is None
        if p.state in CLOCK_RUNNING and p.accepted_at is not None:
            assert p.light == light_for(NOW, p.accepted_at, p.deadline, calendar, fraction), p.number
        else:
            assert p.light is None, p.number

        # Replies, ratings and assessments as the state says.
        round_replies = [r for r in replies[p.id] if r.handling_round == p.handling_round]
        sent = [r for r in round_replies if r.state == ReplyState.SENT]
        for reply in replies[p.id]:
            if reply.linked_from_id is not None:
                # A linked duplicate's copy of its master's reply, sent with it; not in the on-time rate.
                source = reply_by_id[reply.linked_from_id]
                assert copy_of(reply) == copy_of(source) and source.linked_from_id is None
                assert reply.created_at == reply.sent_at and (reply.deadline, reply.on_time) == (None, None)
                assert reply.petitioner_info == LINKED_PETITIONER_INFO and reply.review_note == ""
            elif reply.state == ReplyState.SENT:
                assert reply.sent_at is not None and reply.on_time == (reply.sent_at <= reply.deadline)
            else:
                assert reply.sent_at is None and reply.on_time is None
        rated = {e.handling_round: e for e in evaluations[p.id]}
        latest = evaluations[p.id][-1] if evaluations[p.id] else None
        if p.state == PetitionState.CLOSED:
            done = [a for a in assessments[p.id] if a.handling_round == p.handling_round]
            assert (latest is not None and latest.handling_round == p.handling_round and latest.passed) or (
                done and done[-1].outcome == AssessmentOutcome.COMPLETED
            ), p.number
        if p.state == PetitionState.UNRATED:
            assert p.handling_round not in rated and len(sent) == 1
            assert p.closed_at >= sent[0].sent_at + WINDOW and trail[-1].action == EXPIRE_EVALUATION
        if p.state == PetitionState.AWAITING_EVALUATION:
            assert p.handling_round not in rated and len(sent) == 1
            assert NOW - sent[0].sent_at < WINDOW
        if p.state == PetitionState.ASSESSMENT:
            assert p.handling_round >= 2 and not rated[p.handling_round].passed
            assert p.current_unit_id == sent[0].unit_id
        if p.state == PetitionState.ACCOUNTABILITY:
            outcomes = [a.outcome for a in assessments[p.id] if a.unit_id == p.current_unit_id]
            assert outcomes[-2:] == [AssessmentOutcome.NOT_COMPLETED] * 2
        if p.state in (PetitionState.UNIT_REVIEW, PetitionState.CITY_REVIEW, PetitionState.PLATFORM_REVIEW):
            assert round_replies[-1].state.value == p.state.value
        if p.handling_round > 1:
            assert not rated[1].passed
        if p.kind == PetitionKind.ENFORCEMENT:
            assert p.origin_unit_id is not None and p.citizen_id is None
            if p.lead_unit_id is not None:
                assert cooperating[p.id] and p.lead_unit_id not in cooperating[p.id]
        if p.state == PetitionState.REJECTED:
            assert p.inadmissible_code is not None

        # Linked duplicates (workflow.links): linked while 待研判 to an older petition of the district whose reply
        # was not sent, by the platform deciding on it; its copy of the reply when the master's was sent.
        links = [e for e in trail if e.action == "link"]
        copies = [e for e in trail if e.action == "linked_reply"]
        if not links:
            assert p.duplicate_of_id is None and not copies
            assert all(r.linked_from_id is None for r in replies[p.id])
            continue
        (link,) = links
        master = by_id[link.data["master_id"]]
        assert link.data == {
            "master_id": master.id,
            "master_number": master.number,
            "linked_from": link.from_state.value,
        }
        assert link.from_state in (PetitionState.PENDING_DISPATCH, PetitionState.AT_CITY) and link.note
        assert link.actor_citizen_id is None and trail.index(link) in (1, 2)
        assert master.id != p.id and master.district_code == p.district_code and master.kind == p.kind
        assert master.created_at < p.created_at and master.duplicate_of_id is None
        assert not any(e.action == "link" for e in events[master.id])
        assert state_at(events[master.id], link.created_at) in LINK_TARGET_STATES
        master_sent = [
            r.sent_at
            for r in replies[master.id]
            if r.state == ReplyState.SENT and r.sent_at > link.created_at
        ]
        if p.state == PetitionState.LINKED:
            # Waiting for the master's reply, with no unit, clock or light of its own.
            assert p.duplicate_of_id == master.id and trail[-1] is link
            assert master.state in LINK_TARGET_STATES and not master_sent
            assert (p.accepted_at, p.time_limit_days, p.deadline, p.light) == (None, None, None, None)
            assert unit.level == (UnitLevel.CITY_PLATFORM if p.via_city else UnitLevel.DISTRICT_PLATFORM)
            assert not replies[p.id] and p.reply_delivered_at is None
            continue
        (copy,) = copies
        (own,) = [r for r in replies[p.id] if r.linked_from_id is not None]
        source = reply_by_id[own.linked_from_id]
        assert trail.index(copy) == trail.index(link) + 1 and copy.created_at == min(master_sent)
        assert source.petition_id == master.id and source.sent_at == own.sent_at == copy.created_at
        assert copy.data == {"reply_id": own.id, "linked_from": source.id, "master_id": master.id}
        assert (copy.actor_user_id, copy.actor_label, copy.unit_id, copy.note) == (None, "系统", None, "")
        assert own.handling_round == 1
        if 1 in rated:
            assert rated[1].unit_id == source.unit_id
        unsatisfied = [e for e in trail if e.action == "evaluate" and "unlinked_from" in e.data]
        if unsatisfied:
            # Unsatisfied with the shared reply: a second handling of its own, unlinked.
            assert unsatisfied[0].data["unlinked_from"] == master.id and p.duplicate_of_id is None
        else:
            assert p.duplicate_of_id == master.id and p.handling_round == 1


def test_the_lights_job_finds_nothing_to_change(app, volume, db_session):
    report = recompute_lights(app, NOW)
    assert report.changed == 0


def test_the_evaluation_jobs_find_nothing_owed_at_the_seeded_instant(app, volume, db_session):
    # Every reply awaiting a rating was asked for once, reminded once after [evaluation] reminder_after_hours, and
    # no window has run out: the jobs have nothing to do, so nobody is asked, reminded or closed twice.
    reminder = dt.timedelta(hours=app.config["EVALUATION"]["reminder_after_hours"])
    awaiting = [p for p in volume if p.state == PetitionState.AWAITING_EVALUATION]
    assert awaiting
    for p in awaiting:
        assert p.reply_delivered_at is not None and p.evaluation_requested_at == p.reply_delivered_at
        assert (p.evaluation_reminded_at is not None) == (p.reply_delivered_at + reminder < NOW)
    assert request_evaluations(app, NOW) == 0
    assert remind_evaluations(app, NOW) == 0
    assert close_unrated_evaluations(app, NOW) == 0


def test_the_workflow_carries_generated_petitions_on(volume, db_session):
    def first(state: PetitionState, **where: Any) -> Petition:
        return next(
            p for p in volume if p.state == state and all(getattr(p, k) == v for k, v in where.items())
        )

    handling = first(PetitionState.HANDLING, via_city=False)
    handler = make_user(db_session, Role.HANDLER, unit=handling.current_unit)
    perform(
        db_session,
        handling,
        "submit_reply",
        handler,
        NOW,
        petitioner_info="张先生",
        policy_basis="《物业管理条例》",
        result="已处理",
        responsible_person="李科长",
        contact_phone="0532-88888888",
    )
    assert handling.state == PetitionState.UNIT_REVIEW

    second = first(PetitionState.PENDING_DISPATCH, handling_round=2)
    dispatcher = make_user(db_session, Role.DISPATCHER, district_code=second.district_code)
    department = db_session.scalars(
        select(Unit).where(
            Unit.district_code == second.district_code, Unit.level == UnitLevel.DISTRICT_DEPARTMENT
        )
    ).first()
    perform(db_session, second, "dispatch", dispatcher, NOW, unit_id=department.id)
    assert second.state == PetitionState.ASSIGNED and second.accepted_at == NOW

    awaiting = next(
        p for p in volume if p.state == PetitionState.AWAITING_EVALUATION and p.citizen is not None
    )
    perform(
        db_session,
        awaiting,
        "evaluate",
        awaiting.citizen,
        NOW,
        satisfaction="satisfied",
        resolution="resolved",
    )
    assert awaiting.state == PetitionState.CLOSED
    db_session.commit()


def test_a_generated_duplicate_gets_its_masters_reply_from_the_workflow_as_generated_ones_did(
    volume, db_session
):
    # A waiting duplicate of a petition in 单位审核 (a coverage pair), and a new one linked to it now for real.
    waiting = next(
        p
        for p in volume
        if p.state == PetitionState.LINKED
        and p.duplicate_of.state == PetitionState.UNIT_REVIEW
        and not p.duplicate_of.via_city
    )
    master = waiting.duplicate_of
    generated_link = db_session.scalars(
        select(PetitionEvent).where(PetitionEvent.petition_id == waiting.id, PetitionEvent.action == "link")
    ).one()
    dispatcher = make_user(db_session, Role.DISPATCHER, district_code=master.district_code)
    real = submit_petition(
        db_session, district_code=master.district_code, kind=master.kind, content=waiting.content, now=NOW
    )
    event = perform(
        db_session, real, "link", dispatcher, NOW, target=master.number, note="同一问题，合并办理"
    )
    assert event.data == generated_link.data
    assert (event.from_state, event.to_state) == (generated_link.from_state, generated_link.to_state)
    columns = ("state", "duplicate_of_id", "accepted_at", "time_limit_days", "deadline", "light", "level")
    assert [getattr(real, c) for c in columns] == [getattr(waiting, c) for c in columns]
    assert real.current_unit_id == waiting.current_unit_id

    # The master's reply, approved and sent through the workflow, reaches both as the generated copies were made.
    reviewer = make_user(db_session, Role.UNIT_REVIEWER, unit=master.current_unit)
    perform(db_session, master, "approve_reply", reviewer, NOW)
    sent = perform(db_session, master, "send_reply", dispatcher, NOW + dt.timedelta(minutes=5))
    source = db_session.get(Reply, sent.data["reply_id"])
    replied = next(
        p for p in volume if p.duplicate_of_id is not None and p.state == PetitionState.AWAITING_EVALUATION
    )
    generated_copy = db_session.scalars(
        select(PetitionEvent).where(
            PetitionEvent.petition_id == replied.id, PetitionEvent.action == "linked_reply"
        )
    ).one()
    generated_reply = db_session.get(Reply, generated_copy.data["reply_id"])
    generated_source = db_session.get(Reply, generated_reply.linked_from_id)
    for duplicate in (waiting, real):
        assert duplicate.state == PetitionState.AWAITING_EVALUATION and duplicate.duplicate_of_id == master.id
        (copy,) = db_session.scalars(select(Reply).where(Reply.petition_id == duplicate.id))
        assert copy.linked_from_id == source.id and copy_of(copy) == copy_of(source)
        assert [copy.petitioner_info, copy.review_note, copy.deadline, copy.on_time] == [
            generated_reply.petitioner_info,
            generated_reply.review_note,
            generated_reply.deadline,
            generated_reply.on_time,
        ]
        row = db_session.scalars(
            select(PetitionEvent).where(
                PetitionEvent.petition_id == duplicate.id, PetitionEvent.action == "linked_reply"
            )
        ).one()
        assert row.data == {"reply_id": copy.id, "linked_from": source.id, "master_id": master.id}
        assert row.data.keys() == generated_copy.data.keys()
        assert [row.actor_label, row.actor_user_id, row.unit_id, row.note] == [
            generated_copy.actor_label,
            generated_copy.actor_user_id,
            generated_copy.unit_id,
            generated_copy.note,
        ]
    assert copy_of(generated_reply) == copy_of(generated_source)
    db_session.commit()


def test_the_same_seed_and_instant_give_the_same_rows(app, db_session):
    def snapshot() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        petitions = db_session.execute(
            select(
                Petition.id,
                Petition.number,
                Petition.state,
                Petition.content,
                Petition.deadline,
                Petition.light,
                Petition.citizen_id,
            ).order_by(Petition.id)
        ).all()
        events = db_session.execute(
            select(
                PetitionEvent.petition_id, PetitionEvent.action, PetitionEvent.data, PetitionEvent.created_at
            ).order_by(PetitionEvent.id)
        ).all()
        db_session.rollback()
        return [tuple(row) for row in petitions], [tuple(row) for row in events]

    assert seed(app, "--petitions", "150", "--seed", "11").exit_code == 0
    first = snapshot()
    empty(app)
    assert seed(app, "--petitions", "150", "--seed", "11").exit_code == 0
    assert snapshot() == first
    empty(app)
    assert seed(app, "--petitions", "150", "--seed", "12").exit_code == 0
    assert snapshot()[0] != first[0]


def test_it_refuses_a_database_with_real_petitions_unless_forced(app, db_session):
    assert seed(app, "--petitions", "20").exit_code == 0
    real = submit_petition(
        db_session, district_code="shinan", kind=PetitionKind.LIVELIHOOD, content="楼道灯坏了", now=NOW
    )
    db_session.commit()
    refused = seed(app, "--petitions", "20")
    assert refused.exit_code != 0
    assert (
        "1 petition(s) that seed-volume did not generate" in refused.output and real.number in refused.output
    )
    assert "--force" in refused.output
    assert db_session.scalar(select(func.count(Petition.id))) == 21
    forced = seed(app, "--petitions", "30", "--force")
    assert forced.exit_code == 0, forced.output
    petitions = generated(db_session)
    assert len(petitions) == 51 and len({p.number for p in petitions}) == 51
    assert db_session.get(Petition, real.id).state == PetitionState.PENDING_DISPATCH


def test_a_second_run_adds_to_generated_volume_in_small_chunks(app, db_session):
    assert seed(app, "--petitions", "40", "--seed", "1").exit_code == 0
    result = seed(app, "--petitions", "260", "--seed", "1", "--chunk-size", "100")
    assert result.exit_code == 0, result.output
    petitions = generated(db_session)
    assert len(petitions) == 300 and len({p.number for p in petitions}) == 300
    assert len({c.openid for c in db_session.scalars(select(Citizen))}) == db_session.scalar(
        select(func.count(Citizen.id))
    )
    second = [p for p in petitions if p.id > petitions[39].id]
    assert [p.created_at for p in second] == sorted(p.created_at for p in second)


def test_bad_options_are_refused(app):
    assert seed(app, "--petitions", "0").exit_code == 2
    result = app.test_cli_runner().invoke(
        args=["seed-volume", "--petitions", "5", "--now", "2026-11-27 10:00"]
    )
    assert result.exit_code == 2 and "UTC offset" in result.output


def test_the_column_lists_cover_the_models():
    check_columns()
