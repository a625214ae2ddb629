"""The petition lifecycle as a declared table, and the one function that moves a petition along it.

Each row of TRANSITIONS says: the action's name (the same name the admin site, the API and the bot use), its label,
the states it may start from, the states it may lead to, who may perform it, a side-effect-free guard, and the effect.
`perform` runs one action in a savepoint with a history row; `perform_many` runs a scheduled job's action on many
petitions at once, set-wise; `available_actions` lists what an actor may do now.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, insert, inspect, select, update
from sqlalchemy.orm import Session, object_session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from models import (
    Citizen,
    CooperationTask,
    Evaluation,
    ExtensionRequest,
    Notification,
    Petition,
    PetitionEvent,
    User,
)
from models.enums import PetitionKind, RequestState, Role, TaskState
from models.enums import PetitionState as S
from workflow import effects, extensions, limits
from workflow.actors import (
    SYSTEM,
    Actor,
    SystemActor,
    actor_label,
    is_city_dispatcher,
    is_district_dispatcher,
    is_hotline_for,
    is_petitioner,
    is_platform_for_unit,
    is_unit_handler,
    is_unit_reviewer,
)
from workflow.errors import StateConflict, TransitionRefused
from workflow.hotline import push_values
from workflow.notify import enqueue, enqueue_many


def _no_guard(_petition: Petition, _actor: Actor, _facts: Facts) -> None:
    return None


class Facts:
    """What guards read beyond the petition's own row (a pending extension request, this round's rating, this
    round's extension requests and cooperation tasks).

    This base class asks the database one petition at a time; `facts_for` answers for a whole list of petitions
    with one query per fact, so a list page costs the same statements for 3 rows as for 30. A Facts object is made
    for one look at the petitions and then dropped: it does not follow later changes.
    """

    def __init__(self, session: Session | None = None) -> None:
        self.session = session

    def _session(self, petition: Petition) -> Session | None:
        return self.session if self.session is not None else object_session(petition)

    def pending_extension(self, petition: Petition) -> ExtensionRequest | None:
        """The petition's extension request waiting for the platform's decision, if any."""
        session = self._session(petition)
        return effects.pending_extension(session, petition) if session is not None else None

    def rated_this_round(self, petition: Petition) -> bool:
        """Whether the petitioner already rated the petition's current handling round."""
        session = self._session(petition)
        return session is not None and session.scalar(
            select(Evaluation.id).where(
                Evaluation.petition_id == petition.id, Evaluation.handling_round == petition.handling_round
            )
        ) is not None

    def round_extensions(self, petition: Petition) -> list[ExtensionRequest]:
        """The petition's extension requests of its current round (for the caps of `workflow.extensions`)."""
        session = self._session(petition)
        return effects.round_extensions(session, petition) if session is not None else []

    def cooperation_tasks(self, petition: Petition) -> list[CooperationTask]:
        """The cooperating units' tasks of the petition's current round."""
        session = self._session(petition)
        return effects.cooperation_tasks(session, petition) if session is not None else []

    def policy(self, petition: Petition) -> extensions.ExtensionPolicy:
        """The extension caps configured for the petition's session."""
        return extensions.policy_of(self._session(petition))


