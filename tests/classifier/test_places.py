"""The gazetteer of Qingdao's streets and towns: the place a petition names, read in the petition's own district."""

from __future__ import annotations

import csv

import pytest

from classifier.places import GAZETTEER, QINGDAO_DISTRICTS, Place, community_key, locate


@pytest.mark.parametrize(
    ("text", "district", "expected"),
    [
        ("香港中路上一家饭店油烟太大", "shinan", Place("shinan", "香港中路街道")),
        ("市南区香港中路一家饭店油烟太大", None, Place("shinan", "香港中路街道")),
        ("汇泉湾边上的路灯坏了", "shinan", Place("shinan", "八大关街道")),
        ("李村大集门口占道经营", "licang", Place("licang", "李村街道")),
        ("王哥庄的民宿乱收费", None, Place("laoshan", "王哥庄街道")),
        ("平度市大泽山镇葡萄园的路没修", None, Place("pingdu", "大泽山镇")),
        # 长江路 is a street in 黄岛区; read in 市南区 it names no street there.
        ("长江路上的井盖丢了", "huangdao", Place("huangdao", "长江路街道")),
        ("长江路上的井盖丢了", "shinan", None),
        ("小区楼下烧烤摊油烟扰民", "shinan", None),
    ],
)
def test_locate_finds_the_street_in_the_petitions_district(
    text: str, district: str | None, expected: Place | None
) -> None:
    assert locate(text, district) == expected


def test_a_community_unit_of_the_district_is_found_by_its_short_name() -> None:
    communities = ["太平角社区", "汇泉社区"]
    assert locate("太平角那边的路灯不亮", "shinan", communities) == Place("shinan", "八大关街道", "太平角社区")
    assert community_key("东李村民委员会") == "东李"
    assert locate("东李的垃圾没人清", "licang", ["东李村民委员会"]) == Place("licang", None, "东李村民委员会")


def test_the_gazetteer_covers_every_district_and_is_well_formed() -> None:
    with GAZETTEER.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["district"] for row in rows} == set(QINGDAO_DISTRICTS)
    assert all(row["street"].endswith(("街道", "镇")) for row in rows)
    assert all(row["street"] in row["names"].split("|") for row in rows)
    assert len({row["street"] for row in rows}) == len(rows)
