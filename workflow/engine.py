"""The petition lifecycle as a declared table, and the one function that moves a petition along it.

Each row of TRANSITIONS says: the action's name (the same name the admin site, the API and the bot use), its label,
the states it may start from, the states it may lead to, who may perform it, a side-effect-free guard, and the effect.
`perform` runs one action in a savepoint with a history row; `available_actions` lists what an actor may do now.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from models import Citizen, Petition, PetitionEvent, User
from models.enums import PetitionState as S
from workflow import effects, limits
from workflow.actors import (
    Actor,
    actor_label,
    is_city_dispatcher,
    is_district_dispatcher,
    is_petitioner,
    is_platform_for_unit,
    is_unit_handler,
    is_unit_reviewer,
)
from workflow.errors import StateConflict, TransitionRefused
from workflow.notify import enqueue

Who = Callable[[Petition, Actor], bool]
Guard = Callable[[Petition], str | None]


def _no_guard(_petition: Petition) -> None:
    return None


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


def _handler(p: Petition, a: Actor) -> bool:
    return is_unit_handler(a, p)


def _unit_reviewer(p: Petition, a: Actor) -> bool:
    return is_unit_reviewer(a, p)


def _platform_for_unit(p: Petition, a: Actor) -> bool:
    return is_platform_for_unit(a, p)


def _reviewer_of_state(p: Petition, a: Actor) -> bool:
    """Whoever reviews the reply in the petition's current review state."""
    if p.state == S.UNIT_REVIEW:
        return is_unit_reviewer(a, p)
    if p.state == S.CITY_REVIEW:
        return is_city_dispatcher(a, p)
    return is_district_dispatcher(a, p)


def _evaluator(p: Petition, a: Actor) -> bool:
    """The petitioner rates in chat; for a petition with no WeChat petitioner the district platform records it."""
    if p.citizen_id is not None:
        return is_petitioner(a, p)
    return is_district_dispatcher(a, p)


def _assessor(p: Petition, a: Actor) -> bool:
    return is_platform_for_unit(a, p)


def _escalable(p: Petition) -> str | None:
    unit = p.current_unit
    if unit is None or unit.level.value not in ("community", "street"):
        return "只有村(社区)和镇(街道)可以逐级上报；职能部门请退回平台"
    return None


def _no_pending_extension(p: Petition) -> str | None:
    from sqlalchemy.orm import object_session

    session = object_session(p)
    if session is not None and effects.pending_extension(session, p) is not None:
        return "已有待审批的延期申请"
    if p.deadline is None:
        return "诉求尚未受理，没有办理期限"
    return None


def _has_pending_extension(p: Petition) -> str | None:
    from sqlalchemy.orm import object_session

    session = object_session(p)
    if session is None or effects.pending_extension(session, p) is None:
        return "没有待审批的延期申请"
    return None


def _not_yet_rated(p: Petition) -> str | None:
    from sqlalchemy import select
    from sqlalchemy.orm import object_session

    from models import Evaluation

    session = object_session(p)
    if session is not None and session.scalar(
        select(Evaluation.id).where(Evaluation.petition_id == p.id, Evaluation.handling_round == p.handling_round)
    ):
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
        _t("assess", "履职评估", [S.ASSESSMENT], [S.CLOSED, S.PENDING_DISPATCH, S.ACCOUNTABILITY], _assessor,
           "平台", effects.assess),
        _t("request_extension", "申请延期", [S.ASSIGNED, S.HANDLING], [S.ASSIGNED, S.HANDLING], _handler, "承办人",
           effects.request_extension, _no_pending_extension),
        _t("decide_extension", "审批延期", OPEN_HANDLING, OPEN_HANDLING, _platform_for_unit, "平台",
           effects.decide_extension, _has_pending_extension),
    )
}


def why_not(transition: Transition, petition: Petition, actor: Actor) -> str | None:
    """The reason `actor` may not perform `transition` on `petition` now, or None. Has no side effects."""
    if petition.state not in transition.sources:
        return f"「{transition.label}」({transition.action}) 不能在「{petition.state.label}」({petition.state.value}) 状态下执行"
    if not transition.who(petition, actor):
        return f"「{transition.label}」({transition.action}) 只能由{transition.who_label}执行，当前用户无权操作此诉求"
    reason = transition.guard(petition)
    if reason:
        return f"「{transition.label}」({transition.action}) 不能执行：{reason}"
    return None


def available_actions(petition: Petition, actor: Actor) -> list[Transition]:
    """The transitions `actor` may perform on `petition` now, in table order (the admin site shows these buttons)."""
    return [t for t in TRANSITIONS.values() if why_not(t, petition, actor) is None]


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
    The caller commits.

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
            session.flush()
    except StaleDataError:
        session.expire(petition)
        raise StateConflict(f"诉求 {petition.number} 刚被他人修改，请刷新后再试") from None
    return event
