"""Place names for the out-of-jurisdiction rule: Qingdao's own districts, and places that are not Qingdao.

Qingdao names many of its streets after other provinces and cities (南京路, 济南路, 北京路 in 市北区, 黄岛路 in
市南区), so a place name followed by a street suffix is a Qingdao street, never a reason to reject a petition.
A place outside Qingdao counts only when it is written as a place where the matter happens: with its
administrative suffix (济南市, 河北省) or right after 在/位于/住在 (在烟台). "买的烟台苹果" or "去香港的通行证" do not count.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from classifier.text import normalize

# District code → its full name, then other names a citizen uses for it or for its towns.
QINGDAO_DISTRICTS: dict[str, tuple[str, ...]] = {
    "shinan": ("市南区", "市南"),
    "shibei": ("市北区", "市北", "台东", "四方区"),
    "licang": ("李沧区", "李沧", "李村", "沧口"),
    "laoshan": ("崂山区", "崂山", "沙子口", "王哥庄", "北宅"),
    "huangdao": ("黄岛区", "西海岸新区", "黄岛", "西海岸", "胶南", "薛家岛", "灵山卫", "辛安"),
    "chengyang": ("城阳区", "城阳", "流亭", "红岛", "棘洪滩", "夏庄", "惜福镇"),
    "jimo": ("即墨区", "即墨", "蓝村", "鳌山卫"),
    "jiaozhou": ("胶州市", "胶州"),
    "pingdu": ("平度市", "平度"),
    "laixi": ("莱西市", "莱西"),
}

QINGDAO_NAMES: tuple[str, ...] = (
    "青岛",
    "岛城",
    *(name for names in QINGDAO_DISTRICTS.values() for name in names),
)

# Provinces, municipalities and regions other than 山东 (山东 itself is ambiguous: 山东省青岛市 is inside).
PROVINCES: tuple[str, ...] = (
    "北京", "天津", "上海", "重庆", "河北", "山西", "内蒙古", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽", "福建",
    "江西", "河南", "湖北", "湖南", "广东", "广西", "海南", "四川", "贵州", "云南", "西藏", "陕西", "甘肃", "青海",
    "宁夏", "新疆", "香港", "澳门", "台湾",
)  # fmt: skip

# 山东's other fifteen cities and their best-known county-level cities, then large cities elsewhere.
CITIES: tuple[str, ...] = (
    "济南", "淄博", "枣庄", "东营", "烟台", "潍坊", "济宁", "泰安", "威海", "日照", "临沂", "德州", "聊城", "滨州",
    "菏泽", "莱芜", "章丘", "寿光", "诸城", "高密", "安丘", "青州", "昌邑", "海阳", "莱阳", "莱州", "龙口", "蓬莱",
    "招远", "栖霞", "乳山", "荣成", "文登", "五莲", "莒县", "曲阜", "邹城", "滕州", "新泰", "肥城", "沂水",
    "广州", "深圳", "杭州", "南京", "苏州", "无锡", "武汉", "成都", "西安", "长沙", "郑州", "合肥", "福州", "厦门",
    "南昌", "石家庄", "太原", "沈阳", "大连", "长春", "哈尔滨", "昆明", "贵阳", "南宁", "海口", "三亚", "兰州",
    "西宁", "银川", "乌鲁木齐", "拉萨", "呼和浩特", "宁波", "温州", "徐州", "连云港", "唐山", "保定", "邯郸",
    "洛阳", "开封", "珠海", "东莞", "佛山",
)  # fmt: skip

_OUTSIDE = "|".join(sorted(map(re.escape, PROVINCES + CITIES), key=len, reverse=True))
# After a place name these make it a street, building or estate in Qingdao (香港中路, 延安三路, 南京路小区).
_STREET_SUFFIX = r"[一二三四五六七八九十\d]*(?:东|西|南|北|中|支)?(?:路|街|道|巷|里|大街|大道|广场|小区|花园|大厦|商城|市场)"
# What makes a mention a place where the matter is, rather than a product (烟台苹果) or a destination (去香港):
# an administrative suffix (济南市, 河北省), a district, county, port or village after it (烟台芝罘区, 宁波港),
# another outside place right after it (潍坊高密), "那边/当地", "的一家/的公司/…", or 在/位于/住在 before it.
_ADMIN_SUFFIX = r"(?:省|市(?!场|民|区)|县|自治区|地区|特别行政区)"
_PLACE_TAIL = (
    rf"(?:[\u4e00-\u9fff]{{0,3}}(?:区|县|镇|乡|村|港|开发区|新区)(?!{_STREET_SUFFIX})|那边|那里|当地|{_OUTSIDE}"
    r"|的(?:一家|一个|企业|公司|工厂|旅行社|项目|房子|开发商|医保|社保|公积金|人社局|医保局|审批局|海关|政府|村里))"
)
_LOCATIVE = r"(?:在|位于|住在|地处|地址是?[:：]?|户籍在|老家|来自)"

OUTSIDE_PATTERN = re.compile(
    rf"(?P<named>{_OUTSIDE})(?!{_STREET_SUFFIX})(?={_ADMIN_SUFFIX}|{_PLACE_TAIL})|{_LOCATIVE}(?P<located>{_OUTSIDE})(?!{_STREET_SUFFIX})"
)
QINGDAO_PATTERN = re.compile("|".join(sorted(map(re.escape, QINGDAO_NAMES), key=len, reverse=True)))
# Names of places inside Qingdao below the city itself: a matter that names one is local.
LOCAL_PATTERN = re.compile(
    "|".join(
        sorted((re.escape(n) for names in QINGDAO_DISTRICTS.values() for n in names), key=len, reverse=True)
    )
)
# Only a district's full name counts for the district rule: 崂山啤酒 or 即墨路 (a street in 市北区) name no district.
DISTRICT_PATTERNS: dict[str, re.Pattern[str]] = {
    code: re.compile("|".join(re.escape(name) for name in names if name.endswith(("区", "市"))))
    for code, names in QINGDAO_DISTRICTS.items()
}


def outside_places(text: str) -> list[str]:
    """Places outside Qingdao that the text names as where the matter is, in order of appearance."""
    return [match.group("named") or match.group("located") for match in OUTSIDE_PATTERN.finditer(text)]


def mentions_qingdao(text: str) -> bool:
    """Whether the text names Qingdao, one of its districts or one of its towns."""
    return QINGDAO_PATTERN.search(text) is not None


def local_places(text: str) -> list[str]:
    """Qingdao districts and towns the text names (not the bare city name), in order of appearance."""
    return [match.group(0) for match in LOCAL_PATTERN.finditer(text)]


def looks_outside_qingdao(text: str, min_mentions: int = 1) -> list[str]:
    """The outside places, when the text seems to be about a matter outside Qingdao, else [].

    More distinct outside places than Qingdao districts and towns tips the balance: "我在青岛打工，老家在莱阳，
    村里修路占了俺家的地" is about 莱阳; "我在烟台上班，家在李沧，小区停水" is about 李沧. A long letter must name
    outside places `min_mentions` times: one passing mention ("户口在安徽") does not move a matter out of Qingdao.
    """
    mentions = outside_places(text)
    outside = list(dict.fromkeys(mentions))
    if len(mentions) >= min_mentions and len(outside) > len(set(local_places(text))):
        return outside
    return []


def districts_named(text: str) -> set[str]:
    """The codes of the Qingdao districts whose full name (市南区, 胶州市, …) the text contains."""
    return {code for code, pattern in DISTRICT_PATTERNS.items() if pattern.search(text)}


# The gazetteer of Qingdao's streets and towns (classifier/data/qingdao_streets.csv, source in
# classifier/data/README.md): district code, street or town, and the names in a text that place a matter there.
GAZETTEER = Path(__file__).resolve().parent / "data" / "qingdao_streets.csv"
# Generic endings stripped from a community unit's name before looking for it in a text (太平角社区 → 太平角).
_COMMUNITY_SUFFIX = re.compile(r"(?:社区居民委员会|居民委员会|村民委员会|社区居委会|居委会|村委会|社区|村)$")


@dataclass(frozen=True)
class Place:
    """Where a petition's matter is: the district code and, when the text names them, the street and community."""

    district: str
    street: str | None = None
    community: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {"district": self.district, "street": self.street, "community": self.community}


