"""`qingsu scheduler run-once JOB`: one job, once, and one line saying what it did."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from workflow.jobs import LightsReport
from workflow.outbox import DeliveryReport
from workflow.scheduler import JOBS, rows_touched


def test_run_once_runs_the_job_and_prints_one_line(app):
    result = app.test_cli_runner().invoke(args=["scheduler", "run-once", "recompute_lights"])
    assert result.exit_code == 0, result.output
    assert re.fullmatch(r"recompute_lights: 0 rows in \d+\.\d\d s\n", result.output)


def test_run_once_counts_the_rows_of_the_jobs_report(app, runner):
    # Generated petitions give the jobs something to look at; each job prints its own count.
    for job in ("recompute_lights", "expire_conversations", "daily_summary"):
        result = runner.invoke(args=["scheduler", "run-once", job])
        assert result.exit_code == 0, result.output
        assert re.fullmatch(rf"{job}: \d+ rows in \d+\.\d\d s\n", result.output)


def test_an_unknown_job_is_refused_with_the_names(app):
    result = app.test_cli_runner().invoke(args=["scheduler", "run-once", "recompute_light"])
    assert result.exit_code == 2
    assert "recompute_light" in result.output
    for name in JOBS:
        assert name in result.output


def test_the_scheduler_command_still_runs_the_scheduler_without_a_subcommand(app):
    result = app.test_cli_runner().invoke(args=["scheduler", "--help"])
    assert result.exit_code == 0 and "standby" in result.output and "run-once" in result.output


@dataclass
class _Other:
    flag: bool = True
    count: int = 3
    name: str = "x"


@pytest.mark.parametrize(
    ("report", "rows"),
    [
        (None, 0),
        (7, 7),
        (LightsReport(changed=4, yellow_reminders=2, red_alerts=1), 7),
        (DeliveryReport(sent=3, dead=1), 4),
        ({"wx1": None, "wx2": "error"}, 2),
        (_Other(), 3),
    ],
)
def test_rows_touched_sums_the_counts_of_a_report(report, rows):
    assert rows_touched(report) == rows


def test_a_report_that_counts_nothing_is_an_error():
    with pytest.raises(TypeError):
        rows_touched(1.5)
