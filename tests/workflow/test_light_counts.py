"""The dashboard's light counts from the stored `yellow_at` instants, pinned to `petition_light` (the definition):
trusted only when they were computed with the threshold and calendar in force, the rest counted from the calendar."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from models import JobState, Petition
from models.enums import Light
from tests.workflow.test_rates_sql import NOWS, make_random_petitions, old_light_counts
from workflow.lights import LIGHTS_BASIS, light_counts, lights_basis, lit_petitions, yellow_from

FRACTION = 0.34


def store_yellow_at(session: Session, fraction: float, moved: float, seed: int) -> int:
    """Compute `yellow_at` for the lit petitions as the lights job does, leaving a share `moved` NULL (deadlines
    moved since its last run), and record the basis; how many were computed."""
    rng = random.Random(seed)
    calendar_basis = lights_basis(_calendar(session), fraction)
    computed = 0
    for petition in session.scalars(select(Petition).where(*lit_petitions())):
        if rng.random() < moved:
            continue
        petition.yellow_at = yellow_from(
            petition.accepted_at, petition.deadline, _calendar(session), fraction
        )
        computed += 1
    session.add(JobState(name=LIGHTS_BASIS, value=calendar_basis, updated_at=NOWS[0]))
    session.commit()
    return computed


def _calendar(session: Session) -> Any:
    from workflow.calendar import load_calendar

    return load_calendar(session)


def test_counts_from_yellow_at_agree_with_the_definition(db_session: Session):
    make_random_petitions(db_session, 400, seed=21)
    assert store_yellow_at(db_session, FRACTION, moved=0.1, seed=1) > 100
    calendar = _calendar(db_session)
    seen: dict[Light, int] = dict.fromkeys(Light, 0)
    for district_code in (None, "shinan"):
        for now in NOWS:
            expected = old_light_counts(db_session, district_code, now, calendar, FRACTION)
            assert light_counts(db_session, district_code, now, calendar, FRACTION) == expected, (
                district_code,
                now,
            )
            # Another threshold than the stored instants were computed with: nothing stored is trusted.
            assert light_counts(db_session, district_code, now, calendar, 0.5) == old_light_counts(
                db_session, district_code, now, calendar, 0.5
            )
            for counts in expected.values():
                for light, n in counts.items():
                    seen[light] += n
    assert min(seen.values()) > 25, seen


def test_stored_instants_are_trusted_only_on_their_basis(db_session: Session):
    make_random_petitions(db_session, 200, seed=8)
    store_yellow_at(db_session, FRACTION, moved=0.0, seed=2)
    calendar, now = _calendar(db_session), NOWS[1]
    expected = old_light_counts(db_session, None, now, calendar, FRACTION)
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    engine = db_session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert light_counts(db_session, None, now, calendar, FRACTION) == expected
    finally:
        event.remove(engine, "before_cursor_execute", record)
    # Every instant stored on the settings in force: one statement, no calendar.
    assert len(statements) == 1, statements
    # Wrong instants under a stale basis (the threshold changed, the job has not run yet) are not read.
    db_session.execute(update(Petition).values(yellow_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC)))
    db_session.execute(update(JobState).where(JobState.name == LIGHTS_BASIS).values(value="0.5:stale"))
    db_session.commit()
    assert light_counts(db_session, None, now, calendar, FRACTION) == expected
