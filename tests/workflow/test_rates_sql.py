"""The dashboard's SQL (rates, lights, acceptance) pinned to the Python definitions it replaced.

The reference implementations below are the code the dashboard ran before its figures were counted by the
database: every row of the period loaded and aggregated in Python. They are kept here, unchanged, as the oracle: on
the demo petitions and on a random set with the awkward cases (second rounds, petitions never rated, ratings of an
earlier round, replies on either side of midnight in Shanghai at the end of a month, lights over weekends and the
National Day holiday, deadlines before acceptance), the SQL must give exactly what the oracle gives, on SQLite and on
PostgreSQL alike (the suite runs on both).
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from classifier.stats import acceptance_stats, suggested_department
from models import Evaluation, Petition, Reply, Unit
from models.enums import (
    DeptType,
    Light,
    PetitionKind,
    PetitionState,
    ReplyState,
    Resolution,
    Satisfaction,
    UnitLevel,
)
from qingsu.config import EXAMPLE_CONFIG, load_toml
from tests.conftest import make_test_config
from tests.factories import make_district
from workflow import hot_counts
from workflow.calendar import WorkingCalendar, load_calendar
from workflow.lights import CLOCK_RUNNING, light_counts, petition_light
from workflow.rates import (
    ALL,
    SHANGHAI,
    GroupBy,
    Rate,
    on_time_rates,
    rates_by,
    resolution_rates,
    satisfaction_rates,
)

UTC = dt.UTC
GROUP_BYS: tuple[GroupBy, ...] = (None, "district", "unit", "kind", "month")
# Midnight in Shanghai at the start of November and December 2026 (16:00 UTC the day before).
NOV_1 = dt.datetime(2026, 10, 31, 16, 0, tzinfo=UTC)
DEC_1 = dt.datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
PERIODS = ((None, None), (NOV_1, DEC_1), (NOV_1, None), (None, DEC_1))


# --- the oracle: the Python definitions as they were ---------------------------------------------------------------


def _aggregate(rows: Iterable[tuple[str, bool]]) -> dict[str, Rate]:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for key, hit in rows:
        counts[key][0] += int(bool(hit))
        counts[key][1] += 1
    return {key: Rate(hit, total) for key, (hit, total) in sorted(counts.items())}


def _key(group_by: GroupBy, district: str, unit_id: int | None, kind: str, at: dt.datetime) -> str:
    if group_by == "district":
        return district
    if group_by == "unit":
        return str(unit_id) if unit_id is not None else "none"
    if group_by == "kind":
        return kind
    if group_by == "month":
        return at.astimezone(SHANGHAI).strftime("%Y-%m")
    return ALL


def _latest_evaluations(
    district_code: str | None, start: dt.datetime | None, end: dt.datetime | None
) -> Select[tuple[Evaluation, Petition]]:
    latest = (
        select(Evaluation.petition_id, func.max(Evaluation.handling_round).label("round"))
        .group_by(Evaluation.petition_id)
        .subquery()
    )
    query = (
        select(Evaluation, Petition)
        .join(
            latest,
            (latest.c.petition_id == Evaluation.petition_id) & (latest.c.round == Evaluation.handling_round),
        )
        .join(Petition, Petition.id == Evaluation.petition_id)
    )
    if district_code:
        query = query.where(Petition.district_code == district_code)
    if start:
        query = query.where(Evaluation.created_at >= start)
    if end:
        query = query.where(Evaluation.created_at < end)
    return query


def old_evaluation_rates(
    session: Session, counts: Callable[[Evaluation], bool], group_by: GroupBy, district_code, start, end
) -> dict[str, Rate]:
    rows = session.execute(_latest_evaluations(district_code, start, end))
    return _aggregate(
        (_key(group_by, p.district_code, e.unit_id, p.kind.value, e.created_at), counts(e)) for e, p in rows
    )


def old_resolution_rates(session, group_by=None, *, district_code=None, start=None, end=None):
    return old_evaluation_rates(
        session, lambda e: e.resolution != Resolution.UNRESOLVED, group_by, district_code, start, end
    )


def old_satisfaction_rates(session, group_by=None, *, district_code=None, start=None, end=None):
    return old_evaluation_rates(
        session, lambda e: e.satisfaction != Satisfaction.UNSATISFIED, group_by, district_code, start, end
    )


def old_on_time_rates(session, group_by=None, *, district_code=None, start=None, end=None):
    query = (
        select(Reply, Petition)
        .join(Petition, Petition.id == Reply.petition_id)
        .where(Reply.state == ReplyState.SENT)
    )
    if district_code:
        query = query.where(Petition.district_code == district_code)
    if start:
        query = query.where(Reply.sent_at >= start)
    if end:
        query = query.where(Reply.sent_at < end)
    return _aggregate(
        (_key(group_by, p.district_code, r.unit_id, p.kind.value, r.sent_at or r.created_at), bool(r.on_time))
        for r, p in session.execute(query)
    )


def old_light_counts(
    session: Session, district_code: str | None, now: dt.datetime, calendar: WorkingCalendar, fraction: float
) -> dict[str, dict[Light, int]]:
    query = select(Petition).where(
        Petition.state.in_(CLOCK_RUNNING),
        Petition.accepted_at.is_not(None),
        Petition.deadline.is_not(None),
        Petition.closed_at.is_(None),
    )
    if district_code:
        query = query.where(Petition.district_code == district_code)
    counts: dict[str, dict[Light, int]] = {}
    for petition in session.scalars(query):
        try:
            light = petition_light(petition, now, calendar, fraction)
        except ValueError:
            continue
        if light is None:
            continue
        counts.setdefault(petition.district_code, dict.fromkeys(Light, 0))[light] += 1
    return counts


def old_acceptance_stats(session: Session, district_code=None, since=None) -> dict:
    query = select(Petition.suggestion, Petition.suggestion_accepted).where(
        Petition.suggestion_accepted.is_not(None)
    )
    if district_code is not None:
        query = query.where(Petition.district_code == district_code)
    if since is not None:
        query = query.where(Petition.created_at >= since)
    total = accepted = 0
    by_department: dict[str, dict[str, Any]] = {}
    for suggestion, kept in session.execute(query):
        total += 1
        accepted += int(bool(kept))
        group = by_department.setdefault(suggested_department(suggestion), {"total": 0, "accepted": 0})
        group["total"] += 1
        group["accepted"] += int(bool(kept))
    for group in by_department.values():
        group["rate"] = group["accepted"] / group["total"] if group["total"] else None
    return {
        "total": total,
        "accepted": accepted,
        "rate": accepted / total if total else None,
        "by_department": dict(sorted(by_department.items())),
    }


def old_hot_issues(session: Session, district_code, since) -> tuple[Counter[str], Counter[str]]:
    query = select(Petition.dept_type, Petition.suggestion).where(Petition.created_at >= since)
    if district_code:
        query = query.where(Petition.district_code == district_code)
    departments: Counter[str] = Counter()
    terms: Counter[str] = Counter()
    for dept_type, suggestion in session.execute(query):
        suggested = (suggestion or {}).get("departments") or []
        chosen = dept_type.value if dept_type else (suggested[0].get("type") if suggested else None)
        if chosen:
            departments[chosen] += 1
        terms.update(str(t) for t in (suggestion or {}).get("terms") or [])
    labels = {d.value: d.label for d in DeptType}
    return Counter({labels.get(k, k): n for k, n in departments.items()}), terms


# --- the comparisons -----------------------------------------------------------------------------------------------


def assert_rates_match(session: Session, districts: Iterable[str | None], periods=PERIODS) -> int:
    """Every rate, grouping, district and period as the oracle has it; the number of ratings compared."""
    compared = 0
    for district_code in districts:
        for start, end in periods:
            kwargs = {"district_code": district_code, "start": start, "end": end}
            together = rates_by(session, GROUP_BYS, **kwargs)
            for group_by in GROUP_BYS:
                expected = (
                    old_resolution_rates(session, group_by, **kwargs),
                    old_satisfaction_rates(session, group_by, **kwargs),
                    old_on_time_rates(session, group_by, **kwargs),
                )
                alone = (
                    resolution_rates(session, group_by, **kwargs),
                    satisfaction_rates(session, group_by, **kwargs),
                    on_time_rates(session, group_by, **kwargs),
                )
                rolled = together[group_by]
                where = f"group_by={group_by} {kwargs}"
                assert alone == expected, where
                assert (rolled.resolution, rolled.satisfaction, rolled.on_time) == expected, where
                compared += sum(r.denominator for r in expected[0].values())
    return compared


def assert_lights_match(session: Session, districts, nows, fractions) -> Counter[Light]:
    """Every light count as the oracle has it; how many of each light were compared."""
    calendar = load_calendar(session)
    lit: Counter[Light] = Counter()
    for district_code in districts:
        for now in nows:
            for fraction in fractions:
                expected = old_light_counts(session, district_code, now, calendar, fraction)
                assert light_counts(session, district_code, now, calendar, fraction) == expected, (
                    district_code,
                    now,
                    fraction,
                )
                for counts in expected.values():
                    lit.update(counts)
    return lit


# --- a random set with the edge cases ------------------------------------------------------------------------------

# Instants on either side of midnight in Shanghai at the turn of a month, and inside the month.
EDGES = (
    dt.datetime(2026, 10, 31, 15, 59, 59, 999999, tzinfo=UTC),
    NOV_1,
    dt.datetime(2026, 11, 30, 15, 59, 59, tzinfo=UTC),
    DEC_1,
    dt.datetime(2026, 12, 31, 16, 0, tzinfo=UTC),
    dt.datetime(2026, 12, 31, 15, 59, 59, 500000, tzinfo=UTC),
)
SPAN_START = dt.datetime(2026, 9, 15, tzinfo=UTC)
SPAN = dt.timedelta(days=120)
# National Day week (a holiday from 1 to 8 October 2026, with make-up working days), a plain Monday, Shanghai's
# midnight at the turn of the year, and a weekend.
NOWS = (
    dt.datetime(2026, 10, 5, 4, 0, tzinfo=UTC),
    dt.datetime(2026, 11, 23, 2, 0, tzinfo=UTC),
    dt.datetime(2026, 12, 31, 16, 0, tzinfo=UTC),
    dt.datetime(2026, 11, 28, 9, 30, tzinfo=UTC),
)


def _instant(rng: random.Random) -> dt.datetime:
    if rng.random() < 0.25:
        return rng.choice(EDGES)
    return SPAN_START + dt.timedelta(
        seconds=rng.randrange(int(SPAN.total_seconds())), microseconds=rng.randrange(10**6)
    )


def make_random_petitions(session: Session, n: int, seed: int) -> None:
    """`n` petitions in three districts as the workflow could leave them, with replies and ratings (written
    directly: the oracle and the SQL only read them)."""
    rng = random.Random(seed)
    districts = ("shinan", "laoshan", "huangdao")
    units: list[Unit] = []
    for code in districts:
        make_district(session, code)
        for dept_type in (DeptType.URBAN_MGMT, DeptType.HOUSING):
            units.append(Unit(name=f"{code}-{dept_type.value}", level=UnitLevel.DISTRICT_DEPARTMENT,
                              district_code=code, dept_type=dept_type))  # fmt: skip
    units.append(Unit(name="市住建局", level=UnitLevel.CITY_DEPARTMENT, dept_type=DeptType.HOUSING))
    session.add_all(units)
    session.flush()
    unit_ids = [u.id for u in units]
    terms = ("烧烤", "油烟", "噪音", "物业", "停车", "暖气")
    for i in range(n):
        created = _instant(rng)
        state = rng.choice(list(PetitionState))
        running = state in CLOCK_RUNNING
        accepted = created + dt.timedelta(hours=rng.randrange(0, 48)) if rng.random() < 0.9 else None
        deadline = None
        if accepted is not None and rng.random() < 0.95:
            if rng.random() < 0.05:
                deadline = accepted - dt.timedelta(hours=rng.randrange(0, 5))  # inconsistent: no light
            elif rng.random() < 0.6:
                # As the workflow sets them: midnight in Shanghai some days on.
                local = (accepted.astimezone(SHANGHAI) + dt.timedelta(days=rng.randrange(1, 30))).date()
                deadline = dt.datetime.combine(local, dt.time(), tzinfo=SHANGHAI).astimezone(UTC)
            else:
                deadline = accepted + dt.timedelta(seconds=rng.randrange(3600, 40 * 86400))
        suggestion = None
        if rng.random() < 0.8:
            suggestion = {
                "departments": [{"type": rng.choice(list(DeptType)).value, "score": 0.5}]
                if rng.random() < 0.9
                else [],
                "terms": rng.sample(terms, rng.randrange(0, 4)),
            }
        petition = Petition(
            number=f"SN2026{i:08d}",
            district_code=rng.choice(districts),
            kind=rng.choice(list(PetitionKind)),
            content="随机诉求",
            state=state,
            created_at=created,
            updated_at=created,
            accepted_at=accepted,
            deadline=deadline,
            light=rng.choice([None, *Light]),
            closed_at=None
            if running and rng.random() < 0.9
            else created + dt.timedelta(days=rng.randrange(1, 20)),
            handling_round=rng.choice((1, 1, 1, 2, 3)),
            current_unit_id=rng.choice([None, *unit_ids]),
            dept_type=rng.choice([None, None, *DeptType]),
            suggestion=suggestion,
            suggestion_accepted=rng.choice((None, True, False)),
        )
        session.add(petition)
        session.flush()
        for round_ in range(1, petition.handling_round + 1):
            for _ in range(rng.choice((0, 1, 1, 2))):
                sent = rng.random() < 0.8
                at = _instant(rng)
                session.add(
                    Reply(
                        petition_id=petition.id,
                        handling_round=round_,
                        unit_id=rng.choice(unit_ids),
                        petitioner_info="-",
                        policy_basis="-",
                        result="-",
                        responsible_person="-",
                        contact_phone="0532-1",
                        state=ReplyState.SENT if sent else rng.choice(list(ReplyState)),
                        created_at=at,
                        sent_at=(at if rng.random() < 0.95 else None) if sent else None,
                        on_time=rng.choice((True, False, None)),
                    )
                )
            # Some rounds are never rated (a petition in second handling, a citizen who did not answer).
            if rng.random() < 0.7:
                session.add(
                    Evaluation(
                        petition_id=petition.id,
                        handling_round=round_,
                        unit_id=rng.choice([None, *unit_ids]),
                        satisfaction=rng.choice(list(Satisfaction)),
                        resolution=rng.choice(list(Resolution)),
                        created_at=_instant(rng),
                    )
                )
    session.commit()


def test_the_sql_gives_what_the_python_definitions_gave_on_a_random_set(db_session: Session):
    make_random_petitions(db_session, 400, seed=9)
    # Enough ratings of every kind that a wrong join or a lost edge would show.
    assert assert_rates_match(db_session, (None, "laoshan")) > 300
    lit = assert_lights_match(db_session, (None, "shinan"), NOWS, (0.0, 0.34, 0.5, 1.0))
    assert min(lit.values()) > 50, lit
    for district_code in (None, "laoshan"):
        for since in (None, NOV_1):
            assert acceptance_stats(db_session, district_code, since) == old_acceptance_stats(
                db_session, district_code, since
            )


def test_ratings_of_an_earlier_round_count_only_while_no_later_one_exists(db_session: Session):
    make_random_petitions(db_session, 0, seed=0)
    unit = db_session.scalars(select(Unit)).first()
    at = dt.datetime(2026, 11, 10, tzinfo=UTC)

    def petition(number: str, handling_round: int) -> Petition:
        p = Petition(number=number, district_code="shinan", kind=PetitionKind.LIVELIHOOD, content="-",
                     handling_round=handling_round, created_at=at)  # fmt: skip
        db_session.add(p)
        db_session.flush()
        return p

    def rating(p: Petition, round_: int, satisfaction: Satisfaction) -> None:
        db_session.add(Evaluation(petition_id=p.id, handling_round=round_, unit_id=unit.id, created_at=at,
                                  satisfaction=satisfaction, resolution=Resolution.RESOLVED))  # fmt: skip

    # In second handling, not yet rated again: the first rating is still the latest.
    waiting = petition("SN202611100001", 2)
    rating(waiting, 1, Satisfaction.UNSATISFIED)
    # Rated again: only the second rating counts.
    again = petition("SN202611100002", 2)
    rating(again, 1, Satisfaction.UNSATISFIED)
    rating(again, 2, Satisfaction.SATISFIED)
    db_session.commit()
    assert satisfaction_rates(db_session) == old_satisfaction_rates(db_session) == {ALL: Rate(1, 2)}


def test_a_reply_at_midnight_in_shanghai_belongs_to_the_new_month(db_session: Session):
    make_random_petitions(db_session, 0, seed=0)
    unit = db_session.scalars(select(Unit)).first()
    p = Petition(number="SN202611300001", district_code="shinan", kind=PetitionKind.LIVELIHOOD, content="-")
    db_session.add(p)
    db_session.flush()
    for at in (DEC_1 - dt.timedelta(microseconds=1), DEC_1):
        db_session.add(Reply(petition_id=p.id, unit_id=unit.id, petitioner_info="-", policy_basis="-", result="-",
                             responsible_person="-", contact_phone="-", state=ReplyState.SENT, created_at=at,
                             sent_at=at, on_time=True))  # fmt: skip
    db_session.commit()
    assert on_time_rates(db_session, "month") == {"2026-11": Rate(1, 1), "2026-12": Rate(1, 1)}
    assert on_time_rates(db_session, "month") == old_on_time_rates(db_session, "month")


def test_hot_issues_count_what_the_python_counted(db_session: Session, monkeypatch: pytest.MonkeyPatch):
    make_random_petitions(db_session, 200, seed=3)
    # Every group, not just the few shown, so the whole count is compared (ties are cut by name in SQL).
    monkeypatch.setattr(hot_counts, "SHOWN", {"department": 1000, "term": 1000})
    for district_code in (None, "huangdao"):
        for since in (SPAN_START, NOV_1):
            departments, terms = hot_counts.hot_issues(db_session, district_code, since)
            old_departments, old_terms = old_hot_issues(db_session, district_code, since)
            assert Counter(dict(departments)) == old_departments and Counter(dict(terms)) == old_terms
            assert [n for _, n in departments] == sorted((n for _, n in departments), reverse=True)
            assert sum(old_terms.values()) > 0


# --- the demo petitions --------------------------------------------------------------------------------------------


@pytest.fixture
def app_config(tmp_path: Path):
    with EXAMPLE_CONFIG.open("rb") as fp:
        accounts = load_toml(fp)["ACCOUNTS"]
    return make_test_config(
        tmp_path, tmp_path / "no-model" / "classifier.joblib", DEMO=True, ACCOUNTS=accounts
    )


def test_the_sql_gives_what_the_python_definitions_gave_on_the_demo_petitions(runner, db_session: Session):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    s = db_session
    created = sorted(s.scalars(select(Petition.created_at)))
    assert len(created) >= 20
    middle = created[len(created) // 2]
    periods = (*((None, None),), (middle, None), (None, middle), (created[0], middle + dt.timedelta(days=1)))
    assert assert_rates_match(s, (None, "shinan", "laoshan"), periods) > 0
    # The demo's running petitions seen from when they were written, and a few working days on.
    nows = [created[-1] + dt.timedelta(days=d) for d in (0, 2, 5, 12)]
    assert assert_lights_match(s, (None, "shinan"), nows, (0.34,)).total() > 0
