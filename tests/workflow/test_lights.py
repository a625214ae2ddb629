"""Red / yellow / blue lights at named instants."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from models.enums import Light
from models.petition import Petition
from workflow.calendar import WorkingCalendar
from workflow.deadlines import compute_deadline
from workflow.lights import light_for, petition_light

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
