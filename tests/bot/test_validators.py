"""What citizens type, checked: credit codes (GB 32100-2015), mobile numbers, and where an address lies."""

from __future__ import annotations

import pytest

from bot.validators import (
    CREDIT_CODE_ALPHABET,
    Whereabouts,
    credit_code_check_char,
    locate_address,
    mask_mobile,
    normalize_credit_code,
    normalize_mobile,
    not_words,
)

# Codes with correct check characters; the first is the example in GB 32100-2015 itself.
VALID_CODES = ["91350100M000100Y43", "91110000600037341L", "91370200163562681G", "11100000000013127D"]


@pytest.mark.parametrize("code", VALID_CODES)
def test_published_credit_codes_pass_the_check(code):
    assert normalize_credit_code(code) == code


@pytest.mark.parametrize("code", VALID_CODES)
def test_every_other_check_character_is_refused(code):
    for wrong in CREDIT_CODE_ALPHABET.replace(code[-1], ""):
        assert normalize_credit_code(code[:-1] + wrong) is None


def test_one_changed_character_in_the_body_is_caught():
    code = VALID_CODES[0]
    assert normalize_credit_code(code[:5] + ("1" if code[5] != "1" else "2") + code[6:]) is None


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("91350100m000100y43", "91350100M000100Y43"),  # lower case
        (" 9135 0100 M000 100Y43 ", "91350100M000100Y43"),  # spaced as printed
        ("９１３５０１００Ｍ０００１００Ｙ４３", "91350100M000100Y43"),  # full-width input method
        ("91350100M000100Y4", None),  # 17 characters
        ("91350100M000100Y433", None),  # 19 characters
        ("91350100I000100Y43", None),  # I is not in the alphabet
        ("", None),
    ],
)
def test_credit_code_input_forms(typed, expected):
    assert normalize_credit_code(typed) == expected


def test_check_char_refuses_a_wrong_length():
    with pytest.raises(ValueError):
        credit_code_check_char("123")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("8613812345678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),
        ("19912345678", "19912345678"),
        ("12812345678", None),  # no 12x mobile prefix
        ("1381234567", None),  # 10 digits
        ("138123456789", None),  # 12 digits
        ("0532-88886666", None),  # a landline
        ("phone", None),
    ],
)
def test_mainland_mobile_numbers(typed, expected):
    assert normalize_mobile(typed) == expected


def test_mobile_mask_keeps_the_ends():
    assert mask_mobile("13812345678") == "138****5678"


@pytest.mark.parametrize(
    ("address", "whereabouts", "district"),
    [
        ("香港中路10号", Whereabouts.HERE, None),
        ("市南区香港中路10号", Whereabouts.HERE, None),
        ("山东省青岛市市南区南京路", Whereabouts.HERE, None),
        # Qingdao streets named after other places are Qingdao streets.
        ("北京路5号", Whereabouts.HERE, None),
        ("新疆路10号", Whereabouts.HERE, None),
        ("江西路", Whereabouts.HERE, None),
        ("崂山路3号", Whereabouts.HERE, None),
        ("市北区辽宁路100号", Whereabouts.OTHER_DISTRICT, "shibei"),
        ("青岛市崂山区松岭路", Whereabouts.OTHER_DISTRICT, "laoshan"),
        ("西海岸新区长江中路", Whereabouts.OTHER_DISTRICT, "huangdao"),
        ("黄岛长江路", Whereabouts.OTHER_DISTRICT, "huangdao"),
        ("城阳正阳路", Whereabouts.OTHER_DISTRICT, "chengyang"),
        ("胶州市澳门路", Whereabouts.OTHER_DISTRICT, "jiaozhou"),
        ("北京市朝阳区", Whereabouts.OUTSIDE_QINGDAO, None),
        ("济南市历下区", Whereabouts.OUTSIDE_QINGDAO, None),
        ("江苏南京鼓楼区", Whereabouts.OUTSIDE_QINGDAO, None),
        ("浙江省杭州市西湖区", Whereabouts.OUTSIDE_QINGDAO, None),
        ("新疆维吾尔自治区乌鲁木齐", Whereabouts.OUTSIDE_QINGDAO, None),
    ],
)
def test_where_an_address_lies_from_shinan(address, whereabouts, district):
    verdict = locate_address(address, "shinan")
    assert (verdict.whereabouts, verdict.district_code) == (whereabouts, district)


def test_coordinates_outside_qingdao_decide_even_with_a_qingdao_label():
    assert locate_address("青岛市市南区", "shinan", 39.9, 116.4).whereabouts == Whereabouts.OUTSIDE_QINGDAO
    assert locate_address("香港中路", "shinan", 36.06, 120.38).whereabouts == Whereabouts.HERE


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("13900001111", "手机号码"),
        ("139 0000 1111", "手机号码"),
        ("+86 139-0000-1111", "手机号码"),
        ("370202199001011234", "身份证号码"),
        ("37020219900101123x", "身份证号码"),
        ("0532-88886666", "电话号码"),
        ("88886666", "电话号码"),
        ("https://example.org/a?b=1", "网址"),
        ("www.example.com", "网址"),
        ("example.gov.cn", "网址"),
        ("SN202611270001", "诉求编号"),
        ("123", "数字"),
        ("12.5", "数字"),
        ("１２３４", "数字"),
    ],
)
def test_numbers_and_links_are_not_words(text, what):
    assert not_words(text) == what


@pytest.mark.parametrize(
    "text", ["香港中路10号", "小区噪音", "1号楼2单元", "青岛海川食品有限公司", "拨打13900001111没人接，小区停水三天了", ""]
)
def test_words_are_words(text):
    assert not_words(text) is None
