"""The dashboard's rates: resolution, satisfaction and on-time, by district, unit, kind and month."""

from __future__ import annotations

import datetime as dt

from models.enums import PetitionKind
from tests.factories import MONDAY_10AM, make_petition
from workflow.engine import perform
from workflow.rates import Rate, on_time_rates, resolution_rates, satisfaction_rates

MON = MONDAY_10AM
REPLY = {
    "petitioner_info": "王先生",
    "policy_basis": "相关规定",
    "result": "已处理",
    "responsible_person": "赵强",
    "contact_phone": "13800138000",
}


def replied(world, when, kind=PetitionKind.DEVELOPMENT):
    s = world.session
    petition = make_petition(s, citizen=world.citizen, kind=kind, now=MON)
    perform(s, petition, "dispatch", world.dispatcher, MON, unit_id=world.urban.id, nature="complaint")
    perform(s, petition, "accept", world.urban_handler, MON)
    perform(s, petition, "submit_reply", world.urban_handler, when, **REPLY)
    perform(s, petition, "approve_reply", world.urban_reviewer, when)
    perform(s, petition, "send_reply", world.dispatcher, when)
    return petition


def rate(world, petition, when, satisfaction, resolution):
    perform(world.session, petition, "evaluate", world.citizen, when, satisfaction=satisfaction, resolution=resolution)


def test_rate_is_numerator_over_denominator_and_none_when_nothing_counted():
    assert Rate(9, 10).value == 0.9 and Rate(9, 10).percent() == "90.00%"
    assert Rate(0, 0).value is None and Rate(0, 0).percent() == "—"


def test_resolution_and_satisfaction_count_basically_as_yes_and_use_the_latest_rating(world):
    a = replied(world, MON)
    rate(world, a, MON, "basically_satisfied", "basically_resolved")
    b = replied(world, MON)
    rate(world, b, MON, "unsatisfied", "resolved")
    c = replied(world, MON)
    rate(world, c, MON, "satisfied", "unresolved")
    # c goes to second handling and is then rated well: only its latest rating counts.
    perform(world.session, c, "dispatch", world.dispatcher, MON, unit_id=world.urban.id)
    perform(world.session, c, "accept", world.urban_handler, MON)
    perform(world.session, c, "submit_reply", world.urban_handler, MON, **REPLY)
    perform(world.session, c, "approve_reply", world.urban_reviewer, MON)
    perform(world.session, c, "send_reply", world.dispatcher, MON)
    rate(world, c, MON, "satisfied", "resolved")
    s = world.session
    assert resolution_rates(s) == {"all": Rate(3, 3)}
    assert satisfaction_rates(s) == {"all": Rate(2, 3)}
    assert satisfaction_rates(s, "district") == {"shinan": Rate(2, 3)}
    assert satisfaction_rates(s, "unit") == {str(world.urban.id): Rate(2, 3)}
    assert satisfaction_rates(s, "kind") == {"development": Rate(2, 3)}
    assert satisfaction_rates(s, district_code="laoshan") == {}


def test_on_time_rate_compares_the_reply_with_the_deadline_in_force(world):
    # Development petitions accepted Monday 2026-11-23 are due by the end of Monday 2026-12-07.
    replied(world, dt.datetime(2026, 12, 7, 15, 0, tzinfo=dt.UTC))  # 23:00 in Qingdao: in time
    replied(world, dt.datetime(2026, 12, 7, 16, 30, tzinfo=dt.UTC))  # 00:30 on the 8th: late
    replied(world, dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.UTC))
    assert on_time_rates(world.session) == {"all": Rate(2, 3)}
    assert on_time_rates(world.session, "month") == {"2026-11": Rate(1, 1), "2026-12": Rate(1, 2)}
    start = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    assert on_time_rates(world.session, start=start) == {"all": Rate(1, 2)}