class _PrefetchedFacts(Facts):
    def __init__(self, session: Session, petitions: Sequence[Petition]) -> None:
        super().__init__(session)
        self._ids = {p.id for p in petitions}
        self._rated: set[tuple[int, int]] | None = None
        self._requests: dict[int, list[ExtensionRequest]] | None = None
        self._tasks: dict[int, list[CooperationTask]] | None = None

    def pending_extension(self, petition: Petition) -> ExtensionRequest | None:
        if petition.id not in self._ids:
            return super().pending_extension(petition)
        # From the same read as `round_extensions` (every request of the petitions, any round and state).
        requests = self._extension_requests().get(petition.id, [])
        return next((r for r in requests if r.state == RequestState.PENDING), None)

    def rated_this_round(self, petition: Petition) -> bool:
        if petition.id not in self._ids:
            return super().rated_this_round(petition)
        if self._rated is None:
            assert self.session is not None
            self._rated = {
                (petition_id, round_)
                for petition_id, round_ in self.session.execute(
                    select(Evaluation.petition_id, Evaluation.handling_round).where(
                        Evaluation.petition_id.in_(self._ids)
                    )
                ).tuples()
            }
        return (petition.id, petition.handling_round) in self._rated

    def _extension_requests(self) -> dict[int, list[ExtensionRequest]]:
        if self._requests is None:
            assert self.session is not None
            self._requests = {}
            for request in self.session.scalars(
                select(ExtensionRequest)
                .where(ExtensionRequest.petition_id.in_(self._ids))
                .order_by(ExtensionRequest.id)
            ):
                self._requests.setdefault(request.petition_id, []).append(request)
        return self._requests

    def round_extensions(self, petition: Petition) -> list[ExtensionRequest]:
        if petition.id not in self._ids:
            return super().round_extensions(petition)
        requests = self._extension_requests().get(petition.id, [])
        return [r for r in requests if r.handling_round == petition.handling_round]

    def cooperation_tasks(self, petition: Petition) -> list[CooperationTask]:
        if petition.id not in self._ids:
            return super().cooperation_tasks(petition)
        if self._tasks is None:
            assert self.session is not None
            self._tasks = {}
            for task in self.session.scalars(
                select(CooperationTask)
                .where(CooperationTask.petition_id.in_(self._ids))
                .order_by(CooperationTask.id)
            ):
                self._tasks.setdefault(task.petition_id, []).append(task)
        return [t for t in self._tasks.get(petition.id, []) if t.handling_round == petition.handling_round]


def facts_for(session: Session, petitions: Sequence[Petition]) -> Facts:
    """Facts for `petitions`, each fact read for all of them at once the first time a guard needs it."""
    return _PrefetchedFacts(session, petitions)


Who = Callable[[Petition, Actor], bool]
Guard = Callable[[Petition, Actor, Facts], str | None]


@dataclass(frozen=True)
class Transition:
    action: str
    label: str
    sources: frozenset[S]
    targets: frozenset[S]
    who: Who
    who_label: str
    effect: effects.Effect
    guard: Guard = _no_guard


def _district_dispatcher(p: Petition, a: Actor) -> bool:
    return is_district_dispatcher(a, p)


def _city_dispatcher(p: Petition, a: Actor) -> bool:
    return is_city_dispatcher(a, p)


def _platform_of_state(p: Petition, a: Actor) -> bool:
    """Whoever dispatches the petition in its state: the city platform at the city, else the district's."""
    if p.state == S.AT_CITY:
        return is_city_dispatcher(a, p)
    return is_district_dispatcher(a, p)


def _unlinker(p: Petition, a: Actor) -> bool:
    """The district's dispatcher or the city platform (a mistaken link), or the system (the master closed)."""
    return is_district_dispatcher(a, p) or is_city_dispatcher(a, p) or isinstance(a, SystemActor)


def _handler(p: Petition, a: Actor) -> bool:
    return is_unit_handler(a, p)


def _unit_reviewer(p: Petition, a: Actor) -> bool:
    return is_unit_reviewer(a, p)


def _reviewer_of_state(p: Petition, a: Actor) -> bool:
    """Whoever reviews the reply in the petition's current review state."""
    if p.state == S.UNIT_REVIEW:
        return is_unit_reviewer(a, p)
    if p.state == S.CITY_REVIEW:
        return is_city_dispatcher(a, p)
    return is_district_dispatcher(a, p)


def _evaluator(p: Petition, a: Actor) -> bool:
    """The petitioner rates in chat; for a petition with no WeChat petitioner the district platform records it, and
    for one the 12345 hotline filed the hotline may also forward its petitioner's rating (API)."""
    if p.citizen_id is not None:
        return is_petitioner(a, p)
    return is_district_dispatcher(a, p) or is_hotline_for(a, p)


def _system(_p: Petition, a: Actor) -> bool:
    return isinstance(a, SystemActor)


def _assessor(p: Petition, a: Actor) -> bool:
    return is_platform_for_unit(a, p)


def _cooperating_handler(p: Petition, a: Actor) -> bool:
    """A handler of another unit than the one handling a 执法 petition (its task is checked by the guard)."""
    return (
        p.kind == PetitionKind.ENFORCEMENT
        and isinstance(a, User)
        and a.active
        and a.role == Role.HANDLER
        and a.unit_id is not None
        and a.unit_id != p.current_unit_id
    )


def _extension_decider(p: Petition, a: Actor) -> bool:
    """The platform that supervises the unit, or the city platform (for a request beyond the round's allowance)."""
    return is_platform_for_unit(a, p) or is_city_dispatcher(a, p)


