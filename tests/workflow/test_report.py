"""`qingsu report monthly` (`workflow.report`): the workbook opens with openpyxl, a sheet per table with a frozen
header and percentages; a crafted month's figures are the hand-counted ones, its edges taken in Qingdao time; a bad
month or district exits with status 2, says why, and writes nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Evaluation, Petition, Reply, Unit
from models.enums import DeptType, ReplyState, Resolution, Satisfaction, UnitLevel
from tests.factories import make_district, make_petition, make_unit
from tests.workflow.test_hot_issues import LAMP
from workflow.report import month_span, parse_month

SH = dt.timezone(dt.timedelta(hours=8))
OCT_10 = dt.datetime(2026, 10, 10, 10, tzinfo=SH)
OCT_1_0030 = dt.datetime(2026, 10, 1, 0, 30, tzinfo=SH)  # September 30th in UTC: October in Qingdao
NOV_1_0030 = dt.datetime(2026, 11, 1, 0, 30, tzinfo=SH)  # October 31st in UTC: November in Qingdao
SHEETS = [
    "概况",
    "三率-区(市)",
    "三率-承办单位",
    "三率-诉求类型",
    "诉求量-区(市)",
    "按期与超期-区(市)",
    "按期与超期-承办单位",
    "热点",
    "热点问题",
    "二次办理-区(市)",
    "二次办理-承办单位",
]


def rated(
    session: Session,
    unit: Unit,
    at: dt.datetime,
    *,
    resolved: bool = True,
    satisfied: bool = True,
    on_time: bool = True,
    district: str = "shinan",
) -> Petition:
    """A petition created a few days before `at`, whose reply by `unit` was sent and rated at `at`."""
    petition = make_petition(
        session,
        district_code=district,
        now=at - dt.timedelta(days=3),
        suggestion={"departments": [{"type": "urban_mgmt", "score": 0.9}], "terms": ["噪音"]},
    )
    session.add(Reply(petition_id=petition.id, unit_id=unit.id, petitioner_info="-", policy_basis="-", result="-",
                      responsible_person="-", contact_phone="-", state=ReplyState.SENT, sent_at=at, on_time=on_time))
    session.add(Evaluation(
        petition_id=petition.id, handling_round=1, unit_id=unit.id, created_at=at,
        satisfaction=Satisfaction.SATISFIED if satisfied else Satisfaction.UNSATISFIED,
        resolution=Resolution.RESOLVED if resolved else Resolution.UNRESOLVED,
    ))  # fmt: skip
    session.flush()
    return petition


@pytest.fixture
def october(db_session: Session) -> dict[str, Any]:
    """市南区: four rated in October (3 resolved, 2 satisfied, 3 replies on time), one of them at 00:30 on October
    1st; one more at 00:30 on November 1st (not October). 崂山区: two rated in October, both fine."""
    make_district(db_session, "shinan")
    make_district(db_session, "laoshan")
    urban = make_unit(db_session, dept_type=DeptType.URBAN_MGMT, name="市南区城市管理局")
    laoshan = make_unit(db_session, dept_type=DeptType.URBAN_MGMT, district_code="laoshan", name="崂山区城市管理局")
    rated(db_session, urban, OCT_1_0030)
    rated(db_session, urban, OCT_10, satisfied=False)
    rated(db_session, urban, OCT_10, resolved=False, satisfied=False, on_time=False)
    rated(db_session, urban, OCT_10 + dt.timedelta(days=5))
    rated(db_session, urban, NOV_1_0030, resolved=False, on_time=False)
    for _ in range(2):
        rated(db_session, laoshan, OCT_10, district="laoshan")
    db_session.commit()
    return {"urban": urban, "laoshan": laoshan}


def run(runner, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(args=["report", "monthly", *args])


def rows(sheet: Any) -> list[list[Any]]:
    return [list(row) for row in sheet.iter_rows(min_row=2, values_only=True)]


def test_the_workbook_of_a_crafted_month_has_the_hand_counted_figures(runner, october, tmp_path: Path):
    out = tmp_path / "october.xlsx"
    result = run(runner, "--month", "2026-10", "--out", str(out))
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == SHEETS

    by_district = {row[0]: row[1:] for row in rows(book["三率-区(市)"])}
    # rated, resolution, satisfaction, replies, on time
    assert by_district["市南区"] == [4, 0.75, 0.5, 4, 0.75]
    assert by_district["崂山区"] == [2, 1.0, 1.0, 2, 1.0]
    assert by_district["合计"] == [6, 5 / 6, 4 / 6, 6, 5 / 6]
    units = {row[0]: row[1:] for row in rows(book["三率-承办单位"])}
    assert units["市南区城市管理局"] == ["市南区", 4, 0.75, 0.5, 4, 0.75]
    late = {row[0]: row[1:] for row in rows(book["按期与超期-区(市)"])}
    assert late["市南区"] == [4, 3, 1, 0.75]
    second = {row[0]: row[1:] for row in rows(book["二次办理-区(市)"])}
    assert second == {"市南区": [2, 0, 0]}
    overview = dict(rows(book["概况"]))
    assert overview["转二次办理（件）"] == 2 and overview["解决率"] == 5 / 6
    hot = rows(book["热点"])
    # Petitions created in October (three days before each rating): not the one rated on 1 October (created in
    # September), but the one rated on 1 November.
    assert hot == [[DeptType.URBAN_MGMT.label, 6]]


def test_the_workbook_has_frozen_headers_percentages_and_widths(runner, october, tmp_path: Path):
    out = tmp_path / "october.xlsx"
    assert run(runner, "--month", "2026-10", "--out", str(out)).exit_code == 0
    book = openpyxl.load_workbook(out)
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2"
        assert sheet["A1"].font.bold
        assert sheet.column_dimensions["A"].width >= 10
    rates = book["三率-区(市)"]
    assert [c.value for c in rates[1]] == ["区(市)", "评价件数", "解决率", "满意率", "答复件数", "按期办结率"]
    assert rates["C2"].number_format == "0.00%" and rates["B2"].number_format == "#,##0"
    overview = {row[0].value: row[1] for row in book["概况"].iter_rows(min_row=2)}
    assert overview["解决率"].number_format == "0.00%"


def test_one_districts_report_has_that_district_only(runner, october, tmp_path: Path):
    out = tmp_path / "laoshan.xlsx"
    result = run(runner, "--month", "2026-10", "--district", "laoshan", "--out", str(out))
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(out)
    assert [row[0] for row in rows(book["三率-区(市)"])] == ["崂山区", "合计"]
    assert [row[0] for row in rows(book["三率-承办单位"])] == ["崂山区城市管理局"]
    assert dict(rows(book["概况"]))["范围"] == "崂山区"


@pytest.mark.parametrize(
    ("month", "message"),
    [
        ("2026-13", "不存在"),
        ("2026-00", "不存在"),
        ("2026/11", "YYYY-MM"),
        ("26-11", "YYYY-MM"),
        ("november", "YYYY-MM"),
        ("1900-01", "超出范围"),
    ],
)
def test_a_bad_month_exits_with_status_2_says_why_and_writes_nothing(runner, tmp_path: Path, month, message):
    out = tmp_path / "bad.xlsx"
    result = run(runner, "--month", month, "--out", str(out))
    assert result.exit_code == 2
    assert message in result.output
    assert not out.exists()


def test_a_missing_month_or_an_unknown_district_exits_with_status_2(runner, db_session, tmp_path: Path):
    out = tmp_path / "bad.xlsx"
    assert run(runner, "--out", str(out)).exit_code == 2
    make_district(db_session, "shinan")
    db_session.commit()
    result = run(runner, "--month", "2026-10", "--district", "atlantis", "--out", str(out))
    assert result.exit_code == 2 and "atlantis" in result.output
    assert not out.exists()


def test_a_month_is_its_local_days():
    start, end = month_span("2026-12", "Asia/Shanghai")
    assert start == dt.datetime(2026, 11, 30, 16, tzinfo=dt.UTC)
    assert end == dt.datetime(2026, 12, 31, 16, tzinfo=dt.UTC)
    assert parse_month("2026-02") == (2026, 2)


def test_an_empty_month_writes_a_workbook_of_empty_tables(runner, db_session, tmp_path: Path):
    make_district(db_session, "shinan")
    db_session.commit()
    out = tmp_path / "empty.xlsx"
    assert run(runner, "--month", "2025-01", "--out", str(out)).exit_code == 0
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == SHEETS
    assert rows(book["三率-承办单位"]) == []
    assert dict(rows(book["概况"]))["解决率"] is None
    assert db_session.scalars(select(Unit).where(Unit.level == UnitLevel.DISTRICT_PLATFORM)).first() is not None


def test_the_months_hot_issues_are_its_petitions_clustered_as_the_dashboards_are(
    runner, db_session: Session, tmp_path: Path
):
    """Rule (issue 14, monthly report): the hot issues handed upward are the month's petitions clustered by meaning
    and place (`workflow.hot_issues.issues_between`): eight differently worded reports of one street lamp in October
    are one hot issue of 8; the same report in September and an unrelated one are not in it."""
    make_district(db_session, "shinan")
    lamps = [
        make_petition(db_session, district_code="shinan", content=text, now=OCT_10 + dt.timedelta(hours=k))
        for k, text in enumerate(LAMP)
    ]
    make_petition(db_session, district_code="shinan", content=LAMP[0], now=OCT_1_0030 - dt.timedelta(days=2))
    make_petition(db_session, district_code="shinan", content="单位拖欠工资三个月了，老板一直不给", now=OCT_10)
    for p in lamps:
        p.dept_type = DeptType.URBAN_MGMT
    db_session.commit()
    out = tmp_path / "october.xlsx"
    assert run(runner, "--month", "2026-10", "--out", str(out)).exit_code == 0
    [issue] = rows(openpyxl.load_workbook(out)["热点问题"])
    title, size, dept, _street, districts, _terms, first, last, numbers = issue
    assert size == 8 and dept == DeptType.URBAN_MGMT.label and districts == "市南区"
    assert "路灯" in title and (first, last) == ("2026-10-10", "2026-10-10")
    assert sorted(numbers.split()) == sorted(p.number for p in lamps)
