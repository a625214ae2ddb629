"""Changing the working-day calendar, and what follows: every running deadline moves with the days.

A platform manager changes the days in four ways — marks one day (`override_day`), removes a mark (`clear_override`),
confirms a year as shown (`confirm_year`), or imports the State Council's notice (`import_notice`, which also
confirms the year). Each of them then calls `recompute_deadlines`: every petition whose clock runs and whose
counting window — from the acceptance day to the deadline's day — holds a day whose status changed gets its
deadline counted again from acceptance, time limit and this round's approved extensions, on the new calendar; its
light is set from the new deadline, and a history row (``deadline_recomputed``) says who changed the calendar, why,
and the old and new deadline. A petition whose window holds no changed day cannot move and is left alone.

Like every workflow function these flush and never commit; the caller commits, so the days and the moved deadlines
are written together or not at all.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import ExtensionRequest, HolidayYear, Petition, PetitionEvent, User
from models.enums import RequestState
from workflow.actors import SYSTEM, actor_label
from workflow.calendar import (
    DAY,
    DEFAULT_TZ,
    WorkingCalendar,
    load_calendar,
    remove_override,
    set_override,
    statutory_holidays,
)
from workflow.deadlines import compute_deadline, deadline_text, extend_deadline
from workflow.holiday_notice import Notice
from workflow.lights import light_for, lit_petitions, set_deadline

RECOMPUTED = "deadline_recomputed"
RECOMPUTED_LABEL = "节假日调整，重算期限"
IMPORTED_NOTE = "导入国务院办公厅放假通知"
CONFIRMED_NOTE = "管理员确认"


@dataclass(frozen=True)
class MovedDeadline:
    """A running petition whose deadline a calendar change moved."""

    petition_id: int
    number: str
    old: dt.datetime
    new: dt.datetime


@dataclass(frozen=True)
class CalendarChange:
    """Who changes the calendar, when, and the settings the moved petitions' lights are set with."""

    user: User | None
    now: dt.datetime
    yellow_fraction_left: float
    tz: str = DEFAULT_TZ


def override_day(
    session: Session, change: CalendarChange, day: dt.date, is_working_day: bool, note: str
) -> list[MovedDeadline]:
    """Mark `day` as a working day or a day off (replacing an earlier mark), then move the deadlines it changes.

    :raises ValueError: if `note` is too long (nothing is written).
    """
    before = load_calendar(session, change.tz)
    set_override(session, day, is_working_day, note, _user_id(change))
    status = "上班" if is_working_day else "放假"
    return recompute_deadlines(session, change, before, f"{day.isoformat()}设为{status}{'：' + note if note else ''}")


def clear_override(session: Session, change: CalendarChange, day: dt.date) -> list[MovedDeadline]:
    """Remove `day`'s mark, so the official, statutory or weekend rule applies again; move the deadlines.

    :raises LookupError: if `day` has no mark.
    """
    before = load_calendar(session, change.tz)
    remove_override(session, day)
    return recompute_deadlines(session, change, before, f"删除{day.isoformat()}的调整")


def confirm_year(session: Session, change: CalendarChange, year: int) -> list[MovedDeadline]:
    """Confirm `year`'s days as the calendar shows them: the statutory holidays that no mark overrides become marks
    of their own (so nothing shown changes when the statutory fallback stops), and the year is known from now on.

    :raises ValueError: if the package already carries `year` (its official schedule needs no confirmation).
    """
    before = load_calendar(session, change.tz)
    if before.knows_year(year):
        raise ValueError(f"{year}年已有官方安排，无需确认")
    if year not in before.confirmed_years:
        for day, name in statutory_holidays(year).items():
            if day not in before.overrides:
                set_override(session, day, False, f"{name}（法定）", _user_id(change))
    _mark_confirmed(session, change, year, CONFIRMED_NOTE)
    return recompute_deadlines(session, change, before, f"确认{year}年节假日安排")


def import_notice(session: Session, change: CalendarChange, notice: Notice) -> list[MovedDeadline]:
    """Write every day of a parsed notice as a mark (replacing earlier marks of those days), confirm the notice's
    year, and move the deadlines the new days change. Importing the same notice twice changes nothing the second
    time.

    :raises ValueError: if the package already carries the notice's year.
    """
    before = load_calendar(session, change.tz)
    if before.knows_year(notice.year):
        raise ValueError(f"{notice.year}年已有官方安排，无需导入")
    for day, (working, note) in notice.days().items():
        set_override(session, day, working, note, _user_id(change))
    _mark_confirmed(session, change, notice.year, IMPORTED_NOTE)
    return recompute_deadlines(session, change, before, f"导入{notice.year}年放假通知")


