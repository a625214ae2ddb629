"""Everything the bot says to citizens, in one place, so wording can be reviewed and changed together.

Constants are complete messages; functions fill in facts. Replies are plain text (WeChat shows line breaks);
options are numbered so that citizens can answer with a digit.
"""

from __future__ import annotations

from workflow.limits import MAX_LENGTH

# WeChat shows nothing at all for a passive text reply longer than this (UTF-8 bytes).
MAX_REPLY_BYTES = 2048
# Longest piece of a citizen's text quoted back in a short answer ("“…”不是有效的手机号码").
QUOTE_CHARACTERS = 200
ELLIPSIS = "…"


def cut_to_bytes(text: str, limit: int) -> str:
    """The longest prefix of `text` whose UTF-8 form fits in `limit` bytes (never splitting a character)."""
    return text.encode("utf-8")[: max(limit, 0)].decode("utf-8", errors="ignore")


def fit(reply: str) -> str:
    """`reply` cut to what WeChat will show, with an ellipsis when something was cut."""
    if len(reply.encode("utf-8")) <= MAX_REPLY_BYTES:
        return reply
    return cut_to_bytes(reply, MAX_REPLY_BYTES - len(ELLIPSIS.encode("utf-8"))) + ELLIPSIS


def quote(text: str) -> str:
    """A citizen's text as quoted back: intact unless it is very long."""
    return text if len(text) <= QUOTE_CHARACTERS else text[:QUOTE_CHARACTERS] + ELLIPSIS


# --- words citizens type -----------------------------------------------------------------------------------------

CANCEL_WORDS = frozenset({"取消", "退出", "结束", "cancel"})
BACK_WORDS = frozenset({"上一步", "返回", "back"})
HELP_WORDS = frozenset({"帮助", "help", "?", "？", "怎么用"})
REPORT_WORDS = frozenset({"我要反映", "反映问题", "我要投诉", "我要反映问题", "上报诉求"})
MY_WORDS = frozenset({"我的诉求", "查询", "查询进度", "进度"})
GUIDE_WORDS = frozenset({"办事指南", "指南"})
RATE_WORDS = frozenset({"评价", "我要评价"})
CONTINUE_WORDS = frozenset({"继续", "1", "继续填写"})
RESTART_WORDS = frozenset({"重新填写", "重新开始", "2"})
YES_WORDS = frozenset({"1", "确认", "提交", "确认提交", "是", "对", "好", "好的"})
NEW_PROBLEM_WORDS = frozenset({"1", "反映", "反映新问题", "新问题", "我要反映", "反映问题"})
EXISTING_WORDS = frozenset({"2", "查询", "查询已有诉求", "已有诉求", "查询诉求", "查进度", "查询进度"})
SKIP_WORDS = frozenset({"跳过", "不填", "不写", "没有", "无", "不用了", "算了"})
PERSON_WORDS = frozenset({"1", "个人", "群众", "市民", "居民"})
ENTERPRISE_WORDS = frozenset({"2", "企业", "公司", "单位", "市场主体"})
REUSE_PHONE_WORDS = frozenset({"1", "是", "用上次的", "使用上次的号码"})

# --- general -------------------------------------------------------------------------------------------------------


def welcome(platform: str, district: str) -> str:
    return (
        f"您好，欢迎关注“{platform}”！我们受理您在{district}遇到的民生问题和企业发展诉求。\n"
        "· 点击菜单“我要反映”，或直接发送文字描述您遇到的问题\n"
        "· 点击“我的诉求”查看办理进度和评价\n"
        "· 回复“帮助”查看使用说明"
    )


HELP = (
    "使用说明：\n"
    "· 反映问题：点击菜单“我要反映”，或直接发送文字描述问题，按提示依次填写身份、问题描述、地点和联系电话。\n"
    "· 填写过程中：回复“上一步”修改上一项，回复“取消”放弃本次反映，回复“帮助”查看当前这一步的说明。\n"
    "· 查询进度：点击“我的诉求”，或直接回复诉求编号（如 SN202611270001）。\n"
    "· 评价：诉求答复后，回复“评价”对办理结果进行评价。\n"
    "紧急情况请直接拨打 110、119、120、122。"
)