def _own_task(p: Petition, a: Actor, facts: Facts) -> CooperationTask | None:
    unit_id = a.unit_id if isinstance(a, User) else None
    return next((t for t in facts.cooperation_tasks(p) if t.unit_id == unit_id), None)


def _task_to_accept(p: Petition, a: Actor, facts: Facts) -> str | None:
    task = _own_task(p, a, facts)
    if task is None or task.state == TaskState.WITHDRAWN:
        return "本单位不是此诉求本轮的配合单位"
    if task.state != TaskState.ASSIGNED:
        return f"配合任务{task.state.label}"
    return None


def _task_to_submit(p: Petition, a: Actor, facts: Facts) -> str | None:
    task = _own_task(p, a, facts)
    if task is None or task.state == TaskState.WITHDRAWN:
        return "本单位不是此诉求本轮的配合单位"
    if task.state == TaskState.ASSIGNED:
        return "请先签收配合任务"
    if task.state == TaskState.SUBMITTED:
        return "配合意见已提交"
    return None


def _escalable(p: Petition, _actor: Actor, _facts: Facts) -> str | None:
    unit = p.current_unit
    if unit is None or unit.level.value not in ("community", "street"):
        return "只有村(社区)和镇(街道)可以逐级上报；职能部门请退回平台"
    return None


def _may_request_extension(p: Petition, _actor: Actor, facts: Facts) -> str | None:
    if facts.pending_extension(p) is not None:
        return "已有待审批的延期申请"
    if p.deadline is None:
        return "诉求尚未受理，没有办理期限"
    left = extensions.allowance(p, facts.round_extensions(p), facts.policy(p))
    if left.days_left <= 0:
        return f"本轮办理时限连同延期已达{left.total}个工作日的上限，不能再延期"
    return None


def _may_decide_extension(p: Petition, a: Actor, facts: Facts) -> str | None:
    request = facts.pending_extension(p)
    if request is None:
        return "没有待审批的延期申请"
    if request.needs_city and not is_city_dispatcher(a, p):
        return "本轮已批准过延期，再次延期须由市级平台审批"
    if not request.needs_city and not is_platform_for_unit(a, p):
        return "此延期申请由承办单位所属平台审批"
    return None


def _not_yet_rated(p: Petition, _actor: Actor, facts: Facts) -> str | None:
    if facts.rated_this_round(p):
        return "本轮办理结果已评价"
    return None


def _t(action, label, sources, targets, who, who_label, effect, guard=_no_guard) -> Transition:  # type: ignore[no-untyped-def]
    return Transition(action, label, frozenset(sources), frozenset(targets), who, who_label, effect, guard)


OPEN_HANDLING = (S.ASSIGNED, S.HANDLING, S.UNIT_REVIEW, S.CITY_REVIEW, S.PLATFORM_REVIEW)

TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        _t("dispatch", "确认分拨", [S.PENDING_DISPATCH], [S.ASSIGNED], _district_dispatcher, "区平台调度", effects.dispatch),
        _t("reject", "不予受理", [S.PENDING_DISPATCH], [S.REJECTED], _district_dispatcher, "区平台调度", effects.reject),
        _t("send_to_city", "流转市级平台", [S.PENDING_DISPATCH], [S.AT_CITY], _district_dispatcher, "区平台调度",
           effects.send_to_city),
        _t("city_dispatch", "市级平台分拨", [S.AT_CITY], [S.ASSIGNED], _city_dispatcher, "市级平台调度", effects.dispatch),
        _t("return_to_district", "退回区平台", [S.AT_CITY], [S.PENDING_DISPATCH], _city_dispatcher, "市级平台调度",
           effects.return_to_district),
        _t("accept", "签收", [S.ASSIGNED], [S.HANDLING], _handler, "承办人", effects.accept),
        _t("return", "退回平台", [S.ASSIGNED, S.HANDLING], [S.PENDING_DISPATCH, S.AT_CITY], _handler, "承办人",
           effects.return_to_platform),
        _t("escalate", "逐级上报", [S.ASSIGNED, S.HANDLING], [S.ASSIGNED, S.PENDING_DISPATCH], _handler, "承办人",
           effects.escalate, _escalable),
        _t("submit_reply", "提交答复", [S.HANDLING], [S.UNIT_REVIEW], _handler, "承办人", effects.submit_reply),
        _t("approve_reply", "单位审核通过", [S.UNIT_REVIEW], [S.PLATFORM_REVIEW, S.CITY_REVIEW], _unit_reviewer,
           "承办单位科室负责人", effects.approve_reply),
        _t("approve_city_reply", "市级平台审核通过", [S.CITY_REVIEW], [S.PLATFORM_REVIEW], _city_dispatcher,
           "市级平台调度", effects.approve_city_reply),
        _t("return_reply", "退回修改", [S.UNIT_REVIEW, S.CITY_REVIEW, S.PLATFORM_REVIEW], [S.HANDLING],
           _reviewer_of_state, "审核人", effects.return_reply),
        _t("send_reply", "审核通过并统一答复", [S.PLATFORM_REVIEW], [S.AWAITING_EVALUATION], _district_dispatcher,
           "区平台调度", effects.send_reply),
        _t("evaluate", "评价", [S.AWAITING_EVALUATION], [S.CLOSED, S.PENDING_DISPATCH, S.ASSESSMENT], _evaluator,
           "诉求人", effects.evaluate, _not_yet_rated),
        _t("expire_evaluation", "逾期未评价", [S.AWAITING_EVALUATION], [S.UNRATED], _system, "系统",
           effects.expire_evaluation),
        _t("assess", "履职评估", [S.ASSESSMENT], [S.CLOSED, S.PENDING_DISPATCH, S.ACCOUNTABILITY], _assessor,
           "平台", effects.assess),
        _t("request_extension", "申请延期", [S.ASSIGNED, S.HANDLING], [S.ASSIGNED, S.HANDLING], _handler, "承办人",
           effects.request_extension, _may_request_extension),
        _t("decide_extension", "审批延期", OPEN_HANDLING, OPEN_HANDLING, _extension_decider, "平台",
           effects.decide_extension, _may_decide_extension),
        _t("accept_cooperation", "签收配合任务", [S.ASSIGNED, S.HANDLING], [S.ASSIGNED, S.HANDLING],
           _cooperating_handler, "配合单位承办人", effects.accept_cooperation, _task_to_accept),
        _t("submit_cooperation", "提交配合意见", [S.ASSIGNED, S.HANDLING], [S.ASSIGNED, S.HANDLING],
           _cooperating_handler, "配合单位承办人", effects.submit_cooperation, _task_to_submit),
        # Linked duplicates (workflow.links): the master's send_reply and closing carry them along (_follow_links).
        _t("link", "关联重复诉求", [S.PENDING_DISPATCH, S.AT_CITY], [S.LINKED], _platform_of_state, "平台调度",
           effects.link),
        _t("unlink", "取消关联", [S.LINKED], [S.PENDING_DISPATCH], _unlinker, "平台调度", effects.unlink),
        _t("linked_reply", "随主诉求答复", [S.LINKED], [S.AWAITING_EVALUATION], _system, "系统",
           effects.linked_reply),
    )
}


def why_not(transition: Transition, petition: Petition, actor: Actor, facts: Facts | None = None) -> str | None:
    """The reason `actor` may not perform `transition` on `petition` now, or None. Has no side effects.

    `facts` (from `facts_for`) lets a list of petitions share the guards' queries; by default each guard asks the
    petition's session itself.
    """
    if petition.state not in transition.sources:
        return f"「{transition.label}」({transition.action}) 不能在「{petition.state.label}」({petition.state.value}) 状态下执行"
    if not transition.who(petition, actor):
        return f"「{transition.label}」({transition.action}) 只能由{transition.who_label}执行，当前用户无权操作此诉求"
    reason = transition.guard(petition, actor, facts if facts is not None else Facts())
    if reason:
        return f"「{transition.label}」({transition.action}) 不能执行：{reason}"
    return None


def available_actions(petition: Petition, actor: Actor, facts: Facts | None = None) -> list[Transition]:
    """The transitions `actor` may perform on `petition` now, in table order (the admin site shows these buttons).

    A list page passes the `facts_for` all its petitions, so the guards ask the database once per page, not per row.
    """
    facts = facts if facts is not None else Facts()
    return [t for t in TRANSITIONS.values() if why_not(t, petition, actor, facts) is None]


