"""Demo petitions for `qingsu seed-demo`: a few weeks of a platform's life, so every queue has something in it.

Twenty-eight petitions in natural Chinese about real Qingdao places, most in 市南区, in every state a visitor wants to
see: waiting for dispatch (with the classifier's suggestion when a model file exists), at a community, being handled
at a department (blue, yellow with a pending extension, red), a 执法 petition with lead and cooperating units, at the
city platform, replies in unit, city and platform review, awaiting the citizen's rating, closed with ratings (one
late, one extended), in second handling, in performance assessment, and rejected as inadmissible.

Nothing here sets a state: every step is `workflow.engine.perform` with a demo user (or the demo citizen) as actor,
at an explicit instant on a past working day counted back from the real current time, so timelines, deadlines,
lights, events and notifications are exactly what the platform would have recorded. Only in demo mode, and only
into a database that has no petitions yet, so running the seed again adds nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Citizen, Petition, Unit, User
from models.enums import Channel, CitizenKind, DeptType, PetitionKind
from workflow import routing
from workflow.actors import SYSTEM, Actor
from workflow.calendar import WorkingCalendar, load_calendar
from workflow.engine import perform
from workflow.intake import submit_petition

CITIZEN = "citizen"
# The scheduler's own actions (closing an unrated petition when its evaluation window ends).
SYSTEM_ACTOR = "system"
# The petitioner's own demo citizen rates the reply; every other actor is a demo username without its district
# prefix ("dispatcher" is `shinan_dispatcher` in 市南区), except the city platform's users, named in full.
CITY_PREFIX = "city_"

Suggest = Callable[[str, str], dict[str, Any] | None]
# Where a dispatch sends a petition: a department by type, or the unit of a demo handler ("community", "street").
UnitRef = DeptType | str


@dataclass(frozen=True)
class Step:
    """One workflow action: `day` working days before today, at `clock` local time."""

    day: int
    clock: str
    action: str
    actor: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LinkTo:
    """The `target` of a `link` step: the petition of the same district whose text starts with `content`."""

    content: str


@dataclass(frozen=True)
class Petitioner:
    """A demo citizen or enterprise: openid `demo-citizen-<number>` under the district's account."""

    number: int
    name: str
    phone: str
    enterprise: bool = False
    credit_code: str | None = None


@dataclass(frozen=True)
class Script:
    """One petition: who raised it, what it says, and what happened to it."""

    district: str
    content: str
    location: str
    submitted: tuple[int, str]
    steps: Sequence[Step]
    petitioner: Petitioner | None = None
    # A 执法 petition is raised by staff of a street or department (the demo handler named here), not a citizen.
    raised_by: str | None = None


# --- the steps, spelt the way the admin site's forms send them ------------------------------------------------------


def dispatch(
    day: int, clock: str, unit: UnitRef, dept: DeptType, nature: str | None = "complaint",
    complexity: str = "simple", kind: str | None = None, cooperating: Sequence[DeptType] = (),
) -> Step:
    """分拨 by the district dispatcher, with the classification the dispatcher confirms."""
    params: dict[str, Any] = {"unit_id": unit, "dept_type": dept.value, "nature": nature, "complexity": complexity}
    if kind is not None:
        params["kind"] = kind
    if cooperating:
        params["cooperating_unit_ids"] = list(cooperating)
    return Step(day, clock, "dispatch", "dispatcher", params)


def to_city(day: int, clock: str, dept: DeptType, note: str, complexity: str = "complex") -> Step:
    """流转市级平台 by the district dispatcher, with the reason."""
    return Step(day, clock, "send_to_city", "dispatcher",
                {"dept_type": dept.value, "nature": "complaint", "complexity": complexity, "note": note})


def reply(day: int, clock: str, actor: str, result: str, basis: str, person: str, phone: str) -> Step:
    """提交答复 by a handler (the petitioner's details are filled in from the petition when it runs)."""
    return Step(day, clock, "submit_reply", actor,
                {"result": result, "policy_basis": basis, "responsible_person": person, "contact_phone": phone})


def rate(day: int, clock: str, satisfaction: str, resolution: str, comment: str = "") -> Step:
    """评价 by the petitioner in chat."""
    return Step(day, clock, "evaluate", CITIZEN,
                {"satisfaction": satisfaction, "resolution": resolution, "comment": comment})


