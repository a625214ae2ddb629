"""What a citizen reads: the Chinese text of every notification, and template data cut to WeChat's field rules.

`render_text` is the customer-service message (and the admin site's preview) of a notification; every text names
the petition number. `template_data` fills a WeChat template message from an account's field mapping
(`NotificationTemplate.fields`), cutting each value to what its keyword type allows, so WeChat never answers 47003
for a value that is merely too long.

Template keyword rules (类目模板): https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Template_Message_Interface.html
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from models import Notification, Reply
from workflow.deadlines import deadline_text
from workflow.notify import EVENTS

DEFAULT_TZ = "Asia/Shanghai"
# WeChat refuses customer-service text longer than 2048 bytes (45002 "content size out of limit"); keep a margin for
# the ellipsis.
CUSTOMER_SERVICE_TEXT_BYTES = 2048
MAX_TEXT_BYTES = 2000
# A reply sent as customer-service texts: at most this many (a citizen's message allows WeChat five in 48 hours,
# https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Service_Center_messages.html), each with room
# for its "（2/3）" marker.
MAX_REPLY_PARTS = 3
PART_MARKER_BYTES = 16
ELLIPSIS = "…"

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_CHAR = re.compile(f"[{_CJK}]")
_NOT_ASCII_PRINTABLE = re.compile(r"[^\x21-\x7e]")
_NOT_PHONE = re.compile(r"[^\d+\-() ]")
_NOT_LETTER = re.compile(r"[^A-Za-z]")
_NUMBER = re.compile(r"\d+(\.\d+)?")
_AMOUNT = re.compile(r"[¥￥]?\d+(\.\d{1,2})?元?")
_SPACES = re.compile(r"\s+")


class TemplateMappingError(ValueError):
    """A template's field mapping cannot be filled from a notification; names the template field."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"模板字段 {field}：{reason}")
        self.field = field
        self.reason = reason


# --- the texts ----------------------------------------------------------------------------------------------------


def _instant(value: str | dt.datetime) -> dt.datetime:
    instant = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if instant.tzinfo is None:
        raise ValueError(f"naive instant {value!r}")
    return instant


def _head(number: str) -> str:
    return f"您的诉求（编号：{number}）"


def _accepted(p: Mapping[str, Any]) -> str:
    lines = [f"{_head(p['number'])}已受理，正在交由承办单位办理。"]
    if p.get("time_limit_days"):
        lines.append(f"办理时限：{p['time_limit_days']}个工作日")
    if p.get("deadline"):
        lines.append(f"答复期限：{deadline_text(p['deadline'])}")
    lines.append(f"诉求内容：{p.get('title', '')}")
    return "\n".join(lines)


def _rejected(p: Mapping[str, Any]) -> str:
    detail = p.get("text") or "\n".join(
        x for x in (f"不予受理原因：{p.get('reason', '')}。", p.get("advice")) if x
    )
    return f"{_head(p['number'])}经审核不予受理。\n{detail}"


def _assigned(p: Mapping[str, Any]) -> str:
    return f"{_head(p['number'])}已转交{p.get('unit_name') or '承办单位'}办理，请耐心等待答复。"


def _extended(p: Mapping[str, Any]) -> str:
    days = p.get("extra_working_days")
    added = f"延长{days}个工作日" if days else "延长"
    deadline = f"，新的答复期限为{deadline_text(p['deadline'])}" if p.get("deadline") else ""
    return f"{_head(p['number'])}情况较为复杂，经平台批准办理期限{added}{deadline}。"


def _replied(p: Mapping[str, Any]) -> str:
    lines = [f"{_head(p['number'])}已办理完毕，答复如下："]
    if p.get("petitioner_info"):
        lines.append(f"诉求人基本情况：{p['petitioner_info']}")
    lines.append(f"办理结果：{p.get('result', '')}")
    if p.get("policy_basis"):
        lines.append(f"政策依据：{p['policy_basis']}")
    if p.get("unit_name"):
        lines.append(f"承办单位：{p['unit_name']}")
    contact = "，".join(
        x
        for x in (
            p.get("responsible_person"),
            f"联系电话{p['contact_phone']}" if p.get("contact_phone") else "",
        )
        if x
    )
    if contact:
        lines.append(f"责任人：{contact}")
    return "\n".join(lines)


