"""Rules-only admissibility: every category caught on texts that are not in the training corpus, ordinary
complaints let through, the right emergency line named, Qingdao streets named after other cities left alone."""

from __future__ import annotations

import pytest

from classifier.corpus import load_corpus
from classifier.places import districts_named, mentions_qingdao, outside_places
from classifier.screening import screen
from models.enums import InadmissibleCode

# Written for these tests; none of them is in classifier/data/corpus_*.csv (checked below).
INADMISSIBLE = [
    ("快来人啊，我们楼三楼厨房起火了，火苗都窜出窗户了", InadmissibleCode.EMERGENCY),
    ("我老伴刚才在家突然昏迷了叫不醒", InadmissibleCode.EMERGENCY),
    ("福州路和延安三路路口两车相撞，司机满脸是血", InadmissibleCode.EMERGENCY),
    ("楼道里闻到很浓的煤气味，不知道谁家漏了", InadmissibleCode.EMERGENCY),
    ("隔壁两口子正在打架，男的拿刀了", InadmissibleCode.EMERGENCY),
    ("孩子被困在电梯里半小时了，物业电话打不通", InadmissibleCode.EMERGENCY),
    ("区法院去年判了对方赔钱，到现在一分没执行，你们平台给我催催", InadmissibleCode.LITIGATION),
    ("我申请了劳动仲裁，仲裁委一直不开庭", InadmissibleCode.LITIGATION),
    ("举报街道副主任收红包，请纪委查处", InadmissibleCode.LITIGATION),
    ("对区里作出的罚款决定不服，要申请行政复议", InadmissibleCode.LITIGATION),
    ("我要依申请公开拆迁补偿的全部文件", InadmissibleCode.LITIGATION),
    ("这事我已经上访三次了，信访局也没给答复", InadmissibleCode.LITIGATION),
    ("能不能帮我开个假的收入证明，孩子上学要用", InadmissibleCode.UNLAWFUL),
    ("我家院子里盖的房子是违建，能不能想办法不拆", InadmissibleCode.UNLAWFUL),
    ("有没有办法让我少交税，个体户税太高了", InadmissibleCode.UNLAWFUL),
    ("帮我查一下我前夫现在的家庭住址，他躲着不见孩子", InadmissibleCode.SECRET_PRIVACY),
    ("给我提供一下邻居的手机号，我要跟他算账", InadmissibleCode.SECRET_PRIVACY),
    ("我想要竞争对手的报价，你们监管部门肯定有", InadmissibleCode.SECRET_PRIVACY),
    ("附近部队营区晚上放探照灯，照得睡不着", InadmissibleCode.MILITARY),
    ("军事管理区的围墙挡了我们村的路", InadmissibleCode.MILITARY),
    ("孩子想参军，征兵体检什么时候开始", InadmissibleCode.MILITARY),
    ("在吗在吗", InadmissibleCode.HARASSMENT),
    ("喂喂喂？", InadmissibleCode.HARASSMENT),
    ("狗官，都去死吧", InadmissibleCode.HARASSMENT),
    ("asdfghjkl qwerty", InadmissibleCode.HARASSMENT),
    ("asdkjfh 哈哈 xxxxx 123", InadmissibleCode.HARASSMENT),
    ("嘿嘿嘿 在吗 ok", InadmissibleCode.HARASSMENT),
    ("我在烟台市芝罘区，小区门口的路灯坏了", InadmissibleCode.OUT_OF_JURISDICTION),
    ("河北省保定市的工地拖欠我工资", InadmissibleCode.OUT_OF_JURISDICTION),
    ("老家在临沂，村里的路几年没修了", InadmissibleCode.OUT_OF_JURISDICTION),
]

