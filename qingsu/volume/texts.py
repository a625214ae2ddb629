"""The words of generated petitions: contents, names, places, replies and notes, assembled from templates.

Petition contents are the classifier's shipped corpus (`classifier/data/corpus_*.csv`: realistic Qingdao petitions
labelled with department type, nature and kind, and the inadmissible ones with their code) framed by an opening and a
closing phrase, so a million petitions are not a thousand texts repeated. Everything else is a template per department
type. Every choice takes the caller's `random.Random`, so a seed gives the same words.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from functools import cache

from classifier.corpus import load_corpus
from models.enums import DeptType, InadmissibleCode, Nature, PetitionKind

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段"
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国文辉鹏飞志宏海波宁丹云凤洁琳晨浩宇欣怡佳俊"
)
MOBILE_PREFIXES = (
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "155",
    "157",
    "158",
    "159",
    "166",
    "176",
    "177",
    "180",
    "181",
    "182",
    "183",
    "185",
    "186",
    "187",
    "188",
    "189",
    "198",
    "199",
)
COMPANY_WORDS = (
    "海信",
    "青港",
    "瑞源",
    "德泰",
    "鲁信",
    "泰和",
    "华润",
    "金海",
    "海川",
    "博远",
    "诚达",
    "远航",
    "恒丰",
    "新元",
    "汇通",
    "嘉禾",
    "蓝海",
    "崂峰",
    "琴岛",
    "胶澳",
    "明德",
    "信诚",
    "海晟",
    "润丰",
)
COMPANY_TRADES = (
    "机械制造",
    "食品",
    "电子科技",
    "物流",
    "建筑工程",
    "生物科技",
    "纺织服装",
    "海洋科技",
    "橡胶制品",
    "软件",
    "商贸",
    "新材料",
    "包装",
    "冷链",
    "汽车零部件",
    "医疗器械",
)

# A few real roads of each district, for locations.
ROADS: dict[str, tuple[str, ...]] = {
    "shinan": ("香港中路", "山东路", "闽江路", "南京路", "延安三路", "东海西路", "福州南路", "宁夏路"),
    "shibei": ("台东一路", "威海路", "辽宁路", "延吉路", "敦化路", "抚顺路", "四流南路", "登州路"),
    "licang": ("京口路", "九水路", "黑龙江中路", "金水路", "书院路", "振华路", "枣山路", "四流中路"),
    "laoshan": ("深圳路", "株洲路", "海尔路", "松岭路", "秦岭路", "东海东路", "同安路", "银川东路"),
    "huangdao": (
        "长江中路",
        "井冈山路",
        "江山中路",
        "珠江路",
        "武夷山路",
        "紫金山路",
        "滨海大道",
        "昆仑山路",
    ),
    "chengyang": ("正阳路", "长城路", "黑龙江路", "春阳路", "崇阳路", "明阳路", "文阳路", "兴阳路"),
    "jimo": ("鹤山路", "蓝鳌路", "烟青路", "振华街", "嵩山二路", "环秀路", "通济路", "黄河二路"),
    "jiaozhou": ("扬州路", "常州路", "兰州东路", "澳门路", "胶州湾路", "福州路", "广州北路", "郑州东路"),
    "pingdu": ("青岛路", "胜利路", "常州路", "红旗路", "杭州路", "扬州路", "南京路", "人民路"),
    "laixi": ("烟台路", "威海路", "石岛路", "上海路", "文化路", "重庆路", "长岛路", "北京东路"),
}
COMPOUNDS = ("小区", "花园", "家园", "新村", "公寓", "苑", "社区")
# Each district's centre and how far petitions spread around it, in degrees.
CENTRES: dict[str, tuple[float, float, float]] = {
    "shinan": (36.066, 120.382, 0.02),
    "shibei": (36.087, 120.374, 0.02),
    "licang": (36.145, 120.433, 0.03),
    "laoshan": (36.107, 120.468, 0.05),
    "huangdao": (35.960, 120.198, 0.1),
    "chengyang": (36.307, 120.396, 0.06),
    "jimo": (36.390, 120.447, 0.1),
    "jiaozhou": (36.285, 120.033, 0.08),
    "pingdu": (36.777, 119.988, 0.12),
    "laixi": (36.887, 120.518, 0.1),
}

OPENERS = (
    "",
    "",
    "",
    "",
    "您好，",
    "你好，",
    "领导好，",
    "我想反映一个问题：",
    "再次反映：",
    "麻烦问一下，",
    "打扰了，",
    "我是附近的居民，",
    "反映个情况，",
    "上次反映的问题又出现了，",
)
CLOSERS = (
    "",
    "",
    "",
    "",
    "希望尽快处理。",
    "谢谢！",
    "请相关部门核实处理。",
    "盼回复。",
    "麻烦给个说法。",
    "希望有关部门重视。",
    "已经打过好几次电话了。",
    "这个问题存在很久了。",
    "谢谢领导！",
    "请尽快答复。",
)

ENFORCEMENT_TOPICS: dict[DeptType, tuple[str, ...]] = {
    DeptType.URBAN_MGMT: ("违法建设", "占道经营", "渣土车沿街抛撒", "户外广告违规设置"),
    DeptType.ECOLOGY: ("小作坊废气排放", "餐饮油烟超标排放", "河道偷排污水", "夜间施工噪声"),
    DeptType.MARKET: ("无证经营食品", "销售过期食品", "价格欺诈", "无照经营网吧"),
    DeptType.HOUSING: ("群租房安全隐患", "建筑工地扬尘", "违规装修拆改承重墙", "物业弃管小区"),
    DeptType.NATURAL_RES: ("非法占用耕地", "违规采砂", "私挖滥采", "违法占地建房"),
    DeptType.TRANSPORT: ("非法营运车辆", "违规停放大货车", "占用道路堆物", "黑出租聚集"),
    DeptType.AGRI: ("违规使用禁用农药", "非法捕捞", "病死畜禽乱丢", "违规养殖"),
    DeptType.WATER: ("河道违规搭建", "私接自来水管网", "非法取水", "河道倾倒垃圾"),
    DeptType.POLICE: ("夜间噪声扰民", "非法集资宣传", "群租房治安隐患", "无证经营娱乐场所"),
}
ENFORCEMENT_TEMPLATE = (
    "{origin}在{place}巡查发现{topic}问题，涉及{count}户（家），经多次劝导仍未整改，"
    "本单位无执法权，需{dept}牵头、相关部门配合开展联合执法。"
)

POLICY_BASIS: dict[DeptType, tuple[str, ...]] = {
    DeptType.HOUSING: ("《物业管理条例》", "《青岛市物业管理条例》", "《住宅专项维修资金管理办法》"),
    DeptType.URBAN_MGMT: (
        "《城市市容和环境卫生管理条例》",
        "《青岛市城市管理综合执法条例》",
        "《城乡规划法》第六十四条",
    ),
    DeptType.ECOLOGY: ("《环境噪声污染防治法》", "《大气污染防治法》", "《水污染防治法》"),
    DeptType.TRANSPORT: ("《道路运输条例》", "《青岛市城市公共汽车客运管理条例》", "《道路交通安全法》"),
    DeptType.EDUCATION: (
        "《义务教育法》",
        "《青岛市义务教育阶段学校招生入学工作意见》",
        "《校外培训机构管理办法》",
    ),
    DeptType.HRSS: ("《劳动合同法》", "《保障农民工工资支付条例》", "《社会保险法》"),
    DeptType.HEALTH: ("《基本医疗卫生与健康促进法》", "《医疗纠纷预防和处理条例》", "《传染病防治法》"),
    DeptType.MARKET: ("《消费者权益保护法》", "《食品安全法》", "《价格法》"),
    DeptType.POLICE: ("《治安管理处罚法》", "《居民身份证法》", "《户口登记条例》"),
    DeptType.CIVIL: ("《社会救助暂行办法》", "《养老机构管理办法》", "《最低生活保障审核确认办法》"),
    DeptType.NATURAL_RES: ("《土地管理法》", "《不动产登记暂行条例》", "《城乡规划法》"),
    DeptType.AGRI: ("《农村土地承包法》", "《种子法》", "《动物防疫法》"),
    DeptType.WATER: ("《城市供水条例》", "《河道管理条例》", "《城镇排水与污水处理条例》"),
    DeptType.COMMERCE: ("《单用途商业预付卡管理办法》", "《商务部关于促进消费的若干措施》", "《外商投资法》"),
    DeptType.CULTURE_TOURISM: ("《旅游法》", "《娱乐场所管理条例》", "《公共文化服务保障法》"),
    DeptType.MEDICAL_INS: (
        "《医疗保障基金使用监督管理条例》",
        "《青岛市基本医疗保险办法》",
        "《异地就医直接结算办法》",
    ),
    DeptType.TAX: ("《税收征收管理法》", "《个人所得税法》", "《增值税暂行条例》"),
    DeptType.APPROVAL: ("《优化营商环境条例》", "《市场主体登记管理条例》", "《行政许可法》"),
    DeptType.INDUSTRY: (
        "《中小企业促进法》",
        "《青岛市支持实体经济高质量发展的若干政策》",
        "《工业和信息化领域专项资金管理办法》",
    ),
    DeptType.HEATING: ("《青岛市供热条例》", "《城市供热价格管理办法》", "《青岛市供热服务规范》"),
    DeptType.UTILITIES: ("《城镇燃气管理条例》", "《电力供应与使用条例》", "《城市供水条例》"),
}
RESULTS = (
    "经现场核实，诉求人反映的问题属实，已督促责任单位于{days}个工作日内整改完毕，并将持续跟踪。",
    "经调查，已协调相关单位进行处理，目前问题已解决，已电话告知诉求人办理结果。",
    "经核实，诉求人所咨询事项已依据{basis}作出解答，并告知办理流程及所需材料。",
    "已约谈责任主体，责令限期整改；整改期间安排专人每日巡查，防止问题反弹。",
    "经研究，诉求人的建议具有参考价值，已纳入下一步工作计划统筹推进。",
    "已会同街道、社区现场查看，制定处理方案，相关工作正在按计划推进，预计{days}个工作日内完成。",
)
POSITIONS = ("科长", "副科长", "主任", "副主任", "科员", "工作人员", "所长", "队长")

REJECT_NOTES: dict[InadmissibleCode, tuple[str, ...]] = {
    InadmissibleCode.LITIGATION: (
        "该事项已进入司法程序，请通过法院依法解决",
        "请依法申请仲裁或向人民法院起诉",
    ),
    InadmissibleCode.UNLAWFUL: ("诉求内容不符合相关政策规定", ""),
    InadmissibleCode.SECRET_PRIVACY: ("涉及他人个人隐私，不予受理", ""),
    InadmissibleCode.MILITARY: ("属军队职责范围，请向驻地部队反映", ""),
    InadmissibleCode.EMERGENCY: ("紧急情况请立即拨打110、119、120或122", ""),
    InadmissibleCode.HARASSMENT: ("无实质诉求内容", ""),
    InadmissibleCode.OUT_OF_JURISDICTION: ("不属本区(市)管辖，请向属地平台反映", ""),
}
UNIT_RETURN_NOTES = (
    "该事项不属于本单位职责范围，请重新分拨",
    "经核实，问题地点不在本辖区",
    "涉及多个部门职责，需平台协调",
)
ESCALATE_NOTES = ("本社区无法解决，需街道协调", "涉及多个部门，需上级统筹处理", "超出本级处置能力，申请上报")
CITY_NOTES = ("涉及市直部门职责，需市级平台协调办理", "需市级部门统筹解决")
LINK_NOTES = (
    "与在办诉求反映同一问题，合并办理",
    "同一地点同一问题，关联至主诉求统一答复",
    "重复反映，随主诉求一并办理",
    "与已派单诉求为同一事项，合并办理",
)
REPLY_RETURN_NOTES = (
    "答复内容过于简单，请补充办理过程",
    "政策依据不准确，请核实后修改",
    "未写明整改时限，请补充",
    "请补充与诉求人沟通情况",
)
EXTENSION_REASONS = (
    "涉及多个部门协调，需要更多时间",
    "需等待第三方检测结果",
    "整改工程量较大，需延长办理时限",
    "诉求人近期不在本地，无法现场核实",
    "需履行招标采购程序",
)
EXTENSION_REFUSALS = ("延期理由不充分，请按期办结", "可先行答复阶段性办理结果")
ASSESSMENT_NOTES = ("承办单位未按要求落实整改措施", "答复内容与实际情况不符", "问题反复出现，未建立长效机制")
ASSESSMENT_DONE_NOTES = ("", "经核查，承办单位已依法依规履职到位", "诉求超出政策范围，承办单位已做好解释工作")
GOOD_COMMENTS = (
    "",
    "",
    "",
    "",
    "",
    "处理很及时，谢谢！",
    "满意，工作人员态度很好",
    "问题解决了，感谢",
    "速度很快，点赞",
)
BAD_COMMENTS = (
    "",
    "问题根本没解决",
    "敷衍了事，只打了个电话",
    "答复和实际情况不符",
    "说好的整改到现在也没动静",
)


@dataclass(frozen=True)
class Text:
    """One corpus petition and its labels."""

    content: str
    nature: Nature
    dept_type: DeptType | None = None
    inadmissible: InadmissibleCode | None = None


class TextBank:
    """The shipped corpus, indexed by kind and department type, and the inadmissible texts by kind."""

    def __init__(self) -> None:
        admissible: dict[tuple[PetitionKind, DeptType], list[Text]] = defaultdict(list)
        inadmissible: dict[PetitionKind, list[Text]] = defaultdict(list)
        for example in load_corpus():
            kind = PetitionKind(example.kind or PetitionKind.LIVELIHOOD.value)
            nature = Nature(example.nature or Nature.COMPLAINT.value)
            if example.inadmissible:
                inadmissible[kind].append(
                    Text(example.text, nature, None, InadmissibleCode(example.inadmissible))
                )
            elif example.dept_type:
                dept = DeptType(example.dept_type)
                admissible[(kind, dept)].append(Text(example.text, nature, dept))
        self.admissible = {key: tuple(texts) for key, texts in admissible.items()}
        self.inadmissible = {kind: tuple(texts) for kind, texts in inadmissible.items()}

    def petition(self, rng: random.Random, kind: PetitionKind, dept: DeptType) -> Text:
        """A corpus petition of this kind and department (a 民生 one if the corpus has none of the kind)."""
        texts = self.admissible.get((kind, dept)) or self.admissible[(PetitionKind.LIVELIHOOD, dept)]
        return texts[int(rng.random() * len(texts))]

    def rejected(self, rng: random.Random, kind: PetitionKind) -> Text:
        """An inadmissible petition with its code."""
        texts = self.inadmissible.get(kind) or self.inadmissible[PetitionKind.LIVELIHOOD]
        return texts[int(rng.random() * len(texts))]


@cache
def terms_of(content: str) -> tuple[str, ...]:
    """The terms a suggestion lists for a corpus text, as the classifier picks them (`classifier.suggest`, up to
    `TOP_TERMS` words, none inside another): here the text's first such words of two characters or more, cut by the
    classifier's own tokenizer, so a week's terms repeat across petitions as real ones do. Drawn from no random
    generator: adding terms changed nothing else a seed gives."""
    from classifier.suggest import TOP_TERMS
    from classifier.text import tokenize

    terms: list[str] = []
    for word in tokenize(content):
        if len(terms) == TOP_TERMS:
            break
        if len(word) >= 2 and not any(word in kept or kept in word for kept in terms):
            terms.append(word)
    return tuple(terms)


def pick(rng: random.Random, items: tuple[str, ...]) -> str:
    return items[int(rng.random() * len(items))]


def frame(rng: random.Random, text: str) -> str:
    """The corpus text with an opening and a closing phrase, as citizens write."""
    return f"{pick(rng, OPENERS)}{text}{pick(rng, CLOSERS)}"


def person_name(rng: random.Random) -> str:
    given = GIVEN[int(rng.random() * len(GIVEN))]
    if rng.random() < 0.7:
        given += GIVEN[int(rng.random() * len(GIVEN))]
    return SURNAMES[int(rng.random() * len(SURNAMES))] + given


def mobile(rng: random.Random) -> str:
    return pick(rng, MOBILE_PREFIXES) + f"{int(rng.random() * 100_000_000):08d}"


def office_phone(rng: random.Random) -> str:
    return f"0532-{int(8_000_0000 + rng.random() * 9_999_999):08d}"


def company_name(rng: random.Random, district_name: str) -> str:
    return f"青岛{pick(rng, COMPANY_WORDS)}{pick(rng, COMPANY_TRADES)}有限公司"


def credit_code(rng: random.Random) -> str:
    """A well-formed 统一社会信用代码 shape (91 + region 3702xx + 10 characters)."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    tail = "".join(alphabet[int(rng.random() * len(alphabet))] for _ in range(10))
    return f"913702{int(rng.random() * 100):02d}{tail}"