def _evaluation_request(p: Mapping[str, Any]) -> str:
    return (
        f"{_head(p['number'])}已答复，请您对办理结果进行评价：回复“评价”，"
        "依次选择满意度（满意、基本满意、不满意）和解决情况（解决、基本解决、未解决）。"
        "不满意或未解决的，平台将进行二次办理。"
    )


def _evaluation_reminder(p: Mapping[str, Any]) -> str:
    return f"温馨提醒：{_head(p['number'])}已答复，您还没有评价办理结果。回复“评价”即可评价。"


def _second_handling(p: Mapping[str, Any]) -> str:
    return f"根据您的评价，{_head(p['number'])}已转入二次办理，平台将重新交办，请耐心等待答复。"


def _assessment_started(p: Mapping[str, Any]) -> str:
    return (
        f"根据您的评价，平台已对{_head(p['number'])}的承办单位启动履职评估，评估结果将作为考核和问责的依据。"
    )


def _accountability(p: Mapping[str, Any]) -> str:
    unit = p.get("unit_name") or "承办单位"
    return (
        f"{_head(p['number'])}经履职评估，{unit}连续两次未完成履职，已移交有关部门依规依纪依法问责追责。"
        "感谢您的监督！"
    )


def _closed(p: Mapping[str, Any]) -> str:
    if p.get("unrated"):
        window = f"{p['window_days']}日内" if p.get("window_days") else "评价期限内"
        return (
            f"{_head(p['number'])}的答复送达后{window}未收到您的评价，已按“未评价”办结。"
            "如问题仍未解决，欢迎再次反映。感谢您对我们工作的支持！"
        )
    rating = (
        f"（满意度：{p['satisfaction']}，解决情况：{p['resolution']}）"
        if p.get("satisfaction") and p.get("resolution")
        else ""
    )
    return f"{_head(p['number'])}已办结{rating}。感谢您对我们工作的支持！"


def _linked(p: Mapping[str, Any]) -> str:
    return f"{_head(p['number'])}与其他群众反映的同一问题合并办理。答复将同时发送给您，届时请您对办理结果进行评价。"


def _unlinked(p: Mapping[str, Any]) -> str:
    return f"{_head(p['number'])}已恢复单独办理，平台将另行交办，请耐心等待答复。"


def reply_as_text(number: str, reply: Reply) -> str:
    """A sent reply as the citizen reads it in chat: the 'replied' text, with all five elements."""
    return _replied(
        {
            "number": number,
            "petitioner_info": reply.petitioner_info,
            "result": reply.result,
            "policy_basis": reply.policy_basis,
            "unit_name": reply.unit.name,
            "responsible_person": reply.responsible_person,
            "contact_phone": reply.contact_phone,
        }
    )


TEXTS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "accepted": _accepted,
    "rejected": _rejected,
    "assigned": _assigned,
    "extended": _extended,
    "replied": _replied,
    "evaluation_request": _evaluation_request,
    "evaluation_reminder": _evaluation_reminder,
    "second_handling": _second_handling,
    "assessment_started": _assessment_started,
    "accountability": _accountability,
    "closed": _closed,
    "linked": _linked,
    "unlinked": _unlinked,
}


def render_text(notification: Notification) -> str:
    """The Chinese text of `notification` (a customer-service message), with the petition number, at most
    `MAX_TEXT_BYTES` bytes of UTF-8.

    :raises KeyError: for an event without a text (every event of `workflow.notify.EVENTS` has one) or a payload
        without the petition number.
    """
    return fit_bytes(TEXTS[notification.event](notification.payload), MAX_TEXT_BYTES)