def _user_id(change: CalendarChange) -> int | None:
    return change.user.id if change.user is not None else None


def _mark_confirmed(session: Session, change: CalendarChange, year: int, note: str) -> None:
    row = session.get(HolidayYear, year)
    if row is None:
        row = HolidayYear(year=year)
        session.add(row)
    row.note = note
    row.confirmed_by_id = _user_id(change)
    row.confirmed_at = change.now
    session.flush()


def changed_days(before: WorkingCalendar, after: WorkingCalendar, first: dt.date, last: dt.date) -> list[dt.date]:
    """The days from `first` to `last` (inclusive) that are working days in one calendar and not in the other."""
    days, day = [], first
    while day <= last:
        if before.is_working_day(day) != after.is_working_day(day):
            days.append(day)
        day += DAY
    return days


def recompute_deadlines(
    session: Session, change: CalendarChange, before: WorkingCalendar, reason: str
) -> list[MovedDeadline]:
    """Count again the deadline of every running petition whose window holds a day that `before` and the calendar
    now in the database disagree on; move the ones that change, set their light, and write their history row.

    A deadline is counted as the workflow counts it: `compute_deadline` from the acceptance and the time limit,
    then `extend_deadline` for each extension approved since that acceptance, in the order they were approved.
    """
    session.flush()
    after = load_calendar(session, change.tz)
    running = session.execute(
        select(Petition.id, Petition.accepted_at, Petition.deadline).where(
            *lit_petitions(), Petition.time_limit_days.is_not(None)
        )
    ).all()
    if not running:
        return []
    first = min(after.local_date(row.accepted_at) for row in running) + DAY
    last = max(after.local_date(row.deadline - dt.timedelta(microseconds=1)) for row in running)
    changed = changed_days(before, after, first, last) if first <= last else []
    if not changed:
        return []
    # A deadline can move only when a day it counted on — after acceptance, up to its last day — changed.
    affected = []
    for row in running:
        # The first changed day after the acceptance day, if it is not after the deadline's day.
        at = bisect_right(changed, after.local_date(row.accepted_at))
        if at < len(changed) and changed[at] <= after.local_date(row.deadline - dt.timedelta(microseconds=1)):
            affected.append(row.id)
    moved: list[MovedDeadline] = []
    for start in range(0, len(affected), 500):
        ids = affected[start : start + 500]
        extensions = _approved_extensions(session, ids)
        for petition in session.scalars(select(Petition).where(Petition.id.in_(ids)).order_by(Petition.id)):
            found = _moved(session, change, petition, extensions.get(petition.id, []), after, reason)
            if found is not None:
                moved.append(found)
    session.flush()
    return moved


def _approved_extensions(session: Session, ids: list[int]) -> dict[int, list[ExtensionRequest]]:
    rows = session.scalars(
        select(ExtensionRequest)
        .where(ExtensionRequest.petition_id.in_(ids), ExtensionRequest.state == RequestState.APPROVED)
        .order_by(ExtensionRequest.decided_at, ExtensionRequest.id)
    )
    by_petition: dict[int, list[ExtensionRequest]] = {}
    for row in rows:
        by_petition.setdefault(row.petition_id, []).append(row)
    return by_petition


def _moved(
    session: Session,
    change: CalendarChange,
    petition: Petition,
    extensions: list[ExtensionRequest],
    calendar: WorkingCalendar,
    reason: str,
) -> MovedDeadline | None:
    accepted_at, old = petition.accepted_at, petition.deadline
    assert accepted_at is not None and old is not None and petition.time_limit_days is not None
    due = compute_deadline(accepted_at, petition.time_limit_days, calendar).due
    for extension in extensions:
        if extension.decided_at is not None and extension.decided_at >= accepted_at:
            due = extend_deadline(due, extension.extra_working_days, calendar).due
    if due == old:
        return None
    set_deadline(petition, accepted_at=accepted_at, time_limit_days=petition.time_limit_days, deadline=due)
    petition.light = light_for(change.now, accepted_at, due, calendar, change.yellow_fraction_left)
    petition.updated_at = change.now
    actor = change.user if change.user is not None else SYSTEM
    session.add(
        PetitionEvent(
            petition_id=petition.id,
            action=RECOMPUTED,
            from_state=petition.state,
            to_state=petition.state,
            actor_user_id=change.user.id if change.user is not None else None,
            actor_label=actor_label(actor),
            note=(
                f"{reason}：答复期限由{deadline_text(old, change.tz, now=change.now)}"
                f"改为{deadline_text(due, change.tz, now=change.now)}"
            ),
            data={"reason": reason, "old_deadline": old.isoformat(), "deadline": due.isoformat()},
            created_at=change.now,
        )
    )
    return MovedDeadline(petition.id, petition.number, old, due)
