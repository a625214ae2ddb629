"""Red / yellow / blue lights at named instants."""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

import pytest

from models.enums import Light
from models.petition import Petition
from workflow.calendar import WorkingCalendar
from workflow.deadlines import compute_deadline, extend_deadline
from workflow.lights import light_for, petition_light, yellow_from

SH = ZoneInfo("Asia/Shanghai")
US = dt.timedelta(microseconds=1)

# A 民生 simple complaint (2 working days) accepted Thursday noon, Shanghai time. The working days after it are
# Friday 27 and Monday 30 November 2026, so the deadline is 24:00 Monday: 12 h + 24 h + 24 h = 60 h of working time.
ACCEPTED_THU_2026_11_26_1200 = dt.datetime(2026, 11, 26, 12, tzinfo=SH)
DUE_END_OF_MON_2026_11_30 = dt.datetime(2026, 12, 1, tzinfo=SH).astimezone(dt.UTC)
FRI_2026_11_27_0900 = dt.datetime(2026, 11, 27, 9, tzinfo=SH)
SAT_2026_11_28_0800 = dt.datetime(2026, 11, 28, 8, tzinfo=SH)
SUN_2026_11_29_2359 = dt.datetime(2026, 11, 29, 23, 59, tzinfo=SH)
# 0.34 × 60 h = 20 h 24 min left: Monday 03:36.
MON_2026_11_30_0336 = dt.datetime(2026, 11, 30, 3, 36, tzinfo=SH)
# 0.5 × 60 h = 30 h left: Friday 18:00 (6 h of Friday + 24 h of Monday).
FRI_2026_11_27_1800 = dt.datetime(2026, 11, 27, 18, tzinfo=SH)
SAT_2026_12_05_1000 = dt.datetime(2026, 12, 5, 10, tzinfo=SH)


def light(now: dt.datetime, fraction: float = 0.34) -> Light:
    return light_for(
        now, ACCEPTED_THU_2026_11_26_1200, DUE_END_OF_MON_2026_11_30, WorkingCalendar(), fraction
    )


def test_the_scenario_deadline() -> None:
    assert (
        compute_deadline(ACCEPTED_THU_2026_11_26_1200, 2, WorkingCalendar()).due == DUE_END_OF_MON_2026_11_30
    )


@pytest.mark.parametrize(
    ("now", "fraction", "expected"),
    [
        (ACCEPTED_THU_2026_11_26_1200, 0.34, Light.BLUE),
        (FRI_2026_11_27_0900, 0.34, Light.BLUE),
        # The weekend uses up no working time: Saturday morning and Sunday midnight both have 24 h of 60 h left.
        (SAT_2026_11_28_0800, 0.34, Light.BLUE),
        (SUN_2026_11_29_2359, 0.34, Light.BLUE),
        # Yellow from the threshold instant on.
        (MON_2026_11_30_0336 - US, 0.34, Light.BLUE),
        (MON_2026_11_30_0336, 0.34, Light.YELLOW),
        (FRI_2026_11_27_1800 - US, 0.5, Light.BLUE),
        (FRI_2026_11_27_1800, 0.5, Light.YELLOW),
        (SAT_2026_11_28_0800, 0.5, Light.YELLOW),
        # The deadline instant itself is still in time; red right after it, and on the weekend after.
        (DUE_END_OF_MON_2026_11_30, 0.34, Light.YELLOW),
        (DUE_END_OF_MON_2026_11_30 + US, 0.34, Light.RED),
        (SAT_2026_12_05_1000, 0.34, Light.RED),
    ],
)
def test_light_at_named_instants(now: dt.datetime, fraction: float, expected: Light) -> None:
    """Rule: blue in time, yellow when at most the fraction of working time is left, red when now > deadline."""
    assert light(now, fraction) is expected


def test_configured_default_fraction_is_used(app) -> None:
    """Rule: `[lights] yellow_fraction_left` defaults to 0.34."""
    fraction = app.config["LIGHTS"]["yellow_fraction_left"]
    assert light(MON_2026_11_30_0336 - US, fraction) is Light.BLUE
    assert light(MON_2026_11_30_0336, fraction) is Light.YELLOW


