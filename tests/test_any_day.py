"""The suite knows no calendar: the date-sensitive tests pass whatever day the clock starts on (issue 10).

Every test starts at `QINGSU_TEST_NOW` (tests/conftest.py). This test runs the parts of the suite that read days —
deadlines, lights, the jobs, the calendar and its changes, the tallies, the dashboard, rating in chat — again in a
fresh pytest process starting on other days: a holiday week the calendar knows (National Day 2026), a Spring Festival
of a year nobody has confirmed yet (2027, counted by the statutory fallback), and the last half hour of a year.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# In two parts of about the same length (a minute each on PostgreSQL), so that parallel workers share them.
DATE_SENSITIVE = {
    "calendar and lights": (
        "tests/workflow/test_deadlines.py",
        "tests/workflow/test_calendar.py",
        "tests/workflow/test_calendar_changes.py",
        "tests/workflow/test_lights.py",
        "tests/workflow/test_light_counts.py",
        "tests/workflow/test_lights_job.py",
    ),
    "jobs, tallies and rating": (
        "tests/workflow/test_jobs.py",
        "tests/workflow/test_tallies.py",
        "tests/workflow/test_extension_caps.py",
        "tests/admin_web/test_dashboard.py",
        "tests/bot/test_dialog_rating.py",
    ),
}
DAYS = ("2026-10-02T10:00+08:00", "2027-02-10T10:00+08:00", "2026-12-31T23:30+08:00")


@pytest.mark.skipif(
    bool(os.environ.get("QINGSU_TEST_NOW")), reason="already running on a chosen day (this test chooses its own)"
)
@pytest.mark.parametrize("part", DATE_SENSITIVE)
@pytest.mark.parametrize("day", DAYS)
def test_the_date_sensitive_tests_pass_on_any_day(day: str, part: str) -> None:
    env = {**os.environ, "QINGSU_TEST_NOW": day}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", *DATE_SENSITIVE[part]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
