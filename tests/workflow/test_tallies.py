"""The dashboard's daily tallies (`workflow.tallies`): past days from the tallies plus a live count of the rest must
give exactly what the live queries (`workflow.rates.rates_by`, `unrated_count`, `classifier.stats.acceptance_stats`)
give, after a rebuild and after each refresh, on SQLite and PostgreSQL — with second rounds superseding ratings of
earlier days and months, petitions closed unrated, and instants on either side of midnight in Shanghai (16:00 UTC).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, func, insert, select, update
from sqlalchemy.orm import Session

from classifier.stats import acceptance_stats
from models import AcceptanceTally, Evaluation, Petition, RateTally, Reply, Unit, VolumeTally
from models.enums import PetitionKind, PetitionState, ReplyState, Resolution, Satisfaction
from tests.workflow.test_rates_sql import DEC_1, GROUP_BYS, NOV_1, SPAN_START, make_random_petitions
from workflow.rates import ALL, rates_by, unrated_count
from workflow.tallies import (
    local_midnight,
    period_acceptance,
    period_rates,
    period_volumes,
    rebuild,
    refresh_tallies,
    refreshed_at,
    split_period,
)
from workflow.volumes import volumes_by

UTC = dt.UTC
VOLUME_BYS = (None, "district", "kind", "dept", "month")
# 11:00 in Shanghai on Friday 20 November 2026: the random set has ratings and replies on both sides of it.
T0 = dt.datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


def periods(now: dt.datetime) -> list[tuple[dt.datetime | None, dt.datetime | None]]:
    """The dashboard's default period (this year up to today), whole months, a single day, a start that is not
    midnight, no end, and no limit at all."""
    today = (now + dt.timedelta(hours=8)).date()
    return [
        (local_midnight(dt.date(today.year, 1, 1)), local_midnight(today + dt.timedelta(days=1))),
        (NOV_1, DEC_1),
        (local_midnight(dt.date(2026, 10, 1)), local_midnight(dt.date(2026, 10, 2))),
        (SPAN_START + dt.timedelta(hours=5, minutes=13), DEC_1),
        (NOV_1, None),
        (None, None),
    ]


def assert_tallies_match(session: Session, now: dt.datetime, districts: Iterable[str | None]) -> int:
    """Every grouping, district and period as the live queries count it; how many periods used the tallies."""
    session.commit()  # a fresh snapshot: the jobs wrote in sessions of their own
    refreshed = refreshed_at(session)
    tallied = 0
    for district_code in districts:
        for start, end in periods(now):
            where = f"district={district_code} start={start} end={end} refreshed={refreshed}"
            got = period_rates(
                session, GROUP_BYS, district_code=district_code, start=start, end=end, refreshed=refreshed
            )
            assert got.rates == rates_by(
                session, GROUP_BYS, district_code=district_code, start=start, end=end
            ), where
            assert got.unrated == unrated_count(session, district_code=district_code, start=start, end=end), (
                where
            )
            assert period_volumes(
                session, VOLUME_BYS, district_code=district_code, start=start, end=end, refreshed=refreshed
            ) == volumes_by(session, VOLUME_BYS, district_code=district_code, start=start, end=end), where
            assert period_acceptance(session, district_code, start, refreshed) == acceptance_stats(
                session, district_code, start
            ), where
            tallied += split_period(start, end, refreshed).first_day is not None
    return tallied


def overall_rated(
    session: Session, start: dt.datetime, end: dt.datetime, refreshed: dt.datetime | None
) -> int:
    return (
        period_rates(session, [None], start=start, end=end, refreshed=refreshed)
        .rates[None]
        .resolution[ALL]
        .denominator
    )


@pytest.mark.parametrize(
    "now",
    [T0, DEC_1, DEC_1 - dt.timedelta(microseconds=1)],
    ids=["friday-morning", "midnight-in-shanghai", "just-before-midnight"],
)
def test_after_a_rebuild_the_tallies_and_the_live_rest_give_the_live_figures(
    app: Flask, db_session: Session, now: dt.datetime
):
    make_random_petitions(db_session, 400, seed=11)
    report = rebuild(app, now)
    assert report.days > 60
    db_session.commit()
    assert db_session.scalar(select(func.count()).select_from(RateTally)) > 100
    assert db_session.scalar(select(func.count()).select_from(AcceptanceTally)) > 50
    # Whole months rolled up, for the long periods.
    assert db_session.scalar(select(func.count()).where(RateTally.whole_month)) > 20
    assert db_session.scalar(select(func.count()).where(AcceptanceTally.whole_month)) > 10
    assert db_session.scalar(select(func.count()).where(VolumeTally.whole_month)) > 10
    # No tally of a day after today: today and what follows are counted live.
    assert db_session.scalar(select(func.max(RateTally.day))) <= (now + dt.timedelta(hours=8)).date()
    assert assert_tallies_match(db_session, now, (None, "laoshan")) >= 8


def test_a_later_rating_unrated_closing_and_reply_are_in_the_tallies_after_the_next_refresh(
    app: Flask, db_session: Session
):
    make_random_petitions(db_session, 300, seed=5)
    rebuild(app, T0)
    s = db_session
    s.commit()
    # A petition rated once, on an earlier day of another month (October), now rated again in its second round.
    earlier = s.scalars(
        select(Evaluation)
        .where(Evaluation.created_at < NOV_1 - dt.timedelta(days=3), Evaluation.created_at >= SPAN_START)
        .order_by(Evaluation.id)
    ).all()
    single = next(
        e
        for e in earlier
        if s.scalar(select(func.count()).where(Evaluation.petition_id == e.petition_id)) == 1
        and s.get(Petition, e.petition_id).state != PetitionState.UNRATED
    )
    later = T0 + dt.timedelta(days=1, hours=2)  # Saturday 21 November, 13:00 in Shanghai
    year = (local_midnight(dt.date(2026, 1, 1)), local_midnight(dt.date(2026, 11, 22)))
    refreshed = refreshed_at(s)
    before = overall_rated(s, *year, refreshed)
    assert before == overall_rated(s, *year, None)
    s.add(
        Evaluation(
            petition_id=single.petition_id,
            handling_round=single.handling_round + 1,
            unit_id=single.unit_id,
            satisfaction=Satisfaction.SATISFIED,
            resolution=Resolution.RESOLVED,
            created_at=later,
        )
    )
    # Written as bulk statements that leave `updated_at` alone, so each change is found by its own instant: the
    # petition went into its next round, was rated again, another was closed unrated and a reply sent.
    s.execute(
        update(Petition)
        .where(Petition.id == single.petition_id)
        .values(
            handling_round=max(s.get(Petition, single.petition_id).handling_round, single.handling_round + 1),
            updated_at=Petition.updated_at,
        )
    )
    closing = s.scalars(
        select(Petition.id).where(Petition.closed_at.is_(None), Petition.id != single.petition_id).limit(1)
    ).one()
    s.execute(
        update(Petition)
        .where(Petition.id == closing)
        .values(state=PetitionState.UNRATED, closed_at=later, updated_at=Petition.updated_at)
    )
    waiting = s.scalars(select(Reply.id).where(Reply.state != ReplyState.SENT).limit(1)).one()
    # Sent on the day of the last refresh, after it: that day is tallied again once it is past.
    s.execute(
        update(Reply)
        .where(Reply.id == waiting)
        .values(state=ReplyState.SENT, sent_at=T0 + dt.timedelta(hours=1), on_time=True)
    )
    s.commit()
    # Until the next refresh the superseded rating is still in its day's tally: stale by one, and only that.
    assert overall_rated(s, *year, refreshed) == overall_rated(s, *year, None) + 1

    report = refresh_tallies(app, later + dt.timedelta(minutes=5))
    expected_day = (single.created_at + dt.timedelta(hours=8)).date()
    assert report.days >= 3 and not report.rebuilt
    s.commit()
    assert refreshed_at(s) == later + dt.timedelta(minutes=5)
    assert s.scalar(select(func.count()).where(RateTally.day == expected_day)) > 0
    assert overall_rated(s, *year, refreshed_at(s)) == overall_rated(s, *year, None) == before
    assert assert_tallies_match(s, later + dt.timedelta(minutes=5), (None, "laoshan", "huangdao")) >= 8

    # Nothing changed since: the next refresh finds only the days of what changed within the margin.
    again = refresh_tallies(app, later + dt.timedelta(hours=1))
    assert again.days <= report.days
    assert assert_tallies_match(s, later + dt.timedelta(hours=1), (None,)) >= 4


def test_before_the_first_refresh_everything_is_counted_live(app: Flask, db_session: Session):
    make_random_petitions(db_session, 150, seed=2)
    # Rows nobody should read: there is no watermark yet.
    db_session.execute(
        insert(RateTally).values(
            day=dt.date(2026, 11, 2),
            district_code="shinan",
            unit_id=None,
            kind=PetitionKind.LIVELIHOOD,
            **dict.fromkeys(("rated", "resolved", "satisfied", "sent", "on_time", "unrated"), 1000),
        )
    )
    db_session.commit()
    assert refreshed_at(db_session) is None
    assert split_period(NOV_1, DEC_1, None).first_day is None
    assert assert_tallies_match(db_session, T0, (None, "shinan")) == 0
    # The first run of the job builds everything.
    report = refresh_tallies(app, T0)
    assert report.rebuilt
    assert assert_tallies_match(db_session, T0, (None, "shinan")) > 0


@contextmanager
def statements(app: Flask) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    engine = app.extensions["qingsu.engine"]
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_a_refresh_takes_as_many_statements_for_50_changed_petitions_as_for_5(
    app: Flask, db_session: Session
):
    make_random_petitions(db_session, 0, seed=0)
    s = db_session
    unit = s.scalars(select(Unit)).first()
    created = dt.datetime(2026, 11, 2, 1, tzinfo=UTC)
    rated = dt.datetime(2026, 11, 9, 15, 59, 59, tzinfo=UTC)  # the last second of 9 November in Shanghai
    ids = []
    for i in range(55):
        p = Petition(number=f"SN20261102{i:04d}", district_code="shinan", kind=PetitionKind.LIVELIHOOD,
                     content="-", state=PetitionState.CLOSED, created_at=created, updated_at=created,
                     closed_at=rated, suggestion_accepted=i % 2 == 0)  # fmt: skip
        s.add(p)
        s.flush()
        ids.append(p.id)
        s.add(Evaluation(petition_id=p.id, handling_round=1, unit_id=unit.id, created_at=rated,
                         satisfaction=Satisfaction.SATISFIED, resolution=Resolution.RESOLVED))  # fmt: skip
    s.commit()
    rebuild(app, T0)

    def refresh_after_touching(touched: list[int], at: dt.datetime) -> int:
        s.execute(update(Petition).where(Petition.id.in_(touched)).values(updated_at=at))
        s.commit()
        with statements(app) as seen:
            report = refresh_tallies(app, at + dt.timedelta(minutes=1))
        assert report.days == 2  # the day they were created and the day they were rated
        return len(seen)

    few = refresh_after_touching(ids[:5], T0 + dt.timedelta(hours=1))
    many = refresh_after_touching(ids[5:], T0 + dt.timedelta(hours=2))
    assert few == many <= 20, (few, many)  # four of them for the volume tally
    assert assert_tallies_match(s, T0 + dt.timedelta(hours=2), (None,)) > 0


def test_the_rebuild_command(app: Flask, db_session: Session, runner: Any):
    make_random_petitions(db_session, 60, seed=4)
    refused = runner.invoke(args=["tallies", "rebuild", "--from", "2026-11-01"])
    assert refused.exit_code == 2 and "full rebuild" in refused.output
    db_session.commit()
    assert refreshed_at(db_session) is None

    result = runner.invoke(args=["tallies", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "tallies rebuilt:" in result.output and "days" in result.output
    db_session.commit()
    built = refreshed_at(db_session)
    assert built is not None
    rows = db_session.scalar(select(func.count()).select_from(RateTally))
    assert rows > 0

    again = runner.invoke(args=["tallies", "rebuild", "--from", "2026-11-01"])
    assert again.exit_code == 0, again.output
    db_session.commit()
    assert db_session.scalar(select(func.count()).select_from(RateTally)) == rows

    bad = runner.invoke(args=["tallies", "rebuild", "--from", "2026-13-01"])
    assert bad.exit_code == 2 and "2026-13-01" in bad.output
