"""The monthly report on the demo data (`qingsu seed-demo` in demo mode): the workbook the dashboard offers and the
one `qingsu report monthly` writes both equal the dashboard's figures for the month of the demo petitions."""

from __future__ import annotations

import io
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import select

from models import User, utcnow
from qingsu.config import EXAMPLE_CONFIG, load_toml
from tests.admin_web.test_monthly_report import assert_report_equals_dashboard, workbook_rows
from tests.conftest import make_test_config
from workflow.tallies import refresh_tallies


@pytest.fixture
def app_config(tmp_path: Path):
    with EXAMPLE_CONFIG.open("rb") as fp:
        accounts = load_toml(fp)["ACCOUNTS"]
    # No model file: the demo petitions go in without suggestions (training one is not what this test is about).
    return make_test_config(tmp_path, tmp_path / "no-model" / "classifier.joblib", DEMO=True, ACCOUNTS=accounts)


@pytest.mark.parametrize("tallied", [False, True], ids=["live", "tallied"])
def test_the_demo_months_report_equals_the_dashboard(app, runner, db_session, login_as, tmp_path: Path, tallied):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    if tallied:
        refresh_tallies(app, utcnow())
    today = utcnow().astimezone(ZoneInfo("Asia/Shanghai")).date()
    month, first, last = today.strftime("%Y-%m"), today.replace(day=1).isoformat(), today.isoformat()
    leader = db_session.scalars(select(User).where(User.username == "city_dispatcher")).one()
    client = login_as(leader)
    book = assert_report_equals_dashboard(client, month, first, last)
    assert sum(row[0] for key, row in workbook_rows(book, "三率-区(市)").items() if key != "合计") > 0

    out = tmp_path / "demo.xlsx"
    result = runner.invoke(args=["report", "monthly", "--month", month, "--out", str(out)])
    assert result.exit_code == 0, result.output
    written = openpyxl.load_workbook(out)
    downloaded = openpyxl.load_workbook(io.BytesIO(client.get(f"/admin/dashboard/report.xlsx?month={month}").data))
    for name in written.sheetnames:
        assert list(written[name].values) == list(downloaded[name].values), name
