"""The set-wise lights job, pinned to `workflow.lights.light_for` (the definition) on real databases."""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from models import Petition, StaffAlert
from models.enums import Light, PetitionKind, PetitionState
from tests.statements import counting
from tests.workflow.conftest import World
from tests.workflow.test_lights import _cases
from workflow import jobs
from workflow.calendar import WorkingCalendar, load_calendar, set_override
from workflow.engine import perform
from workflow.lights import light_for, yellow_from

SH = ZoneInfo("Asia/Shanghai")
US = dt.timedelta(microseconds=1)
# Named instants around the 2026 Mid-Autumn and National Day holidays (1–8 October, make-up days on Sunday 27
# September and Saturday 10 October) and ordinary weekends.
NAMED = [
    dt.datetime(2026, 9, 25, 17, tzinfo=SH),  # Friday before the Mid-Autumn weekend
    dt.datetime(2026, 9, 27, 10, tzinfo=SH),  # Sunday, a make-up working day
    dt.datetime(2026, 9, 30, 23, 59, 59, tzinfo=SH),  # the eve of National Day
    dt.datetime(2026, 10, 1, 0, tzinfo=SH),  # the holiday starts
    dt.datetime(2026, 10, 4, 12, tzinfo=SH),  # inside the holiday
    dt.datetime(2026, 10, 9, 0, tzinfo=SH),  # the first working day after it
    dt.datetime(2026, 10, 10, 15, tzinfo=SH),  # Saturday, a make-up working day
    dt.datetime(2026, 10, 17, 9, tzinfo=SH),  # an ordinary Saturday
    dt.datetime(2026, 10, 19, 0, tzinfo=SH),  # the Monday after it
    dt.datetime(2026, 11, 12, 8, tzinfo=SH),  # well after most deadlines
]


def running_petitions(world: World, cases: list[tuple[dt.datetime, dt.datetime, float]]) -> list[Petition]:
    """Petitions handled by the urban management bureau with these acceptances and deadlines (set directly, as a
    bulk import or an upgrade leaves them: no `yellow_at` yet)."""
    s = world.session
    petitions = []
    for accepted, deadline, _fraction in cases:
        p = Petition(
            number=f"SN{len(petitions):012d}",
            district_code="shinan",
            kind=PetitionKind.LIVELIHOOD,
            content="路灯不亮",
            title="路灯不亮",
            state=PetitionState.HANDLING,
            level=world.urban.level,
            current_unit_id=world.urban.id,
            accepted_at=accepted,
            time_limit_days=2,
            deadline=deadline,
            created_at=accepted,
            updated_at=accepted,
        )
        s.add(p)
        petitions.append(p)
    s.commit()
    return petitions


def stored(world: World) -> dict[int, tuple[Light | None, dt.datetime, int]]:
    world.session.expire_all()
    rows = world.session.execute(select(Petition.id, Petition.light, Petition.updated_at, Petition.version))
    return {pid: (light, updated, version) for pid, light, updated, version in rows}


def assert_pinned(world: World, petitions: list[Petition], now: dt.datetime, fraction: float) -> None:
    calendar = load_calendar(world.session)
    lights = stored(world)
    for p in petitions:
        expected = light_for(now, p.accepted_at, p.deadline, calendar, fraction)
        assert lights[p.id][0] is expected, (p.accepted_at, p.deadline, now, fraction)


