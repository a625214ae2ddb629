"""What each workflow action does to a petition. The engine (workflow.engine) decides whether it may run.

Each effect validates its parameters before it changes anything, then returns the target state.
Effects never commit; the engine runs them inside a savepoint so a refusal writes nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from models import Assessment, CooperationTask, Evaluation, ExtensionRequest, Petition, Reply, Unit, User
from models.bounds import parse_id
from models.enums import (
    AssessmentOutcome,
    Complexity,
    DeptType,
    InadmissibleCode,
    Light,
    Nature,
    PetitionKind,
    PetitionState,
    ReplyState,
    RequestState,
    Resolution,
    Satisfaction,
    TaskState,
    UnitLevel,
)
from workflow import extensions, limits, routing
from workflow.actors import Actor
from workflow.calendar import WorkingCalendar, load_calendar
from workflow.deadlines import compute_deadline, extend_deadline, time_limit
from workflow.errors import InvalidInput, LinkConflict, UnknownPetition
from workflow.inadmissible import ADVICE, rejection_text
from workflow.lights import set_deadline

PHONE_RE = re.compile(r"^[0-9][0-9\-]{6,19}$")
# A petition number as the platform writes them (district letters, the day, the sequence), at most its column's length.
NUMBER_RE = re.compile(r"^[A-Z0-9]{1,20}$")


@dataclass
class Context:
    """Everything an effect may use: no request, no app, no clock of its own."""

    session: Session
    petition: Petition
    actor: Actor
    now: dt.datetime
    params: dict[str, Any]
    event_data: dict[str, Any] = field(default_factory=dict)
    notifications: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _calendar: WorkingCalendar | None = None

    @property
    def calendar(self) -> WorkingCalendar:
        if self._calendar is None:
            self._calendar = load_calendar(self.session)
        return self._calendar

    def notify(self, event: str, **facts: Any) -> None:
        self.notifications.append((event, facts))

    def text(self, name: str, *, required: bool = False) -> str:
        """The free-text parameter `name`, stripped, within its length from `workflow.limits`."""
        value = self.params.get(name)
        value = "" if value is None else str(value).strip()
        if required and not value:
            raise InvalidInput(f"请填写{FIELD_LABELS.get(name, name)}", name)
        problem = limits.too_long(name, value, FIELD_LABELS.get(name, name))
        if problem:
            raise InvalidInput(problem, name)
        return value

    def enum(self, name: str, cls: type, *, default: Any = None, required: bool = False) -> Any:
        value = self.params.get(name)
        if value in (None, ""):
            if required:
                raise InvalidInput(f"请选择{FIELD_LABELS.get(name, name)}", name)
            return default
        try:
            return cls(value)
        except ValueError:
            raise InvalidInput(f"{FIELD_LABELS.get(name, name)}的取值「{value}」无效", name) from None

    def unit(self, name: str) -> Unit:
        raw = self.params.get(name)
        unit_id = parse_id(raw)
        unit = self.session.get(Unit, unit_id) if unit_id is not None else None
        if unit is None or not unit.active:
            raise InvalidInput(f"请选择有效的{FIELD_LABELS.get(name, name)}", name)
        return unit


FIELD_LABELS = {
    "note": "说明",
    "unit_id": "承办单位",
    "cooperating_unit_ids": "配合单位",
    "kind": "诉求类别",
    "nature": "诉求性质",
    "complexity": "复杂程度",
    "dept_type": "职能部门类型",
    "code": "不予受理原因",
    "petitioner_info": "诉求人基本情况",
    "policy_basis": "政策依据",
    "result": "办理结果",
    "responsible_person": "办理责任人",
    "contact_phone": "联系电话",
    "satisfaction": "满意度",
    "resolution": "解决情况",
    "outcome": "评估结果",
    "comment": "评价意见",
    "extra_working_days": "延期工作日数",
    "reason": "延期理由",
    "approve": "审批意见",
    "cooperation_days": "配合单位完成时限",
    "part": "配合办理情况",
    "missing_parts_reason": "缺少配合意见的原因",
    "target": "主诉求编号",
}


# --- dispatching ---------------------------------------------------------------------------------------------


def _classify_and_start_clock(ctx: Context) -> None:
    """Apply the dispatcher's kind / nature / complexity / department, and start the deadline on first acceptance."""
    p = ctx.petition
    kind = ctx.enum("kind", PetitionKind, default=p.kind)
    nature = ctx.enum("nature", Nature, default=p.nature)
    complexity = ctx.enum("complexity", Complexity, default=p.complexity)
    dept_type = ctx.enum("dept_type", DeptType, default=p.dept_type)
    if kind == PetitionKind.LIVELIHOOD and nature is None:
        raise InvalidInput("民生诉求须确定诉求性质（咨询、建议或投诉）", "nature")
    if kind == PetitionKind.LIVELIHOOD and complexity == Complexity.ESPECIALLY_COMPLEX:
        raise InvalidInput("民生诉求的复杂程度只有简单和复杂两档", "complexity")
    try:
        limit = time_limit(kind, nature, complexity)
    except ValueError as exc:
        raise InvalidInput(str(exc), "complexity") from None

    if p.suggestion and p.suggestion_accepted is None and dept_type is not None:
        suggested = routing.suggested_department(p)
        p.suggestion_accepted = suggested is not None and suggested == dept_type.value
        ctx.event_data["suggested_department"] = suggested

    p.kind, p.nature, p.complexity, p.dept_type = kind, nature, complexity, dept_type
    if p.accepted_at is None:
        deadline = compute_deadline(ctx.now, limit, ctx.calendar)
        set_deadline(p, accepted_at=ctx.now, time_limit_days=limit, deadline=deadline.due)
        p.light = Light.BLUE
        ctx.event_data["deadline"] = deadline.due.isoformat()
        if deadline.uncertain_years:
            ctx.event_data["uncertain_years"] = list(deadline.uncertain_years)
        # The citizen was told of the acceptance once; a later round's clock starts again without a second notice
        # (they were told of the second handling, and hear where it went from the 'assigned' message).
        if p.handling_round == 1:
            ctx.notify("accepted", deadline=deadline.due.isoformat(), time_limit_days=limit)