def reply_parts(payload: Mapping[str, Any], url: str | None, max_parts: int = MAX_REPLY_PARTS) -> list[str]:
    """The whole reply of a 'replied' notification as customer-service texts, each within WeChat's
    `CUSTOMER_SERVICE_TEXT_BYTES`, numbered ``（1/2）`` when there are several, the last ending with the link to the
    reply page. At most `max_parts` texts (WeChat allows five customer-service messages per message the citizen
    sends): a reply longer than that is cut, and the last text says the link shows it whole.
    """
    tail = f"查看答复全文并评价：{url}" if url else ""
    body = _replied(payload)
    cut_note = "（答复较长，全文请点击链接查看）" if url else "（答复较长，全文请回复诉求编号查看）"
    budget = CUSTOMER_SERVICE_TEXT_BYTES - PART_MARKER_BYTES
    text = "\n".join(x for x in (body, tail) if x)
    parts = split_text(text, budget)
    room = len(body.encode("utf-8"))
    while len(parts) > max_parts:
        room = room * 9 // 10
        text = "\n".join(x for x in (fit_bytes(body, room), cut_note, tail) if x)
        parts = split_text(text, budget)
    if len(parts) == 1:
        return parts
    return [f"（{i}/{len(parts)}）{part}" for i, part in enumerate(parts, start=1)]


def split_text(text: str, max_bytes: int) -> list[str]:
    """`text` in pieces of at most `max_bytes` UTF-8 bytes, broken between lines where a line fits and inside a
    line (never inside a character) where it does not; nothing is lost or repeated."""
    pieces: list[str] = []
    current: str | None = None
    for line in text.split("\n"):
        candidate = line if current is None else f"{current}\n{line}"
        if len(candidate.encode("utf-8")) <= max_bytes:
            current = candidate
            continue
        if len(line.encode("utf-8")) <= max_bytes:
            pieces.append(current or "")
            current = line
            continue
        # A line longer than a piece: fill the current piece with its start, then cut the rest.
        prefix = "" if current is None else f"{current}\n"
        while len((prefix + line).encode("utf-8")) > max_bytes:
            head = cut_bytes(line, max_bytes - len(prefix.encode("utf-8")))
            pieces.append(prefix + head)
            line, prefix = line[len(head) :], ""
        current = line
    pieces.append(current or "")
    return pieces


def cut_bytes(text: str, max_bytes: int) -> str:
    """The longest start of `text` whose UTF-8 form fits in `max_bytes` bytes."""
    return text.encode("utf-8")[: max(max_bytes, 0)].decode("utf-8", errors="ignore")


def fit_bytes(text: str, max_bytes: int) -> str:
    """`text`, cut with an ellipsis so that its UTF-8 encoding is at most `max_bytes` bytes."""
    if len(text.encode("utf-8")) <= max_bytes:
        return text
    budget = max_bytes - len(ELLIPSIS.encode("utf-8"))
    cut = text.encode("utf-8")[:budget].decode("utf-8", errors="ignore")
    return cut + ELLIPSIS


# --- template data ---------------------------------------------------------------------------------------------


