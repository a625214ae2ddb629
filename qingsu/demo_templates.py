"""The demo's WeChat template messages: one per citizen-facing event, as a district would configure them.

A real account picks templates from WeChat's 类目模板 library and maps the platform's facts onto their keywords; the
demo does the same for every district account, so the outbox sends template messages (which need no 48-hour window)
just as in production. Two readers share these definitions and nothing else: `seed_demo_templates` writes them as
`NotificationTemplate` rows, and `register_demo_templates` tells the demo's fake WeChat API each keyword's type, so
the fake checks values the way WeChat does (47003 for a value too long or of the wrong kind) without a database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import NotificationTemplate, WechatAccount
from wechat.fake import FakeWechat

Field = dict[str, str]

# Keywords every template starts with: which petition, and what it was about.
_NUMBER: Field = {"source": "number", "type": "character_string"}
_TITLE: Field = {"source": "title", "type": "thing"}
_SENT: Field = {"source": "created_at", "type": "time"}


def _fixed(text: str) -> Field:
    return {"value": text, "type": "thing"}


# event → keyword → mapping (`workflow.messages.template_data`); each source is a fact the event's payload carries
# (see the `notify` calls in workflow/effects.py and workflow/jobs.py). A closing after a performance assessment has
# no rating of its own, hence the defaults. A deadline goes in a thing keyword, so it reads "12月4日（周五）24时前" as in
# every other text (`workflow.deadlines.deadline_text`); a time keyword could hold only its date.
DEMO_TEMPLATE_FIELDS: dict[str, dict[str, Field]] = {
    # 诉求受理通知: 诉求编号, 诉求内容, 办理时限（工作日）, 答复期限
    "accepted": {"character_string1": _NUMBER, "thing2": _TITLE,
                 "number3": {"source": "time_limit_days", "type": "number"},
                 "thing4": {"source": "deadline", "type": "thing"}},
    # 诉求不予受理通知: 诉求编号, 诉求内容, 不予受理原因, 通知时间
    "rejected": {
        "character_string1": _NUMBER,
        "thing2": _TITLE,
        "thing3": {"source": "reason", "type": "thing"},
        "time4": _SENT,
    },
    # 诉求转办通知: 诉求编号, 诉求内容, 承办单位, 转办时间
    "assigned": {
        "character_string1": _NUMBER,
        "thing2": _TITLE,
        "thing3": {"source": "unit_name", "type": "thing", "default": "承办单位"},
        "time4": _SENT,
    },
    # 办理期限延长通知: 诉求编号, 诉求内容, 延长工作日, 新答复期限
    "extended": {"character_string1": _NUMBER, "thing2": _TITLE,
                 "number3": {"source": "extra_working_days", "type": "number"},
                 "thing4": {"source": "deadline", "type": "thing"}},
    # 诉求答复通知: 诉求编号, 诉求内容, 承办单位, 办理结果, 答复时间
    "replied": {
        "character_string1": _NUMBER,
        "thing2": _TITLE,
        "thing3": {"source": "unit_name", "type": "thing"},
        "thing4": {"source": "result", "type": "thing"},
        "time5": _SENT,
    },
    # 服务评价邀请: 诉求编号, 诉求内容, 评价方式, 邀请时间
    "evaluation_request": {
        "character_string1": _NUMBER,
        "thing2": _TITLE,
        "thing3": _fixed("回复“评价”即可评价办理结果"),
        "time4": _SENT,
    },
    # 服务评价提醒: 诉求编号, 诉求内容, 温馨提示, 提醒时间
    "evaluation_reminder": {
        "character_string1": _NUMBER,
        "thing2": _TITLE,
        "thing3": _fixed("您还没有评价，回复“评价”即可"),
        "time4": _SENT,
    },
    # 诉求办理进度通知: 诉求编号, 诉求内容, 办理进度, 更新时间
    "second_handling": {
        "character_string1": _NUMBER,
        "thing2": _TITLE,
        "thing3": _fixed("根据您的评价转入二次办理"),
        "time4": _SENT,
    },
    "linked": {
        "character_string1": _NUMBER,
        "thing2": _TITLE,
        "thing3": _fixed("与同一问题合并办理，答复一并发送"),
        "time4": _SENT,
    },
    "unlinked": {
        "character_string1": _NUMBER,
        "thing2": _TITLE,
        "thing3": _fixed("已恢复单独办理，将另行交办"),
        "time4": _SENT,
    },
    "assessment_started": {
        "character_string1": _NUMBER,
        "thing2": _TITLE,
        "thing3": _fixed("已对承办单位启动履职评估"),
        "time4": _SENT,
    },
    # 诉求办理进度通知: 诉求编号, 诉求内容, 承办单位, 办理进度, 更新时间
    "accountability": {
        "character_string1": _NUMBER,
        "thing2": _TITLE,
        "thing3": {"source": "unit_name", "type": "thing", "default": "承办单位"},
        "thing4": _fixed("连续两次履职未完成，已移交问责"),
        "time5": _SENT,
    },
    # 诉求办结通知: 诉求编号, 诉求内容, 满意度, 解决情况, 办结时间
    "closed": {
        "character_string1": _NUMBER,
        "thing2": _TITLE,
        "phrase3": {"source": "satisfaction", "type": "phrase", "default": "无"},
        "phrase4": {"source": "resolution", "type": "phrase", "default": "无"},
        "time5": _SENT,
    },
}


# event → the template's title and its keywords' names, as WeChat's template library shows them (the fake's inbox
# shows a message the way the citizen's phone does).
DEMO_TEMPLATE_TITLES: dict[str, tuple[str, dict[str, str]]] = {
    "accepted": (
        "诉求受理通知",
        {
            "character_string1": "诉求编号",
            "thing2": "诉求内容",
            "number3": "办理时限（工作日）",
            "thing4": "答复期限",
        },
    ),
    "rejected": (
        "诉求不予受理通知",
        {
            "character_string1": "诉求编号",
            "thing2": "诉求内容",
            "thing3": "不予受理原因",
            "time4": "通知时间",
        },
    ),
    "assigned": (
        "诉求转办通知",
        {"character_string1": "诉求编号", "thing2": "诉求内容", "thing3": "承办单位", "time4": "转办时间"},
    ),
    "extended": (
        "办理期限延长通知",
        {
            "character_string1": "诉求编号",
            "thing2": "诉求内容",
            "number3": "延长工作日",
            "thing4": "新答复期限",
        },
    ),
    "replied": (
        "诉求答复通知",
        {
            "character_string1": "诉求编号",
            "thing2": "诉求内容",
            "thing3": "承办单位",
            "thing4": "办理结果",
            "time5": "答复时间",
        },
    ),
    "evaluation_request": (
        "服务评价邀请",
        {"character_string1": "诉求编号", "thing2": "诉求内容", "thing3": "评价方式", "time4": "邀请时间"},
    ),
    "evaluation_reminder": (
        "服务评价提醒",
        {"character_string1": "诉求编号", "thing2": "诉求内容", "thing3": "温馨提示", "time4": "提醒时间"},
    ),
    "second_handling": (
        "诉求办理进度通知",
        {"character_string1": "诉求编号", "thing2": "诉求内容", "thing3": "办理进度", "time4": "更新时间"},
    ),
    "linked": (
        "诉求办理进度通知",
        {"character_string1": "诉求编号", "thing2": "诉求内容", "thing3": "办理进度", "time4": "更新时间"},
    ),
    "unlinked": (
        "诉求办理进度通知",
        {"character_string1": "诉求编号", "thing2": "诉求内容", "thing3": "办理进度", "time4": "更新时间"},
    ),
    "assessment_started": (
        "诉求办理进度通知",
        {"character_string1": "诉求编号", "thing2": "诉求内容", "thing3": "办理进度", "time4": "更新时间"},
    ),
    "accountability": (
        "诉求办理进度通知",
        {
            "character_string1": "诉求编号",
            "thing2": "诉求内容",
            "thing3": "承办单位",
            "thing4": "办理进度",
            "time5": "更新时间",
        },
    ),
    "closed": (
        "诉求办结通知",
        {
            "character_string1": "诉求编号",
            "thing2": "诉求内容",
            "phrase3": "满意度",
            "phrase4": "解决情况",
            "time5": "办结时间",
        },
    ),
}


def demo_template_id(event: str) -> str:
    """The template id the demo accounts use for `event` (readable, since the fake's inbox shows it)."""
    return f"qingsu-demo-{event.replace('_', '-')}"


def field_types(fields: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """A mapping's keyword types (``{"thing2": "thing", …}``), as `FakeWechat.register_template` takes them."""
    return {keyword: str(spec["type"]) for keyword, spec in fields.items()}


def register_demo_templates(fake: FakeWechat, appids: Iterable[str]) -> None:
    """Declare every demo template, with its keyword types, title and keyword names, for each account in `appids`
    with the fake."""
    for appid in appids:
        for event, fields in DEMO_TEMPLATE_FIELDS.items():
            title, labels = DEMO_TEMPLATE_TITLES.get(event, (event, {}))
            fake.register_template(
                appid, demo_template_id(event), field_types(fields), title=title, labels=labels
            )


def seed_demo_templates(session: Session) -> int:
    """A `NotificationTemplate` for every district with a WeChat account and every demo event that has none yet;
    returns how many were added. A row that exists (perhaps edited or disabled by a manager) is left alone.
    Flushes but does not commit."""
    districts = session.scalars(select(WechatAccount.district_code)).all()
    existing = set(
        session.execute(select(NotificationTemplate.district_code, NotificationTemplate.event)).tuples()
    )
    added = 0
    for district in districts:
        for event, fields in DEMO_TEMPLATE_FIELDS.items():
            if (district, event) in existing:
                continue
            session.add(
                NotificationTemplate(
                    district_code=district, event=event, template_id=demo_template_id(event), fields=fields
                )
            )
            added += 1
    session.flush()
    return added
