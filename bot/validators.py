"""Checks on what a citizen types: credit codes, mobile numbers, and where an address lies.

These are pure functions with no database access, so the dialog can call them freely and tests can
table them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

# GB 32100-2015 统一社会信用代码: 18 characters from this 31-character alphabet (no I, O, S, V, Z).
CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def normalize(text: str) -> str:
    """Full-width letters and digits folded to ASCII (NFKC), surrounding white space removed."""
    return unicodedata.normalize("NFKC", text).strip()


def credit_code_check_char(first17: str) -> str:
    """The GB 32100-2015 check character for the first 17 characters of a credit code.

    :raises ValueError: if `first17` is not 17 characters of the code alphabet.
    """
    if len(first17) != 17 or any(ch not in CREDIT_CODE_ALPHABET for ch in first17):
        raise ValueError(f"not 17 credit-code characters: {first17!r}")
    total = sum(
        CREDIT_CODE_ALPHABET.index(ch) * w for ch, w in zip(first17, CREDIT_CODE_WEIGHTS, strict=True)
    )
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def normalize_credit_code(text: str) -> str | None:
    """The credit code in canonical form (upper case, no spaces) if its check character is right, else None."""
    code = re.sub(r"[\s-]", "", normalize(text)).upper()
    if len(code) != 18 or any(ch not in CREDIT_CODE_ALPHABET for ch in code):
        return None
    return code if credit_code_check_char(code[:17]) == code[17] else None


_MOBILE = re.compile(r"1[3-9]\d{9}")


def normalize_mobile(text: str) -> str | None:
    """An 11-digit mainland mobile number (spaces, dashes and a +86 prefix allowed), else None."""
    digits = re.sub(r"[\s\-()]", "", normalize(text))
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix) :]
            break
    return digits if _MOBILE.fullmatch(digits) else None


_URL = re.compile(r"(?:https?://|www\.)\S+|[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|cn|net|org|gov|edu)(?:[/?#]\S*)?", re.I)
_ID_CARD = re.compile(r"\d{17}[\dX]|\d{15}", re.I)
_LANDLINE = re.compile(r"(?:0\d{2,3})?\d{7,8}")
_PETITION_NUMBER = re.compile(r"[A-Z]{2}\d{12}", re.I)
_NUMBER_ONLY = re.compile(r"[\d\s.,:;#*/+\-()（）、，。：；]+")


def not_words(text: str) -> str | None:
    """What `text` is when it is a number or a link rather than words: "手机号码", "电话号码", "身份证号码",
    "网址", "诉求编号" or "数字"; None for anything else.

    Such a message is no description of a problem, no place and no enterprise name, whatever its length: the
    dialog asks again instead of storing it.
    """
    clean = normalize(text)
    compact = re.sub(r"[\s\-()（）]", "", clean)
    if not compact:
        return None
    if normalize_mobile(clean) is not None:
        return "手机号码"
    if _ID_CARD.fullmatch(compact):
        return "身份证号码"
    if _LANDLINE.fullmatch(compact) and len(compact) >= 7:
        return "电话号码"
    if _PETITION_NUMBER.fullmatch(compact):
        return "诉求编号"
    if _URL.fullmatch(clean):
        return "网址"
    if _NUMBER_ONLY.fullmatch(clean):
        return "数字"
    return None


def mask_mobile(number: str) -> str:
    """138****5678: enough for the citizen to recognise the number without showing it whole in chat."""
    return f"{number[:3]}****{number[-4:]}" if len(number) == 11 else number


# How people write the ten districts. Full names are unambiguous anywhere in an address; the short forms
# only at its start, because Qingdao names streets after places (崂山路, 城阳路 …).
DISTRICT_NAMES: dict[str, tuple[str, ...]] = {
    "shinan": ("市南区",),
    "shibei": ("市北区", "四方区"),
    "licang": ("李沧区",),
    "laoshan": ("崂山区",),
    "huangdao": ("黄岛区", "西海岸新区"),
    "chengyang": ("城阳区",),
    "jimo": ("即墨区", "即墨市"),
    "jiaozhou": ("胶州市",),
    "pingdu": ("平度市",),
    "laixi": ("莱西市",),
}
DISTRICT_SHORT_NAMES: dict[str, tuple[str, ...]] = {
    "shinan": ("市南",),
    "shibei": ("市北",),
    "licang": ("李沧",),
    "laoshan": ("崂山",),
    "huangdao": ("黄岛", "西海岸"),
    "chengyang": ("城阳",),
    "jimo": ("即墨",),
    "jiaozhou": ("胶州",),
    "pingdu": ("平度",),
    "laixi": ("莱西",),
}
_STREET_SUFFIXES = ("路", "街", "道", "大道", "巷", "广场", "大厦", "小区")

# Places that are certainly not Qingdao when written as a province or city (with 省/市/…), so that the
# many Qingdao streets named after them (北京路, 济南路, 香港中路) are not mistaken for them.
PROVINCES = (
    "河北",
    "山西",
    "辽宁",
    "吉林",
    "黑龙江",
    "江苏",
    "浙江",
    "安徽",
    "福建",
    "江西",
    "河南",
    "湖北",
    "湖南",
    "广东",
    "海南",
    "四川",
    "贵州",
    "云南",
    "陕西",
    "甘肃",
    "青海",
    "台湾",
)
AUTONOMOUS_REGIONS = ("内蒙古", "广西", "西藏", "宁夏", "新疆", "香港", "澳门")
OTHER_CITIES = (
    "北京", "天津", "上海", "重庆",
    # Shandong's other prefecture-level cities.
    "济南", "淄博", "枣庄", "东营", "烟台", "潍坊", "济宁", "泰安", "威海", "日照", "临沂", "德州", "聊城",
    "滨州", "菏泽",
    # Provincial capitals and other large cities.
    "石家庄", "太原", "呼和浩特", "沈阳", "大连", "长春", "哈尔滨", "南京", "苏州", "无锡", "杭州", "宁波",
    "合肥", "福州", "厦门", "南昌", "郑州", "武汉", "长沙", "广州", "深圳", "南宁", "海口", "成都", "贵阳",
    "昆明", "拉萨", "西安", "兰州", "西宁", "银川", "乌鲁木齐",
)  # fmt: skip
_REGION_SUFFIX = re.compile("省|自治区|壮族自治区|回族自治区|维吾尔自治区|特别行政区")
_STREET_AFTER_NAME = re.compile("[东西南北中支一二三]?(?:" + "|".join(_STREET_SUFFIXES) + ")")


def _outside_qingdao(address: str) -> bool:
    for name in PROVINCES + AUTONOMOUS_REGIONS:
        at = address.find(name)
        if at < 0:
            continue
        after = address[at + len(name) :]
        if _REGION_SUFFIX.match(after) or (at == 0 and not _STREET_AFTER_NAME.match(after)):
            return True
    return any(f"{name}市" in address for name in OTHER_CITIES)


_PREFIXES = ("中国", "山东省", "山东", "青岛市", "青岛")

# A rectangle around Qingdao's land area (south-west Huangdao to north Laixi, west Pingdu to east Laoshan).
QINGDAO_LATITUDE = (35.35, 37.15)
QINGDAO_LONGITUDE = (119.5, 121.0)


class Whereabouts(StrEnum):
    """Where an address lies relative to the account the citizen is writing to."""

    HERE = "here"
    OTHER_DISTRICT = "other_district"
    OUTSIDE_QINGDAO = "outside_qingdao"


@dataclass(frozen=True)
class AddressVerdict:
    """The verdict on an address: where it lies and, for another Qingdao district, which one."""

    whereabouts: Whereabouts
    # For OTHER_DISTRICT: the district the address names.
    district_code: str | None = None


def _named_district(address: str) -> str | None:
    for code, names in DISTRICT_NAMES.items():
        if any(name in address for name in names):
            return code
    rest = address
    changed = True
    while changed:
        changed = False
        for prefix in _PREFIXES:
            if rest.startswith(prefix):
                rest = rest[len(prefix) :]
                changed = True
    for code, names in DISTRICT_SHORT_NAMES.items():
        for name in names:
            if rest.startswith(name) and not _STREET_AFTER_NAME.match(rest[len(name) :]):
                return code
    return None


def locate_address(
    address: str,
    district_code: str,
    latitude: float | None = None,
    longitude: float | None = None,
) -> AddressVerdict:
    """Whether `address` (typed, or a location message's label and coordinates) is in `district_code`.

    An address that names no district is taken to be in the account's own district: most people write
    "香港中路10号" without the district. Coordinates outside Qingdao's bounding box are decisive.
    """
    if latitude is not None and longitude is not None:
        inside = (
            QINGDAO_LATITUDE[0] <= latitude <= QINGDAO_LATITUDE[1]
            and QINGDAO_LONGITUDE[0] <= longitude <= QINGDAO_LONGITUDE[1]
        )
        if not inside:
            return AddressVerdict(Whereabouts.OUTSIDE_QINGDAO)
    text = re.sub(r"\s", "", normalize(address))
    named = _named_district(text)
    if named is None and "青岛" not in text and _outside_qingdao(text):
        return AddressVerdict(Whereabouts.OUTSIDE_QINGDAO)
    if named is None or named == district_code:
        return AddressVerdict(Whereabouts.HERE)
    return AddressVerdict(Whereabouts.OTHER_DISTRICT, named)