GUIDE = (
    "办事指南\n"
    "一、受理范围：群众反映的民生诉求；企业等市场主体提出的发展诉求。\n"
    "二、不予受理：须通过诉讼、仲裁、纪检监察、行政复议、政府信息公开等程序解决或已进入信访渠道的事项；"
    "不符合法律、法规、规章及政策规定的事项；涉及国家机密、商业秘密、个人隐私或违反公序良俗的事项；"
    "属于军队职责范围的事项；应通过110、119、120、122等紧急服务专线处理的事项；恶意攻击、骚扰或无实质诉求的事项；"
    "不在本辖区管辖范围的事项。\n"
    "三、办理时限（受理后的工作日）：民生咨询、建议类1个工作日；投诉类简单问题2个工作日、复杂问题5个工作日；"
    "发展诉求一般10个工作日，特别复杂的不超过20个工作日。\n"
    "四、办理结果经平台审核后统一答复，请您对办理结果进行评价；不满意或未解决的，平台将进行二次办理。"
)

NOTHING_IN_PROGRESS = "当前没有正在填写的内容。点击菜单“我要反映”或直接发送文字即可反映问题。"
ALREADY_FIRST_STEP = "已经是第一步了。"
FINISH_CURRENT_STEP = "请先完成当前这一步："
SYSTEM_BUSY = "抱歉，系统繁忙，您的消息未能处理，请稍后重新发送。"
UNSUPPORTED = "抱歉，暂不支持这类消息。请发送文字、语音、图片或位置。"
LINK_NOT_SUPPORTED = "暂不支持链接消息，请用文字或语音描述您要反映的问题。"
VOICE_NOT_RECOGNIZED = "抱歉，没能识别您的语音内容，请改用文字输入。"
IMAGE_WITHOUT_REPORT = (
    "已收到图片。如需反映问题，请先用文字描述问题（或点击菜单“我要反映”），再发送现场图片。"
)


def expired(minutes: int) -> str:
    return f"您上次未提交的反映因超过{minutes}分钟未操作已失效，请重新开始。"


def pending_evaluations(count: int) -> str:
    return f"您有{count}条诉求已答复、等待您评价，回复“评价”即可评价。"


def interrupted(step_title: str) -> str:
    return (
        f"您有一条尚未提交的诉求（正在填写：{step_title}）。\n"
        "回复 1 或“继续”：接着填写\n"
        "回复 2 或“重新填写”：放弃它，重新开始反映"
    )


def still_writing(prompt: str, rating: bool = False) -> str:
    what = "您的评价" if rating else "您正在填写的诉求"
    return f"——\n{what}还未提交，请继续：\n{prompt}"


# --- questions that are not petitions (bot/intents.py) ------------------------------------------------------------

ASK_NEW_OR_QUERY = "您是要反映新问题，还是查询已有诉求？\n回复 1：反映新问题\n回复 2：查询已有诉求"
THANKS = "不客气！还有其他问题，直接发送文字描述即可；回复“我的诉求”查看办理进度。"
ACK = "好的。还有其他问题，直接发送文字描述即可；回复“帮助”查看使用说明。"
# Qingdao's 12345 government service hotline answers around the clock: used where a district has set no hotline.
DEFAULT_HOTLINE = "12345"
DEFAULT_SERVICE_HOURS = "24小时"


def human(platform: str, hotline: str, hours: str) -> str:
    return (
        f"本公众号由“{platform}”智能助手自动回复。需要人工服务，请拨打{hotline or DEFAULT_HOTLINE}"
        f"（服务时间：{hours or DEFAULT_SERVICE_HOURS}）。\n"
        "在这里反映的问题同样由工作人员研判办理：直接发送文字描述即可；回复“我的诉求”查看办理进度。"
    )


def bot_complaint(platform: str, hotline: str, hours: str) -> str:
    return (
        "抱歉，没能帮到您。我是自动回复的智能助手，能听懂：直接描述遇到的问题（如“小区路灯坏了半个月”）、"
        "“我的诉求”、诉求编号、“评价”、“帮助”。\n"
        f"需要人工服务，请拨打{hotline or DEFAULT_HOTLINE}（服务时间：{hours or DEFAULT_SERVICE_HOURS}）。"
    )


