"""``GET /api/v1/openapi.json``: the OpenAPI 3.1 document of the API, built from the code it describes.

The workflow actions are generated from `workflow.engine.TRANSITIONS` (one path per action, its parameters from
`admin_web.api.actions.ACTION_PARAMS`), and the enumerations from `models.enums`, so the document cannot drift
from what the server accepts. Tests validate the document and check every route under /api/v1 against it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from admin_web.api.actions import ACTION_PARAMS
from admin_web.api.blueprint import api
from admin_web.api.petitions import DEFAULT_PER_PAGE, INTAKE_CHANNELS, MAX_PAGE, MAX_PER_PAGE
from admin_web.api.units import MAX_UNITS_PER_PAGE
from models.bounds import FIRST_DAY, LAST_DAY, MAX_ID
from models.enums import Channel, DeptType, Light, PetitionKind, PetitionState, UnitLevel
from workflow import intake, supplements
from workflow.engine import TRANSITIONS

PREFIX = "/api/v1"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
    }


STRING = {"type": "string"}
INTEGER = {"type": "integer"}
# A date or an instant with its offset, between the years models.bounds allows (others are 422).
DAY_OR_INSTANT = {
    "type": "string",
    "anyOf": [{"format": "date"}, {"format": "date-time"}],
    "description": f"{FIRST_DAY.year}–{LAST_DAY.year} 年之间",
}
# A row id (see models.bounds): larger numbers are refused with 422 or 404.
ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
TIME = _nullable({"type": "string", "format": "date-time"})
NULLABLE_STRING = _nullable(STRING)


def _values(cls: type) -> list[str]:
    return [member.value for member in cls]


def _schemas() -> dict[str, Any]:
    labelled = _object({"value": STRING, "label": STRING})
    unit_ref = _object({"id": INTEGER, "name": STRING, "level": STRING})
    summary = _object(
        {
            "number": {"type": "string", "examples": ["SN202611270001"]},
            "district_code": STRING,
            "kind": _ref("Labelled"),
            "nature": _nullable(_ref("Labelled")),
            "complexity": _ref("Labelled"),
            "dept_type": _nullable(_ref("Labelled")),
            "state": _ref("Labelled"),
            "light": _nullable(_ref("Labelled")),
            "title": STRING,
            "channel": STRING,
            "external_id": NULLABLE_STRING,
            "current_unit": _nullable(_ref("UnitRef")),
            "handling_round": INTEGER,
            "accepted_at": TIME,
            "deadline": TIME,
            "time_limit_days": _nullable(INTEGER),
            "closed_at": TIME,
            "created_at": TIME,
            "updated_at": TIME,
        }
    )
    event = _object(
        {
            "id": INTEGER,
            "action": STRING,
            "label": STRING,
            "from_state": NULLABLE_STRING,
            "to_state": STRING,
            "actor": STRING,
            "unit": _nullable(_ref("UnitRef")),
            "note": STRING,
            "data": {"type": "object"},
            "created_at": TIME,
        }
    )
    reply = _object(
        {
            "id": INTEGER,
            "handling_round": INTEGER,
            "unit": _nullable(_ref("UnitRef")),
            "state": _ref("Labelled"),
            "petitioner_info": STRING,
            "policy_basis": STRING,
            "result": STRING,
            "responsible_person": STRING,
            "contact_phone": STRING,
            "review_note": STRING,
            "created_at": TIME,
            "sent_at": TIME,
            "on_time": _nullable({"type": "boolean"}),
        }
    )
    extension = _object(
        {
            "id": INTEGER,
            "handling_round": INTEGER,
            "unit": _nullable(_ref("UnitRef")),
            "needs_city": {"type": "boolean", "description": "超出本轮可批准次数，须由市级平台审批"},
            "extra_working_days": INTEGER,
            "reason": STRING,
            "state": _ref("Labelled"),
            "decision_note": STRING,
            "old_deadline": TIME,
            "new_deadline": TIME,
            "created_at": TIME,
            "decided_at": TIME,
        }
    )
    task = _object(
        {
            "id": INTEGER,
            "handling_round": INTEGER,
            "unit": _ref("UnitRef"),
            "state": _ref("Labelled"),
            "deadline": TIME,
            "accepted_at": TIME,
            "part": STRING,
            "submitted_at": TIME,
        }
    )
    evaluation = _object(
        {
            "handling_round": INTEGER,
            "satisfaction": _ref("Labelled"),
            "resolution": _ref("Labelled"),
            "comment": {"type": "string", "description": "不满意或未解决时诉求人说明的仍未解决的问题"},
            "created_at": TIME,
        }
    )
    available = _object(
        {
            "action": {"type": "string", "enum": list(TRANSITIONS)},
            "label": STRING,
            "params": {"type": "array", "items": STRING},
        }
    )
    detail = {
        "allOf": [
            _ref("PetitionSummary"),
            _object(
                {
                    "content": STRING,
                    "location": STRING,
                    "latitude": _nullable({"type": "number"}),
                    "longitude": _nullable({"type": "number"}),
                    "contact_name": NULLABLE_STRING,
                    "contact_phone": {"type": "string", "description": "按角色脱敏（138****1234）"},
                    "citizen_phone": {"type": "string", "description": "按角色脱敏"},
                    "lead_unit": _nullable(_ref("UnitRef")),
                    "cooperating_units": {"type": "array", "items": _ref("UnitRef")},
                    "origin_unit": _nullable(_ref("UnitRef")),
                    "via_city": {"type": "boolean"},
                    "inadmissible_code": _nullable(_ref("Labelled")),
                    "reject_note": NULLABLE_STRING,
                    "suggestion": _nullable({"type": "object"}),
                    "suggested_unit": _nullable(_ref("UnitRef")),
                    "attachments": {
                        "type": "array",
                        "items": _object(
                            {
                                "id": INTEGER,
                                "kind": {"type": "string", "description": "image、voice 等"},
                                "url": NULLABLE_STRING,
                                "media_state": _nullable(_ref("Labelled")),
                                "sha256": _nullable({"type": "string", "description": "已保存文件内容的 SHA-256"}),
                                "content_type": NULLABLE_STRING,
                                "size": _nullable(INTEGER),
                                "download_url": _nullable(
                                    {"type": "string", "description": "已保存时的下载地址（本接口，需令牌）"}
                                ),
                            }
                        ),
                    },
                    "replies": {"type": "array", "items": _ref("Reply")},
                    "extension_requests": {"type": "array", "items": _ref("ExtensionRequest")},
                    "cooperation_tasks": {"type": "array", "items": _ref("CooperationTask")},
                    "evaluations": {"type": "array", "items": _ref("Evaluation")},
                    "events": {"type": "array", "items": _ref("Event")},
                    "available_actions": {"type": "array", "items": _ref("AvailableAction")},
                }
            ),
        ]
    }
    unit = _object(
        {
            "id": INTEGER,
            "name": STRING,
            "level": _ref("Labelled"),
            "dept_type": _nullable(_ref("Labelled")),
            "district_code": NULLABLE_STRING,
            "parent_id": _nullable(INTEGER),
            "phone": NULLABLE_STRING,
            "active": {"type": "boolean"},
            "responsibilities": {"type": "array", "items": STRING},
            "handler_self_review": {"type": "boolean", "description": "承办人可自行审核本单位答复"},
        }
    )
    error = _object(
        {
            "error": _object(
                {
                    "code": STRING,
                    "message": STRING,
                    "field": {"type": "string", "description": "出错的参数（422）"},
                },
                required=["code", "message"],
            )
        }
    )
    schemas: dict[str, Any] = {
        "Labelled": labelled,
        "UnitRef": unit_ref,
        "PetitionSummary": summary,
        "PetitionDetail": detail,
        "Event": event,
        "Reply": reply,
        "ExtensionRequest": extension,
        "CooperationTask": task,
        "Evaluation": evaluation,
        "AvailableAction": available,
        "Unit": unit,
        "Error": error,
        "SupplementRequest": _object(
            {
                "client_id": {"type": "string", "minLength": 1, "maxLength": supplements.MAX_CLIENT_ID},
                "text": {"type": "string", "minLength": 1, "maxLength": supplements.MAX_SUPPLEMENT},
                "attachments": {
                    "type": "array",
                    "maxItems": intake.MAX_ATTACHMENTS,
                    "items": _object(
                        {"url": {"type": "string", "format": "uri"}, "kind": {"type": "string"}},
                        required=["url"],
                    ),
                },
            },
            required=["client_id", "text"],
        ),
        "SupplementResult": _object({"event": _ref("Event"), "petition_number": STRING}),
        "PetitionList": _object(
            {
                "items": {"type": "array", "items": _ref("PetitionSummary")},
                "page": INTEGER,
                "per_page": INTEGER,
                "total": INTEGER,
                "pages": INTEGER,
                "next_cursor": NULLABLE_STRING,
            },
            # With updated_from or cursor the list is paged by cursor: no page number, no total.
            required=["items", "per_page", "next_cursor"],
        ),
        "UnitList": _object(
            {
                "items": {"type": "array", "items": _ref("Unit")},
                "page": INTEGER,
                "per_page": INTEGER,
                "total": INTEGER,
                "pages": INTEGER,
            }
        ),
        "HotIssue": _object(
            {
                "id": INTEGER,
                "rank": INTEGER,
                "title": {"type": "string", "description": "最具代表性的诉求的标题"},
                "terms": {"type": "array", "items": STRING, "description": "多数诉求共有的词"},
                "size": {"type": "integer", "description": "本期诉求件数"},
                "previous": {"type": "integer", "description": "上一期（同样天数）同类诉求件数"},
                "trend": {"type": "integer", "description": "size − previous"},
                "daily": {"type": "array", "items": INTEGER, "description": "本期每 24 小时件数，从早到晚"},
                "districts": {"type": "array", "items": STRING},
                "dept_type": _nullable({"type": "string", "enum": _values(DeptType)}),
                "street": NULLABLE_STRING,
                "first_at": TIME,
                "last_at": TIME,
                "petitions": {"type": "array", "items": STRING, "description": "可见范围内的诉求编号"},
            }
        ),
        "HotIssueList": _object(
            {
                "days": INTEGER,
                "computed_at": _nullable(
                    {"type": "string", "format": "date-time", "description": "最近一次计算"}
                ),
                "items": {"type": "array", "items": _ref("HotIssue")},
            }
        ),
        "ActionResult": _object({"event_id": INTEGER, "petition": _ref("PetitionDetail")}),
        "TokenRequest": _object(
            {
                "username": STRING,
                "password": STRING,
                "name": {"type": "string", "description": "令牌名称（如设备名）"},
            },
            required=["username", "password"],
        ),
        "Token": _object(
            {
                "token": {"type": "string", "description": "只返回这一次；服务器只保存其 SHA-256"},
                "token_type": {"const": "Bearer"},
                "expires_at": TIME,
                "user": _object(
                    {
                        "username": STRING,
                        "display_name": STRING,
                        "role": STRING,
                        "district_code": NULLABLE_STRING,
                        "unit_id": _nullable(INTEGER),
                    }
                ),
            }
        ),
        "PetitionCreate": _object(
            {
                "external_id": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 64,
                    "description": "来源系统中的编号；同一来源重复提交返回同一诉求",
                },
                "district_code": {"type": "string", "description": "热线必填；区(市)工作人员默认本区(市)"},
                "kind": {"type": "string", "enum": _values(PetitionKind)},
                "content": {"type": "string", "minLength": 1, "maxLength": intake.MAX_CONTENT},
                "location": {"type": "string", "maxLength": intake.MAX_LOCATION},
                "latitude": {"type": "number", "minimum": -90, "maximum": 90},
                "longitude": {"type": "number", "minimum": -180, "maximum": 180},
                "contact_name": {"type": "string", "maxLength": intake.MAX_CONTACT_NAME},
                "contact_phone": {
                    "type": "string",
                    "maxLength": intake.MAX_CONTACT_PHONE,
                    "pattern": "^\\s*" + intake.PHONE_PATTERN + "\\s*$",
                    "description": "电话号码：数字，可含开头的 +、空格、-、. 和括号",
                },
                "attachments": {
                    "type": "array",
                    "maxItems": intake.MAX_ATTACHMENTS,
                    "items": _object(
                        {
                            "url": {
                                "type": "string",
                                "maxLength": intake.MAX_ATTACHMENT_URL,
                                "pattern": "^https?://[^/?#\\s]+",
                                "description": "http 或 https 网址",
                            },
                            "kind": {"type": "string", "maxLength": intake.MAX_ATTACHMENT_KIND},
                        },
                        ["url"],
                    ),
                },
            },
            required=["external_id", "kind", "content"],
        ),
    }
    for action, params in ACTION_PARAMS.items():
        schemas[_action_schema_name(action)] = {
            **_object(
                {
                    "expected_state": {
                        "type": "string",
                        "enum": _values(PetitionState),
                        "description": "操作前看到的诉求状态；已被他人改变时返回 409",
                    },
                    **{name: param.json_schema(name) for name, param in params.items()},
                },
                required=["expected_state", *(name for name, param in params.items() if param.required)],
            ),
            "additionalProperties": False,
        }
    return schemas


def _action_schema_name(action: str) -> str:
    return "Action_" + action


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref("Error")}}}


def _ok(description: str, schema: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


NUMBER_PARAM = {
    "name": "number",
    "in": "path",
    "required": True,
    "description": "诉求编号，如 SN202611270001",
    "schema": STRING,
}
UNAUTHENTICATED = _error("缺少或无效的访问令牌")
NOT_FOUND = _error("诉求不存在，或不在调用者的可见范围内（两者不作区分）")


def _action_operation(action: str) -> dict[str, Any]:
    transition = TRANSITIONS[action]
    sources = "、".join(sorted(f"{s.value}（{s.label}）" for s in transition.sources))
    targets = "、".join(sorted(f"{s.value}（{s.label}）" for s in transition.targets))
    return {
        "post": {
            "operationId": f"action_{action}",
            "tags": ["actions"],
            "summary": f"{transition.label}（{action}）",
            "description": f"执行者：{transition.who_label}。适用状态：{sources}。结果状态：{targets}。",
            "parameters": [NUMBER_PARAM],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref(_action_schema_name(action))}},
            },
            "responses": {
                "200": _ok("操作已执行，返回办理记录编号和诉求的最新情况", "ActionResult"),
                "401": UNAUTHENTICATED,
                "403": _error("当前用户无权对该诉求执行此操作"),
                "404": NOT_FOUND,
                "409": _error(
                    "诉求状态已改变（state_changed）、当前状态不适用（wrong_state）或业务规则不允许（action_refused）"
                ),
                "422": _error("参数缺失或无效（field 指出参数）"),
            },
        }
    }


def _paths() -> dict[str, Any]:
    intake_roles = "、".join(role.label for role in INTAKE_CHANNELS)
    paths: dict[str, Any] = {
        f"{PREFIX}/openapi.json": {
            "get": {
                "operationId": "openapi_document",
                "tags": ["meta"],
                "summary": "本接口的 OpenAPI 3.1 文档",
                "security": [],
                "responses": {"200": {"description": "OpenAPI 文档", "content": {"application/json": {}}}},
            }
        },
        f"{PREFIX}/tokens": {
            "post": {
                "operationId": "create_token",
                "tags": ["tokens"],
                "summary": "用用户名和密码换取访问令牌",
                "description": "与后台登录相同的失败锁定和限流规则。",
                "security": [],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("TokenRequest")}},
                },
                "responses": {
                    "201": _ok("新令牌（只显示这一次）", "Token"),
                    "401": _error("用户名或密码错误"),
                    "403": _error("初始密码尚未修改（password_change_required）"),
                    "422": _error("请求体缺少字段"),
                    "423": _error("账号已锁定"),
                    "429": _error("该地址失败次数过多"),
                },
            }
        },
        f"{PREFIX}/tokens/current": {
            "delete": {
                "operationId": "delete_current_token",
                "tags": ["tokens"],
                "summary": "注销当前令牌",
                "responses": {"204": {"description": "令牌已作废"}, "401": UNAUTHENTICATED},
            }
        },
        f"{PREFIX}/petitions": {
            "get": {
                "operationId": "list_petitions",
                "tags": ["petitions"],
                "summary": "查询诉求（按调用者的可见范围），按提交时间倒序分页；按 updated_from 同步变化时按变化时间升序、游标分页",
                "parameters": [
                    _query("state", "状态", {"type": "string", "enum": _values(PetitionState)}),
                    _query("light", "红黄蓝灯", {"type": "string", "enum": _values(Light)}),
                    _query("kind", "诉求类别", {"type": "string", "enum": _values(PetitionKind)}),
                    _query("unit", "当前承办单位 id", ID),
                    _query("district", "区(市)代码", STRING),
                    _query("number", "诉求编号", STRING),
                    _query("q", "标题或内容包含的文字", STRING),
                    _query("created_from", "提交时间起（含），日期（按北京时间）或带时区的时间", DAY_OR_INSTANT),
                    _query("created_to", "提交时间止；日期则含当天", DAY_OR_INSTANT),
                    _query(
                        "updated_from",
                        "最后变化时间起（含），供对接方同步状态：按 (updated_at, id) 升序，用 next_cursor 翻页，"
                        "不返回 page / total",
                        DAY_OR_INSTANT,
                    ),
                    _query("cursor", "上一页返回的 next_cursor：从该诉求之后继续（同步变化时用）", STRING),
                    _query("channel", "来源渠道", {"type": "string", "enum": _values(Channel)}),
                    _query("page", "页码", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1}),
                    _query(
                        "per_page",
                        "每页条数",
                        {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": MAX_PER_PAGE,
                            "default": DEFAULT_PER_PAGE,
                        },
                    ),
                ],
                "responses": {
                    "200": _ok("一页诉求", "PetitionList"),
                    "401": UNAUTHENTICATED,
                    "422": _error("筛选参数无效"),
                },
            },
            "post": {
                "operationId": "create_petition",
                "tags": ["petitions"],
                "summary": "从12345热线或工作端录入诉求（按 external_id 幂等）",
                "description": f"可录入的角色：{intake_roles}。执法诉求由镇(街道)或部门的承办人录入。",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("PetitionCreate")}},
                },
                "responses": {
                    "201": {
                        **_ok("已创建", "PetitionDetail"),
                        "headers": {"Location": {"description": "新诉求的地址", "schema": STRING}},
                    },
                    "200": _ok("同一来源、同一 external_id 已提交过：返回原诉求", "PetitionDetail"),
                    "401": UNAUTHENTICATED,
                    "403": _error("该角色不能录入诉求"),
                    "409": _error(
                        "external_id 已用于内容不同的诉求（external_id_conflict，petition_number 为该诉求编号），"
                        "或已被调用者不可见的诉求使用（external_id_taken）"
                    ),
                    "422": _error("字段缺失或无效（field 指出字段）"),
                },
            },
        },
        f"{PREFIX}/petitions/{{number}}": {
            "get": {
                "operationId": "get_petition",
                "tags": ["petitions"],
                "summary": "一件诉求的全部情况、办理记录和调用者现在可执行的操作",
                "parameters": [NUMBER_PARAM],
                "responses": {
                    "200": _ok("诉求", "PetitionDetail"),
                    "401": UNAUTHENTICATED,
                    "404": NOT_FOUND,
                },
            }
        },
        f"{PREFIX}/petitions/{{number}}/attachments/{{attachment_id}}": {
            "get": {
                "operationId": "get_petition_attachment",
                "tags": ["petitions"],
                "summary": "群众随诉求发送的图片或语音（平台从微信下载后保存的文件）",
                "parameters": [
                    NUMBER_PARAM,
                    {
                        "name": "attachment_id",
                        "in": "path",
                        "required": True,
                        "description": "附件 id（诉求详情的 attachments[].id）",
                        "schema": {"type": "integer", "minimum": 1},
                    },
                ],
                "responses": {
                    "200": {
                        "description": "文件内容（图片、语音按原类型返回，其他类型作为下载）",
                        "content": {"image/*": {}, "audio/*": {}, "application/octet-stream": {}},
                    },
                    "401": UNAUTHENTICATED,
                    "404": _error("诉求不存在或不在可见范围，或该附件尚未保存"),
                },
            }
        },
        f"{PREFIX}/units": {
            "get": {
                "operationId": "list_units",
                "tags": ["units"],
                "summary": "承办单位及其职责清单（本区(市)和市级单位；市级角色可见全部）",
                "parameters": [
                    _query("district", "区(市)代码，或 city 表示市级单位", STRING),
                    _query("level", "单位层级", {"type": "string", "enum": _values(UnitLevel)}),
                    _query("dept_type", "职能部门类型", {"type": "string", "enum": _values(DeptType)}),
                    _query("page", "页码", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1}),
                    _query(
                        "per_page",
                        "每页条数",
                        {"type": "integer", "minimum": 1, "maximum": MAX_UNITS_PER_PAGE, "default": MAX_UNITS_PER_PAGE},
                    ),
                ],
                "responses": {
                    "200": _ok("单位列表", "UnitList"),
                    "401": UNAUTHENTICATED,
                    "422": _error("筛选参数无效"),
                },
            }
        },
        f"{PREFIX}/hot-issues": {
            "get": {
                "operationId": "list_hot_issues",
                "tags": ["hot-issues"],
                "summary": "热点问题：最近若干天内容、地点和部门类型相似的诉求聚成的类（由调度任务定期计算）",
                "parameters": [
                    _query("district", "区(市)代码；区(市)角色只能查看本区(市)", STRING),
                    _query(
                        "days", "天数（配置 [hot_issues] windows 之一）", {"type": "integer", "default": 7}
                    ),
                    _query("limit", "条数", {"type": "integer", "minimum": 1, "maximum": 200, "default": 20}),
                ],
                "responses": {
                    "200": _ok("热点问题，件数多的在前", "HotIssueList"),
                    "401": UNAUTHENTICATED,
                    "403": _error("该角色不能查看热点问题"),
                    "404": _error("区(市)不在可见范围"),
                    "422": _error("参数无效"),
                },
            }
        },
    }
    paths[f"{PREFIX}/petitions/{{number}}/supplements"] = {
        "post": {
            "operationId": "add_petition_supplement",
            "tags": ["petitions"],
            "summary": "12345热线为其转来的诉求补充材料（按 client_id 幂等）",
            "description": (
                "写入办理记录（补充材料），附件地址并入诉求附件，承办人在诉求页可见。同一 client_id 再次提交同样内容"
                "视为重试（200，不重复记录）。已办结、未评价、移交问责或不予受理的诉求不能再补充。"
            ),
            "parameters": [NUMBER_PARAM],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref("SupplementRequest")}},
            },
            "responses": {
                "201": _ok("已记录补充材料", "SupplementResult"),
                "200": _ok("重试：返回第一次的记录", "SupplementResult"),
                "401": UNAUTHENTICATED,
                "403": _error("非12345热线角色，或该诉求不是热线转来的"),
                "404": NOT_FOUND,
                "409": _error("诉求已结束（state_changed），或 client_id 已用于其他内容（client_id_conflict）"),
                "422": _error("参数缺失或无效（field 指出参数）"),
            },
        }
    }
    for action in TRANSITIONS:
        paths[f"{PREFIX}/petitions/{{number}}/actions/{action}"] = _action_operation(action)
    return paths


@cache
def openapi_spec() -> dict[str, Any]:
    """The OpenAPI 3.1 document (built once per process: everything in it is fixed at import time)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "青诉即办 API",
            "version": "1.0.0",
            "description": (
                "供工作端APP和12345热线平台使用。先用 POST /api/v1/tokens 换取令牌，之后每个请求带 "
                'Authorization: Bearer <令牌>。错误统一为 {"error": {"code", "message"}}。'
                "工作流操作与系统内部的操作名称一致。"
            ),
        },
        "tags": [
            {"name": "tokens", "description": "访问令牌"},
            {"name": "petitions", "description": "诉求"},
            {"name": "actions", "description": "工作流操作"},
            {"name": "units", "description": "承办单位"},
            {"name": "hot-issues", "description": "热点问题"},
            {"name": "meta", "description": "接口文档"},
        ],
        "security": [{"bearer": []}],
        "paths": _paths(),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": _schemas(),
        },
    }


@api.get("/openapi.json")
def openapi_document() -> ResponseReturnValue:
    """The OpenAPI document (no token needed)."""
    return jsonify(openapi_spec())