def dispatch(ctx: Context) -> PetitionState:
    """分拨: the platform confirms the classification and assigns the petition to a unit (a 执法 lead unit + cooperators)."""
    p = ctx.petition
    by_city = p.state == PetitionState.AT_CITY
    unit = ctx.unit("unit_id")
    levels = routing.allowed_target_levels(p, by_city)
    if unit.level not in levels:
        allowed = "、".join(level.label for level in levels)
        raise InvalidInput(f"此诉求当前只能分拨至：{allowed}", "unit_id")
    if by_city != (unit.district_code is None) or (not by_city and unit.district_code != p.district_code):
        raise InvalidInput("承办单位不在本平台管辖范围内", "unit_id")
    kind = ctx.enum("kind", PetitionKind, default=p.kind)
    cooperating: list[Unit] = []
    if kind == PetitionKind.ENFORCEMENT and not by_city:
        raw_ids = ctx.params.get("cooperating_unit_ids") or []
        if not isinstance(raw_ids, list | tuple | set):
            raw_ids = [raw_ids]
        ids = {parse_id(i) for i in raw_ids if str(i).strip()}
        if None in ids:
            raise InvalidInput("配合单位 id 无效", "cooperating_unit_ids")
        cooperating = [u for u in (ctx.session.get(Unit, i) for i in sorted(ids)) if u is not None and u.active]
        if not cooperating or len(cooperating) != len(ids):
            raise InvalidInput("执法诉求须明确至少一个有效的配合单位", "cooperating_unit_ids")
        if unit in cooperating:
            raise InvalidInput("主责单位不能同时是配合单位", "cooperating_unit_ids")
        if any(u.district_code != p.district_code for u in cooperating):
            raise InvalidInput("配合单位须为本区(市)单位", "cooperating_unit_ids")
        if any(u.level not in routing.COOPERATING_LEVELS for u in cooperating):
            raise InvalidInput("配合单位须为镇(街道)或区(市)职能部门", "cooperating_unit_ids")

    first_acceptance = p.accepted_at is None and p.handling_round == 1
    _classify_and_start_clock(ctx)
    p.current_unit = unit
    p.level = unit.level
    if p.kind == PetitionKind.ENFORCEMENT and not by_city:
        p.lead_unit = unit
        p.cooperating_units = cooperating
        _assign_cooperation_tasks(ctx, cooperating)
    ctx.event_data.update(unit_id=unit.id, unit_name=unit.name, cooperating=[u.id for u in cooperating])
    if not first_acceptance:
        ctx.notify("assigned", unit_name=unit.name)
    return PetitionState.ASSIGNED


def cooperation_tasks(session: Session, petition: Petition) -> list[CooperationTask]:
    """The cooperating units' tasks of the petition's current round (withdrawn ones included), by unit."""
    return list(
        session.scalars(
            select(CooperationTask)
            .where(
                CooperationTask.petition_id == petition.id,
                CooperationTask.handling_round == petition.handling_round,
            )
            .order_by(CooperationTask.id)
        )
    )


