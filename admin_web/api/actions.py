"""The parameters of each workflow action as the API takes them: names, JSON types, and the enum values.

The action names are the workflow's (`workflow.engine.TRANSITIONS`); this table only describes their inputs, for
type-checking request bodies and for the OpenAPI document. A test checks that every transition has an entry here,
so a new workflow action cannot appear without its parameters being described.
The effects in `workflow.effects` still validate the values themselves (required fields, ranges, units in scope).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from admin_web.api.errors import ApiError
from models.bounds import MAX_ID
from models.enums import (
    AssessmentOutcome,
    Complexity,
    DeptType,
    InadmissibleCode,
    LabelledEnum,
    Nature,
    PetitionKind,
    Resolution,
    Satisfaction,
)
from workflow import limits


@dataclass(frozen=True)
class Param:
    """One parameter: its JSON type ("string", "integer", "boolean", "integer[]"), whether the action always
    needs it, its allowed values for enumerations, and a Chinese description."""

    type: str
    description: str
    required: bool = False
    enum: type[LabelledEnum] | None = None

    def json_schema(self, name: str) -> dict[str, Any]:
        """This parameter, called `name`, as a JSON Schema (OpenAPI 3.1 uses JSON Schema 2020-12); free text
        carries its ``maxLength`` from `workflow.limits`."""
        if self.type == "integer[]":
            return {"type": "array", "items": {**ID_SCHEMA}, "description": self.description}
        schema: dict[str, Any] = {"type": self.type, "description": self.description}
        if self.type == "integer" and name.endswith("_id"):
            schema.update(ID_SCHEMA)
        if self.type == "string" and limits.max_length(name) is not None:
            schema["maxLength"] = limits.max_length(name)
        if self.enum is not None:
            schema["enum"] = [member.value for member in self.enum]
            schema["description"] += "：" + "，".join(f"{m.value}={m.label}" for m in self.enum)
        return schema


# A row id (see models.bounds).
ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": MAX_ID}


def _enum(cls: type[LabelledEnum], description: str, required: bool = False) -> Param:
    return Param("string", description, required, cls)


NOTE = Param("string", "说明（写入办理记录）")
NOTE_REQUIRED = Param("string", "说明（写入办理记录）", required=True)
_CLASSIFICATION = {
    "kind": _enum(PetitionKind, "诉求类别"),
    "nature": _enum(Nature, "诉求性质（民生诉求必填）"),
    "complexity": _enum(Complexity, "复杂程度，决定办理时限"),
    "dept_type": _enum(DeptType, "职能部门类型（与分类建议比对）"),
}
_DISPATCH = {
    "unit_id": Param("integer", "承办单位 id（见 GET /api/v1/units）", required=True),
    **_CLASSIFICATION,
    "cooperating_unit_ids": Param("integer[]", "执法诉求的配合单位 id"),
    "cooperation_days": Param("integer", "执法诉求配合单位的完成时限（工作日，短于主责单位时限；默认一半）"),
    "note": NOTE,
}

ACTION_PARAMS: dict[str, dict[str, Param]] = {
    "dispatch": _DISPATCH,
    "city_dispatch": _DISPATCH,
    "reject": {"code": _enum(InadmissibleCode, "不予受理原因", required=True), "note": NOTE},
    "send_to_city": {**_CLASSIFICATION, "note": NOTE_REQUIRED},
    "return_to_district": {"note": NOTE_REQUIRED},
    "accept": {"note": NOTE},
    "return": {"note": NOTE_REQUIRED},
    "escalate": {"note": NOTE_REQUIRED},
    "submit_reply": {
        "petitioner_info": Param("string", "诉求人基本情况", required=True),
        "policy_basis": Param("string", "政策依据", required=True),
        "result": Param("string", "办理结果", required=True),
        "responsible_person": Param("string", "办理责任人", required=True),
        "contact_phone": Param("string", "联系电话", required=True),
        "missing_parts_reason": Param("string", "执法主责单位在配合单位未提交配合意见时提交答复的原因"),
        "note": NOTE,
    },
    "approve_reply": {"note": NOTE},
    "approve_city_reply": {"note": NOTE},
    "return_reply": {"note": NOTE_REQUIRED},
    "send_reply": {"note": NOTE},
    "evaluate": {
        "satisfaction": _enum(Satisfaction, "满意度", required=True),
        "resolution": _enum(Resolution, "解决情况", required=True),
        "comment": Param("string", "评价意见"),
        "note": NOTE,
    },
    # The system's own: closing an unrated petition when its evaluation window ends (always refused to API users).
    "expire_evaluation": {"note": NOTE},
    "assess": {
        "outcome": _enum(AssessmentOutcome, "评估结果", required=True),
        "note": Param("string", "评估说明（履职未完成时必填）"),
    },
    "request_extension": {
        "extra_working_days": Param("integer", "延期工作日数（1–20，且不超过本轮剩余可延期天数）", required=True),
        "reason": Param("string", "延期理由", required=True),
        "note": NOTE,
    },
    "decide_extension": {
        "approve": Param("boolean", "是否批准", required=True),
        "note": Param("string", "审批意见（不批准时必填）"),
    },
    "accept_cooperation": {"note": NOTE},
    "submit_cooperation": {"part": Param("string", "配合办理情况（提交主责单位）", required=True), "note": NOTE},
    # Linked duplicates (workflow.links); POST /petitions/<number>/link is the same, and a repeat changes nothing.
    "link": {"target": Param("string", "要关联至的主诉求编号", required=True), "note": NOTE},
    "unlink": {"note": NOTE},
    # The system's own: the master's reply reaching a linked duplicate (always refused to API users).
    "linked_reply": {"note": NOTE},
}


def _type_ok(param: Param, value: Any) -> bool:
    if value is None:
        return True
    if param.type == "string":
        return isinstance(value, str)
    if param.type == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if param.type == "boolean":
        return isinstance(value, bool)
    return isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)


def action_params(action: str, body: dict[str, Any]) -> dict[str, Any]:
    """The workflow parameters in `body` (everything but ``expected_state``), type-checked against the table.

    :raises ApiError: 422 for a parameter the action does not take, or one of the wrong JSON type (names it).
    """
    spec = ACTION_PARAMS[action]
    params: dict[str, Any] = {}
    for name, value in body.items():
        if name == "expected_state":
            continue
        param = spec.get(name)
        if param is None:
            raise ApiError(422, "invalid_input", f"操作 {action} 不接受参数 {name}", field=name)
        if not _type_ok(param, value):
            raise ApiError(422, "invalid_input", f"参数 {name} 的类型应为 {param.type}", field=name)
        params[name] = value
    return params