ADMISSIBLE = [
    "小区物业乱收停车费，业主都不同意，请相关部门查处",
    "楼道里堆满杂物，有火灾隐患，物业不清理",
    "去年冬天我在小区门口摔倒骨折，医保报销比例太低了",
    "市北区南京路的路灯坏了好几盏，晚上很黑",
    "市南区香港中路一家饭店油烟太大，熏得开不了窗",
    "李沧区济南路菜市场门口流动摊贩占道经营",
    "希望在福州路增设一个公交站点",
    "请问退役军人优待证在哪里办理",
    "我不想打官司，只希望物业把漏水修好",
    "学校组织学生军训，伙食太差了",
    "烟台苹果在市场上卖得比外地还贵，是否存在价格欺诈",
    "公司拖欠工资三个月，老板说没钱",
    "暖气不热，室温只有十五度，热力公司不管",
    "日照时间不够，新建的楼挡住了我家阳光",
    "长期被楼上装修噪音困扰，周末早上七点就开始砸墙",
    "崂山区王哥庄的民宿乱收费，我要投诉",
]


def test_examples_are_not_in_the_training_corpus() -> None:
    corpus = {example.text for example in load_corpus()}
    overlap = corpus & ({text for text, _ in INADMISSIBLE} | set(ADMISSIBLE))
    assert not overlap


@pytest.mark.parametrize(("text", "code"), INADMISSIBLE)
def test_every_inadmissible_category_is_caught(text: str, code: InadmissibleCode) -> None:
    verdict = screen(text)
    assert not verdict.admissible
    assert verdict.code == code
    assert verdict.reason and verdict.advice


def test_every_category_has_an_example() -> None:
    assert {code for _, code in INADMISSIBLE} == set(InadmissibleCode)


@pytest.mark.parametrize("text", ADMISSIBLE)
def test_ordinary_petitions_pass(text: str) -> None:
    verdict = screen(text)
    assert verdict.admissible, verdict.reason
    assert verdict.code is None and verdict.reason is None and verdict.advice is None


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("厨房着火了", ["119"]),
        ("有人从楼上摔下来受伤了，快叫救护车", ["120"]),
        ("刚才门口追尾了，对方司机跑了", ["122"]),
        ("刚刚门口车祸，有个老人受伤躺在地上", ["120", "122"]),
        ("有人正在抢劫便利店", ["110"]),
    ],
)
def test_emergency_advice_names_the_right_line(text: str, lines: list[str]) -> None:
    verdict = screen(text)
    assert verdict.code == InadmissibleCode.EMERGENCY
    named = [line for line in ("110", "119", "120", "122") if line in (verdict.advice or "")]
    assert named == lines


def test_emergency_wins_over_other_categories() -> None:
    # Urgency first: a fight at a court is still a matter for 110 right now.
    verdict = screen("法院门口有人正在打人")
    assert verdict.code == InadmissibleCode.EMERGENCY


def test_a_past_event_is_not_an_emergency_unless_urgent() -> None:
    assert screen("上个月小区门口车祸以后红绿灯一直没修").admissible
    assert not screen("上个月那里出过车祸，刚刚又撞了一个人").admissible


@pytest.mark.parametrize(
    ("text", "advice_names"),
    [
        ("崂山区沙子口的路灯坏了", "崂先办"),
        ("胶州市的工地扬尘太大", "胶心办"),
    ],
)
def test_another_districts_matter_is_sent_to_that_district(text: str, advice_names: str) -> None:
    verdict = screen(text, district_code="shinan")
    assert verdict.code == InadmissibleCode.OUT_OF_JURISDICTION
    assert advice_names in (verdict.advice or "")
    # Without a district (or in that district) the same text is fine.
    assert screen(text).admissible
    assert screen(text, district_code="laoshan" if "崂山" in text else "jiaozhou").admissible


def test_own_district_named_beside_another_is_admissible() -> None:
    assert screen("我住市南区，在崂山区上班，公交车太挤", district_code="shinan").admissible


def test_place_helpers() -> None:
    assert outside_places("我在济南市历下区") == ["济南"]
    assert outside_places("市北区济南路小区") == []
    assert outside_places("在香港中路") == []
    assert outside_places("北京时间八点") == []
    assert mentions_qingdao("黄岛的海边")
    assert districts_named("即墨路小商品市场") == set()
    assert districts_named("即墨区蓝村镇") == {"jimo"}
