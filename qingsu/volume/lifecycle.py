"""One generated petition's life, as the workflow would have recorded it, up to `now`.

`Lifecycle.run` walks a petition through the same transitions as `workflow.engine.TRANSITIONS` — submit, dispatch
(or reject, or send to the city platform and city dispatch), escalations and returns along the 民生 chain, accept,
extensions, the reply and its reviews, the unified reply, the citizen's rating or the close as 未评价 when the
evaluation window passes, second handling, performance assessment and accountability; for a linked duplicate the link
to its master instead of a handling, then the copy of the master's reply when that is sent (`workflow.links`) — with
the effects of `workflow.effects` on the petition's columns (deadline on first acceptance of a round, `via_city`, lead
and cooperating units, `closed_at`, the reply's `on_time`, the light cleared when the reply is sent, the clock
cleared and `duplicate_of_id` set by a link and cleared by an unsatisfied rating) and the audit trail rows the engine
writes (from/to state, actor, unit, note, data). Each action happens a realistic time after the one
before, staff actions in working hours; the first action later than `now` and everything after it never happens, so
the petition is left in whatever state it had reached, and its light is the one `workflow.lights.light_for` gives
at `now`.

Rows come out as tuples in the column order of `qingsu.volume.writer` (enums by name, as SQLAlchemy stores them;
instants through the writer's `ts`), appended to a `Sink`.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from models.enums import Channel, Complexity, DeptType, InadmissibleCode, Nature, PetitionKind, PetitionState
from qingsu.volume import texts
from qingsu.volume.clock import DAY_SECONDS, Clock
from qingsu.volume.world import Actor, DistrictWorld, UnitRef, World
from workflow.deadlines import time_limit
from workflow.effects import LINKED_PETITIONER_INFO
from workflow.extensions import DEFAULT_POLICY

# The system's action that closes a petition whose reply went unrated through the evaluation window (未评价), and
# the window's default length in days (``[evaluation] window_days`` where the configuration has it).
EXPIRE_EVALUATION = "expire_evaluation"
EVALUATION_WINDOW_DAYS = 7
# When the evaluation jobs remind a citizen who has not rated (``[evaluation] reminder_after_hours``).
EVALUATION_REMINDER_HOURS = 72

# States by the name SQLAlchemy stores.
PD, REJECTED, AT_CITY, ASSIGNED, HANDLING = "PENDING_DISPATCH", "REJECTED", "AT_CITY", "ASSIGNED", "HANDLING"
UNIT_REVIEW, CITY_REVIEW, PLATFORM_REVIEW = "UNIT_REVIEW", "CITY_REVIEW", "PLATFORM_REVIEW"
AWAITING, ASSESSMENT, CLOSED, UNRATED, ACCOUNTABILITY = (
    "AWAITING_EVALUATION",
    "ASSESSMENT",
    "CLOSED",
    "UNRATED",
    "ACCOUNTABILITY",
)
LINKED = "LINKED"
CLOCK_RUNNING = frozenset({PD, AT_CITY, ASSIGNED, HANDLING, UNIT_REVIEW, CITY_REVIEW, PLATFORM_REVIEW})
SYSTEM: Actor = (None, None, "系统", None)
# The value the workflow records for a state (an event's "linked_from"), by the name stored.
STATE_VALUES = {state.name: state.value for state in PetitionState}
JSON_BOOL = {True: "true", False: "false"}
CITIZEN_LABEL = "诉求人"

PASSED = (("SATISFIED", "satisfied"), ("BASICALLY_SATISFIED", "basically_satisfied"))
RESOLVED = (("RESOLVED", "resolved"), ("BASICALLY_RESOLVED", "basically_resolved"))
# (satisfaction, resolution) of a rating that sends the petition back, with cumulative weights.
FAILED = (
    (0.45, ("UNSATISFIED", "unsatisfied"), ("UNRESOLVED", "unresolved")),
    (0.70, ("BASICALLY_SATISFIED", "basically_satisfied"), ("UNRESOLVED", "unresolved")),
    (0.85, ("UNSATISFIED", "unsatisfied"), ("BASICALLY_RESOLVED", "basically_resolved")),
    (1.00, ("SATISFIED", "satisfied"), ("UNRESOLVED", "unresolved")),
)


class _Stop(Exception):
    """The next action would happen after `now`."""


@dataclass(frozen=True)
class Force:
    """Choices made for a petition instead of drawn (the coverage petitions that guarantee every state and light).

    `fail_rounds`: the first rounds whose rating fails; `not_completed`: the first assessments that find the duty
    not done (the next round goes back to the assessed unit); `plain`: no escalation, return or extension.
    """

    handling_factor: float | None = None
    rated: bool | None = None
    fail_rounds: int = 0
    not_completed: int = 0
    extension: bool = False
    plain: bool = True


@dataclass(slots=True)
class Spec:
    """What a petition is, before anything happens to it."""

    district: DistrictWorld
    kind: PetitionKind
    dept: DeptType | None
    nature: Nature
    complexity: Complexity
    channel: Channel
    content: str
    title: str
    location: str
    latitude: float
    longitude: float
    contact_name: str | None
    contact_phone: str | None
    # An existing generated citizen, or the row values of a new one (kind, name, phone, credit code, subscribed,
    # seconds before the petition they registered), or neither (no WeChat petitioner).
    citizen_id: int | None
    new_citizen: tuple[str, str, str, str | None, bool, int] | None
    reject: InadmissibleCode | None
    reject_note: str
    via_city: bool
    origin: UnitRef | None
    creator: Actor | None
    suggestion: str | None
    suggested: str | None
    # The corpus text the content frames (what a duplicate of this petition reports again); "" for 执法.
    corpus_text: str = ""


class Sink:
    """The rows of one chunk, table by table, in the writer's column order."""

    def __init__(self) -> None:
        self.citizens: list[tuple[Any, ...]] = []
        self.petitions: list[tuple[Any, ...]] = []
        self.events: list[tuple[Any, ...]] = []
        self.replies: list[tuple[Any, ...]] = []
        self.evaluations: list[tuple[Any, ...]] = []
        self.extensions: list[tuple[Any, ...]] = []
        self.assessments: list[tuple[Any, ...]] = []
        self.cooperating: list[tuple[Any, ...]] = []