# --- intake ------------------------------------------------------------------------------------------------------

STEP_TITLES = {
    "kind": "身份",
    "enterprise_name": "企业名称",
    "credit_code": "统一社会信用代码",
    "content": "问题描述",
    "location": "发生地点",
    "phone": "联系电话",
    "confirm": "核对提交",
}

ASK_KIND = "请问您以什么身份反映？\n回复 1：个人（民生诉求）\n回复 2：企业（发展诉求）"
BAD_KIND = "请回复 1（个人）或 2（企业）。"
ASK_ENTERPRISE_NAME = "请输入企业全称（与营业执照一致）："
BAD_ENTERPRISE_NAME = "企业名称应为2至100个字，请重新输入："
ASK_CREDIT_CODE = "请输入企业的统一社会信用代码（18位，见营业执照）："
# The longest description, the same for every channel (the API refuses a longer one).
MAX_CONTENT_LENGTH = MAX_LENGTH["content"]
ASK_CONTENT = (
    f"请描述您要反映的问题：发生了什么、持续多久、希望怎样解决（最多{MAX_CONTENT_LENGTH}字）。\n"
    "可以发送文字或语音，也可以补充发送现场图片。"
)
CONTENT_TOO_SHORT = "描述太短了，请具体说明您遇到的问题（至少5个字）："
ASK_LOCATION = "请告诉我们问题发生的地点：点击输入框旁的“+”发送位置，或直接输入详细地址（如：香港中路10号）。"
LOCATION_TOO_LONG = "地址太长了，请精简到300字以内，或发送位置："
LOCATION_TOO_SHORT = "地址太短了，请输入详细地址（如：香港中路10号），或发送位置："
ASK_PHONE = "请输入您的手机号码，以便承办单位与您联系："
CONFIRM_AGAIN = "请回复 1 确认提交；回复“上一步”修改；回复“取消”放弃。"
CANCELLED = "已取消本次反映，填写的内容没有提交。如需反映问题，可随时点击菜单“我要反映”。"
CONTENT_NOTED = "已记录您反映的问题。"
MAX_IMAGES = 9
DRAFT_KEPT = "您的描述已保存。回复 1 继续反映；也可以重新描述问题，或回复“取消”结束。"

STEP_HELP = {
    "kind": "个人反映的是民生诉求；企业等市场主体反映的是发展诉求，需要提供企业名称和统一社会信用代码。",
    "enterprise_name": "请填写营业执照上的企业全称。",
    "credit_code": "统一社会信用代码是营业执照上的18位代码，由数字和大写字母组成，最后一位是校验码。",
    "content": "请写清楚问题本身，例如“XX小区3号楼下水道堵塞一周，污水外溢”。可以发送多张现场图片。",
    "location": "发送位置：点击输入框旁的“+”，选择“位置”。也可以直接输入小区、门牌号等详细地址。",
    "phone": "请填写11位大陆手机号码，承办单位会通过它与您联系，号码不会公开。",
    "confirm": "核对无误后回复 1 提交；需要修改时回复“上一步”。",
}
STEP_HELP_FOOTER = "随时回复“上一步”修改，回复“取消”放弃本次反映。"


def content_too_long(length: int) -> str:
    return (
        f"您的描述共{length}字，超过了{MAX_CONTENT_LENGTH}字的上限，已为您保存。\n"
        f"回复 1：只保留前{MAX_CONTENT_LENGTH}字继续\n也可以发送精简后的描述替换它；回复“取消”结束。"
    )


def not_a_description(text: str, what: str) -> str:
    return f"“{quote(text)}”是{what}，不是问题描述。请用文字说明发生了什么、在哪里、希望怎样解决："


def not_a_place(text: str, what: str) -> str:
    return f"“{quote(text)}”是{what}，不是地址。请输入问题发生的详细地址（如：香港中路10号），或发送位置："


def not_an_enterprise_name(text: str, what: str) -> str:
    return f"“{quote(text)}”是{what}，不是企业名称。请输入企业全称（与营业执照一致）："


def bad_credit_code(code: str) -> str:
    return f"统一社会信用代码“{quote(code)}”校验未通过，请核对后重新输入（18位，由数字和大写字母组成）："


