"""`qingsu seed-demo`: the ten districts with real streets and communities, every department, the city platform,
demo users for every role and the demo WeChat accounts from the configuration. Idempotent: run it as often as you like.

Reference data (districts, platform units, departments) is created in any mode; demo users, the accounts' template
messages (`qingsu.demo_templates`, never overwriting a manager's edits) and demo petitions (`qingsu.demo_petitions`,
into a database that has none) only in demo mode.
"""

from __future__ import annotations

from typing import Any

import click
from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import District, Unit, User, WechatAccount, utcnow
from models.db import get_session
from models.district import CITY_PLATFORM_NAME, TEN_DISTRICTS
from models.enums import DeptType, Role, UnitLevel
from qingsu.demo_petitions import seed_demo_petitions
from qingsu.demo_templates import seed_demo_templates
from workflow.jobs import recompute_lights
from workflow.warnings import ensure_default_rules

DEMO_PASSWORD = "qingsu-demo"

# A few real streets/towns of each district, with two communities under the first.
STREETS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "shinan": (("八大关街道", ("太平角社区", "汇泉社区")), ("湛山街道", ()), ("香港中路街道", ()), ("金门路街道", ())),
    "shibei": (("台东街道", ("威海路社区", "延安路社区")), ("辽宁路街道", ()), ("登州路街道", ()), ("浮山新区街道", ())),
    "licang": (("李村街道", ("李村社区", "东李社区")), ("虎山路街道", ()), ("浮山路街道", ()), ("九水街道", ())),
    "laoshan": (("中韩街道", ("张村社区", "株洲路社区")), ("沙子口街道", ()), ("王哥庄街道", ()), ("北宅街道", ())),
    "huangdao": (("灵山卫街道", ("灵山卫社区", "海军路社区")), ("辛安街道", ()), ("长江路街道", ()), ("薛家岛街道", ())),
    "chengyang": (("城阳街道", ("城阳社区", "后桃林社区")), ("夏庄街道", ()), ("流亭街道", ()), ("惜福镇街道", ())),
    "jimo": (("通济街道", ("通济社区", "新兴社区")), ("环秀街道", ()), ("潮海街道", ()), ("龙山街道", ())),
    "jiaozhou": (("阜安街道", ("阜安社区", "云溪社区")), ("中云街道", ()), ("九龙街道", ()), ("李哥庄镇", ())),
    "pingdu": (("东阁街道", ("东阁社区", "红旗社区")), ("李园街道", ()), ("同和街道", ()), ("南村镇", ())),
    "laixi": (("水集街道", ("水集社区", "文化社区")), ("望城街道", ()), ("沽河街道", ()), ("姜山镇", ())),
}

DEPARTMENT_NAMES: dict[DeptType, str] = {
    DeptType.HOUSING: "住房和城乡建设局",
    DeptType.URBAN_MGMT: "城市管理局（综合行政执法局）",
    DeptType.ECOLOGY: "生态环境分局",
    DeptType.TRANSPORT: "交通运输局",
    DeptType.EDUCATION: "教育和体育局",
    DeptType.HRSS: "人力资源和社会保障局",
    DeptType.HEALTH: "卫生健康局",
    DeptType.MARKET: "市场监督管理局",
    DeptType.POLICE: "公安分局",
    DeptType.CIVIL: "民政局",
    DeptType.NATURAL_RES: "自然资源局",
    DeptType.AGRI: "农业农村局",
    DeptType.WATER: "水务局",
    DeptType.COMMERCE: "商务局",
    DeptType.CULTURE_TOURISM: "文化和旅游局",
    DeptType.MEDICAL_INS: "医疗保障局",
    DeptType.TAX: "税务局",
    DeptType.APPROVAL: "行政审批服务局",
    DeptType.INDUSTRY: "工业和信息化局",
    DeptType.HEATING: "供热管理办公室",
    DeptType.UTILITIES: "公用事业服务中心",
}


