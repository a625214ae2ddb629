"""The platform's vocabulary: every enumerated value stored in the database, with its Chinese label."""

from __future__ import annotations

import enum


class LabelledEnum(enum.StrEnum):
    """A string enum whose members carry the Chinese label shown to people."""

    label: str

    def __new__(cls, value: str, label: str) -> LabelledEnum:
        obj = str.__new__(cls, value)
        obj._value_ = value
        obj.label = label
        return obj

    @classmethod
    def unknown(cls, stored: str) -> LabelledEnum:
        """A stand-in for a value stored in the database that is none of the members (a newer version wrote it,
        or someone by hand): an instance of the class whose value is `stored` and whose label says it is unknown,
        so pages and the API can show the row. It is not a member: ``cls(stored)`` still raises, it is in no
        table of the workflow (no action starts from an unknown state), and it equals no member."""
        cache = _UNKNOWN.setdefault(cls, {})
        if stored not in cache:
            obj = str.__new__(cls, stored)
            obj._value_ = stored
            obj._name_ = stored
            obj.label = f"{UNKNOWN_LABELS.get(cls.__name__, '未知取值')}（{stored}）"
            cache[stored] = obj
        return cache[stored]


_UNKNOWN: dict[type, dict[str, LabelledEnum]] = {}
# How an unknown stored value is called, per enum (the default: 未知取值).
UNKNOWN_LABELS = {
    "PetitionState": "未知状态",
    "PetitionKind": "未知类别",
    "Light": "未知灯色",
    "Role": "未知角色",
}


class PetitionKind(LabelledEnum):
    LIVELIHOOD = "livelihood", "民生"
    DEVELOPMENT = "development", "发展"
    ENFORCEMENT = "enforcement", "执法"


class Nature(LabelledEnum):
    CONSULT = "consult", "咨询"
    SUGGEST = "suggest", "建议"
    COMPLAINT = "complaint", "投诉"


class Complexity(LabelledEnum):
    SIMPLE = "simple", "简单"
    COMPLEX = "complex", "复杂"
    ESPECIALLY_COMPLEX = "especially_complex", "特别复杂"


class DeptType(LabelledEnum):
    HOUSING = "housing", "住房城乡建设"
    URBAN_MGMT = "urban_mgmt", "城市管理/综合执法"
    ECOLOGY = "ecology", "生态环境"
    TRANSPORT = "transport", "交通运输"
    EDUCATION = "education", "教育体育"
    HRSS = "hrss", "人力资源社会保障"
    HEALTH = "health", "卫生健康"
    MARKET = "market", "市场监管"
    POLICE = "police", "公安"
    CIVIL = "civil", "民政"
    NATURAL_RES = "natural_res", "自然资源规划"
    AGRI = "agri", "农业农村"
    WATER = "water", "水务"
    COMMERCE = "commerce", "商务"
    CULTURE_TOURISM = "culture_tourism", "文化和旅游"
    MEDICAL_INS = "medical_ins", "医疗保障"
    TAX = "tax", "税务"
    APPROVAL = "approval", "行政审批服务"
    INDUSTRY = "industry", "工业和信息化"
    HEATING = "heating", "供热"
    UTILITIES = "utilities", "供水/供电/燃气"


class UnitLevel(LabelledEnum):
    COMMUNITY = "community", "村(社区)"
    STREET = "street", "镇(街道)"
    DISTRICT_DEPARTMENT = "district_department", "区(市)职能部门"
    DISTRICT_PLATFORM = "district_platform", "区(市)平台"
    CITY_DEPARTMENT = "city_department", "市直部门"
    CITY_PLATFORM = "city_platform", "市级平台"


class Role(LabelledEnum):
    DISPATCHER = "dispatcher", "区平台调度"
    HANDLER = "handler", "承办人"
    UNIT_REVIEWER = "unit_reviewer", "承办单位科室负责人"
    CITY_DISPATCHER = "city_dispatcher", "市级平台调度"
    DISTRICT_MANAGER = "district_manager", "区平台管理员"
    CITY_MANAGER = "city_manager", "市平台管理员"
    LEADER = "leader", "市领导"
    HOTLINE = "hotline", "12345热线平台"
    # Another system filing and reading petitions through Open311 GeoReport v2 (admin_web.open311); it signs in to
    # nothing but that interface.
    OPEN311 = "open311", "Open311接入系统"


