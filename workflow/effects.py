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

from models import Assessment, Evaluation, ExtensionRequest, Petition, Reply, Unit, User
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
    UnitLevel,
)
from workflow import limits, routing
from workflow.actors import Actor
from workflow.calendar import WorkingCalendar, load_calendar
from workflow.deadlines import compute_deadline, extend_deadline, time_limit
from workflow.errors import InvalidInput
from workflow.inadmissible import ADVICE, rejection_text
from workflow.lights import set_deadline

PHONE_RE = re.compile(r"^[0-9][0-9\-]{6,19}$")
MAX_EXTENSION_DAYS = 20


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

    first_acceptance = p.accepted_at is None
    _classify_and_start_clock(ctx)
    p.current_unit = unit
    p.level = unit.level
    if p.kind == PetitionKind.ENFORCEMENT and not by_city:
        p.lead_unit = unit
        p.cooperating_units = cooperating
    ctx.event_data.update(unit_id=unit.id, unit_name=unit.name, cooperating=[u.id for u in cooperating])
    if not first_acceptance:
        ctx.notify("assigned", unit_name=unit.name)
    return PetitionState.ASSIGNED


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


def submit_reply(ctx: Context) -> PetitionState:
    """提交答复: the unit drafts the reply with every required element."""
    p = ctx.petition
    values = {
        name: ctx.text(name, required=True)
        for name in ("petitioner_info", "policy_basis", "result", "responsible_person", "contact_phone")
    }
    if not PHONE_RE.match(values["contact_phone"]):
        raise InvalidInput("联系电话格式不正确", "contact_phone")
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
    # A new evaluation window starts once this reply reaches the citizen (see workflow.jobs). The jobs write these
    # columns set-wise, behind this object's back, so they are written even when it still holds NULL.
    for bookkeeping in ("reply_delivered_at", "evaluation_requested_at", "evaluation_reminded_at"):
        setattr(ctx.petition, bookkeeping, None)
        flag_modified(ctx.petition, bookkeeping)
    ctx.notify(
        "replied",
        reply_id=reply.id,
        unit_name=reply.unit.name,
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
    """How many of the unit's latest assessments on this petition, in a row, found its duty not done."""
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


def request_extension(ctx: Context) -> PetitionState:
    """申请延期: the handling unit asks the platform for more working days, with a reason."""
    p = ctx.petition
    reason = ctx.text("reason", required=True)
    raw = str(ctx.params.get("extra_working_days") or "")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_EXTENSION_DAYS:
        raise InvalidInput(f"延期工作日数须为1到{MAX_EXTENSION_DAYS}之间的整数", "extra_working_days")
    assert p.current_unit_id is not None
    request = ExtensionRequest(
        petition_id=p.id,
        unit_id=p.current_unit_id,
        requested_by_id=ctx.actor.id if isinstance(ctx.actor, User) else None,
        extra_working_days=int(raw),
        reason=reason,
        old_deadline=p.deadline,
        created_at=ctx.now,
    )
    ctx.session.add(request)
    ctx.session.flush()
    ctx.event_data.update(request_id=request.id, extra_working_days=int(raw))
    return p.state


def decide_extension(ctx: Context) -> PetitionState:
    """审批延期: the district or city platform approves (the deadline moves) or refuses the pending request."""
    p = ctx.petition
    approve = ctx.params.get("approve")
    if approve not in (True, False, "true", "false", "1", "0", 1, 0):
        raise InvalidInput("请选择批准或不批准", "approve")
    approved = approve in (True, "true", "1", 1)
    note = ctx.text("note", required=not approved)
    request = pending_extension(ctx.session, p)
    assert request is not None  # the guard guarantees it
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


Effect = Callable[[Context], PetitionState]