def _cut(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + ELLIPSIS


def _thing(value: str) -> str:
    return _cut(_SPACES.sub(" ", value).strip(), 20)


def _phrase(value: str) -> str:
    # Only Chinese characters are allowed, so an ellipsis cannot mark the cut.
    return "".join(_CJK_CHAR.findall(value))[:5]


def _character_string(value: str) -> str:
    return _NOT_ASCII_PRINTABLE.sub("", value)[:32]


def _letter(value: str) -> str:
    return _NOT_LETTER.sub("", value)[:32]


def _name(value: str) -> str:
    value = _SPACES.sub("", value)
    chinese = all(_CJK_CHAR.fullmatch(c) or c == "·" for c in value)
    return value[:10] if chinese else value[:20]


def _phone(value: str) -> str:
    return _NOT_PHONE.sub("", value)[:17]


def _number(value: str) -> str:
    if not _NUMBER.fullmatch(value):
        raise ValueError(f"「{value}」不是数字")
    return value[:32]


def _amount(value: str) -> str:
    if not _AMOUNT.fullmatch(value):
        raise ValueError(f"「{value}」不是金额")
    return value


def _time(value: str, tz: str) -> str:
    try:
        local = _instant(value).astimezone(ZoneInfo(tz))
    except ValueError:
        raise ValueError(f"「{value}」不是带时区的时间") from None
    if local.time() == dt.time(0, 0):
        # A deadline at local midnight is the end of the day before.
        day = local.date() - dt.timedelta(days=1)
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{local.year}年{local.month}月{local.day}日 {local.hour:02d}:{local.minute:02d}"


FIELD_TYPES: dict[str, Callable[[str], str]] = {
    "thing": _thing,
    "phrase": _phrase,
    "character_string": _character_string,
    "letter": _letter,
    "name": _name,
    "phone_number": _phone,
    "car_number": lambda v: v[:8],
    "number": _number,
    "amount": _amount,
}
# Payload keys holding a deadline (an ISO instant), shown by `workflow.deadlines.deadline_text` in text keywords.
DEADLINE_SOURCES = frozenset({"deadline"})
# What an empty value becomes: WeChat refuses empty keyword values.
EMPTY_VALUE = {"character_string": "-", "letter": "N", "number": "0", "phone_number": "-"}


def _source_value(notification: Notification, source: str, text: str) -> Any:
    if source == "event_label":
        return EVENTS.get(notification.event, notification.event)
    if source == "text":
        return text
    if source == "summary":
        return text.splitlines()[0] if text else ""
    if source == "created_at":
        return notification.created_at.isoformat()
    return notification.payload.get(source)


def template_data(
    fields: Mapping[str, Any], notification: Notification, tz: str = DEFAULT_TZ
) -> dict[str, dict[str, str]]:
    """The ``data`` of a template message for `notification`, from an account's field mapping.

    `fields` maps each template keyword to ``{"source": …, "type": …}`` (or ``{"value": "fixed text", "type": …}``),
    optionally with ``"default"`` for a payload key the event may lack. Sources are payload keys (``number``,
    ``title``, ``state_label``, ``deadline``, ``result``, ``unit_name``, …) and ``event_label``, ``text`` (the
    whole `render_text`), ``summary`` (its first line) and ``created_at``. Each value is cut to its type's limit:
    thing ≤ 20 characters, phrase ≤ 5 Chinese characters, character_string ≤ 32 printable ASCII characters,
    name, phone_number, letter, car_number likewise; time is formatted in `tz`; number and amount must already fit.
    A ``deadline`` in a thing keyword reads ``12月4日（周五）24时前`` (`workflow.deadlines.deadline_text`); WeChat's
    time keywords take only dates and clock times, so there it is the deadline's last day.

    :raises TemplateMappingError: a keyword with no source, an unknown type, a missing payload value without a
        default, or a value its type cannot hold (names the keyword).
    """
    text = render_text(notification)
    data: dict[str, dict[str, str]] = {}
    for keyword, spec in fields.items():
        if not isinstance(spec, Mapping):
            raise TemplateMappingError(keyword, "映射须为 {source, type}")
        kind = str(spec.get("type", ""))
        if kind != "time" and kind not in FIELD_TYPES:
            raise TemplateMappingError(keyword, f"未知的字段类型「{kind}」")
        if "value" in spec:
            raw = spec["value"]
        elif "source" in spec:
            raw = _source_value(notification, str(spec["source"]), text)
            if raw is None:
                raw = spec.get("default")
            if raw is None:
                raise TemplateMappingError(keyword, f"「{notification.event}」消息没有「{spec['source']}」")
        else:
            raise TemplateMappingError(keyword, "没有指定来源（source）或固定值（value）")
        if kind != "time" and spec.get("source") in DEADLINE_SOURCES and "value" not in spec:
            # A deadline in a text keyword reads as everywhere else (a time keyword must hold a plain date).
            try:
                raw = deadline_text(str(raw), tz)
            except ValueError:
                raise TemplateMappingError(keyword, f"「{raw}」不是带时区的时间") from None
        try:
            value = _time(str(raw), tz) if kind == "time" else FIELD_TYPES[kind](str(raw))
        except ValueError as exc:
            raise TemplateMappingError(keyword, str(exc)) from None
        data[keyword] = {"value": value or EMPTY_VALUE.get(kind, "无")}
    return data