def perform(
    session: Session,
    petition: Petition,
    action: str,
    actor: Actor,
    now: dt.datetime,
    *,
    expected_state: S | str | None = None,
    note: str = "",
    **params: Any,
) -> PetitionEvent:
    """Run `action` on `petition` as `actor` at `now`; write the history row and the notifications it causes.

    Everything happens in a savepoint of the caller's transaction: on any refusal nothing is written.
    The caller commits. Petitions linked to this one follow it through their own actions (`_follow_links`).

    :raises TransitionRefused: unknown action, wrong state, actor not allowed, or a guard refuses; names both.
    :raises StateConflict: the petition is no longer in `expected_state`, or another transaction changed it first.
    :raises InvalidInput: the parameters are missing or wrong (names the field).
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise TransitionRefused(
            f"未知操作「{action}」（当前状态「{petition.state.label}」）", action=action, state=petition.state.value
        )
    if expected_state is not None and petition.state != S(expected_state):
        raise StateConflict(
            f"诉求 {petition.number} 已被他人处理：现在的状态是「{petition.state.label}」，"
            f"不再是「{S(expected_state).label}」，请刷新后再试"
        )
    reason = why_not(transition, petition, actor)
    if reason:
        raise TransitionRefused(reason, action=action, state=petition.state.value)

    limits.check_lengths({"note": note, **params}, effects.FIELD_LABELS)
    from_state = petition.state
    ctx = effects.Context(session, petition, actor, now, {"note": note, **params})
    try:
        with session.begin_nested():
            target = transition.effect(ctx)
            if target not in transition.targets:
                raise AssertionError(f"{action} led to {target}, not one of its declared targets")
            petition.state = target
            petition.updated_at = now
            event = PetitionEvent(
                petition=petition,
                action=action,
                from_state=from_state,
                to_state=target,
                actor_user_id=actor.id if isinstance(actor, User) else None,
                actor_citizen_id=actor.id if isinstance(actor, Citizen) else None,
                actor_label=actor_label(actor),
                unit_id=actor.unit_id if isinstance(actor, User) else None,
                note=ctx.params["note"] or "",
                data=ctx.event_data,
                created_at=now,
            )
            session.add(event)
            for event_name, facts in ctx.notifications:
                enqueue(session, petition, event_name, now, **facts)
            push = push_values(petition, action, from_state, now, ctx.notifications)
            if push is not None:
                session.add(Notification(**push))
            session.flush()
    except StaleDataError:
        session.expire(petition)
        raise StateConflict(f"诉求 {petition.number} 刚被他人修改，请刷新后再试") from None
    _follow_links(session, petition, event, now)
    return event


def _follow_links(session: Session, master: Petition, event: PetitionEvent, now: dt.datetime) -> None:
    """Carry the petitions linked to `master` along with it, each through `perform` with its own history row: when
    its reply is sent they receive it (`linked_reply`); when it is closed without one (rejected) they go back to
    the platform's queue on their own (`unlink`)."""
    if event.action == "send_reply":
        for duplicate in effects.linked_duplicates(session, master):
            perform(session, duplicate, "linked_reply", SYSTEM, now, reply_id=event.data["reply_id"])
    elif master.closed_at is not None and event.from_state in effects.LINK_TARGET_STATES:
        for duplicate in effects.linked_duplicates(session, master):
            note = f"主诉求 {master.number}「{master.state.label}」，恢复单独办理"
            perform(session, duplicate, "unlink", SYSTEM, now, note=note)


@dataclass
class BatchOutcome:
    """What `perform_many` did: the petitions moved, and why each petition left alone was."""

    moved: list[int] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)