def bad_phone(text: str) -> str:
    return f"“{quote(text)}”不是有效的手机号码，请输入11位大陆手机号码（如 13812345678）："


def ask_phone_reuse(masked: str) -> str:
    return f"请输入联系手机号码；回复 1 使用上次的号码 {masked}。"


def emergency(advice: str) -> str:
    # The advice names the line to call ("请立即拨打119火警"): the heading does not repeat it.
    return f"⚠️ 您描述的情况可能需要紧急处置！\n{advice}\n平台不受理紧急事项，本次反映已结束。"


def inadmissible(reason: str, advice: str) -> str:
    return (
        f"温馨提示：您反映的事项可能不属于平台受理范围（{reason}）。\n{advice}\n"
        "您的描述已保存。如您确认属于受理范围，回复 1 继续反映；也可以重新描述问题，或回复“取消”结束。"
    )


def other_district(address: str, district_name: str, platform: str) -> str:
    return (
        f"您填写的地点“{quote(address)}”位于{district_name}，请关注“{platform}”公众号反映该问题，以便尽快办理。\n"
        "如地点有误，请重新输入；回复“取消”结束本次反映。"
    )


def outside_qingdao(address: str) -> str:
    return (
        f"您填写的地点“{quote(address)}”不在青岛市范围内，不在本平台管辖范围，请向事发地的政务服务便民热线（12345）反映。\n"
        "如地点有误，请重新输入；回复“取消”结束本次反映。"
    )


def image_added(count: int) -> str:
    return f"已收到图片（共{count}张）。"


def too_many_images(limit: int) -> str:
    return f"每条诉求最多附{limit}张图片，这张没有添加。"


def summary(
    *,
    kind: str,
    enterprise: str | None,
    content: str,
    images: int,
    location: str,
    phone: str,
) -> str:
    """The petition to confirm. A description too long for one WeChat message is shown in part (it is kept whole)."""

    def build(shown: str) -> str:
        lines = ["请核对您的诉求：", f"身份：{kind}"]
        if enterprise:
            lines.append(f"企业：{enterprise}")
        lines += [
            f"问题：{shown}",
            f"图片：{images}张",
            f"地点：{location}",
            f"联系电话：{phone}",
            "",
            CONFIRM_AGAIN,
        ]
        return "\n".join(lines)

    whole = build(content)
    if len(whole.encode("utf-8")) <= MAX_REPLY_BYTES:
        return whole
    note = f"{ELLIPSIS}（共{len(content)}字，已完整记录）"
    room = MAX_REPLY_BYTES - len(build("").encode("utf-8")) - len(note.encode("utf-8"))
    return build(cut_to_bytes(content, room) + note)


def receipt(*, number: str, category: str | None, days: int | None, deadline: str | None) -> str:
    lines = ["提交成功！", f"诉求编号：{number}"]
    if category:
        lines.append(f"建议分类：{category}")
    if days is not None and deadline is not None:
        lines.append(f"办理时限：受理后{days}个工作日内办结")
        lines.append(f"预计办结期限：{deadline}（自受理起算，以平台受理为准）")
    lines.append("平台研判后将转交承办单位办理，进展和结果会通过本公众号通知您。")
    lines.append(f"回复“{number}”可随时查看进度。")
    return "\n".join(lines)


# --- my petitions and progress -----------------------------------------------------------------------------------

NO_PETITIONS = "您还没有提交过诉求。点击菜单“我要反映”即可反映问题。"
MY_PETITIONS_FOOTER = "回复诉求编号查看办理进度。"


def petition_line(
    index: int, number: str, title: str, state: str, light: str | None, deadline: str | None
) -> str:
    status = state
    if light:
        status += f" · {light}"
    if deadline:
        status += f" · 期限{deadline}"
    return f"{index}. {number}\n{title}\n{status}"


def not_found(number: str) -> str:
    return f"没有找到您提交的编号为 {number} 的诉求，请核对编号（只能查询本人在本公众号提交的诉求）。"


