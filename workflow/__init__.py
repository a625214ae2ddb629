"""The petition lifecycle, routing, calendar, deadlines, lights, notifications and scheduled jobs.

Business rules live here and nowhere else: the bot, the admin site, the API and the scheduler call these functions.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Put the configured extension caps into the app's sessions, register the workflow's commands (`qingsu
    calendar …`, `qingsu scheduler`, `qingsu tallies …`, `qingsu report monthly`) and, if configured, the embedded scheduler."""
    from workflow import extensions, scheduler
    from workflow.calendar_cli import calendar_group
    from workflow.report import report_group
    from workflow.tallies import tallies_group

    extensions.init_app(app)
    app.cli.add_command(calendar_group)
    app.cli.add_command(tallies_group)
    app.cli.add_command(report_group)
    scheduler.init_app(app)