def step(day: int, clock: str, action: str, actor: str, **params: Any) -> Step:
    """Any other action, with its parameters as the admin site's form sends them."""
    return Step(day, clock, action, actor, params)


URBAN, HOUSING = DeptType.URBAN_MGMT, DeptType.HOUSING
URBAN_PHONE, HOUSING_PHONE, CITY_HOUSING_PHONE = "0532-82876110", "0532-82875231", "0532-85912345"
PROPERTY_RULES = "《物业管理条例》《山东省物业管理条例》《青岛市物业管理条例》"
CITY_APPEARANCE = "《青岛市市容和环境卫生管理条例》《城市市容和环境卫生管理条例》"

SHINAN: list[Script] = [
    # --- waiting for the dispatcher ---
    Script("shinan", "太平角一路路口有家烧烤店，每天晚上在店外摆摊烤串，油烟直接飘进我们楼里，窗户都不敢开，"
           "一直营业到凌晨一两点，吵得老人孩子睡不好觉，希望有关部门管一管。",
           "市南区八大关街道太平角一路", (1, "16:20"), [], Petitioner(2, "李先生", "13953201234")),
    Script("shinan", "请问老年人免费乘车卡在哪里办理？我母亲今年刚满65周岁，户口在湛山街道，需要带哪些材料，"
           "能不能在社区直接办？", "市南区湛山街道东海西路", (1, "09:45"), [], Petitioner(3, "张女士", "13706398812")),
    Script("shinan", "我公司是香港中路上的一家餐饮企业，今年新开了第二家门店，想咨询食品经营许可证能否全程网上办理，"
           "办理时限是多少个工作日，分店是否需要单独办证。", "市南区香港中路街道香港中路", (1, "11:05"), [],
           Petitioner(5, "青岛海韵餐饮管理有限公司", "0532-85021166", True, "91370202MA3C4XYZ1K")),
    Script("shinan", "宁夏路一处工地连续一周晚上十点以后还在施工，打桩声特别大，附近居民根本没法休息，"
           "请尽快制止夜间违规施工。", "市南区金门路街道宁夏路", (3, "20:15"), [
               dispatch(2, "09:10", HOUSING, HOUSING),
               step(2, "15:00", "return", "housing",
                    note="经核查，该工地夜间施工噪声扰民属城市管理综合执法部门查处职责，请平台改派区城市管理局办理。"),
           ], Petitioner(4, "刘先生", "13589230076")),
    # --- at the community and the street ---
    Script("shinan", "我们小区5号楼楼道里堆满了纸箱和旧家具，还有人把电动车推进楼道充电，存在很大的消防隐患，"
           "跟物业说了几次都没人清理。", "市南区八大关街道太平角社区", (1, "08:40"), [
               dispatch(1, "10:15", "community", HOUSING),
           ], Petitioner(6, "陈女士", "13864288530")),
    Script("shinan", "太平角公园附近的公共厕所关闭维修两个多月了，游客和晨练的老人都找不到厕所，"
           "希望尽快恢复开放，或者先设置临时厕所。", "市南区八大关街道太平角公园", (3, "07:50"), [
               dispatch(3, "09:20", "community", URBAN, nature="suggest"),
               step(3, "10:00", "accept", "community"),
               step(2, "16:30", "escalate", "community", note="公厕属公园管理范围，社区无法协调维修进度，上报街道协调。"),
           ], Petitioner(7, "赵先生", "15092017731")),
    Script("shinan", "我们小区院内的路灯坏了半个多月，晚上一片漆黑，老人出门散步已经摔倒过两次。"
           "小区没有物业，找谁修都说不归自己管。", "市南区八大关街道太平角社区", (2, "19:30"), [
               dispatch(1, "09:05", "community", HOUSING, complexity="complex"),
               step(1, "09:40", "accept", "community"),
           ], Petitioner(8, "孙女士", "13658679902")),
    # --- a duplicate linked to the petition above: one handling, both petitioners get the reply and rate it ---
    Script("shinan", "太平角社区我们院里的路灯不亮已经好些天了，天一黑院子里什么都看不见，没有物业也没人来修，"
           "请帮忙联系维修。", "市南区八大关街道太平角社区", (1, "07:30"), [
               step(1, "10:30", "link", "dispatcher", target=LinkTo("我们小区院内的路灯坏了半个多月"),
                    note="与同一小区路灯损坏的诉求为同一问题，合并办理。"),
           ], Petitioner(21, "钱先生", "13505321187")),
    # --- being handled at departments: blue, yellow with an extension asked for, red ---
    Script("shinan", "云霄路美食街不少饭店把桌椅摆到人行道上，晚上行人只能走机动车道，非常危险。",
           "市南区八大关街道云霄路", (2, "21:10"), [
               dispatch(1, "08:50", URBAN, URBAN),
               step(1, "09:30", "accept", "urban"),
           ], Petitioner(9, "周先生", "13370829915")),
    Script("shinan", "我公司在市南区建设的研发办公楼今年9月已竣工，10月底提交了竣工验收备案材料，至今没有办结，"
           "影响企业按期入驻，希望帮助协调加快办理。", "市南区香港中路街道燕儿岛路", (9, "10:20"), [
               dispatch(8, "09:30", HOUSING, HOUSING, nature=None, kind="development"),
               step(8, "11:00", "accept", "housing"),
               step(1, "15:00", "request_extension", "housing", extra_working_days="5",
                    reason="备案涉及消防验收和规划核实，需会同相关部门联合复核，申请延期5个工作日。"),
           ], Petitioner(11, "青岛蓝海智造科技有限公司", "0532-66718820", True, "91370202MA94R2B7XQ")),
    Script("shinan", "南京路与香港中路交叉口东侧人行道上有个井盖缺失，只用一个锥桶挡着，晚上很容易踩空，"
           "已经有路人差点掉进去。", "市南区香港中路街道南京路", (5, "18:40"), [
               dispatch(4, "09:15", URBAN, URBAN),
               step(4, "10:05", "accept", "urban"),
           ], Petitioner(10, "吴女士", "13156285547")),
    Script("shinan", "八大关街道辖区正阳关路沿线部分商户违规占用绿地搭建彩钢板房，并在店外露天加工食品，"
           "油烟和污水直排雨水管网。街道多次劝导无效，因涉及违法建设查处、食品经营监管和环境污染，"
           "需区城市管理局牵头，市场监管、生态环境部门配合开展联合执法。", "市南区八大关街道正阳关路",
           (4, "14:00"), [
               dispatch(3, "09:00", URBAN, URBAN, nature=None, kind="enforcement", complexity="complex",
                        cooperating=(DeptType.MARKET, DeptType.ECOLOGY)),
               step(3, "14:20", "accept", "urban"),
           ], raised_by="street"),
    # --- through the city platform ---
    Script("shinan", "我们小区列入了今年的老旧小区改造计划，外墙保温和管网改造施工到一半就停了，已经停工快两个月，"
           "脚手架还搭在楼外，存在安全隐患。听说是市里统一招标的项目，希望尽快复工。",
           "市南区金门路街道延安三路", (2, "09:00"), [
               to_city(1, "10:40", HOUSING, "该项目为市级统一组织实施的老旧小区改造项目，需市住房城乡建设局协调施工单位复工。"),
           ], Petitioner(12, "郑先生", "13791958023")),
    Script("shinan", "我家小区是棚户区改造回迁安置项目，交房已经三年了，至今办不了不动产权证，"
           "问开发商和街道都说在等市里的手续。", "市南区香港中路街道燕儿岛路", (5, "10:00"), [
               to_city(4, "09:30", HOUSING, "回迁安置项目的不动产首次登记需市住房城乡建设局出具项目竣工验收意见。"),
               step(4, "14:00", "city_dispatch", "city_dispatcher", unit_id=HOUSING),
               step(3, "09:10", "accept", "city_housing"),
               reply(2, "16:00", "city_housing",
                     "经核查，该回迁安置项目的竣工验收备案已于本月完成，市住建局已将材料移交不动产登记部门，"
                     "预计30个工作日内完成首次登记，之后由开发单位统一为业主办理不动产权证。",
                     "《不动产登记暂行条例》《青岛市国有土地上房屋征收与补偿条例》", "王科长", CITY_HOUSING_PHONE),
               step(1, "10:00", "approve_reply", "city_housing_reviewer"),
           ], Petitioner(13, "冯女士", "13361226654")),
    # --- replies under review ---
    Script("shinan", "小区物业今年把停车费从每月150元涨到300元，没有召开业主大会，也没有公示收费依据，"
           "业主不交就不让车进小区。", "市南区金门路街道宁夏路", (5, "10:30"), [
               dispatch(4, "09:40", HOUSING, HOUSING, complexity="complex"),
               step(4, "11:00", "accept", "housing"),
               reply(2, "15:30", "housing", "已约谈物业公司，要求其暂停执行新的停车收费标准。",
                     "《物业管理条例》", "李主任", HOUSING_PHONE),
               step(1, "10:00", "return_reply", "housing_reviewer",
                    note="请补充物业收费的政策依据，写明停车费调整须经业主共同决定及价格备案的要求。"),
               reply(1, "16:00", "housing",
                     "已约谈物业公司，责令其暂停执行新的停车收费标准，恢复原收费；调整收费须依法提请业主大会决定"
                     "并公示。物业公司已书面承诺整改，社区将跟踪落实。",
                     f"{PROPERTY_RULES}关于车位使用费由业主共同决定的规定", "李主任", HOUSING_PHONE),
           ], Petitioner(14, "于先生", "13573811264")),
    Script("shinan", "闽江路上一家KTV每天晚上在门口用音箱外放，声音特别大，一直持续到半夜，附近居民苦不堪言。",
           "市南区八大关街道闽江路", (4, "22:30"), [
               dispatch(3, "09:00", URBAN, URBAN, complexity="complex"),
               step(3, "09:45", "accept", "urban"),
               reply(2, "17:00", "urban", "执法人员夜间到场核查属实，已责令该KTV撤除门口外放音箱，并下达整改通知书，"
                     "后续将开展夜间巡查。", f"《中华人民共和国噪声污染防治法》{CITY_APPEARANCE}", "刘队长", URBAN_PHONE),
               step(1, "09:30", "approve_reply", "urban_reviewer"),
           ], Petitioner(15, "高女士", "18661725508")),
    # --- replied, waiting for the citizen's rating (demo-citizen-1 can rate it in the simulator) ---
    Script("shinan", "东海西路绿化带里的树枝伸到人行道上，很多已经枯死，刮风天掉下来砸到过行人，希望尽快修剪。",
           "市南区湛山街道东海西路", (4, "08:30"), [
               dispatch(4, "10:00", URBAN, URBAN),
               step(4, "11:00", "accept", "urban"),
               reply(3, "15:00", "urban", "园林养护单位已于当日对东海西路绿化带内的枯死树枝进行修剪清理，"
                     "并将该路段列入每周巡查范围。", "《城市绿化条例》《青岛市城市绿化条例》", "孙工", URBAN_PHONE),
               step(3, "17:00", "approve_reply", "urban_reviewer"),
               step(2, "10:00", "send_reply", "dispatcher"),
           ], Petitioner(1, "王女士", "13805321001")),
    # --- closed, with the citizens' ratings ---
    Script("shinan", "楼上邻居装修把卫生间防水层破坏了，我家天花板一直渗水，物业协调了几次对方都不配合。",
           "市南区湛山街道东海西路", (15, "09:00"), [
               dispatch(15, "10:30", HOUSING, HOUSING, complexity="complex"),
               step(14, "09:00", "accept", "housing"),
               reply(12, "16:00", "housing", "已会同社区和物业上门协调，楼上业主已重新做了卫生间防水并闭水试验合格，"
                     "您家天花板的修复费用由其承担。", f"{PROPERTY_RULES}关于装饰装修管理的规定", "李主任", HOUSING_PHONE),
               step(12, "17:30", "approve_reply", "housing_reviewer"),
               step(11, "10:00", "send_reply", "dispatcher"),
               rate(10, "20:00", "satisfied", "resolved", "物业和社区来了好几次，楼上已经重新做了防水，谢谢！"),
           ], Petitioner(1, "王女士", "13805321001")),
    Script("shinan", "香港中路万象城附近早高峰有大量共享单车乱停乱放，堵住了盲道和公交站台。",
           "市南区香港中路街道香港中路", (12, "08:20"), [
               dispatch(12, "09:30", URBAN, URBAN),
               step(12, "10:00", "accept", "urban"),
               reply(11, "15:00", "urban", "已通知共享单车运营企业增派运维人员，早晚高峰在该区域定点清理，"
                     "并施划了非机动车停放区。", CITY_APPEARANCE, "刘队长", URBAN_PHONE),
               step(11, "16:30", "approve_reply", "urban_reviewer"),
               step(11, "17:30", "send_reply", "dispatcher"),
               rate(10, "12:00", "basically_satisfied", "basically_resolved", "清理过一次，但过几天又乱停了。"),
           ], Petitioner(16, "马先生", "13012462208")),
    Script("shinan", "请问住房公积金可以用来支付老旧小区加装电梯的个人分摊费用吗？需要什么手续？",
           "市南区金门路街道宁夏路", (8, "09:10"), [
               dispatch(8, "10:00", HOUSING, HOUSING, nature="consult"),
               step(8, "10:20", "accept", "housing"),
               reply(8, "15:00", "housing", "可以。加装电梯的业主可凭加装电梯协议和费用分摊明细，申请提取本人及配偶的"
                     "住房公积金，可在“青岛公积金”微信公众号在线办理。", "青岛市既有住宅加装电梯的有关规定",
                     "李主任", HOUSING_PHONE),
               step(8, "16:00", "approve_reply", "housing_reviewer"),
               step(8, "17:00", "send_reply", "dispatcher"),
               rate(7, "09:30", "satisfied", "resolved"),
           ], Petitioner(3, "张女士", "13706398812")),
    Script("shinan", "我公司在延安三路的门店按要求更换了店招，城管部门要求重新报批店招设置方案，但我们不清楚审批流程，"
           "门店开业时间一再推迟。", "市南区金门路街道延安三路", (14, "10:00"), [
               dispatch(13, "09:00", URBAN, URBAN, nature=None, kind="development"),
               step(13, "10:00", "accept", "urban"),
               reply(10, "15:00", "urban", "已安排专人指导企业准备店招设置方案，方案已于当日审核通过，企业可按方案施工。",
                     "《青岛市户外广告设施和招牌设置管理办法》", "孙工", URBAN_PHONE),
               step(10, "16:00", "approve_reply", "urban_reviewer"),
               step(9, "10:00", "send_reply", "dispatcher"),
               rate(9, "14:00", "satisfied", "resolved", "当天就帮我们把方案过了，效率很高。"),
           ], Petitioner(17, "青岛拾光文化创意有限公司", "0532-83896671", True, "91370202MA3TQ8K65D")),
    # --- second handling: the citizen was not satisfied ---
    Script("shinan", "江西路上的垃圾中转站夏天臭味很大，苍蝇蚊子多，离居民楼不到20米，希望搬迁或者加强密闭除臭。",
           "市南区金门路街道江西路", (10, "09:00"), [
               dispatch(10, "10:00", URBAN, URBAN, complexity="complex"),
               step(10, "11:00", "accept", "urban"),
               reply(7, "16:00", "urban", "已要求环卫作业单位加强清运频次，每日冲洗中转站两次。",
                     CITY_APPEARANCE, "刘队长", URBAN_PHONE),
               step(7, "17:00", "approve_reply", "urban_reviewer"),
               step(6, "10:00", "send_reply", "dispatcher"),
               rate(5, "19:00", "unsatisfied", "unresolved", "只是多冲洗了几次，臭味还是很大，根本没有解决问题。"),
           ], Petitioner(18, "何女士", "13698680317")),
    # --- performance assessment: unsatisfied after the second handling too ---
    Script("shinan", "小区电梯经常困人，这个月已经困人三次，物业说要等维修基金批下来才能大修，业主们都不敢坐电梯了。",
           "市南区湛山街道湛山二路", (18, "09:00"), [
               dispatch(18, "10:00", HOUSING, HOUSING, complexity="complex"),
               step(18, "11:00", "accept", "housing"),
               reply(15, "15:00", "housing", "已督促物业公司联系电梯维保单位对电梯进行检修，电梯已恢复运行。",
                     "《特种设备安全法》", "李主任", HOUSING_PHONE),
               step(15, "16:00", "approve_reply", "housing_reviewer"),
               step(14, "10:00", "send_reply", "dispatcher"),
               rate(13, "20:00", "unsatisfied", "unresolved", "物业只是临时修了一下，没几天又坏了。"),
               dispatch(12, "09:00", HOUSING, HOUSING, complexity="complex"),
               step(12, "10:00", "accept", "housing"),
               reply(8, "15:00", "housing", "已指导业主委员会启动维修资金使用程序，维修方案正在征求业主意见。",
                     "《青岛市住宅专项维修资金管理办法》", "李主任", HOUSING_PHONE),
               step(8, "16:00", "approve_reply", "housing_reviewer"),
               step(7, "10:00", "send_reply", "dispatcher"),
               rate(6, "19:30", "unsatisfied", "unresolved", "维修资金还是没批下来，电梯照样困人。"),
           ], Petitioner(19, "罗先生", "13969606623")),
    # --- not rated within the evaluation window: closed as 未评价 by the system ---
    Script("shinan", "中山路天桥下的盲道被护栏截断，视障人士走到这里只能绕到机动车道上，希望改一改。",
           "市南区八大关街道中山路", (16, "10:00"), [
               dispatch(16, "11:00", URBAN, URBAN),
               step(16, "14:00", "accept", "urban"),
               reply(15, "15:00", "urban", "已协调道路养护单位调整护栏位置，恢复盲道连续通行，并在天桥下增设提示标识。",
                     "《无障碍环境建设法》《城市道路管理条例》", "刘队长", URBAN_PHONE),
               step(15, "16:30", "approve_reply", "urban_reviewer"),
               step(14, "10:00", "send_reply", "dispatcher"),
               step(7, "10:00", "expire_evaluation", SYSTEM_ACTOR, window_days=7),
           ], Petitioner(16, "马先生", "13012462208")),
    # --- rejected as inadmissible ---
    Script("shinan", "我和前夫离婚后的财产分割法院已经判决了，但他一直不执行，房子也不肯过户，请你们帮我督促一下。",
           "市南区湛山街道", (3, "11:00"), [
               step(2, "09:30", "reject", "dispatcher", code="litigation",
                    note="该事项已经人民法院判决，请向作出判决的人民法院申请强制执行。"),
           ], Petitioner(20, "林女士", "13853270049")),
]