@cache
def streets() -> dict[str, list[tuple[str, str]]]:
    """District code → [(name in a text, street)], longest names first (香港中路 before 中山路's 中山)."""
    by_district: dict[str, list[tuple[str, str]]] = {}
    with GAZETTEER.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            for name in row["names"].split("|"):
                by_district.setdefault(row["district"], []).append((name.strip(), row["street"]))
    for names in by_district.values():
        names.sort(key=lambda pair: len(pair[0]), reverse=True)
    return by_district


def community_key(name: str) -> str:
    """A community unit's name as a text would say it: 太平角社区 → 太平角, 东李村 → 东李."""
    return _COMMUNITY_SUFFIX.sub("", name)


def locate(text: str, district_code: str | None = None, communities: Iterable[str] = ()) -> Place | None:
    """The district, street and community a petition's text (content and address) places its matter in, or None
    when it names neither a street nor a community.

    With `district_code` (the account the petition came through) only that district's streets are looked up, so a
    street name shared by two districts (长江路) is read in the petition's own district; without it a text must
    name a district or a street that only one district has. `communities` are the names of the district's
    community units (the platform's own list is the community gazetteer): the first one the text names is returned.
    """
    clean = normalize(text)
    if district_code is None:
        named = districts_named(clean)
        if len(named) == 1:
            district_code = next(iter(named))
        else:
            found = {code for code, names in streets().items() for name, _ in names if name in clean}
            if len(found) != 1:
                return None
            district_code = next(iter(found))
    street = next((street for name, street in streets().get(district_code, []) if name in clean), None)
    community = next(
        (name for name in communities if len(key := community_key(name)) >= 2 and key in clean), None
    )
    return None if street is None and community is None else Place(district_code, street, community)
