"""Red / yellow / blue lights (红黄蓝灯): how much of a petition's working time is left.

Blue: in time. Yellow: at most `yellow_fraction_left` (config ``[lights] yellow_fraction_left``) of the working
time from acceptance to the deadline is left. Red: ``now > deadline``. Working time counts working days only,
24 hours each, so a weekend or holiday does not eat into a petition's time and does not change its light.
Closed petitions have no light: the workflow does not ask for one (see `petition_light`).
"""

from __future__ import annotations

import datetime as dt

from models.enums import Light, PetitionState
from models.petition import Petition
from workflow.calendar import WorkingCalendar, require_aware
from workflow.deadlines import is_overdue, working_time_left

# The states in which a petition's working time runs and its light means something: from intake until the reply
# reaches the citizen.
CLOCK_RUNNING: tuple[PetitionState, ...] = (
    PetitionState.PENDING_DISPATCH,
    PetitionState.AT_CITY,
    PetitionState.ASSIGNED,
    PetitionState.HANDLING,
    PetitionState.UNIT_REVIEW,
    PetitionState.CITY_REVIEW,
    PetitionState.PLATFORM_REVIEW,
)
def light_for(
    now: dt.datetime,
    accepted_at: dt.datetime,
    deadline: dt.datetime,
    calendar: WorkingCalendar,
    yellow_fraction_left: float,
) -> Light:
    """The light of a petition accepted at `accepted_at` and due at `deadline`, seen at `now`.

    Yellow when the working time left is at most `yellow_fraction_left` of the working time between acceptance
    and deadline (the threshold instant itself is yellow); red when `now` is after the deadline.

    :raises ValueError: if a datetime is naive, `deadline` is not after `accepted_at`, or the fraction is not
        within 0–1.
    """
    require_aware(now)
    if require_aware(deadline) <= require_aware(accepted_at):
        raise ValueError(f"deadline {deadline.isoformat()} is not after acceptance {accepted_at.isoformat()}")
    if not 0 <= yellow_fraction_left <= 1:
        raise ValueError(f"yellow_fraction_left must be within 0–1, got {yellow_fraction_left}")
    if is_overdue(now, deadline):
        return Light.RED
    total = calendar.working_time_between(accepted_at, deadline)
    if working_time_left(now, deadline, calendar) <= total * yellow_fraction_left:
        return Light.YELLOW
    return Light.BLUE


def petition_light(
    petition: Petition, now: dt.datetime, calendar: WorkingCalendar, yellow_fraction_left: float
) -> Light | None:
    """The light of `petition` at `now`, or None when no time limit runs: not accepted, no deadline, or closed.

    :raises ValueError: as `light_for`.
    """
    if petition.accepted_at is None or petition.deadline is None or petition.closed_at is not None:
        return None
    return light_for(now, petition.accepted_at, petition.deadline, calendar, yellow_fraction_left)