OTHER_DISTRICTS: list[Script] = [
    Script("shibei", "台东三路步行街夜市收摊后垃圾遍地，第二天早上还没人清扫，味道很大。",
           "市北区台东街道台东三路", (6, "22:00"), [
               dispatch(5, "09:00", URBAN, URBAN),
               step(5, "09:30", "accept", "urban"),
               reply(4, "15:00", "urban", "已督促夜市管理方落实“收摊即清”，环卫作业时间提前至凌晨五点。",
                     CITY_APPEARANCE, "赵队长", "0532-83710233"),
               step(4, "16:00", "approve_reply", "urban_reviewer"),
               step(4, "17:00", "send_reply", "dispatcher"),
               rate(3, "10:00", "satisfied", "resolved"),
           ], Petitioner(1, "曲先生", "13345009921")),
    Script("licang", "京口路一个小区的二次供水水箱多年没有清洗，自来水有时发黄，物业一直推脱。",
           "李沧区李村街道京口路", (10, "09:00"), [
               dispatch(9, "09:30", HOUSING, HOUSING),
               step(9, "10:30", "accept", "housing"),
               step(8, "10:00", "request_extension", "housing", extra_working_days="3",
                    reason="需委托专业机构检测水箱水质，检测报告需3个工作日。"),
               step(8, "14:00", "decide_extension", "dispatcher", approve="true", note="同意延期。"),
               reply(5, "15:00", "housing", "水质检测合格；已责令物业公司完成水箱清洗消毒并公示检测报告，今后每半年清洗一次。",
                     f"{PROPERTY_RULES}及《生活饮用水卫生监督管理办法》", "韩科长", "0532-87662310"),
               step(5, "16:00", "approve_reply", "housing_reviewer"),
               step(5, "17:00", "send_reply", "dispatcher"),
               rate(4, "20:00", "basically_satisfied", "resolved"),
           ], Petitioner(1, "姜女士", "15866860342")),
    Script("huangdao", "灵山卫街道一个小区的物业合同到期后，原物业公司拒不退出，业主委员会选聘的新物业进不了场。",
           "黄岛区灵山卫街道", (13, "09:00"), [
               dispatch(12, "09:00", HOUSING, HOUSING, complexity="complex"),
               step(12, "10:00", "accept", "housing"),
               reply(5, "15:00", "housing", "已组织新旧物业公司和业主委员会三方协调，原物业公司已完成交接并退出。",
                     f"{PROPERTY_RULES}关于物业服务合同终止后交接的规定", "宋科长", "0532-86988765"),
               step(5, "16:00", "approve_reply", "housing_reviewer"),
               step(5, "17:00", "send_reply", "dispatcher"),
               rate(4, "10:00", "basically_satisfied", "basically_resolved", "问题解决了，就是拖得有点久。"),
           ], Petitioner(1, "董先生", "13210286675")),
    Script("laoshan", "张村河沿岸步道上有人私自圈地种菜，还堆放了很多建筑垃圾，影响市民散步。",
           "崂山区中韩街道张村河", (3, "18:00"), [
               dispatch(2, "09:30", URBAN, URBAN),
               step(2, "10:00", "accept", "urban"),
           ], Petitioner(1, "薛女士", "18754251180")),
    Script("chengyang", "我公司在夏庄街道的厂房扩建项目已经取得规划许可，但施工许可一直办不下来，说是缺少消防设计审查意见，"
           "不知道该找哪个部门。", "城阳区夏庄街道", (1, "14:10"), [],
           Petitioner(1, "青岛海川机械制造有限公司", "0532-87809912", True, "91370214MA3N6H2W4P")),
]