@pytest.mark.parametrize(
    ("now", "accepted_at", "deadline", "fraction", "message"),
    [
        (
            dt.datetime(2026, 11, 27, 9),
            ACCEPTED_THU_2026_11_26_1200,
            DUE_END_OF_MON_2026_11_30,
            0.34,
            "naive",
        ),
        (FRI_2026_11_27_0900, dt.datetime(2026, 11, 26, 12), DUE_END_OF_MON_2026_11_30, 0.34, "naive"),
        (FRI_2026_11_27_0900, ACCEPTED_THU_2026_11_26_1200, dt.datetime(2026, 12, 1), 0.34, "naive"),
        (FRI_2026_11_27_0900, DUE_END_OF_MON_2026_11_30, ACCEPTED_THU_2026_11_26_1200, 0.34, "not after"),
        (FRI_2026_11_27_0900, ACCEPTED_THU_2026_11_26_1200, DUE_END_OF_MON_2026_11_30, 1.5, "within 0–1"),
    ],
)
def test_light_refuses_bad_input(
    now: dt.datetime, accepted_at: dt.datetime, deadline: dt.datetime, fraction: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        light_for(now, accepted_at, deadline, WorkingCalendar(), fraction)


@pytest.mark.parametrize(
    ("accepted_at", "deadline", "closed_at", "expected"),
    [
        (ACCEPTED_THU_2026_11_26_1200, DUE_END_OF_MON_2026_11_30, None, Light.YELLOW),
        (ACCEPTED_THU_2026_11_26_1200, DUE_END_OF_MON_2026_11_30, FRI_2026_11_27_0900, None),  # closed
        (None, None, None, None),  # not accepted yet (or rejected)
    ],
)
def test_petition_light(
    accepted_at: dt.datetime | None, deadline: dt.datetime | None, closed_at: dt.datetime | None, expected
) -> None:
    """Rule: closed petitions have no light; open accepted ones have the light of their deadline."""
    petition = Petition(accepted_at=accepted_at, deadline=deadline, closed_at=closed_at)
    assert petition_light(petition, MON_2026_11_30_0336, WorkingCalendar(), 0.34) is expected


# --- the stored threshold instant: yellow_from ----------------------------------------------------------------

FRI_2026_11_27_2400 = dt.datetime(2026, 11, 28, tzinfo=SH)


@pytest.mark.parametrize(
    ("fraction", "expected"),
    [
        (0.34, MON_2026_11_30_0336),
        (0.5, FRI_2026_11_27_1800),
        # 0.4 × 60 h = 24 h, exactly Monday: the weekend before it has 24 h left too, so yellow starts when Friday ends.
        (0.4, FRI_2026_11_27_2400),
        # Nothing left: only the deadline instant itself.
        (0.0, DUE_END_OF_MON_2026_11_30),
        # Everything left: yellow from acceptance on.
        (1.0, ACCEPTED_THU_2026_11_26_1200),
    ],
)
def test_yellow_from_is_the_first_yellow_instant(fraction: float, expected: dt.datetime) -> None:
    """Rule: `yellow_from` is the first instant `light_for` says yellow; one microsecond before it is blue."""
    at = yellow_from(ACCEPTED_THU_2026_11_26_1200, DUE_END_OF_MON_2026_11_30, WorkingCalendar(), fraction)
    assert at == expected and at.tzinfo == dt.UTC
    assert light(at, fraction) is Light.YELLOW
    assert light(at - US, fraction) is Light.BLUE


def _cases(count: int) -> list[tuple[dt.datetime, dt.datetime, float]]:
    """Acceptances spread over autumn 2026 (Mid-Autumn and National Day holidays, the make-up Sundays), with the
    deadlines the workflow computes, some extended, some arbitrary instants, and several thresholds."""
    rnd = random.Random(20261001)
    calendar = WorkingCalendar()
    cases = []
    for _ in range(count):
        accepted = dt.datetime(2026, 9, 15, tzinfo=SH) + dt.timedelta(
            seconds=rnd.randrange(45 * 86400), microseconds=rnd.randrange(10**6)
        )
        if rnd.random() < 0.7:
            deadline = compute_deadline(accepted, rnd.choice((1, 2, 5, 10, 20)), calendar).due
            if rnd.random() < 0.3:
                deadline = extend_deadline(deadline, rnd.randint(1, 5), calendar).due
        else:
            deadline = accepted + dt.timedelta(seconds=rnd.randrange(1, 20 * 86400), microseconds=rnd.randrange(10**6))
        cases.append((accepted, deadline, rnd.choice((0.0, 0.1, 0.34, 0.4, 0.5, 1.0, round(rnd.random(), 3)))))
    return cases


def test_yellow_from_agrees_with_light_for_across_weekends_and_holidays() -> None:
    """Rule: for every instant, light_for is red after the deadline, yellow from `yellow_from` to the deadline, and
    blue before — including the threshold instants themselves, a microsecond either side."""
    calendar = WorkingCalendar()
    rnd = random.Random(7)
    for accepted, deadline, fraction in _cases(600):
        at = yellow_from(accepted, deadline, calendar, fraction)
        instants = [at - US, at, at + US, deadline - US, deadline, deadline + US, accepted]
        instants += [accepted + (deadline - accepted) * rnd.uniform(-0.2, 1.3) for _ in range(10)]
        for now in instants:
            expected = Light.RED if now > deadline else Light.YELLOW if now >= at else Light.BLUE
            assert light_for(now, accepted, deadline, calendar, fraction) is expected, (accepted, deadline, now)


def test_yellow_from_refuses_what_light_for_refuses() -> None:
    with pytest.raises(ValueError, match="not after"):
        yellow_from(DUE_END_OF_MON_2026_11_30, ACCEPTED_THU_2026_11_26_1200, WorkingCalendar(), 0.34)
    with pytest.raises(ValueError, match="within 0–1"):
        yellow_from(ACCEPTED_THU_2026_11_26_1200, DUE_END_OF_MON_2026_11_30, WorkingCalendar(), -0.1)