def location(
    rng: random.Random, district_code: str, district_name: str, street: str
) -> tuple[str, float, float]:
    """An address in the district with coordinates around its centre."""
    road = pick(rng, ROADS[district_code])
    lat, lon, spread = CENTRES[district_code]
    address = f"{district_name}{street}{road}{int(rng.random() * 300) + 1}号"
    if rng.random() < 0.5:
        address += f"{pick(rng, ('阳光', '海韵', '金岭', '绿城', '中海', '万科', '鲁商', '海尔'))}{pick(rng, COMPOUNDS)}"
    return (
        address,
        round(lat + (rng.random() - 0.5) * spread, 6),
        round(lon + (rng.random() - 0.5) * spread, 6),
    )


def enforcement_text(rng: random.Random, origin: str, place: str, dept: DeptType) -> str:
    topics = ENFORCEMENT_TOPICS.get(dept) or ENFORCEMENT_TOPICS[DeptType.URBAN_MGMT]
    return ENFORCEMENT_TEMPLATE.format(
        origin=origin, place=place, topic=pick(rng, topics), count=int(rng.random() * 30) + 2, dept=dept.label
    )


def reply_texts(
    rng: random.Random, dept: DeptType | None, petitioner: str, title: str
) -> tuple[str, str, str]:
    """(petitioner_info, policy_basis, result) of a reply."""
    basis = pick(rng, POLICY_BASIS.get(dept or DeptType.URBAN_MGMT, POLICY_BASIS[DeptType.URBAN_MGMT]))
    result = pick(rng, RESULTS).format(days=int(rng.random() * 10) + 3, basis=basis)
    return f"诉求人{petitioner}，反映「{title}」", f"依据{basis}相关规定", result


def responsible(rng: random.Random) -> str:
    return person_name(rng) + pick(rng, POSITIONS)