# The demo's responsibility lists (职责任务清单), one duty a line, in the words dispatchers match petitions against
# (`workflow.routing.responsibility_matches`); managers edit them on the admin site.
DEMO_DUTIES: dict[DeptType | UnitLevel, str] = {
    DeptType.HOUSING: "物业服务企业监督管理\n老旧小区改造组织实施\n住宅专项维修资金管理\n建筑工地施工安全和文明施工监管",
    DeptType.URBAN_MGMT: "查处占道经营、露天烧烤、店外经营等违法行为\n查处违法建设\n城市道路照明和井盖等市政设施维护\n"
    "夜间施工噪声扰民查处",
    DeptType.ECOLOGY: "餐饮油烟、工业噪声污染防治监督\n污水直排和水污染查处\n大气污染防治",
    DeptType.MARKET: "食品经营许可和食品安全监管\n价格违法和消费投诉处理\n市场主体登记",
    DeptType.TRANSPORT: "公交线路和站点设置\n出租车和网约车管理\n道路客运和货运管理",
    DeptType.WATER: "城市供水排水设施管理\n河道管理和防汛",
    DeptType.HEATING: "供热质量监管和室温不达标处理\n供热收费监督",
    DeptType.EDUCATION: "中小学和幼儿园入学招生\n校外培训机构监管",
    DeptType.HRSS: "拖欠工资和劳动争议处理\n社会保险参保和待遇",
    DeptType.CIVIL: "老年人福利和养老服务\n低保和社会救助\n婚姻登记",
    UnitLevel.STREET: "辖区环境卫生和市容秩序巡查\n社区治理和矛盾纠纷调解\n辖区违法建设巡查报告",
    UnitLevel.COMMUNITY: "楼道、小区公共区域环境卫生和杂物清理\n邻里纠纷调解\n无物业小区的公共设施报修协调",
}


def seed_demo_duties(session: Session) -> int:
    """Fill the empty responsibility lists of the districts' departments, streets and communities with the demo's;
    a list a manager has written is left alone. Returns how many were filled."""
    filled = 0
    for unit in session.scalars(select(Unit).where(Unit.district_code.is_not(None), Unit.responsibilities == "")):
        duties = DEMO_DUTIES.get(unit.dept_type) if unit.dept_type is not None else DEMO_DUTIES.get(unit.level)
        if duties:
            unit.responsibilities = duties
            filled += 1
    session.flush()
    return filled


def _unit(session: Session, name: str, level: UnitLevel, district_code: str | None, **values: Any) -> Unit:
    unit = session.scalars(select(Unit).where(Unit.name == name, Unit.district_code.is_(district_code)
                                              if district_code is None else Unit.district_code == district_code)).first()
    if unit is None:
        unit = Unit(name=name, level=level, district_code=district_code, **values)
        session.add(unit)
        session.flush()
    return unit


def seed_reference_data(session: Session) -> None:
    """Districts, their platforms, streets, communities and departments, and the city platform and departments."""
    for position, (code, name, platform_name, abbreviation) in enumerate(TEN_DISTRICTS):
        if session.get(District, code) is None:
            session.add(District(code=code, name=name, platform_name=platform_name, abbreviation=abbreviation,
                                 position=position))
    session.flush()
    for code, name, platform_name, _ in TEN_DISTRICTS:
        _unit(session, f"{name}{platform_name}平台", UnitLevel.DISTRICT_PLATFORM, code, phone="12345")
        for street_name, communities in STREETS[code]:
            street = _unit(session, street_name, UnitLevel.STREET, code)
            for community in communities:
                _unit(session, community, UnitLevel.COMMUNITY, code, parent_id=street.id)
        for dept_type, suffix in DEPARTMENT_NAMES.items():
            _unit(session, f"{name}{suffix}", UnitLevel.DISTRICT_DEPARTMENT, code, dept_type=dept_type)
    _unit(session, f"{CITY_PLATFORM_NAME}市级平台", UnitLevel.CITY_PLATFORM, None, phone="12345")
    for dept_type, suffix in DEPARTMENT_NAMES.items():
        _unit(session, f"青岛市{suffix.replace('分局', '局')}", UnitLevel.CITY_DEPARTMENT, None, dept_type=dept_type)


def seed_accounts(session: Session, accounts: list[dict[str, Any]]) -> int:
    """The WeChat accounts listed in the configuration; an existing district account is left as managers set it."""
    created = 0
    for entry in accounts:
        if session.scalars(select(WechatAccount).where(WechatAccount.district_code == entry["district"])).first():
            continue
        session.add(
            WechatAccount(
                district_code=entry["district"],
                appid=entry["appid"],
                token=entry["token"],
                encoding_aes_key=entry.get("encoding_aes_key") or None,
                secret=entry["secret"],
            )
        )
        created += 1
    session.flush()
    return created


def _user(session: Session, username: str, display: str, role: Role, district: str | None, unit: Unit | None,
          password_hash: str) -> None:
    if session.scalars(select(User).where(User.username == username)).first() is None:
        session.add(User(username=username, display_name=display, role=role, district_code=district,
                         unit_id=unit.id if unit else None, password_hash=password_hash, is_demo=True))