def progress(
    *,
    number: str,
    title: str,
    state: str,
    light: str | None,
    deadline: str | None,
    steps: list[str],
    awaiting_evaluation: bool,
    handling_round: int = 1,
) -> str:
    lines = [f"诉求编号：{number}", title, f"当前状态：{state}" + (SECOND_HANDLING_MARK if handling_round > 1 else "")]
    if deadline:
        lines.append(f"办理期限：{deadline}" + (f"（{light}）" if light else ""))
    if steps:
        lines.append("办理进度：")
        lines += steps
    if awaiting_evaluation:
        lines.append(f"办理结果已答复，回复“评价 {number}”对办理结果进行评价。")
    return "\n".join(lines)


SECOND_HANDLING_MARK = "（二次办理）"


def progress_step(at: str, label: str, note: str, second_round: bool) -> str:
    """One line of the progress view; steps of the second handling round are marked as such."""
    return f"{at} {'[二次办理] ' if second_round else ''}{label}" + (f"：{note}" if note else "")


# --- rating ------------------------------------------------------------------------------------------------------

RATE_STEP_TITLES = {
    "pick": "选择诉求",
    "satisfaction": "满意度",
    "resolution": "解决情况",
    "reason": "意见",
    "confirm": "确认评价",
}
NOTHING_TO_RATE = "您目前没有待评价的诉求。诉求答复后，我们会通知您进行评价。"
BAD_SATISFACTION = "请回复 1（满意）、2（基本满意）或 3（不满意）。"
BAD_RESOLUTION = "请回复 1（解决）、2（基本解决）或 3（未解决）。"
RATE_CANCELLED = "已取消评价，您可以稍后回复“评价”再评。"
RATE_HELP = (
    "评价分两项：对办理结果是否满意，问题是否解决。回复对应的数字或文字即可。"
    "不满意或未解决的，可以再说明还有哪些问题，平台二次办理时会首先看到。"
)


def pick_petition(lines: list[str]) -> str:
    return "您有以下诉求等待评价，请回复序号选择：\n" + "\n".join(lines)


def bad_pick(count: int) -> str:
    return f"请回复 1 到 {count} 之间的序号。"


def ask_satisfaction(number: str, title: str) -> str:
    return (
        f"请评价诉求 {number}（{title}）的办理结果。\n您对办理结果满意吗？\n"
        "回复 1：满意\n回复 2：基本满意\n回复 3：不满意"
    )


ASK_RESOLUTION = "您反映的问题解决了吗？\n回复 1：解决\n回复 2：基本解决\n回复 3：未解决"
MAX_REASON_LENGTH = MAX_LENGTH["comment"]
ASK_REASON = (
    "请告诉我们还有哪些问题没有解决（如：“烧烤店还是照常营业到半夜”），平台二次办理时会首先看到您的意见。\n"
    "回复“跳过”不填写；回复“取消”暂不评价。"
)
REASON_NOTED = "已记下您的意见。"


def reason_too_long(length: int) -> str:
    return f"您的意见共{length}字，超过了{MAX_REASON_LENGTH}字的上限，请精简后重新发送；回复“跳过”不填写。"


def confirm_rating(satisfaction: str, resolution: str, reason: str = "") -> str:
    lines = [f"您的评价：{satisfaction}、{resolution}。"]
    if reason:
        lines.append(f"您的意见：{quote(reason)}")
    lines.append("回复 1 确认提交；回复“上一步”修改；回复“取消”暂不评价。")
    return "\n".join(lines)


def rated_closed(number: str) -> str:
    return f"感谢您的评价！诉求 {number} 已办结。"


def rated_second_handling(number: str) -> str:
    return (
        f"感谢您的评价，很抱歉办理结果没有让您满意。诉求 {number} 已退回平台进行二次办理："
        "平台将重新研判并督促承办单位办理，办理结果会再次通知您，届时请您再次评价。"
    )


def rated_assessment(number: str) -> str:
    return f"感谢您的评价，很抱歉二次办理仍未让您满意。平台将对承办单位进行履职评估，并继续跟进您的诉求 {number}。"


def rating_refused(number: str, reason: str) -> str:
    return f"诉求 {number} 暂时不能评价：{reason}"


def rating_window_closed(number: str) -> str:
    return (
        f"诉求 {number} 的评价期限已过：答复送达后评价期限内未收到您的评价，已按“未评价”办结，不能再评价。"
        "如问题仍未解决，欢迎重新反映。"
    )
