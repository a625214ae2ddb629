"""The intents table (bot/intents.py): many phrasings, typed and as voice recognition writes them, each recognised as
what it asks; problem descriptions stay problems."""

from __future__ import annotations

import pytest

from bot.conversation import command_form
from bot.intents import INTENTS, Intent, recognise

PROGRESS = [
    "我想问一下我的诉求办得怎么样了",
    "我想问一下进度。",  # voice recognition adds the full stop
    "我想问一下进度",
    "进度怎么样了",
    "我反映的事有结果了吗？",
    "请问我的问题处理到哪一步了",
    "怎么还没有人回复我",
    "什么时候能处理好",
    "我的诉求受理了吗",
    "上次提交的诉求现在什么情况",
    "诉求办理情况",
    "帮我查一下进度",
    "有进展吗",
    "我的诉求到底有没有人管",
    "我想问问我的诉求处理的咋样了",
    "我投诉的事情怎么样了",
    "啥时候能给个答复",
    "我想了解一下我反映的问题的办理进度。",
    "我的事情办好了吗",
]
HUMAN = ["人工客服", "转人工", "我要找人工", "有没有真人", "你们电话多少", "人工", "客服。", "我要转人工服务"]
BOT_COMPLAINT = ["你这个机器人太笨了", "什么破系统听不懂人话", "答非所问", "你们这个自动回复没用", "我要投诉你们这个机器人"]
THANKS = ["谢谢", "谢谢你们", "非常感谢", "好的谢谢", "辛苦了", "谢谢。"]
ACK = ["好的", "收到", "嗯嗯", "知道了", "ok"]
GREETING = ["你好", "您好，在吗", "在吗？", "hello", "早上好"]
PROBLEMS = [
    "小区楼下烧烤摊每天营业到凌晨两点，油烟和噪音严重扰民，希望有关部门管一管。",
    "我想问一下垃圾分类怎么投放",  # a consultation (咨询) is a petition
    "人工湖的水太臭了，夏天蚊子特别多",
    "路灯修了也没用，还是不亮",
    "12345热线打不通",
    "小区东门路灯坏了半个月，晚上出行很不方便。",
    # A letter that happens to use the words is a problem, not a question.
    "道路施工已经半年了，施工进度特别慢，尘土飞扬，路面坑坑洼洼，居民出行非常不方便，希望督促施工单位加快进度并做好围挡。",
]
EITHER = [
    "上次反映的烧烤店油烟问题进度怎么样了",
    "小区门口的垃圾怎么还没人处理",
    "企业办理食品经营许可证变更，材料提交两周了还没有结果，影响正常经营。",
]


def _intent(text: str) -> Intent:
    return recognise(command_form(text)).intent


@pytest.mark.parametrize(
    ("text", "intent"),
    [(t, Intent.PROGRESS) for t in PROGRESS]
    + [(t, Intent.HUMAN) for t in HUMAN]
    + [(t, Intent.BOT_COMPLAINT) for t in BOT_COMPLAINT]
    + [(t, Intent.THANKS) for t in THANKS]
    + [(t, Intent.ACK) for t in ACK]
    + [(t, Intent.GREETING) for t in GREETING]
    + [(t, Intent.PROBLEM) for t in PROBLEMS]
    + [(t, Intent.EITHER) for t in EITHER],
)
def test_each_phrasing_is_recognised(text: str, intent: Intent) -> None:
    assert _intent(text) == intent


@pytest.mark.parametrize(
    "text",
    ["查询SN202611270001", "查一下 sn202611270001 的进度", "SN202611270001怎么样了", "查询 SN202611270001。"],
)
def test_query_with_a_number_names_the_petition(text: str) -> None:
    recognised = recognise(command_form(text))
    assert (recognised.intent, recognised.number) == (Intent.QUERY, "SN202611270001")


def test_a_number_inside_a_new_problem_asks_which() -> None:
    assert _intent("SN202611270001说的烧烤店又开始营业了，油烟比以前还大") == Intent.EITHER


def test_the_table_has_one_row_per_recognised_intent() -> None:
    intents = [rule.intent for rule in INTENTS]
    assert len(intents) == len(set(intents))
    assert Intent.PROBLEM not in intents and Intent.EITHER not in intents
