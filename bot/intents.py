"""What a message that is not a command means, before it can start a petition: a question about progress, a wish
to speak to a person, thanks, a greeting, a complaint about the bot, "查询" with a petition number, or a problem.

One table (`INTENTS`): each row is a cue (a regular expression on the message as commands are compared) and the
words that belong to that intent. A message whose cue matches is that intent when nothing else of substance is left:
the message is cut into words with the classifier's own tokenizer (jieba, the Qingdao dictionary and stop words:
`classifier.text.tokenize`), and every word that is neither the intent's nor common filler counts as substance
("烧烤店", "油烟"). With substance left, a progress question may as well be a new problem: the dialog asks which
(`Intent.EITHER`); for the other intents the message is a problem like any other. A message longer than the row's
`max_length` is a problem whatever words it uses. Only a message a cue matches is cut into words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from classifier.text import tokenize

# A petition number, e.g. SN202611270001 (lower case after `command_form`).
PETITION_NUMBER = re.compile(r"[a-z]{2}\d{12}", re.IGNORECASE)


class Intent(StrEnum):
    PROGRESS = "progress"  # how are my petitions doing
    QUERY = "query"  # 查询 + a petition number
    HUMAN = "human"  # 人工 / 转人工: the district's hotline and hours
    BOT_COMPLAINT = "bot_complaint"  # the bot itself is the problem
    THANKS = "thanks"
    ACK = "ack"  # 好的, 收到, 嗯
    GREETING = "greeting"
    EITHER = "either"  # a progress question with a problem in it: ask which
    PROBLEM = "problem"  # a description: starts a report


@dataclass(frozen=True)
class IntentRule:
    """`cue` recognises the intent; `words` are the tokens it may bring along without being substance; a message
    longer than `max_length` characters is never this intent; with substance it is `with_substance`."""

    intent: Intent
    cue: re.Pattern[str]
    words: frozenset[str]
    max_length: int
    with_substance: Intent = Intent.PROBLEM


def _rule(intent: Intent, cue: str, words: str, max_length: int, with_substance: Intent = Intent.PROBLEM) -> IntentRule:
    return IntentRule(intent, re.compile(cue), _words(words), max_length, with_substance)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words any of these messages may carry: who, polite forms, "my petition", particles jieba keeps.
FILLER = _words(
    """
    我 我们 你 你们 您 想 问 问问 请问 一下 下 请 麻烦 帮 帮忙 帮我 给 看看 看 查 查查 查一下 查询 知道 了解 那个 这个
    诉求 问题 事 事情 反映 反应 提交 提 投诉 上报 上次 之前 前几天 前些天 昨天 那天 现在 目前 已经 一直 还 还是 到底
    怎么 怎么样 咋样 如何 什么 哪 哪里 呢 吗 啊 呀 吧 哈 嘛 了 的 得 着 过 好 能 能不能 可以 是不是 有没有 没有 没 有
    下午 上午 你好 您好 在吗 谢谢 一 个 条 件 次 我反映 我提交 我的 我查 我要 我想 问问
    """
)

INTENTS: tuple[IntentRule, ...] = (
    _rule(
        Intent.HUMAN,
        r"人工(?!湖|费|智能|草|成本|降雨|河|岛|林|造|养|种)|真人|活人|客服|接线员|坐席|转接|热线|打电话|电话多少|联系方式",
        "人工 客服 人工客服 转 转人工 真人 活人 接线员 坐席 转接 热线 电话 打电话 多少 联系方式 找 找人 要 需要 服务 号码",
        30,
    ),
    _rule(
        Intent.BOT_COMPLAINT,
        r"机器人|智能客服|自动回复|答非所问|听不懂|看不懂|不理解|太笨|真笨|好笨|笨死|人工智障|智障|弱智|破系统|什么破|垃圾系统"
        r"|没用|不好用|难用|不会用|乱回复|瞎回复|回复的什么|回答的什么|说的什么",
        "机器人 智能 客服 智能客服 自动 回复 自动回复 答非所问 听不懂 看不懂 不 理解 不理解 太笨 笨 真笨 好笨 笨死 人工智障 智障"
        " 弱智 破 系统 破系统 垃圾 没用 不好 好用 不好用 难用 不会 会用 乱 瞎 回答 说 人话 话 人 这是 什么 东西 玩意 玩意儿",
        30,
    ),
    _rule(
        Intent.PROGRESS,
        r"进度|进展|(?:办|办理|处理)[得的]?(?:怎么样|咋样|如何|好了|完了|到哪)|(?:有|出)(?:没有)?结果"
        r"|(?:诉求|事|事情|问题|投诉|反映的)(?:现在|目前)?(?:怎么样|咋样|如何|什么情况|啥情况)|(?:有没有|没有?)人管"
        r"|结果(?:出来|呢|如何|怎么样)|到哪(?:一步|了|儿了)|办到哪|(?:有|给)(?:没有)?(?:人)?(?:回复|答复|回音|消息|动静)"
        r"|(?:什么|啥)时候(?:能)?(?:给个?)?(?:办好|办完|处理好|处理完|解决|有结果|给答复|给回复|答复|回复)|(?:办理|处理|受理)(?:情况|状态)"
        r"|(?:受理|处理|办理|答复|回复)了(?:吗|没)|怎么还没(?:有)?(?:人)?(?:处理|回复|答复|消息|动静|结果)|办没办|管没管",
        "进度 进展 办 办得 办理 处理 处理得 受理 怎么样 咋样 如何 好 了 完 到 哪 一步 步 结果 出来 回复 答复 回音 消息 动静"
        " 什么 时候 什么时候 啥 啥时候 个 能 解决 给 情况 状态 还没 还 没 人 管 人管 办没办 管没管 办好 办完 办到",
        40,
        with_substance=Intent.EITHER,
    ),
    _rule(
        Intent.THANKS,
        r"谢谢|感谢|多谢|谢了|辛苦了|辛苦你们|麻烦你们了|thank|thx|3q",
        "谢谢 谢谢你们 非常感谢 感谢你们 多谢 谢谢您 感谢 谢 辛苦 辛苦了 麻烦 你们 非常 十分 太 真 工作人员 政府 平台 thank thanks you thx 3q 好的 的 好",
        20,
    ),
    _rule(
        Intent.ACK,
        r"^(?:好的?|好吧|行|嗯+|哦+|噢+|ok|okay|收到|知道了|明白了?|了解了?|可以|没问题|没事了?)$",
        "好 好的 行 嗯 哦 噢 ok okay 收到 知道 明白 了解 可以 没 问题 没事",
        10,
    ),
    _rule(
        Intent.GREETING,
        r"^(?:你好|您好|在吗|在不在|有人吗|有人在吗|hi|hello|哈喽|嗨|早上好|上午好|中午好|下午好|晚上好|早|菜单)+(?:呀|啊|吗)?$",
        "你好 您好 在 在吗 在不在 有人 有人吗 hi hello 哈喽 嗨 早上好 上午 中午 下午 晚上 好 早 菜单",
        12,
    ),
)

_PUNCTUATION = re.compile(r"[\W_]+")
_QUERY_CUE = re.compile(r"查询|查一?下|查查|查看|看看|看一?下|进度|进展|怎么样|咋样|如何|状态|情况|结果|编号|号")


@dataclass(frozen=True)
class Recognised:
    intent: Intent
    # For QUERY: the petition number, upper case.
    number: str | None = None


def substance(text: str, words: frozenset[str]) -> list[str]:
    """The words of `text` (the classifier's tokens) that are neither in `words` nor common filler."""
    return [token for token in tokenize(text) if token not in words and token not in FILLER]


def recognise(word: str) -> Recognised:
    """The intent of a message, given in the form commands are compared in (`command_form`)."""
    bare = _PUNCTUATION.sub("", word)
    number = PETITION_NUMBER.search(bare)
    if number is not None:
        rest = bare.replace(number.group(0), "")
        if not rest or _QUERY_CUE.search(rest) or not substance(rest, frozenset()):
            return Recognised(Intent.QUERY, number.group(0).upper())
        return Recognised(Intent.EITHER)
    for rule in INTENTS:
        if not rule.cue.search(bare):
            continue
        if len(bare) > rule.max_length:
            # A letter that happens to use the words ("施工进度") is a problem, not a question.
            return Recognised(Intent.PROBLEM)
        if substance(bare, rule.words):
            return Recognised(rule.with_substance)
        return Recognised(rule.intent)
    return Recognised(Intent.PROBLEM)
