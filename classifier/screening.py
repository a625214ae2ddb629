"""Rules-only admissibility screening (不予受理 categories), fast enough to run on every chat message.

The rules favour recall for emergencies (a missed fire costs more than a citizen asked to call 119 once too often)
and precision for every other category (an ordinary complaint wrongly turned away costs a citizen their petition).
Each rule is a regular expression; a match is discounted when the words right before it hedge it ("有火灾隐患",
"不想打官司") or, for emergencies, when the text tells of a past event without any sign of urgency. Long letters
need the strong patterns: in them the weak words are usually background.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from classifier.places import districts_named, looks_outside_qingdao
from classifier.text import normalize
from models.district import TEN_DISTRICTS
from models.enums import InadmissibleCode

# How many characters before a match are searched for a hedge word.
_HEDGE_WINDOW = 8
# Longer than this (characters) a text is a letter, not a chat message: only strong patterns count, and an
# emergency needs a sign of urgency (people in danger write short messages).
LONG_TEXT = 120


@dataclass(frozen=True)
class Screening:
    """The rules' verdict on one petition text.

    `reason` is a one-line Chinese explanation for the dispatcher; `advice` is what the citizen is told:
    where to go instead.
    """

    admissible: bool
    code: InadmissibleCode | None = None
    reason: str | None = None
    advice: str | None = None


ADMISSIBLE = Screening(admissible=True)


@dataclass(frozen=True)
class _Rule:
    """A strong pattern that counts in any text, and a weak one that counts only in a short message.

    In a short message a word like 纪委 or 部队 is the point; in a long letter it is usually background
    ("多次上访", "八路军抗日"), so a long text needs the strong pattern, or `long_hits` weak matches.
    """

    pattern: re.Pattern[str] | None
    hedges: re.Pattern[str] | None = None
    weak: re.Pattern[str] | None = None
    long_hits: int = 0

    def _matches(self, pattern: re.Pattern[str] | None, text: str) -> list[re.Match[str]]:
        if pattern is None:
            return []
        found = []
        for match in pattern.finditer(text):
            before = text[max(0, match.start() - _HEDGE_WINDOW) : match.start()]
            if self.hedges is None or not self.hedges.search(before):
                found.append(match)
        return found

    def find(self, text: str) -> re.Match[str] | None:
        strong = self._matches(self.pattern, text)
        if strong:
            return strong[0]
        weak = self._matches(self.weak, text)
        if weak and (len(text) <= LONG_TEXT or (self.long_hits and len(weak) >= self.long_hits)):
            return weak[0]
        return None


def _rule(
    pattern: str | None, hedges: str | None = None, weak: str | None = None, long_hits: int = 0
) -> _Rule:
    return _Rule(
        re.compile(pattern) if pattern else None,
        re.compile(hedges) if hedges else None,
        re.compile(weak) if weak else None,
        long_hits,
    )


# --- Emergencies: which line to call for what ------------------------------------------------------------------
_EMERGENCY_HEDGES = (
    r"隐患|容易|可能|担心|害怕|万一|防止|预防|以免|避免|防范|演练|宣传|如何|怎么办理|是否|差点|差一点|险些|要是|真要|一旦"
    r"|如果|经常|常常|总是|老是|天天|每天|动不动"
)
# Words of the past, or of the aftermath (claims, reimbursement, a report already made): the event is over.
_PAST = re.compile(
    r"去年|前年|上个?月|上周|上星期|上回|上次|那回|前几天|几天前|前些天|之前|以前|曾经|当时|那次|昨天|昨晚|前天|年前"
    r"|工伤|认定|报销|赔偿|理赔|医药费|住院|出院|笔录|报过警|报警了|处理结果|事后"
)
_URGENT = re.compile(
    r"正在|刚刚|刚才|马上|赶紧|赶快|快来|快点|快报警|快派|快叫|紧急|急救|救命|此刻|立即|立刻|求助|快救|急死|怎么办啊"
)
_URGENT_LONG = re.compile(r"救命|快来人|快派|快叫|快报警|赶紧来|马上来|还在烧|还在流血|人还在|快不行了")

_EMERGENCY_LINES: tuple[tuple[str, str, _Rule], ...] = (
    (
        "119",
        "火情、燃气泄漏或有人被困",
        _rule(
            r"(?<!不)着火|起火|失火|火灾(?!隐患|风险|报警器)|大火(?!锅)|火势|烧起来|浓烟滚滚|燃气泄漏|煤气泄漏|天然气泄漏|闻到.{0,4}(?:煤气|燃气|天然气)味"
            r"|爆炸|被困(?!扰)|困在(?:电梯|屋|楼|水|山)|关在电梯|冒火花|塌方|被埋|埋在下面",
            _EMERGENCY_HEDGES,
        ),
    ),
    (
        "120",
        "有人受伤或突发急病",
        _rule(
            r"昏迷|晕倒|倒地不起|不省人事|没(?:有)?(?:了)?呼吸|呼吸困难|心脏病(?:发作|犯了)|心梗|脑出血|中风了|大出血"
            r"|流了?(?:很多|好多|一地)?血|血流不止|满脸是血|浑身是血|头破血流|骨折|中毒|抽搐|休克|受伤|受了伤|伤者|伤员|快不行了"
            r"|割腕|自杀|轻生|跳楼(?!机)|跳河|往下跳|溺水|落水|掉(?:到|进)(?:河|海|水|井)"
            r"|砍伤|捅伤|摔伤(?!过)|烫伤|烧伤|触电|被电|电着了|头破|要生了|羊水破|误服|误食|心口疼|胸口疼|喘不上气|迷路了|叫救护车|叫120|派救护车|叫不醒|没有意识|没意识|嘴唇发紫|吐白沫|喝了农药|喝农药"
            r"|吃了[^，。！？,.!?]{0,6}药[^。！？!?]{0,20}(?:迷糊|昏|吐|叫不醒)",
            _EMERGENCY_HEDGES,
        ),
    ),
    (
        "122",
        "发生交通事故",
        _rule(
            r"车祸|交通事故|撞车|相撞|追尾|撞人|被车撞(?!断|坏|歪|弯)|撞倒了?(?:人|老人|行人|孩子|小孩)|翻车|肇事逃逸|连环撞",
            _EMERGENCY_HEDGES,
        ),
    ),
    (
        "110",
        "正在发生的违法犯罪或人身危险",
        _rule(
            r"打架|斗殴|打人(?!社)|殴打|被打|持刀|拿刀|砍人|捅人|抢劫|抢包|绑架|拐卖|拐走|家暴|家庭暴力|杀人|要杀|砸门|砸东西"
            r"|强奸|猥亵|非礼|走失|走丢|失踪|有人跟踪|正在偷|在撬|入室盗窃|有小偷|进小偷|进了小偷|小偷.{0,4}(?:还在|正在|在屋)|进贼|追人|砸人"
            r"|孩子.{0,4}找不到|找不到.{0,2}孩子|威胁我",
            _EMERGENCY_HEDGES,
        ),
    ),
)

_LINE_NAMES = {"110": "110报警", "119": "119火警", "120": "120急救", "122": "122交通事故报警"}

# --- Other categories ---------------------------------------------------------------------------------------------
_LITIGATION = _rule(
    r"法院[^，。！？,.!?]{0,6}?(?:判|起诉|立案|执行|传票|开庭|调解)|(?:向|去|到)法院|已经?(?:起诉|立案|判决|仲裁|上访|信访)"
    r"|判决书|裁决书|裁定书|调解书|行政复议|信息公开申请|申请(?:政府)?信息公开|依申请公开",
    r"不想|不愿|不用|不必|没钱|没有钱|无力|以免|避免|不走|不去|说|有本事|还能|难道要",
    weak=r"仲裁(?:委|裁决|申请|庭|机构)|劳动仲裁|申请仲裁|打官司|诉讼|起诉|纪委|监委|纪检|监察委|信访(?:局|部门|渠道|件|事项|办)"
    r"|上访|官司|一审|二审|再审|判得|(?:处罚|罚款|认定|决定|判决|裁决|结论)[^，。！？,.!?]{0,6}不服"
    r"|不服[^，。！？,.!?]{0,12}(?:处罚|罚款|认定|决定|判决|裁决|结论)|离婚(?:官司|诉讼|纠纷|财产)|财产分割"
    r"|遗产(?:纠纷|继承|分割|官司)|继承纠纷|欠条|借条|借钱不还|借给[^，。！？,.!?]{0,8}不还|医疗事故|贪污|受贿|收红包|收受"
    r"|挪用公款|回扣|(?:干部|书记|主任|科长|局长|所长|区长|镇长|村长)[^，。！？,.!?]{0,16}好处",
)
_MILITARY = _rule(
    None,
    weak=r"(?<!退役)(?<!复员)(?<!转业)(?<!退伍)(?:部队|军队|军营|军区|驻军|现役军人|军人|武警部队|军事(?:设施|管理区|禁区|演习|训练)"
    r"|军用|军车|部队大院|靶场|打靶|征兵|兵役|军产房|军校|民兵|海军|陆军|空军|舰艇|战士|军官|营区)",
    long_hits=3,
)
_PERSON = (
    r"(?:他|她|某人|对方|邻居|前妻|前夫|前女友|前男友|老婆|媳妇|老公|对象|女朋友|男朋友|别人|此人|那人|这个人|一个人|同事"
    r"|仇人|小三|情人|租户|车主|举报人|领导|区长|班主任|老师|员工|老板娘|业主|低保人|病人|某户)"
)
_PERSONAL_INFO = (
    r"(?:住址|住在哪|住哪|开房记录|身份信息|身份证|私人手机|手机号|电话号码|名字电话|工作单位|在哪上班|病历|征信|工资"
    r"|房产证信息|名单|缴纳记录|聊天记录|通话记录|行踪)"
)
_SECRET_PRIVACY = _rule(
    r"国家(?:机密|秘密)|军事机密|机密文件|涉密文件|(?:竞争对手|对手公司|中标公司|别的公司|别家公司|同行)[^。！？!?]{0,16}(?:客户|报价|配方|工艺|技术方案|底价|名单|工资|社保)"
    rf"|(?:查|调出|调取|告诉我|给我|提供|公开|公布|透露|想知道|想看看|打听)[^。！？!?]{{0,12}}?{_PERSON}[^。！？!?]{{0,10}}?"
    rf"{_PERSONAL_INFO}"
    r"|(?:帮我|我想|想要|怎么|哪里能|哪能)[^。！？!?]{0,6}?(?:代孕|买卖婴儿|买个孩子|包养|找小姐|买枪|买毒品|赌博)",
    weak=r"涉密|商业秘密|开房记录|艾滋病人|同性恋|小三|不清不楚|伤风败俗|不堪入目|车主是谁",
)
_UNLAWFUL = _rule(
    r"(?:帮我|给我|我想|我要|想要|能不能|能否|可否|可不可以|怎么才能|有没有办法|求求你们|通融)[^。！？!?]{0,10}?"
    r"(?:把违章(?:记录)?(?:删|消|撤)|(?:弄|办|开|做|搞|整)[一两几]?[张个份本]?假|办个?假|假证|假证明|假发票|伪造|代开发票|虚开|开个?假|走后门|插个?队|删除?掉?违章|消除?(?:违章|扣分)|销分|买分"
    r"|不罚|免罚|免除罚款|不交罚款|不缴罚款|少交税|不交税|不缴税|逃税|避税|不拆|保留违建|违建合法|多报销?|多领|冒领|替考|代考"
    r"|改个?年龄|改个?成绩|超生)",
    weak=r"(?:别|不要|不用)(?:罚|拆|管我|来管|查我|扣分)|(?:罚单|罚款|处罚|违章|扣分)[^，。！？,.!?]{0,8}(?:销了|撤了|免了|不交|抹了)"
    r"|合法化|让它合法|变合法|给我办个?手续|多交钱也行|花钱也行|交点费用|降分录取|保外就医|放宽一点"
    r"|不符合[^。！？!?]{0,12}(?:条件|规定|政策)[^。！？!?]{0,20}(?:给我|也要|办下来)|证明[^。！？!?]{0,30}其实",
)
_ABUSE = re.compile(
    r"废物|吃干饭|不干人事|你是狗|狗吧|傻逼|傻b|煞笔|沙比|(?<![a-z])(?:sb|cnm|nmsl|tmd)(?![a-z])|草泥马|操你|你妈|他妈的|王八蛋|狗日|滚蛋|畜生|狗官|垃圾政府|政府垃圾|去死|废物们"
)
_GREETING_ONLY = re.compile(
    r"^(?:你好|您好|在吗|在不在|有人吗|喂+|hello|hi|测试|test|哈+|呵呵|嘿嘿|嗯+|哦+|啊+|好的?|谢谢|\d+|[\W_]+|\s+)+$"
)
# Not a petition whatever its length: curses, chit-chat, spam and stunts.
_NO_REQUEST = re.compile(
    r"不得好死|全家.{0,4}死|骗子平台|单挑|刷屏|倒闭为止|处对象|加个?微信|财运|算算.{0,4}运|借我.{0,6}钱|转.{0,6}钱.{0,6}不转"
    r"|股票推荐|稳赚|进群|名额有限|微信同号|代办各类证件|无聊.{0,6}聊|聊聊天|吃饭了吗|天气真好|发个红包|你们自己猜"
    r"|也不说是什么事|月亮太亮|看不顺眼|装模作样"
)
_CJK = re.compile(r"[\u4e00-\u9fff]")
# Laughter, greetings and interjections carry no request: "asdkjfh 哈哈 xxxxx 123" is as empty as "asdfghjkl qwerty".
_FILLER = re.compile(
    r"哈+|呵+|嘿+|嘻+|嗯+|哦+|啊+|噢+|嗷+|呀+|哇+|喂+|哎+|唉+|额+|呃+|你好|您好|在吗|在不在|有人吗|测试|谢谢|好的"
)
# With fewer meaningful Chinese characters than this there is no request to act on.
_MIN_SUBSTANCE = 2
# Abusive words in a text with fewer other Chinese characters than this are taken as an attack, not a petition.
_MIN_SUBSTANCE_WITH_ABUSE = 12


def _emergency(text: str) -> Screening | None:
    if len(text) > LONG_TEXT:
        # A long letter says "请立即处理" to the government; only a cry for help makes it an emergency.
        past_only = _URGENT_LONG.search(text) is None
    else:
        past_only = _PAST.search(text) is not None and _URGENT.search(text) is None
    lines: list[tuple[str, str, str]] = []
    for line, what, rule in _EMERGENCY_LINES:
        match = rule.find(text)
        if match and not past_only:
            lines.append((line, what, match.group(0)))
    if not lines:
        return None
    numbers = [line for line, _, _ in lines]
    # A traffic accident with injuries needs an ambulance as well as the traffic police.
    words = "、".join(dict.fromkeys(word for _, _, word in lines))
    whats = "；".join(what for _, what, _ in lines)
    return Screening(
        admissible=False,
        code=InadmissibleCode.EMERGENCY,
        reason=f"疑似紧急情况（{whats}，提到“{words}”），应通过{'/'.join(numbers)}处理",
        advice=(
            f"您反映的情况可能十分紧急，请立即拨打{'、'.join(_LINE_NAMES[n] for n in numbers)}。"
            "紧急服务专线能最快到场处置；事后如有其他诉求，欢迎再通过本平台反映。"
        ),
    )


def _district_platforms() -> dict[str, tuple[str, str]]:
    return {code: (name, platform) for code, name, platform, _ in TEN_DISTRICTS}


def _jurisdiction(text: str, district_code: str | None) -> Screening | None:
    places = looks_outside_qingdao(text, min_mentions=2 if len(text) > LONG_TEXT else 1)
    if places:
        where = "、".join(places)
        return Screening(
            admissible=False,
            code=InadmissibleCode.OUT_OF_JURISDICTION,
            reason=f"诉求发生地在{where}，不在青岛市管辖范围",
            advice=f"您反映的事项发生在{where}，不属于青岛市受理范围，请向当地政府部门或拨打当地12345政务服务便民热线反映。",
        )
    if district_code is None:
        return None
    named = districts_named(text)
    if named and district_code not in named:
        platforms = _district_platforms()
        others = sorted(named, key=list(platforms).index)
        names = "、".join(platforms[code][0] for code in others)
        where_to = "或".join(f"{platforms[code][0]}“{platforms[code][1]}”" for code in others)
        return Screening(
            admissible=False,
            code=InadmissibleCode.OUT_OF_JURISDICTION,
            reason=f"诉求发生地在{names}，不在本区（市）管辖范围",
            advice=f"您反映的事项发生在{names}，请关注{where_to}微信公众号反映，当地平台会及时受理。",
        )
    return None


def _substance(text: str) -> Screening | None:
    cjk = len(_CJK.findall(_FILLER.sub("", _ABUSE.sub("", text))))
    if _GREETING_ONLY.match(text) or cjk < _MIN_SUBSTANCE:
        return Screening(
            admissible=False,
            code=InadmissibleCode.HARASSMENT,
            reason="内容过短或仅为问候，未能识别出具体诉求",
            advice="请具体描述您遇到的问题：发生在什么地方、什么时间、需要解决什么，我们会尽快受理。",
        )
    stunt = _NO_REQUEST.search(text) if len(text) <= LONG_TEXT else None
    if stunt:
        return Screening(
            admissible=False,
            code=InadmissibleCode.HARASSMENT,
            reason=f"内容为骚扰、广告或闲聊（“{stunt.group(0)}”），无实质诉求",
            advice="平台受理有具体内容的诉求，请文明表达您遇到的问题和希望解决的事项。",
        )
    abuse = _ABUSE.search(text)
    if abuse and cjk < _MIN_SUBSTANCE_WITH_ABUSE:
        return Screening(
            admissible=False,
            code=InadmissibleCode.HARASSMENT,
            reason=f"内容以辱骂为主（“{abuse.group(0)}”），无实质诉求",
            advice="平台受理有具体内容的诉求，请文明表达您遇到的问题和希望解决的事项。",
        )
    return None


def _simple(code: InadmissibleCode, rule: _Rule, text: str, reason: str, advice: str) -> Screening | None:
    match = rule.find(text)
    if match is None:
        return None
    return Screening(admissible=False, code=code, reason=reason.format(word=match.group(0)), advice=advice)


def screen(text: str, district_code: str | None = None) -> Screening:
    """Screen a petition text against every 不予受理 category with rules only (no model; well under a millisecond).

    Emergencies are checked first, because for them the advice matters most. With `district_code`, a petition that
    names only other Qingdao districts is out of this district's jurisdiction too.
    """
    clean = normalize(text)
    checks = (
        lambda: _emergency(clean),
        lambda: _simple(
            InadmissibleCode.MILITARY,
            _MILITARY,
            clean,
            "涉及军队事务（“{word}”），属于军队职责范围",
            "涉及军队的事项请向驻地部队或当地人民武装部反映。",
        ),
        lambda: _simple(
            InadmissibleCode.LITIGATION,
            _LITIGATION,
            clean,
            "涉及诉讼、仲裁、纪检监察、行政复议、信息公开或信访程序（“{word}”）",
            "该事项须通过法定程序解决：民事纠纷可向人民法院起诉或向仲裁机构申请仲裁，劳动争议可向劳动人事争议仲裁委员会申请仲裁，"
            "对行政行为不服可申请行政复议，反映干部违纪违法请向纪检监察机关举报，申请政府信息公开请向有关机关提交申请，"
            "已进入信访渠道的事项请按信访程序办理。",
        ),
        lambda: _simple(
            InadmissibleCode.SECRET_PRIVACY,
            _SECRET_PRIVACY,
            clean,
            "涉及国家秘密、商业秘密、他人隐私或违反公序良俗（“{word}”）",
            "平台不能提供或查询涉及国家秘密、商业秘密和他人隐私的信息，也不受理违反公序良俗的事项；如确有合法需要，请通过司法等法定途径办理。",
        ),
        lambda: _simple(
            InadmissibleCode.UNLAWFUL,
            _UNLAWFUL,
            clean,
            "诉求不符合法律、法规、规章或政策规定（“{word}”）",
            "您提出的要求不符合法律法规或政策规定，平台无法受理。如对相关规定有疑问，可咨询有关部门或专业律师。",
        ),
        lambda: _jurisdiction(clean, district_code),
        lambda: _substance(clean),
    )
    for check in checks:
        verdict = check()
        if verdict is not None:
            return verdict
    return ADMISSIBLE
