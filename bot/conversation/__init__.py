"""The chat dialog: reporting a petition step by step, "my petitions", progress and rating.

The dialog's state lives in the citizen's `Conversation` row (flow, step, data), so any worker process can
continue it after a restart. The step machinery, the entry points and the idle state are in `steps`; each flow is a
mixin of its own module (`report`, `petitions`, `rating`), and `Dialog` puts them together.

Business rules are not decided here: submitting and rating go through `workflow.intake` and `workflow.engine`.
"""

from __future__ import annotations

from bot.conversation.petitions import PetitionsFlow
from bot.conversation.rating import RATE_STEPS, RatingFlow
from bot.conversation.report import REPORT_STEPS, ReportFlow
from bot.conversation.steps import RATE, REPORT, DialogBase, command_form


class Dialog(ReportFlow, PetitionsFlow, RatingFlow, DialogBase):
    """One citizen's conversation with one district account, for the length of one inbound message (see
    `DialogBase`); the webhook commits."""

    FLOWS = {REPORT: REPORT_STEPS, RATE: RATE_STEPS}


__all__ = ["Dialog", "command_form"]