@dataclass
class Outcome:
    """Where a petition ended at `now` (what the coverage search checks), and when it could be linked to (`spans`
    of its `Master`; None for a petition that may not be a master: rejected, 执法 or itself linked)."""

    state: str
    light: str | None
    handling_round: int
    times: list[tuple[str, int]]
    citizen_id: int | None
    spans: list[list[Any]] | None = None


@dataclass(slots=True)
class Master:
    """A generated petition a later one of its district may be linked to (`workflow.links`).

    `spans`: when it was a link target (`effects.LINK_TARGET_STATES`), each ``[start, end, reply, unit]``: from its
    submission (or a new round) until the round's reply was sent at `end` (None: not by `now`), with that reply's
    row (as `Lifecycle` builds it) and the unit that wrote it.
    """

    pid: int
    number: str
    created: int
    spec: Spec
    spans: list[list[Any]]

    def span_at(self, t: int) -> list[Any] | None:
        """The span in which a duplicate linked at `t` waits for this petition's reply, or None (not a target)."""
        for span in self.spans:
            if span[0] < t and (span[1] is None or t < span[1]):
                return span
        return None


def _exp(rng: random.Random, mean: float) -> float:
    return -mean * math.log(1.0 - rng.random())


class Lifecycle:
    """Runs petitions through the workflow up to `clock.now`. `ts` turns epoch seconds into the writer's instants;
    `take_id(table)` hands out primary keys."""

    def __init__(
        self,
        world: World,
        clock: Clock,
        ts: Callable[[int], Any],
        take_id: Callable[[str], int],
        window_days: int = EVALUATION_WINDOW_DAYS,
        reminder_hours: float = EVALUATION_REMINDER_HOURS,
    ):
        self.world = world
        self.window_days = window_days
        self.window = window_days * DAY_SECONDS
        self.reminder = int(reminder_hours * 3600)
        self.clock = clock
        self.ts = ts
        self.take_id = take_id
        self._limits: dict[tuple[PetitionKind, Nature, Complexity], int] = {}

    def limit(self, spec: Spec) -> int:
        key = (spec.kind, spec.nature, spec.complexity)
        cached = self._limits.get(key)
        if cached is None:
            cached = self._limits[key] = time_limit(*key)
        return cached

    def run(
        self,
        spec: Spec,
        pid: int,
        number: str,
        created: int,
        rng: random.Random,
        sink: Sink,
        force: Force | None,
        until: int | None = None,
        link_to: Master | None = None,
    ) -> Outcome:
        """Generate the petition `pid` submitted at `created`, append its rows to `sink` and say where it ended.

        Actions stop at `clock.now`, or at `until` when given (the coverage search looks at a whole life). With
        `link_to`, the platform links it to that master when it first decides on it, if the master is still a link
        target then (else it is dispatched as any other): it waits 已关联 for the master's reply, gets its copy
        (`linked_reply`) and lives on as a replied petition.
        """
        world, clock, ts = self.world, self.clock, self.ts
        now = clock.now if until is None else until
        d = spec.district
        kind = spec.kind
        dispatcher = d.dispatcher
        plain = force is not None and force.plain
        external_id = f"{MARKER}{pid}"

        events: list[tuple[Any, ...]] = []
        times: list[tuple[str, int]] = []
        replies: list[list[Any]] = []
        evaluations: list[tuple[Any, ...]] = []
        extensions: list[list[Any]] = []
        assessments: list[tuple[Any, ...]] = []

        citizen_id = spec.citizen_id
        if spec.new_citizen is not None:
            c_kind, c_name, c_phone, c_credit, subscribed, before = spec.new_citizen
            citizen_id = self.take_id("citizen")
            sink.citizens.append(
                (
                    citizen_id,
                    d.code,
                    f"{MARKER}{citizen_id:012d}",
                    c_kind,
                    c_name,
                    c_credit,
                    c_phone,
                    subscribed,
                    ts(created),
                    ts(created - before),
                )
            )
        citizen: Actor | None = (None, citizen_id, CITIZEN_LABEL, None) if citizen_id is not None else None

        # The petition's columns as the workflow changes them.
        p: dict[str, Any] = {
            "state": None,
            "unit": d.platform,
            "lead": None,
            "via_city": False,
            "accepted": None,
            "limit": None,
            "due": None,
            "round": 1,
            "closed": None,
            "suggestion_accepted": None,
            "coop": (),
            # The evaluation jobs' bookkeeping of the round's reply: reached the citizen (and was asked to rate it at
            # once), and when the citizen or the window's end answered it.
            "delivered": None,
            "answered": None,
            "duplicate_of": None,
            "linked": False,
        }
        # When this petition could be linked to (`Master.spans`).
        spans: list[list[Any]] = []

        # Every change to `p` follows its `emit`: an action later than `now` must change nothing.
        # `data` is the event's JSON, or a dict to serialise (the frequent events write their JSON directly).
        def emit(
            action: str, to: str, actor: Actor, t: int, data: dict[str, Any] | str, note: str = ""
        ) -> None:
            if t > now:
                raise _Stop
            events.append(
                (
                    pid,
                    action,
                    p["state"],
                    to,
                    actor[0],
                    actor[1],
                    actor[2],
                    actor[3],
                    note,
                    data if isinstance(data, str) else json.dumps(data),
                    ts(t),
                )
            )
            times.append((action, t))
            p["state"] = to

        def classify(t: int, data: dict[str, Any]) -> dict[str, Any]:
            """The dispatcher confirms the classification; the round's clock starts on its first acceptance.
            Returns the changes to make once the action has happened."""
            changes: dict[str, Any] = {}
            if spec.suggestion is not None and p["suggestion_accepted"] is None and spec.dept is not None:
                changes["suggestion_accepted"] = spec.suggested == spec.dept.value
                data["suggested_department"] = spec.suggested
            if p["accepted"] is None:
                limit = self.limit(spec)
                due, due_text, uncertain = clock.deadline(t, limit)
                changes.update(accepted=t, limit=limit, due=due)
                data["deadline"] = due_text
                if uncertain:
                    data["uncertain_years"] = list(uncertain)
            return changes

        def dispatch(t: int, unit: UnitRef, actor: Actor, action: str = "dispatch") -> None:
            data: dict[str, Any] = {}
            changes = classify(t, data)
            coop: tuple[UnitRef, ...] = ()
            if kind == PetitionKind.ENFORCEMENT and not unit.city:
                coop = self._cooperating(d, unit, rng)
            head = json.dumps(data)[1:-1] + ", " if data else ""
            cooperating = ", ".join(str(u.id) for u in coop)
            emit(
                action,
                ASSIGNED,
                actor,
                t,
                f'{{{head}"unit_id": {unit.id}, "unit_name": {unit.name_json}, "cooperating": [{cooperating}]}}',
            )
            p.update(changes)
            p["unit"] = unit
            if kind == PetitionKind.ENFORCEMENT and not unit.city:
                p["lead"], p["coop"] = unit, coop

        def back_to_platform() -> None:
            p["unit"] = d.platform

        def linked(t: int, actor: Actor, span: list[Any]) -> tuple[int, UnitRef]:
            """`link` at `t` by the platform deciding on it, and `linked_reply` when the master's reply is sent (as
            `workflow.effects` writes them); returns when the reply reached it and the unit that wrote it."""
            assert link_to is not None
            data = {
                "master_id": link_to.pid,
                "master_number": link_to.number,
                "linked_from": STATE_VALUES[p["state"]],
            }
            emit("link", LINKED, actor, t, data, texts.pick(rng, texts.LINK_NOTES))
            p["duplicate_of"], p["linked"] = link_to.pid, True
            p["accepted"] = p["limit"] = p["due"] = None
            sent, source, unit = span[1], span[2], span[3]
            if sent is None:
                raise _Stop
            copy_id = self.take_id("reply")
            emit(
                "linked_reply",
                AWAITING,
                SYSTEM,
                sent,
                f'{{"reply_id": {copy_id}, "linked_from": {source[0]}, "master_id": {link_to.pid}}}',
            )
            # The master's reply without its petitioner's details, sent with it; no deadline or on-time of its own.
            replies.append(
                [
                    copy_id,
                    pid,
                    p["round"],
                    source[3],
                    source[4],
                    LINKED_PETITIONER_INFO,
                    *source[6:10],
                    "SENT",
                    "",
                    sent,
                    sent,
                    None,
                    None,
                    source[0],
                ]
            )
            return sent, unit

        def start_new_round(t: int) -> None:
            spans.append([t, None, None, None])
            p["round"] += 1
            p["accepted"] = p["limit"] = p["due"] = None
            p["via_city"] = False
            p["unit"] = d.platform

        if kind == PetitionKind.ENFORCEMENT:
            submitter = spec.creator or (
                None,
                None,
                f"{spec.origin.name}工作人员" if spec.origin else "工作人员",
                None,
            )
        elif citizen is not None:
            submitter = citizen
        elif spec.creator is not None:
            submitter = spec.creator
        else:
            submitter = (None, None, spec.channel.label, None)
        assessed_failures: dict[int, int] = {}
        failed_evaluations = 0
        assessments_done = 0
        next_unit: UnitRef | None = None
        t = created
        try:
            emit(
                "submit",
                PD,
                submitter,
                t,
                f'{{"channel": "{spec.channel.value}", "external_id": "{external_id}"}}',
            )
            spans.append([t, None, None, None])
            while True:
                # --- at the district platform (待研判) ---
                t = clock.after_working(t, 0.02 + _exp(rng, 0.25), rng)
                if spec.reject is not None and p["round"] == 1:
                    emit("reject", REJECTED, dispatcher, t, {"code": spec.reject.value}, spec.reject_note)
                    p["closed"] = t
                    spans[-1][1] = t
                    break
                r_city = spec.via_city and p["round"] == 1
                if r_city:
                    data: dict[str, Any] = {}
                    changes = classify(t, data)
                    emit("send_to_city", AT_CITY, dispatcher, t, data, texts.pick(rng, texts.CITY_NOTES))
                    p.update(changes)
                    p["via_city"] = True
                    p["unit"] = world.city_platform
                    t = clock.after_working(t, 0.1 + _exp(rng, 0.4), rng)
                    span = link_to.span_at(t) if link_to is not None else None
                    if span is None:
                        unit = world.department(None, spec.dept or DeptType.URBAN_MGMT)
                        dispatch(t, unit, world.city_dispatcher, "city_dispatch")
                else:
                    span = link_to.span_at(t) if link_to is not None and p["round"] == 1 else None
                    if span is None:
                        unit = next_unit or self._first_unit(d, spec, p["round"], rng)
                        next_unit = None
                        dispatch(t, unit, dispatcher)
                        u = rng.random()
                        if not plain and unit.level == "COMMUNITY" and u < 0.12:
                            street = next(s for c, s in d.communities if c.id == unit.id)
                            t = clock.after_working(t, 0.05 + _exp(rng, 0.3), rng)
                            emit(
                                "escalate",
                                ASSIGNED,
                                world.handler(unit),
                                t,
                                {"from_unit": unit.id, "to_unit": street.id, "to_level": "street"},
                                texts.pick(rng, texts.ESCALATE_NOTES),
                            )
                            p["unit"] = unit = street
                            u = rng.random() * 0.5
                        if (
                            not plain
                            and unit.level == "STREET"
                            and kind == PetitionKind.LIVELIHOOD
                            and u < 0.05
                        ):
                            t = clock.after_working(t, 0.05 + _exp(rng, 0.3), rng)
                            emit(
                                "escalate",
                                PD,
                                world.handler(unit),
                                t,
                                {
                                    "from_unit": unit.id,
                                    "to_unit": d.platform.id,
                                    "to_level": "district_platform",
                                },
                                texts.pick(rng, texts.ESCALATE_NOTES),
                            )
                            back_to_platform()
                            t = clock.after_working(t, 0.05 + _exp(rng, 0.2), rng)
                            unit = world.department(d, spec.dept or DeptType.URBAN_MGMT)
                            dispatch(t, unit, dispatcher)
                        elif not plain and unit.level == "DISTRICT_DEPARTMENT" and 0.95 < u < 0.975:
                            t = clock.after_working(t, 0.05 + _exp(rng, 0.2), rng)
                            emit(
                                "return",
                                PD,
                                world.handler(unit),
                                t,
                                {"unit_id": unit.id},
                                texts.pick(rng, texts.UNIT_RETURN_NOTES),
                            )
                            back_to_platform()
                            t = clock.after_working(t, 0.05 + _exp(rng, 0.3), rng)
                            others = list(d.departments.values())
                            unit = others[int(rng.random() * len(others))]
                            dispatch(t, unit, dispatcher)
                if span is not None:
                    # --- linked to its master (已关联) until the master's reply reaches it ---
                    sent, unit = linked(t, world.city_dispatcher if r_city else dispatcher, span)
                else:
                    unit = p["unit"]
                    handler = world.handler(unit)
                    platform_actor = world.city_dispatcher if unit.city else dispatcher

                    # --- the unit handles it ---
                    t = clock.after_working(t, 0.01 + _exp(rng, 0.08), rng)
                    emit("accept", HANDLING, handler, t, "{}")
                    limit = p["limit"]
                    extension = (
                        force.extension
                        if force is not None
                        else (rng.random() < (0.015 if kind == PetitionKind.LIVELIHOOD else 0.08))
                    )
                    if force is not None and force.handling_factor is not None:
                        factor = force.handling_factor
                    elif extension:
                        factor = 0.9 + rng.random() * 0.6
                    else:
                        factor = rng.lognormvariate(-1.05, 0.55)
                    # What the round may still be extended by (`workflow.extensions`): none for a 20-day matter.
                    room = DEFAULT_POLICY.total_for(kind) - limit
                    if extension and p["round"] == 1 and room > 0:
                        t = clock.after_working(t, limit * (0.3 + rng.random() * 0.4), rng)
                        request_id = self.take_id("extension_request")
                        extra = min(room, 3 + int(rng.random() * 10))
                        request = [
                            request_id,
                            pid,
                            unit.id,
                            handler[0],
                            extra,
                            texts.pick(rng, texts.EXTENSION_REASONS),
                            "PENDING",
                            None,
                            None,
                            "",
                            p["due"],
                            None,
                            t,
                            # The first round's only request: the district platform decides it.
                            1,
                            False,
                        ]
                        emit(
                            "request_extension",
                            HANDLING,
                            handler,
                            t,
                            {"request_id": request_id, "extra_working_days": extra},
                        )
                        extensions.append(request)
                        t = clock.after_working(t, 0.05 + _exp(rng, 0.3), rng)
                        approved = rng.random() < 0.85
                        data = {"request_id": request_id, "approved": approved}
                        note = "" if approved else texts.pick(rng, texts.EXTENSION_REFUSALS)
                        new_due = None
                        if approved:
                            new_due, due_text = clock.extended(p["due"], extra)
                            data["deadline"] = due_text
                        emit("decide_extension", HANDLING, platform_actor, t, data, note)
                        request[6] = "APPROVED" if approved else "REFUSED"
                        request[7], request[8], request[9] = platform_actor[0], t, note
                        if new_due is not None:
                            request[11] = p["due"] = new_due
                    t = clock.after_working(t, limit * factor, rng)
                    reply = self._reply(spec, pid, p["round"], unit, handler, t, rng)
                    emit("submit_reply", UNIT_REVIEW, handler, t, f'{{"reply_id": {reply[0]}}}')
                    replies.append(reply)
                    if not plain and rng.random() < 0.05:
                        t = clock.after_working(t, 0.05 + _exp(rng, 0.2), rng)
                        note = texts.pick(rng, texts.REPLY_RETURN_NOTES)
                        emit(
                            "return_reply",
                            HANDLING,
                            world.reviewer(unit),
                            t,
                            f'{{"reply_id": {reply[0]}}}',
                            note,
                        )
                        reply[10], reply[11] = "RETURNED", note
                        t = clock.after_working(t, 0.05 + _exp(rng, 0.3), rng)
                        reply = self._reply(spec, pid, p["round"], unit, handler, t, rng)
                        emit("submit_reply", UNIT_REVIEW, handler, t, f'{{"reply_id": {reply[0]}}}')
                        replies.append(reply)
                    t = clock.after_working(t, 0.02 + _exp(rng, 0.15), rng)
                    if unit.city:
                        emit(
                            "approve_reply",
                            CITY_REVIEW,
                            world.reviewer(unit),
                            t,
                            f'{{"reply_id": {reply[0]}}}',
                        )
                        reply[10] = "CITY_REVIEW"
                        t = clock.after_working(t, 0.05 + _exp(rng, 0.3), rng)
                        emit(
                            "approve_city_reply",
                            PLATFORM_REVIEW,
                            world.city_dispatcher,
                            t,
                            f'{{"reply_id": {reply[0]}}}',
                        )
                    else:
                        emit(
                            "approve_reply",
                            PLATFORM_REVIEW,
                            world.reviewer(unit),
                            t,
                            f'{{"reply_id": {reply[0]}}}',
                        )
                    reply[10] = "PLATFORM_REVIEW"
                    t = clock.after_working(t, 0.02 + _exp(rng, 0.12), rng)
                    on_time = t <= p["due"]
                    emit(
                        "send_reply",
                        AWAITING,
                        dispatcher,
                        t,
                        f'{{"reply_id": {reply[0]}, "on_time": {JSON_BOOL[on_time]}}}',
                    )
                    reply[10], reply[13], reply[14], reply[15] = "SENT", t, p["due"], on_time
                    spans[-1][1:] = [t, reply, unit]
                    sent = t
                p["delivered"], p["answered"] = sent, None

                # --- the citizen rates it, or the window passes ---
                rated = (
                    force.rated
                    if force is not None and force.rated is not None
                    else (rng.random() < (0.9 if citizen is not None else 0.95))
                )
                delay = self._rating_delay(rng, self.window)
                if not rated:
                    t = sent + self.window + 60 + int(rng.random() * 600)
                    emit(
                        EXPIRE_EVALUATION,
                        UNRATED,
                        SYSTEM,
                        t,
                        {"round": p["round"], "window_days": self.window_days},
                    )
                    p["closed"] = p["answered"] = t
                    break
                t = sent + delay
                r = p["round"]
                if force is not None:
                    passed = failed_evaluations >= force.fail_rounds
                else:
                    passed = rng.random() < (0.93 if r == 1 else 0.65)
                if passed:
                    sat = PASSED[0] if rng.random() < 0.78 else PASSED[1]
                    res = RESOLVED[0] if rng.random() < 0.85 else RESOLVED[1]
                    comment = texts.pick(rng, texts.GOOD_COMMENTS)
                else:
                    failed_evaluations += 1
                    u = rng.random()
                    _, sat, res = next(row for row in FAILED if u <= row[0])
                    comment = texts.pick(rng, texts.BAD_COMMENTS)
                data = {"satisfaction": sat[1], "resolution": res[1], "round": r}
                if not passed and p["duplicate_of"] is not None:
                    # An unsatisfied duplicate leaves its master for a handling of its own (workflow.links).
                    data["unlinked_from"] = p["duplicate_of"]
                if passed:
                    to = CLOSED
                elif r == 1:
                    to = PD
                    data["new_round"] = r + 1
                else:
                    to = ASSESSMENT
                    data["assessed_unit"] = unit.id
                emit("evaluate", to, citizen or dispatcher, t, data)
                p["answered"] = t
                if not passed:
                    p["duplicate_of"] = None
                if to == PD:
                    start_new_round(t)
                evaluations.append((pid, r, unit.id, sat[0], res[0], comment, ts(t)))
                if passed:
                    p["closed"] = t
                    break
                if to == PD:
                    continue

                # --- performance assessment of the unit whose reply failed twice ---
                t = clock.after_working(t, 1 + _exp(rng, 2.0), rng)
                if force is not None:
                    completed = assessments_done >= force.not_completed
                else:
                    completed = rng.random() < 0.6
                assessments_done += 1
                data = {"outcome": "completed" if completed else "not_completed", "unit_id": unit.id}
                assessor = world.city_dispatcher if unit.city else dispatcher
                if completed:
                    note = texts.pick(rng, texts.ASSESSMENT_DONE_NOTES)
                    emit("assess", CLOSED, assessor, t, data, note)
                    p["closed"] = t
                else:
                    note = texts.pick(rng, texts.ASSESSMENT_NOTES)
                    failures = assessed_failures.get(unit.id, 0) + 1
                    data["consecutive_failures"] = failures
                    if failures >= 2:
                        emit("assess", ACCOUNTABILITY, assessor, t, data, note)
                        p["closed"] = t
                    else:
                        data["new_round"] = r + 1
                        emit("assess", PD, assessor, t, data, note)
                        start_new_round(t)
                        assessed_failures[unit.id] = failures
                        same = force is not None or rng.random() < 0.7
                        next_unit = unit if same and not unit.city else None
                assessments.append(
                    (pid, unit.id, r, "COMPLETED" if completed else "NOT_COMPLETED", assessor[0], note, ts(t))
                )
                if completed or p["state"] == ACCOUNTABILITY:
                    break
        except _Stop:
            pass

        # --- the rows, as they stand at `now` ---
        state_now = p["state"]
        unit = p["unit"]
        light = None
        accepted, due = p["accepted"], p["due"]
        if state_now in CLOCK_RUNNING and accepted is not None and p["closed"] is None:
            light = clock.light(accepted, due)
        last = times[-1][1]
        lead = p["lead"]
        delivered = p["delivered"]
        reminded = delivered + self.reminder if delivered is not None else None
        answered = p["answered"] if p["answered"] is not None else self.clock.now
        if reminded is not None and reminded >= answered:
            reminded = None
        sink.petitions.append(
            (
                pid,
                number,
                d.code,
                citizen_id,
                kind.name,
                spec.nature.name,
                spec.complexity.name,
                spec.dept.name if spec.dept is not None else None,
                spec.title,
                spec.content,
                spec.location,
                spec.latitude,
                spec.longitude,
                spec.contact_name,
                spec.contact_phone,
                spec.channel.name,
                external_id,
                # intake_digest: none for generated petitions (a repeat is then compared by content and kind).
                None,
                state_now,
                unit.level,
                unit.id,
                lead.id if lead is not None else None,
                p["via_city"],
                spec.origin.id if spec.origin is not None else None,
                spec.creator[0] if spec.creator else None,
                ts(accepted) if accepted is not None else None,
                p["limit"],
                ts(due) if due is not None else None,
                light,
                # yellow_at: left to the lights job, which computes it for rows written in bulk.
                None,
                p["round"],
                ts(p["closed"]) if p["closed"] is not None else None,
                ts(delivered) if delivered is not None else None,
                ts(delivered) if delivered is not None else None,
                ts(reminded) if reminded is not None else None,
                spec.reject.name if spec.reject is not None and state_now == REJECTED else None,
                (spec.reject_note or None) if state_now == REJECTED else None,
                spec.suggestion,
                p["suggestion_accepted"],
                ts(created),
                ts(last),
                len(events),
                p["duplicate_of"],
            )
        )
        sink.events.extend(events)
        for coop in p["coop"]:
            sink.cooperating.append((pid, coop.id))
        for reply in replies:
            reply[12] = ts(reply[12])
            for i in (13, 14):
                if reply[i] is not None:
                    reply[i] = ts(reply[i])
            sink.replies.append(tuple(reply))
        sink.evaluations.extend(evaluations)
        for request in extensions:
            for i in (8, 10, 11, 12):
                if request[i] is not None:
                    request[i] = ts(request[i])
            sink.extensions.append(tuple(request))
        sink.assessments.extend(assessments)
        master = spec.reject is None and kind != PetitionKind.ENFORCEMENT and not p["linked"]
        return Outcome(state_now, light, p["round"], times, citizen_id, spans if master else None)

    # --- helpers ----------------------------------------------------------------------------------------------------

    def _first_unit(self, d: DistrictWorld, spec: Spec, handling_round: int, rng: random.Random) -> UnitRef:
        """Where the district platform sends a petition: the 民生 chain starts at a community or street in the
        first round; 发展 goes to the department; 执法 to a lead street or department."""
        dept = spec.dept or DeptType.URBAN_MGMT
        u = rng.random()
        if spec.kind == PetitionKind.LIVELIHOOD and handling_round == 1:
            if u < 0.3 and d.communities:
                return d.communities[int(rng.random() * len(d.communities))][0]
            if u < 0.55:
                return d.streets[int(rng.random() * len(d.streets))]
        elif spec.kind == PetitionKind.ENFORCEMENT and u < 0.25:
            return d.streets[int(rng.random() * len(d.streets))]
        return self.world.department(d, dept)

    def _cooperating(self, d: DistrictWorld, lead: UnitRef, rng: random.Random) -> tuple[UnitRef, ...]:
        """One or two departments of the district besides the lead unit, in id order (as the effect sorts them)."""
        others = [u for u in d.departments.values() if u.id != lead.id]
        chosen = {others[int(rng.random() * len(others))].id: None for _ in range(1 + int(rng.random() * 2))}
        return tuple(sorted((u for u in others if u.id in chosen), key=lambda u: u.id))

    def _reply(
        self,
        spec: Spec,
        pid: int,
        handling_round: int,
        unit: UnitRef,
        handler: Actor,
        t: int,
        rng: random.Random,
    ) -> list[Any]:
        info, basis, result = texts.reply_texts(rng, spec.dept, spec.contact_name or "匿名", spec.title)
        phone = unit.phone if unit.phone and rng.random() < 0.3 else texts.office_phone(rng)
        return [
            self.take_id("reply"),
            pid,
            handling_round,
            unit.id,
            handler[0],
            info,
            basis,
            result,
            texts.responsible(rng),
            phone,
            "UNIT_REVIEW",
            "",
            t,
            None,
            None,
            None,
            # linked_from_id: a reply of its own.
            None,
        ]

    @staticmethod
    def _rating_delay(rng: random.Random, window: int) -> int:
        """Seconds from the reply reaching the citizen to their rating: most within hours, all within the window."""
        u = rng.random()
        if u < 0.6:
            return 300 + int(rng.random() * 3 * 3600)
        if u < 0.9:
            return 3 * 3600 + int(rng.random() * 45 * 3600)
        if window <= 2 * DAY_SECONDS + 3600:
            return 300 + int(rng.random() * (window - 600))
        return 2 * DAY_SECONDS + int(rng.random() * (window - 2 * DAY_SECONDS - 3600))


MARKER = "seedvol-"