class PetitionState(LabelledEnum):
    PENDING_DISPATCH = "pending_dispatch", "待研判"
    REJECTED = "rejected", "不予受理"
    AT_CITY = "at_city", "市级平台待研判"
    ASSIGNED = "assigned", "待签收"
    HANDLING = "handling", "办理中"
    UNIT_REVIEW = "unit_review", "答复待单位审核"
    CITY_REVIEW = "city_review", "答复待市级平台审核"
    PLATFORM_REVIEW = "platform_review", "答复待区平台审核"
    AWAITING_EVALUATION = "awaiting_evaluation", "待评价"
    ASSESSMENT = "assessment", "履职评估"
    CLOSED = "closed", "办结"
    UNRATED = "unrated", "未评价"
    ACCOUNTABILITY = "accountability", "移交问责"


class Channel(LabelledEnum):
    WECHAT = "wechat", "微信公众号"
    HOTLINE = "hotline", "12345热线"
    WORKAPP = "workapp", "工作端APP"
    STAFF = "staff", "工作人员录入"
    OPEN311 = "open311", "Open311接口"


class CitizenKind(LabelledEnum):
    PERSON = "person", "个人"
    ENTERPRISE = "enterprise", "企业"


class Light(LabelledEnum):
    BLUE = "blue", "蓝灯"
    YELLOW = "yellow", "黄灯"
    RED = "red", "红灯"


class Satisfaction(LabelledEnum):
    SATISFIED = "satisfied", "满意"
    BASICALLY_SATISFIED = "basically_satisfied", "基本满意"
    UNSATISFIED = "unsatisfied", "不满意"


class Resolution(LabelledEnum):
    RESOLVED = "resolved", "解决"
    BASICALLY_RESOLVED = "basically_resolved", "基本解决"
    UNRESOLVED = "unresolved", "未解决"


class ReplyState(LabelledEnum):
    UNIT_REVIEW = "unit_review", "待单位审核"
    CITY_REVIEW = "city_review", "待市级平台审核"
    PLATFORM_REVIEW = "platform_review", "待区平台审核"
    SENT = "sent", "已答复"
    RETURNED = "returned", "已退回"


class RequestState(LabelledEnum):
    PENDING = "pending", "待审批"
    APPROVED = "approved", "已批准"
    REFUSED = "refused", "未批准"


class TaskState(LabelledEnum):
    """A cooperating unit's part of a 执法 petition (配合任务)."""

    ASSIGNED = "assigned", "待签收"
    ACCEPTED = "accepted", "办理中"
    SUBMITTED = "submitted", "已提交"
    WITHDRAWN = "withdrawn", "已撤销"


class AssessmentOutcome(LabelledEnum):
    COMPLETED = "completed", "履职到位"
    NOT_COMPLETED = "not_completed", "履职未完成"


class NotificationState(LabelledEnum):
    PENDING = "pending", "待发送"
    SENT = "sent", "已发送"
    DEAD = "dead", "发送失败"
    UNSUBSCRIBED = "unsubscribed", "用户已取消关注"
    # No longer worth sending (an evaluation request for a petition the citizen has rated meanwhile).
    SKIPPED = "skipped", "无需发送"


class MediaState(LabelledEnum):
    """Where a citizen's image or voice message is: waiting to be fetched from WeChat, kept, or lost."""

    PENDING = "pending", "待下载"
    STORED = "stored", "已保存"
    # WeChat no longer has it (40007, or past the three days temporary media live), or every attempt failed.
    LOST = "lost", "未能保存"


class InadmissibleCode(LabelledEnum):
    """Why a petition is not accepted (不予受理), from the source document's list."""

    LITIGATION = "litigation", "须通过诉讼、仲裁、纪检监察、行政复议、政府信息公开等程序解决或已进入信访渠道"
    UNLAWFUL = "unlawful", "不符合法律、法规、规章及政策规定"
    SECRET_PRIVACY = "secret_privacy", "涉及国家机密、商业秘密、个人隐私或违反社会公序良俗"
    MILITARY = "military", "属于军队职责范围"
    EMERGENCY = "emergency", "应通过110、119、120、122等紧急服务专线处理"
    HARASSMENT = "harassment", "恶意攻击、骚扰或无实质诉求"
    OUT_OF_JURISDICTION = "out_of_jurisdiction", "不在本辖区管辖范围"