def perform_many(
    session: Session,
    petitions: Sequence[Petition],
    action: str,
    actor: Actor,
    now: dt.datetime,
    *,
    note: str = "",
    **params: Any,
) -> BatchOutcome:
    """Run `action` on many petitions at once (a scheduled job's batch): the same table, checks, effect, history row
    and notifications as `perform`, written set-wise — one UPDATE executed for all rows, each row checked against
    the version that was read (the optimistic lock), and one INSERT each of history rows and notifications —
    instead of a savepoint and statements per petition.

    Only for transitions whose effect changes the petition's own columns. A petition that may not take the action
    (state, actor, guard), or that another transaction changed since it was read (say, the citizen rated it a
    moment ago), is left as it is and named in `refused`; the others move (`moved`). The caller commits.

    :raises TransitionRefused: for an unknown action.
    :raises InvalidInput: when the effect refuses its parameters (nothing is written).
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise TransitionRefused(f"未知操作「{action}」", action=action, state="")
    outcome = BatchOutcome()
    moves: list[tuple[Petition, S, int, dict[str, Any], effects.Context]] = []
    table = Petition.__table__
    try:
        with session.no_autoflush:
            for petition in petitions:
                reason = why_not(transition, petition, actor)
                if reason:
                    outcome.refused[petition.id] = reason
                    continue
                from_state, version = petition.state, petition.version
                ctx = effects.Context(session, petition, actor, now, {"note": note, **params})
                target = transition.effect(ctx)
                if target not in transition.targets:
                    raise AssertionError(f"{action} led to {target}, not one of its declared targets")
                petition.state = target
                petition.updated_at = now
                moves.append((petition, from_state, version, _column_changes(petition), ctx))
    except BaseException:
        for petition, *_ in moves:
            session.expire(petition)
        raise

    # One UPDATE per shape of change (an effect sets the same columns on every petition, so usually one).
    shapes: dict[tuple[str, ...], list[tuple[Petition, int, dict[str, Any]]]] = {}
    for petition, _from, version, changes, _ctx in moves:
        shapes.setdefault(tuple(sorted(changes)), []).append((petition, version, changes))
    lost: set[int] = set()
    for keys, rows in shapes.items():
        statement = (
            update(table)
            .where(table.c.id == bindparam("b_id"), table.c.version == bindparam("b_version"))
            .values({table.c[k]: bindparam(f"b_{k}", type_=table.c[k].type) for k in keys})
            .values(version=bindparam("b_new_version"))
        )
        result = session.execute(
            statement,
            [
                {"b_id": p.id, "b_version": v, "b_new_version": v + 1, **{f"b_{k}": c[k] for k in keys}}
                for p, v, c in rows
            ],
        )
        if result.rowcount != len(rows):
            # Someone else won some of these rows: ours are the ones that now hold our version and our values (a
            # rival's commit also adds one to the version, so the version alone cannot tell).
            columns = [table.c.id, table.c.version, *(table.c[k] for k in keys)]
            found = {
                row[0]: tuple(row[1:])
                for row in session.execute(
                    select(*columns).where(table.c.id.in_([p.id for p, _v, _c in rows]))
                )
            }
            for p, v, c in rows:
                if found.get(p.id) != (v + 1, *(c[k] for k in keys)):
                    lost.add(p.id)

    # The rows are written: tell the identity map (no flush may write them again), and forget the lost ones.
    for petition, _from, version, changes, _ctx in moves:
        for key, value in changes.items():
            set_committed_value(petition, key, value)
        set_committed_value(petition, "version", version + 1)
    history: list[dict[str, Any]] = []
    notifications: list[tuple[Petition, str, dict[str, Any]]] = []
    pushes: list[dict[str, Any]] = []
    for petition, from_state, _version, _changes, ctx in moves:
        if petition.id in lost:
            outcome.refused[petition.id] = f"诉求 {petition.number} 刚被他人修改"
            session.expire(petition)
            continue
        outcome.moved.append(petition.id)
        history.append(
            {
                "petition_id": petition.id,
                "action": action,
                "from_state": from_state,
                "to_state": petition.state,
                "actor_user_id": actor.id if isinstance(actor, User) else None,
                "actor_citizen_id": actor.id if isinstance(actor, Citizen) else None,
                "actor_label": actor_label(actor),
                "unit_id": actor.unit_id if isinstance(actor, User) else None,
                "note": ctx.params["note"] or "",
                "data": ctx.event_data,
                "created_at": now,
            }
        )
        notifications += [(petition, name, facts) for name, facts in ctx.notifications]
        push = push_values(petition, action, from_state, now, ctx.notifications)
        if push is not None:
            pushes.append(push)
    # Plain INSERTs of many rows at once: the ORM would send one per row to learn each new id.
    if history:
        session.execute(insert(PetitionEvent), history)
    enqueue_many(session, notifications, now)
    if pushes:
        session.execute(insert(Notification), pushes)
    return outcome


def _column_changes(petition: Petition) -> dict[str, Any]:
    """The petition's changed columns, by attribute key and new value; a changed relationship is refused."""
    state = inspect(petition)
    changes: dict[str, Any] = {}
    for attr in state.attrs:
        history = attr.history
        if not history.has_changes():
            continue
        if attr.key not in state.mapper.column_attrs:
            raise AssertionError(f"perform_many: the effect changed {attr.key}, which is not a column")
        changes[attr.key] = history.added[0] if history.added else None
    return changes