def _assign_cooperation_tasks(ctx: Context, cooperating: list[Unit]) -> None:
    """Give each cooperating unit its task for this round, due `cooperation_days` working days after now (by
    default half the lead's time limit) and never after the lead unit's deadline; a unit no longer named loses
    its open task (withdrawn), a unit still named keeps its task as it is."""
    p = ctx.petition
    assert p.deadline is not None and p.time_limit_days is not None
    limit = p.time_limit_days
    raw = ctx.params.get("cooperation_days")
    if raw in (None, ""):
        days = max(1, limit // 2)
    elif not str(raw).isdigit() or not 1 <= int(raw) < limit:
        raise InvalidInput(f"配合单位完成时限须为1到{limit - 1}个工作日（在主责单位的时限之内）", "cooperation_days")
    else:
        days = int(raw)
    due = min(compute_deadline(ctx.now, days, ctx.calendar).due, p.deadline)
    existing = {task.unit_id: task for task in cooperation_tasks(ctx.session, p)}
    named = {u.id for u in cooperating}
    for unit_id, task in existing.items():
        if unit_id not in named and task.open:
            task.state = TaskState.WITHDRAWN
    for unit in cooperating:
        task = existing.get(unit.id)
        if task is None:
            ctx.session.add(
                CooperationTask(
                    petition_id=p.id,
                    handling_round=p.handling_round,
                    unit_id=unit.id,
                    state=TaskState.ASSIGNED,
                    deadline=due,
                    created_at=ctx.now,
                )
            )
        elif task.state == TaskState.WITHDRAWN:
            task.state, task.deadline = TaskState.ASSIGNED, due
    ctx.event_data["cooperation_deadline"] = due.isoformat()


def reject(ctx: Context) -> PetitionState:
    """不予受理: the platform rejects with a coded reason; the citizen is told why and where to go."""
    p = ctx.petition
    code = ctx.enum("code", InadmissibleCode, required=True)
    note = ctx.text("note")
    p.inadmissible_code = code
    p.reject_note = note or None
    p.closed_at = ctx.now
    p.light = None
    ctx.event_data["code"] = code.value
    ctx.notify("rejected", code=code.value, reason=code.label, advice=ADVICE[code], text=rejection_text(code, note))
    return PetitionState.REJECTED


def send_to_city(ctx: Context) -> PetitionState:
    """流转市级平台: the district platform sends a petition that needs a city department to the city platform."""
    p = ctx.petition
    ctx.text("note", required=True)
    city = routing.city_platform(ctx.session)
    _classify_and_start_clock(ctx)
    p.via_city = True
    p.current_unit = city
    p.level = UnitLevel.CITY_PLATFORM
    return PetitionState.AT_CITY


def return_to_district(ctx: Context) -> PetitionState:
    """The city platform hands a petition back to the district platform (no city department is needed)."""
    p = ctx.petition
    ctx.text("note", required=True)
    p.via_city = False
    p.current_unit = routing.district_platform(ctx.session, p.district_code)
    p.level = UnitLevel.DISTRICT_PLATFORM
    return PetitionState.PENDING_DISPATCH


# --- units -----------------------------------------------------------------------------------------------------


def accept(ctx: Context) -> PetitionState:
    """签收: the assigned unit takes the petition on."""
    return PetitionState.HANDLING


def _back_to_platform(ctx: Context) -> PetitionState:
    p = ctx.petition
    if p.current_unit is not None and p.current_unit.is_city_level:
        p.current_unit = routing.city_platform(ctx.session)
        p.level = UnitLevel.CITY_PLATFORM
        return PetitionState.AT_CITY
    p.current_unit = routing.district_platform(ctx.session, p.district_code)
    p.level = UnitLevel.DISTRICT_PLATFORM
    return PetitionState.PENDING_DISPATCH


def return_to_platform(ctx: Context) -> PetitionState:
    """退回: a unit returns a petition that is not its responsibility, with the reason."""
    ctx.text("note", required=True)
    ctx.event_data["unit_id"] = ctx.petition.current_unit_id
    return _back_to_platform(ctx)


def escalate(ctx: Context) -> PetitionState:
    """上报: a community hands up to its street, a street to the district platform (民生 chain)."""
    p = ctx.petition
    ctx.text("note", required=True)
    assert p.current_unit is not None
    try:
        target = routing.next_up(ctx.session, p.current_unit)
    except LookupError as exc:
        raise InvalidInput(str(exc)) from None
    ctx.event_data.update(from_unit=p.current_unit_id, to_unit=target.id, to_level=target.level.value)
    p.current_unit = target
    p.level = target.level
    if target.level == UnitLevel.DISTRICT_PLATFORM:
        return PetitionState.PENDING_DISPATCH
    ctx.notify("assigned", unit_name=target.name)
    return PetitionState.ASSIGNED


def _current_reply(ctx: Context) -> Reply:
    reply = ctx.session.scalars(
        select(Reply)
        .where(Reply.petition_id == ctx.petition.id, Reply.handling_round == ctx.petition.handling_round)
        .where(Reply.state.not_in([ReplyState.RETURNED, ReplyState.SENT]))
        .order_by(Reply.id.desc())
    ).first()
    if reply is None:
        raise InvalidInput("没有待审核的答复")
    return reply


def _own_task(ctx: Context) -> CooperationTask:
    unit_id = ctx.actor.unit_id if isinstance(ctx.actor, User) else None
    task = next((t for t in cooperation_tasks(ctx.session, ctx.petition) if t.unit_id == unit_id), None)
    assert task is not None  # the guard guarantees it
    return task


def accept_cooperation(ctx: Context) -> PetitionState:
    """签收配合任务: a cooperating unit of a 执法 petition takes its part on."""
    task = _own_task(ctx)
    task.state = TaskState.ACCEPTED
    task.accepted_at = ctx.now
    task.accepted_by_id = ctx.actor.id if isinstance(ctx.actor, User) else None
    ctx.event_data.update(task_id=task.id, deadline=task.deadline.isoformat())
    return ctx.petition.state


def submit_cooperation(ctx: Context) -> PetitionState:
    """提交配合意见: a cooperating unit reports its part to the lead unit, which puts it into the reply."""
    part = ctx.text("part", required=True)
    task = _own_task(ctx)
    task.state = TaskState.SUBMITTED
    task.part = part
    task.submitted_at = ctx.now
    task.submitted_by_id = ctx.actor.id if isinstance(ctx.actor, User) else None
    ctx.event_data.update(task_id=task.id, on_time=ctx.now <= task.deadline)
    return ctx.petition.state


def submit_reply(ctx: Context) -> PetitionState:
    """提交答复: the unit drafts the reply with every required element. A 执法 lead unit submits it once every
    cooperating unit's part is in, or records why it goes without the missing ones."""
    p = ctx.petition
    values = {
        name: ctx.text(name, required=True)
        for name in ("petitioner_info", "policy_basis", "result", "responsible_person", "contact_phone")
    }
    if not PHONE_RE.match(values["contact_phone"]):
        raise InvalidInput("联系电话格式不正确", "contact_phone")
    if p.kind == PetitionKind.ENFORCEMENT and p.lead_unit_id == p.current_unit_id:
        missing = [t for t in cooperation_tasks(ctx.session, p) if t.open]
        if missing:
            names = "、".join(t.unit.name for t in missing)
            reason = ctx.text("missing_parts_reason")
            if not reason:
                raise InvalidInput(
                    f"配合单位（{names}）尚未提交配合意见：请等其提交，或说明缺少配合意见的原因", "missing_parts_reason"
                )
            ctx.event_data.update(missing_parts=[t.unit_id for t in missing], missing_parts_reason=reason)
    assert p.current_unit_id is not None
    reply = Reply(
        petition_id=p.id,
        handling_round=p.handling_round,
        unit_id=p.current_unit_id,
        author_id=ctx.actor.id if isinstance(ctx.actor, User) else None,
        state=ReplyState.UNIT_REVIEW,
        created_at=ctx.now,
        **values,
    )
    ctx.session.add(reply)
    ctx.session.flush()
    ctx.event_data["reply_id"] = reply.id
    return PetitionState.UNIT_REVIEW


def approve_reply(ctx: Context) -> PetitionState:
    """单位审核通过: the unit's reviewer approves; a city department's reply goes to the city platform next."""
    reply = _current_reply(ctx)
    ctx.event_data["reply_id"] = reply.id
    if ctx.petition.current_unit is not None and ctx.petition.current_unit.is_city_level:
        reply.state = ReplyState.CITY_REVIEW
        return PetitionState.CITY_REVIEW
    reply.state = ReplyState.PLATFORM_REVIEW
    return PetitionState.PLATFORM_REVIEW


def approve_city_reply(ctx: Context) -> PetitionState:
    """市级平台审核通过: the city platform approves a city department's reply; it goes to the district platform."""
    reply = _current_reply(ctx)
    reply.state = ReplyState.PLATFORM_REVIEW
    ctx.event_data["reply_id"] = reply.id
    return PetitionState.PLATFORM_REVIEW


def return_reply(ctx: Context) -> PetitionState:
    """退回修改: a reviewer sends the reply back to the unit with what to change."""
    note = ctx.text("note", required=True)
    reply = _current_reply(ctx)
    reply.state = ReplyState.RETURNED
    reply.review_note = note
    ctx.event_data["reply_id"] = reply.id
    return PetitionState.HANDLING


def send_reply(ctx: Context) -> PetitionState:
    """统一答复: the district platform approves the reply and sends it to the citizen."""
    reply = _current_reply(ctx)
    reply.state = ReplyState.SENT
    reply.sent_at = ctx.now
    reply.deadline = ctx.petition.deadline
    reply.on_time = ctx.petition.deadline is None or ctx.now <= ctx.petition.deadline
    ctx.event_data.update(reply_id=reply.id, on_time=reply.on_time)
    ctx.petition.light = None
    return _reply_reaches_citizen(ctx, ctx.petition, reply, reply.unit.name)


def _reply_reaches_citizen(ctx: Context, petition: Petition, reply: Reply, unit_name: str) -> PetitionState:
    """The reply goes to the petitioner: a new evaluation window starts once it reaches them (see workflow.jobs; the
    jobs write these columns set-wise, behind this object's back, so they are written even when it still holds
    NULL), and the 'replied' notice carries its five elements."""
    for bookkeeping in ("reply_delivered_at", "evaluation_requested_at", "evaluation_reminded_at"):
        setattr(petition, bookkeeping, None)
        flag_modified(petition, bookkeeping)
    ctx.notify(
        "replied",
        reply_id=reply.id,
        unit_name=unit_name,
        petitioner_info=reply.petitioner_info,
        result=reply.result,
        policy_basis=reply.policy_basis,
        responsible_person=reply.responsible_person,
        contact_phone=reply.contact_phone,
    )
    return PetitionState.AWAITING_EVALUATION


# --- evaluation, second handling, assessment ------------------------------------------------------------------


def _start_new_round(ctx: Context) -> None:
    p = ctx.petition
    p.handling_round += 1
    set_deadline(p, accepted_at=None, time_limit_days=None, deadline=None)
    p.light = None
    p.via_city = False
    p.current_unit = routing.district_platform(ctx.session, p.district_code)
    p.level = UnitLevel.DISTRICT_PLATFORM
    ctx.event_data["new_round"] = p.handling_round


def _round_unit_id(ctx: Context) -> int | None:
    """The unit whose reply the citizen received in this round."""
    return ctx.session.scalar(
        select(Reply.unit_id).where(
            Reply.petition_id == ctx.petition.id,
            Reply.handling_round == ctx.petition.handling_round,
            Reply.state == ReplyState.SENT,
        )
    )


def evaluate(ctx: Context) -> PetitionState:
    """评价: satisfied-or-basically and resolved-or-basically closes the petition; otherwise the first round goes to
    second handling (二次办理) and a later round to the handling unit's performance assessment (履职评估)."""
    p = ctx.petition
    satisfaction = ctx.enum("satisfaction", Satisfaction, required=True)
    resolution = ctx.enum("resolution", Resolution, required=True)
    comment = ctx.text("comment")
    unit_id = _round_unit_id(ctx)
    evaluation = Evaluation(
        petition_id=p.id,
        handling_round=p.handling_round,
        unit_id=unit_id,
        satisfaction=satisfaction,
        resolution=resolution,
        comment=comment,
        created_at=ctx.now,
    )
    ctx.session.add(evaluation)
    ctx.event_data.update(satisfaction=satisfaction.value, resolution=resolution.value, round=p.handling_round)
    if evaluation.passed:
        p.closed_at = ctx.now
        ctx.notify("closed", satisfaction=satisfaction.label, resolution=resolution.label)
        return PetitionState.CLOSED
    if p.duplicate_of_id is not None:
        # A linked duplicate's petitioner is not satisfied with the shared reply: the petition leaves its master
        # and is handled on its own, the shared reply being its first round (workflow.links).
        ctx.event_data["unlinked_from"] = p.duplicate_of_id
        p.duplicate_of = None
        p.duplicate_of_id = None
    if p.handling_round == 1:
        _start_new_round(ctx)
        ctx.notify("second_handling")
        return PetitionState.PENDING_DISPATCH
    if unit_id is not None:
        p.current_unit = ctx.session.get(Unit, unit_id)
    ctx.event_data["assessed_unit"] = unit_id
    ctx.notify("assessment_started")
    return PetitionState.ASSESSMENT


def expire_evaluation(ctx: Context) -> PetitionState:
    """逾期未评价: the system closes a petition whose citizen did not rate the reply within the evaluation window
    (``[evaluation] window_days`` after it reached them). Counted apart from the satisfaction rate.

    Param ``notify`` (default true): tell the citizen, with the 'closed' message marked unrated; the job passes
    false for a district with no template for it, where the message could not reach a citizen who has gone quiet.
    """
    p = ctx.petition
    p.closed_at = ctx.now
    p.light = None
    ctx.event_data.update(round=p.handling_round, window_days=ctx.params.get("window_days"))
    if ctx.params.get("notify", True):
        ctx.notify("closed", unrated=True, window_days=ctx.params.get("window_days"), satisfaction="未评价")
    return PetitionState.UNRATED


def consecutive_failed_assessments(session: Session, petition_id: int, unit_id: int) -> int:
    """How many of the unit's latest assessments on this petition, in a row, found its duty not done.

    The count runs over all the petition's rounds and follows the unit: another unit's assessment in between (the
    petition went to another unit for a round) neither breaks nor adds to it, so handing a petition around does
    not wipe a unit's record. (A 'done' assessment closes the petition, so on one petition a unit's failures are
    always in a row.)
    """
    outcomes = session.scalars(
        select(Assessment.outcome)
        .where(Assessment.petition_id == petition_id, Assessment.unit_id == unit_id)
        .order_by(Assessment.id.desc())
    )
    count = 0
    for outcome in outcomes:
        if outcome != AssessmentOutcome.NOT_COMPLETED:
            break
        count += 1
    return count


def assess(ctx: Context) -> PetitionState:
    """履职评估: duty done → closed; not done → handled again; two consecutive 'not done' → accountability (问责)."""
    p = ctx.petition
    outcome = ctx.enum("outcome", AssessmentOutcome, required=True)
    note = ctx.text("note", required=outcome == AssessmentOutcome.NOT_COMPLETED)
    unit_id = p.current_unit_id
    assert unit_id is not None
    ctx.session.add(
        Assessment(
            petition_id=p.id,
            unit_id=unit_id,
            handling_round=p.handling_round,
            outcome=outcome,
            assessor_id=ctx.actor.id if isinstance(ctx.actor, User) else None,
            note=note,
            created_at=ctx.now,
        )
    )
    ctx.session.flush()
    ctx.event_data.update(outcome=outcome.value, unit_id=unit_id)
    if outcome == AssessmentOutcome.COMPLETED:
        p.closed_at = ctx.now
        ctx.notify("closed")
        return PetitionState.CLOSED
    failures = consecutive_failed_assessments(ctx.session, p.id, unit_id)
    ctx.event_data["consecutive_failures"] = failures
    if failures >= 2:
        p.closed_at = ctx.now
        p.light = None
        unit = ctx.session.get(Unit, unit_id)
        ctx.event_data["accountable_unit"] = unit_id
        ctx.notify("accountability", unit_name=unit.name if unit is not None else "", failures=failures)
        return PetitionState.ACCOUNTABILITY
    _start_new_round(ctx)
    ctx.notify("second_handling")
    return PetitionState.PENDING_DISPATCH


# --- extensions ------------------------------------------------------------------------------------------------


def pending_extension(session: Session, petition: Petition) -> ExtensionRequest | None:
    return session.scalars(
        select(ExtensionRequest).where(
            ExtensionRequest.petition_id == petition.id, ExtensionRequest.state == RequestState.PENDING
        )
    ).first()


def round_extensions(session: Session, petition: Petition) -> list[ExtensionRequest]:
    """The petition's extension requests of its current handling round."""
    return list(
        session.scalars(
            select(ExtensionRequest)
            .where(
                ExtensionRequest.petition_id == petition.id,
                ExtensionRequest.handling_round == petition.handling_round,
            )
            .order_by(ExtensionRequest.id)
        )
    )


def _allowance(ctx: Context) -> extensions.RoundAllowance:
    policy = extensions.policy_of(ctx.session)
    return extensions.allowance(ctx.petition, round_extensions(ctx.session, ctx.petition), policy)


def _too_many_days(left: extensions.RoundAllowance, kind: PetitionKind) -> str:
    return (
        f"本轮最多还能延期{left.days_left}个工作日（{kind.label}诉求办理时限连同延期合计不超过"
        f"{left.total}个工作日）"
    )


def request_extension(ctx: Context) -> PetitionState:
    """申请延期: the handling unit asks the platform for more working days, with a reason, within what the round
    still allows (`workflow.extensions`); a request beyond the round's approved extensions goes to the city."""
    p = ctx.petition
    reason = ctx.text("reason", required=True)
    raw = str(ctx.params.get("extra_working_days") or "")
    if not raw.isdigit() or not 1 <= int(raw) <= extensions.MAX_EXTENSION_DAYS:
        raise InvalidInput(f"延期工作日数须为1到{extensions.MAX_EXTENSION_DAYS}之间的整数", "extra_working_days")
    left = _allowance(ctx)
    if int(raw) > left.days_left:
        raise InvalidInput(_too_many_days(left, p.kind), "extra_working_days")
    assert p.current_unit_id is not None
    request = ExtensionRequest(
        petition_id=p.id,
        handling_round=p.handling_round,
        unit_id=p.current_unit_id,
        needs_city=left.needs_city,
        requested_by_id=ctx.actor.id if isinstance(ctx.actor, User) else None,
        extra_working_days=int(raw),
        reason=reason,
        old_deadline=p.deadline,
        created_at=ctx.now,
    )
    ctx.session.add(request)
    ctx.session.flush()
    ctx.event_data.update(request_id=request.id, extra_working_days=int(raw), needs_city=left.needs_city)
    return p.state


def decide_extension(ctx: Context) -> PetitionState:
    """审批延期: the district or city platform approves (the deadline moves) or refuses the pending request; an
    approval never takes the round past its total (`workflow.extensions`)."""
    p = ctx.petition
    approve = ctx.params.get("approve")
    if approve not in (True, False, "true", "false", "1", "0", 1, 0):
        raise InvalidInput("请选择批准或不批准", "approve")
    approved = approve in (True, "true", "1", 1)
    note = ctx.text("note", required=not approved)
    request = pending_extension(ctx.session, p)
    assert request is not None  # the guard guarantees it
    if approved:
        left = _allowance(ctx)
        if request.extra_working_days > left.days_left:
            raise InvalidInput(_too_many_days(left, p.kind) + "，只能不批准", "approve")
    request.state = RequestState.APPROVED if approved else RequestState.REFUSED
    request.decided_by_id = ctx.actor.id if isinstance(ctx.actor, User) else None
    request.decided_at = ctx.now
    request.decision_note = note
    ctx.event_data.update(request_id=request.id, approved=approved)
    if approved and p.deadline is not None:
        extended = extend_deadline(p.deadline, request.extra_working_days, ctx.calendar)
        request.new_deadline = extended.due
        set_deadline(p, accepted_at=p.accepted_at, time_limit_days=p.time_limit_days, deadline=extended.due)
        ctx.event_data["deadline"] = extended.due.isoformat()
        ctx.notify("extended", deadline=extended.due.isoformat(), extra_working_days=request.extra_working_days)
    return p.state


# --- linked duplicates (workflow.links) ---------------------------------------------------------------------------

# The states of a petition a duplicate may be linked to: open and its reply not yet sent, so that the reply will
# reach the duplicate (`linked_reply`, run by the engine when the master's reply is sent).
LINK_TARGET_STATES = (
    PetitionState.PENDING_DISPATCH,
    PetitionState.AT_CITY,
    PetitionState.ASSIGNED,
    PetitionState.HANDLING,
    PetitionState.UNIT_REVIEW,
    PetitionState.CITY_REVIEW,
    PetitionState.PLATFORM_REVIEW,
)
# What the copy of the master's reply says in place of the master's petitioner (never shown to another citizen).
LINKED_PETITIONER_INFO = "您反映的问题与其他群众反映的同一问题已合并办理，以下为统一答复。"


def linked_duplicates(session: Session, master: Petition) -> list[Petition]:
    """The petitions linked to `master` and waiting for its reply (state 已关联), oldest first."""
    return list(
        session.scalars(
            select(Petition)
            .where(Petition.duplicate_of_id == master.id, Petition.state == PetitionState.LINKED)
            .order_by(Petition.id)
        )
    )


def link_master(ctx: Context) -> Petition:
    """The petition named by the ``target`` parameter, checked as a master for `ctx.petition`.

    :raises UnknownPetition: no such number in the petition's district.
    :raises InvalidInput: no number, not a number, or the petition itself.
    :raises LinkConflict: the target is itself linked (names its master), closed or already replied, or the
        petition has duplicates of its own (a link is one level deep, so there is never a cycle).
    """
    p = ctx.petition
    number = ctx.text("target", required=True).upper()
    if not NUMBER_RE.match(number):
        raise InvalidInput(f"主诉求编号「{number[:20]}」格式不正确", "target")
    # Locked (PostgreSQL: FOR UPDATE) and read afresh, so a reply being sent to the master at this moment either
    # sees this duplicate (it waits for the link's commit) or is seen here (the master is no longer a target).
    master = ctx.session.scalars(
        select(Petition).where(Petition.number == number).with_for_update().execution_options(populate_existing=True)
    ).first()
    if master is None or master.district_code != p.district_code:
        raise UnknownPetition(f"没有找到本区(市)编号为「{number}」的诉求", "target")
    if master.id == p.id:
        raise InvalidInput("不能把诉求关联到它自己", "target")
    refuse = {"action": "link", "state": p.state.value}
    if master.state == PetitionState.LINKED:
        head = master.duplicate_of.number if master.duplicate_of is not None else "其主诉求"
        raise LinkConflict(f"诉求 {master.number} 本身已关联至 {head}，请关联至主诉求 {head}", **refuse)
    if master.state not in LINK_TARGET_STATES:
        raise LinkConflict(
            f"诉求 {master.number} 当前状态为「{master.state.label}」，只能关联至尚未答复的在办诉求", **refuse
        )
    own = linked_duplicates(ctx.session, p)
    if own:
        numbers = "、".join(d.number for d in own)
        raise LinkConflict(f"诉求 {p.number} 已有关联诉求（{numbers}），不能再关联至其他诉求", **refuse)
    return master


def link(ctx: Context) -> PetitionState:
    """关联重复诉求: a duplicate is handled with an open petition of the same district (its master) instead of on its
    own: no unit, no clock, no light; the petitioner is told, and gets the master's reply (`linked_reply`)."""
    p = ctx.petition
    master = link_master(ctx)
    ctx.event_data.update(master_id=master.id, master_number=master.number, linked_from=p.state.value)
    p.duplicate_of = master
    p.duplicate_of_id = master.id
    set_deadline(p, accepted_at=None, time_limit_days=None, deadline=None)
    p.light = None
    ctx.notify("linked")
    return PetitionState.LINKED


def unlink(ctx: Context) -> PetitionState:
    """取消关联: a mistaken link is undone before the master's reply (or the system undoes it when the master is
    closed without a reply): the petition goes back to its district platform's queue to be dispatched on its own."""
    p = ctx.petition
    ctx.text("note")
    master = p.duplicate_of
    ctx.event_data.update(master_id=p.duplicate_of_id, master_number=master.number if master is not None else None)
    p.duplicate_of = None
    p.duplicate_of_id = None
    p.via_city = False
    p.current_unit = routing.district_platform(ctx.session, p.district_code)
    p.level = UnitLevel.DISTRICT_PLATFORM
    ctx.notify("unlinked")
    return PetitionState.PENDING_DISPATCH


def linked_reply(ctx: Context) -> PetitionState:
    """随主诉求答复 (the system, when the master's reply is sent): the duplicate gets its own copy of the reply (its
    own row, `Reply.linked_from_id`, no deadline of its own), its petitioner the 'replied' message and then the
    request to rate it, exactly as the master's; the rating is this petition's own."""
    p = ctx.petition
    source_id = parse_id(ctx.params.get("reply_id"))
    source = ctx.session.get(Reply, source_id) if source_id is not None else None
    if source is None or source.state != ReplyState.SENT or source.petition_id != p.duplicate_of_id:
        raise InvalidInput("主诉求没有已发送的答复", "reply_id")
    copy = Reply(
        petition_id=p.id,
        handling_round=p.handling_round,
        unit_id=source.unit_id,
        author_id=source.author_id,
        petitioner_info=LINKED_PETITIONER_INFO,
        policy_basis=source.policy_basis,
        result=source.result,
        responsible_person=source.responsible_person,
        contact_phone=source.contact_phone,
        state=ReplyState.SENT,
        created_at=ctx.now,
        sent_at=ctx.now,
        linked_from_id=source.id,
    )
    ctx.session.add(copy)
    ctx.session.flush()
    ctx.event_data.update(reply_id=copy.id, linked_from=source.id, master_id=source.petition_id)
    p.light = None
    return _reply_reaches_citizen(ctx, p, copy, source.unit.name)


Effect = Callable[[Context], PetitionState]