def test_the_set_wise_job_gives_light_for_over_many_petitions_and_instants(app, world: World):
    """Rule: after a run at `now`, every running petition's stored light is `light_for(now, …)` — before and after
    weekends and holidays, and exactly at each threshold and deadline, a microsecond either side; changing the
    threshold or the holiday calendar is taken into account at the next run."""
    fraction = app.config["LIGHTS"]["yellow_fraction_left"]
    cases = _cases(120)
    petitions = running_petitions(world, cases)
    before = stored(world)
    calendar = WorkingCalendar()
    sample = petitions[:: len(petitions) // 8]
    instants = list(NAMED)
    for p in sample:
        at = yellow_from(p.accepted_at, p.deadline, calendar, fraction)
        instants += [at - US, at, p.deadline, p.deadline + US]
    # Time also runs backwards here, so every colour is entered from every other one.
    random.Random(3).shuffle(instants)
    for now in instants:
        jobs.recompute_lights(app, now)
        assert_pinned(world, petitions, now, fraction)
    # The light is derived: neither updated_at (12345 polling) nor the version (optimistic lock) moved.
    after = stored(world)
    assert {pid: row[1:] for pid, row in after.items()} == {pid: row[1:] for pid, row in before.items()}

    # A new threshold: every stored yellow_at is recomputed at the next run.
    app.config["LIGHTS"]["yellow_fraction_left"] = 0.5
    for now in NAMED[:4]:
        report = jobs.recompute_lights(app, now)
        assert_pinned(world, petitions, now, 0.5)
    assert report.computed == 0  # once recomputed, not again

    # A manager declares a day off: the calendar changed, so the lights follow it.
    set_override(world.session, dt.date(2026, 10, 12), False, "临时调整", None)
    world.session.commit()
    now = dt.datetime(2026, 10, 12, 12, tzinfo=SH)
    assert jobs.recompute_lights(app, now).computed == len(petitions)
    assert_pinned(world, petitions, now, 0.5)


def test_a_petition_whose_deadline_is_not_after_its_acceptance_is_left_alone(app, world: World):
    accepted = dt.datetime(2026, 11, 23, 10, tzinfo=SH)
    broken, fine = running_petitions(
        world,
        [
            (accepted, accepted - dt.timedelta(hours=1), 0.34),
            (accepted, accepted + dt.timedelta(days=2), 0.34),
        ],
    )
    report = jobs.recompute_lights(app, accepted + dt.timedelta(days=3))
    assert (report.changed, report.red_alerts) == (1, 1)
    assert stored(world)[broken.id][0] is None and stored(world)[fine.id][0] is Light.RED


def test_a_moved_deadline_is_recomputed_and_reminded_again(app, world: World):
    """Rule: every deadline write resets yellow_at; the next run computes it and reminds once per new deadline."""
    accepted = dt.datetime(2026, 11, 23, 10, tzinfo=SH)  # Monday
    (petition,) = running_petitions(
        world, [(accepted, dt.datetime(2026, 11, 26, tzinfo=SH), 0.34)]
    )  # Wed 24:00
    wed_noon = dt.datetime(2026, 11, 25, 12, tzinfo=SH)
    assert jobs.recompute_lights(app, wed_noon).yellow_reminders == 1
    petition = world.session.get(Petition, petition.id)
    perform(
        world.session,
        petition,
        "request_extension",
        world.urban_handler,
        wed_noon,
        extra_working_days="1",
        reason="需现场复核",
    )
    perform(world.session, petition, "decide_extension", world.dispatcher, wed_noon, approve="true")
    world.session.commit()
    assert world.session.scalar(select(Petition.yellow_at).where(Petition.id == petition.id)) is None
    # Due Thursday 24:00 now (86 h of working time): still yellow on Thursday 03:00 with 21 h left, but a new
    # deadline is a new reminder.
    report = jobs.recompute_lights(app, dt.datetime(2026, 11, 26, 3, tzinfo=SH))
    assert (report.changed, report.computed, report.yellow_reminders) == (0, 1, 1)
    keys = world.session.scalars(select(StaffAlert.dedupe_key).order_by(StaffAlert.id)).all()
    assert len(keys) == 2 and keys[0] != keys[1]


def test_a_dispatchers_action_does_not_conflict_with_a_light_change(app, world: World):
    """Rule: the job's UPDATE bumps no version, so an action on a petition read before the run still goes through."""
    accepted = dt.datetime(2026, 11, 23, 10, tzinfo=SH)
    (petition,) = running_petitions(world, [(accepted, dt.datetime(2026, 11, 26, tzinfo=SH), 0.34)])
    petition = world.session.get(Petition, petition.id)
    version = petition.version
    assert jobs.recompute_lights(app, dt.datetime(2026, 11, 27, tzinfo=SH)).changed == 1
    perform(
        world.session,
        petition,
        "return",
        world.urban_handler,
        dt.datetime(2026, 11, 27, tzinfo=SH),
        note="不属于本单位职责",
    )
    world.session.commit()
    assert petition.version == version + 1 and petition.state == PetitionState.PENDING_DISPATCH




def test_statements_per_run_do_not_grow_with_the_petitions(app, world: World):
    """Rule: a run is a constant number of statements, first run (computing yellow_at, alerting) and steady state."""
    start = dt.datetime(2026, 11, 2, 9, tzinfo=SH)  # Monday
    jobs.recompute_lights(app, start)  # the first run ever records the basis

    def batch(count: int, week: int) -> tuple[int, int]:
        accepted = start + dt.timedelta(weeks=week)
        # Half due on Tuesday 24:00, half on Monday 24:00: on Tuesday noon half are yellow and half red.
        cases = [
            (accepted, dt.datetime(2026, 11, 4 + 7 * week - i % 2, tzinfo=SH), 0.34) for i in range(count)
        ]
        running_petitions_numbered(world, cases, offset=week * 1000)
        now = accepted + dt.timedelta(days=1, hours=3)
        with counting(app) as first:
            report = jobs.recompute_lights(app, now)
        assert (report.yellow_reminders, report.red_alerts) == (count // 2, count // 2)
        with counting(app) as steady:
            assert jobs.recompute_lights(app, now) == jobs.LightsReport()
        return len(first), len(steady)

    small = batch(6, 1)
    large = batch(80, 2)
    assert small == large
    assert small[1] <= 6


def running_petitions_numbered(world: World, cases, offset: int) -> None:  # type: ignore[no-untyped-def]
    s = world.session
    for i, (accepted, deadline, _f) in enumerate(cases):
        s.add(
            Petition(
                number=f"SN{offset + i:012d}",
                district_code="shinan",
                kind=PetitionKind.LIVELIHOOD,
                content="路灯不亮",
                title="路灯不亮",
                state=PetitionState.HANDLING,
                level=world.urban.level,
                current_unit_id=world.urban.id,
                accepted_at=accepted,
                deadline=deadline,
                created_at=accepted,
            )
        )
    s.commit()
    # The earlier batch is replied to meanwhile: its clock stopped, so it is no longer the job's business.
    s.execute(
        update(Petition)
        .where(Petition.number < f"SN{offset:012d}")
        .values(state=PetitionState.AWAITING_EVALUATION, light=None)
    )
    s.commit()