SCRIPTS: list[Script] = SHINAN + OTHER_DISTRICTS


# --- running the scripts --------------------------------------------------------------------------------------------


def working_day_before(calendar: WorkingCalendar, today: dt.date, n: int) -> dt.date:
    """The `n`-th working day before `today` (n ≥ 1); today itself never counts.

    :raises ValueError: if `n` < 1.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    day = today
    while n:
        day -= dt.timedelta(days=1)
        if calendar.is_working_day(day):
            n -= 1
    return day


class _Clock:
    """Turns (working days back, "HH:MM") into an aware UTC instant relative to the real current time."""

    def __init__(self, calendar: WorkingCalendar, now: dt.datetime) -> None:
        self.calendar = calendar
        self.today = calendar.local_date(now)
        self._days: dict[int, dt.date] = {}

    def at(self, day: int, clock: str) -> dt.datetime:
        if day not in self._days:
            self._days[day] = working_day_before(self.calendar, self.today, day)
        hour, minute = (int(part) for part in clock.split(":"))
        local = dt.datetime.combine(self._days[day], dt.time(hour, minute), tzinfo=self.calendar.tz)
        return local.astimezone(dt.UTC)


class _Cast:
    """The demo users and citizens the scripts name, looked up once."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._users: dict[str, User] = {}

    def user(self, district: str, name: str) -> User:
        username = name if name.startswith(CITY_PREFIX) else f"{district}_{name}"
        if username not in self._users:
            user = self.session.scalars(select(User).where(User.username == username)).first()
            if user is None:
                raise LookupError(f"demo user {username} is missing: run the demo users' seed first")
            self._users[username] = user
        return self._users[username]

    def unit(self, district: str, ref: UnitRef, city: bool) -> Unit:
        if isinstance(ref, DeptType):
            unit = routing.department_for(self.session, None if city else district, ref)
        else:
            unit = self.user(district, ref).unit
        if unit is None:
            raise LookupError(f"no unit for {ref} in {district}")
        return unit

    def citizen(self, district: str, who: Petitioner, first_seen: dt.datetime) -> Citizen:
        openid = f"demo-citizen-{who.number}"
        citizen = self.session.scalars(
            select(Citizen).where(Citizen.district_code == district, Citizen.openid == openid)
        ).first()
        if citizen is None:
            citizen = Citizen(district_code=district, openid=openid, created_at=first_seen)
            self.session.add(citizen)
        citizen.kind = CitizenKind.ENTERPRISE if who.enterprise else CitizenKind.PERSON
        citizen.name = who.name
        citizen.phone = who.phone
        citizen.credit_code = who.credit_code
        self.session.flush()
        return citizen