def seed_demo_users(session: Session) -> list[tuple[str, str]]:
    """Demo users for every role; returns (username, description) for the README and the command's output."""
    from admin_web.passwords import hash_password

    password_hash = hash_password(DEMO_PASSWORD)
    made: list[tuple[str, str]] = []

    def add(username: str, display: str, role: Role, district: str | None, unit: Unit | None = None) -> None:
        _user(session, username, display, role, district, unit, password_hash)
        made.append((username, f"{display}（{role.label}）"))

    def unit_named(name: str, district: str | None) -> Unit:
        return session.scalars(select(Unit).where(Unit.name == name, Unit.district_code == district
                                                  if district else Unit.district_code.is_(None))).one()

    for code, name, _platform, _ in TEN_DISTRICTS:
        add(f"{code}_dispatcher", f"{name}平台调度员", Role.DISPATCHER, code)
        add(f"{code}_manager", f"{name}平台管理员", Role.DISTRICT_MANAGER, code)
        street_name, communities = STREETS[code][0]
        add(f"{code}_street", f"{street_name}承办人", Role.HANDLER, code, unit_named(street_name, code))
        add(f"{code}_community", f"{communities[0]}网格员", Role.HANDLER, code, unit_named(communities[0], code))
        # Every street and community has a reviewer (科室负责人), so every unit's reply can be approved.
        for n, (street, street_communities) in enumerate(STREETS[code], start=1):
            suffix = "" if n == 1 else str(n)
            add(f"{code}_street{suffix}_reviewer", f"{street}负责人", Role.UNIT_REVIEWER, code, unit_named(street, code))
            for m, community in enumerate(street_communities, start=1):
                suffix = "" if (n, m) == (1, 1) else f"{n}_{m}"
                add(f"{code}_community{suffix}_reviewer", f"{community}负责人", Role.UNIT_REVIEWER, code,
                    unit_named(community, code))
        for dept_type, short in ((DeptType.URBAN_MGMT, "urban"), (DeptType.HOUSING, "housing")):
            dept = unit_named(f"{name}{DEPARTMENT_NAMES[dept_type]}", code)
            add(f"{code}_{short}", f"{dept.name}承办人", Role.HANDLER, code, dept)
            add(f"{code}_{short}_reviewer", f"{dept.name}科室负责人", Role.UNIT_REVIEWER, code, dept)
    city_housing = unit_named(f"青岛市{DEPARTMENT_NAMES[DeptType.HOUSING]}", None)
    add("city_dispatcher", "市级平台调度员", Role.CITY_DISPATCHER, None)
    add("city_manager", "市级平台管理员", Role.CITY_MANAGER, None)
    add("city_housing", "青岛市住建局承办人", Role.HANDLER, None, city_housing)
    add("city_housing_reviewer", "青岛市住建局科室负责人", Role.UNIT_REVIEWER, None, city_housing)
    add("leader", "市领导", Role.LEADER, None)
    add("hotline", "12345热线平台", Role.HOTLINE, None)
    # An Open311 client (a street's grid app): it signs in nowhere; `qingsu open311 issue-key` gives it a key.
    add("open311_grid", "网格App（Open311接入）", Role.OPEN311, None)
    session.flush()
    return made


def init_app(app: Flask) -> None:
    app.cli.add_command(seed_demo_command)


@click.command("seed-demo")
def seed_demo_command() -> None:
    """Load the districts, units and accounts; in demo mode also the demo users (password: qingsu-demo)."""
    session = get_session()
    seed_reference_data(session)
    # The early-warning rules a city manager starts from (kept as they are once any rule exists).
    ensure_default_rules(session)
    created = seed_accounts(session, current_app.config["ACCOUNTS"])
    users: list[tuple[str, str]] = []
    petitions = templates = 0
    now = utcnow()
    if current_app.config["DEMO"]:
        users = seed_demo_users(session)
        seed_demo_duties(session)
        templates = seed_demo_templates(session)
        petitions = seed_demo_petitions(current_app, session, now)
    session.commit()
    if petitions:
        # The actions lit the petitions as of their own instants; bring the lights (and alerts) to now.
        recompute_lights(current_app, now)
    click.echo(f"districts, units and city platform ready; {created} WeChat account(s) added")
    if users:
        click.echo(f"demo users (password {DEMO_PASSWORD}): " + ", ".join(u for u, _ in users[:6]) + ", …")
        click.echo(f"{templates} template message setting(s) added")
        click.echo(f"{petitions} demo petition(s) added" if petitions else "petitions exist: no demo petitions added")
    else:
        click.echo("not in demo mode: no demo users created")