def _params(cast: _Cast, script: Script, petition: Petition, s: Step) -> dict[str, Any]:
    params = dict(s.params)
    city = s.action == "city_dispatch"
    if "unit_id" in params:
        params["unit_id"] = cast.unit(script.district, params["unit_id"], city).id
    if "cooperating_unit_ids" in params:
        params["cooperating_unit_ids"] = [cast.unit(script.district, r, city).id for r in params["cooperating_unit_ids"]]
    if isinstance(params.get("target"), LinkTo):
        params["target"] = cast.session.scalars(
            select(Petition.number).where(
                Petition.district_code == script.district, Petition.content.startswith(params["target"].content)
            )
        ).one()
    if s.action == "submit_reply":
        # The petitioner's basic details, written the way handlers do: who, where, how to reach them.
        params["petitioner_info"] = (
            f"诉求人：{petition.contact_name or '匿名'}；地址：{petition.location or '未提供'}；"
            f"联系电话：{petition.contact_phone or '未提供'}"
        )
    return params


def _run(cast: _Cast, clock: _Clock, script: Script, suggest: Suggest | None) -> Petition:
    submitted = clock.at(*script.submitted)
    citizen = None
    created_by = None
    origin = None
    if script.petitioner is not None:
        citizen = cast.citizen(script.district, script.petitioner, submitted)
        kind = PetitionKind.DEVELOPMENT if script.petitioner.enterprise else PetitionKind.LIVELIHOOD
        contact_name, contact_phone, channel = citizen.name, citizen.phone, Channel.WECHAT
    elif script.raised_by is not None:
        created_by = cast.user(script.district, script.raised_by)
        origin = created_by.unit
        kind = PetitionKind.ENFORCEMENT
        contact_name, contact_phone, channel = created_by.display_name, created_by.phone, Channel.STAFF
    else:
        raise ValueError(f"script without a petitioner or a raising unit: {script.content[:20]}")
    petition = submit_petition(
        cast.session,
        district_code=script.district,
        kind=kind,
        content=script.content,
        now=submitted,
        citizen=citizen,
        location=script.location,
        contact_name=contact_name,
        contact_phone=contact_phone,
        channel=channel,
        origin_unit=origin,
        created_by=created_by,
        suggestion=suggest(script.content, script.district) if suggest is not None else None,
    )
    previous = submitted
    for s in script.steps:
        at = clock.at(s.day, s.clock)
        if at <= previous:
            raise ValueError(f"{petition.number}: step {s.action} at {at.isoformat()} is not after the one before")
        if s.actor == CITIZEN:
            actor: Actor | None = petition.citizen
        elif s.actor == SYSTEM_ACTOR:
            actor = SYSTEM
        else:
            actor = cast.user(script.district, s.actor)
        assert actor is not None
        perform(cast.session, petition, s.action, actor, at, **_params(cast, script, petition, s))
        previous = at
    return petition


def suggester_if_trained(app: Flask) -> Suggest | None:
    """The classifier's suggestion function when a model file exists, else None; never trains a model (training
    takes seconds, and seed-demo runs on every `make run`)."""
    from classifier.lifecycle import get_suggester, model_path

    if not model_path(app).exists():
        return None
    suggester = get_suggester(app)
    return lambda text, district: suggester.suggest(text, district).to_dict()


def seed_demo_petitions(app: Flask, session: Session, now: dt.datetime) -> int:
    """Create the demo petitions and their histories up to `now`; returns how many (0 when any petition exists).

    For demo mode only: the actors are the demo users, who must exist. Flushes but does not commit. The lights
    are those set by the actions; the caller runs `workflow.jobs.recompute_lights` after committing to bring them
    to `now`.

    :raises LookupError: a demo user, unit or platform the scripts name is missing.
    :raises TransitionRefused, InvalidInput: a script does not follow the workflow (a programming error).
    """
    if session.scalar(select(func.count()).select_from(Petition)):
        return 0
    calendar = load_calendar(session, app.config["CALENDAR"]["timezone"])
    clock = _Clock(calendar, now)
    cast = _Cast(session)
    suggest = suggester_if_trained(app)
    for script in SCRIPTS:
        _run(cast, clock, script, suggest)
    return len(SCRIPTS)
