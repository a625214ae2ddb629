"""Suggestions for dispatchers: department types, nature, 发展, admissibility, and the terms behind them.

jieba + scikit-learn, trained on the corpus shipped in `classifier/data/` (and, with `qingsu classifier train
--from-db`, on dispatchers' confirmed routings). `screen()` is the rules-only admissibility check the chat bot runs
on every description; `suggest_if_trained()` is the full suggestion stored on each petition taken in during a
request (it never trains), `get_suggester()` the model for the CLI and jobs (it trains the default if missing).
"""

from __future__ import annotations

from flask import Flask

from classifier.errors import ClassifierError, DataError, ModelError
from classifier.lifecycle import get_suggester, suggest_if_trained
from classifier.screening import Screening, screen
from classifier.stats import acceptance_stats
from classifier.suggest import Suggester, Suggestion

__all__ = [
    "ClassifierError",
    "DataError",
    "ModelError",
    "Screening",
    "Suggester",
    "Suggestion",
    "acceptance_stats",
    "get_suggester",
    "init_app",
    "screen",
    "suggest_if_trained",
]


def init_app(app: Flask) -> None:
    """Register the `qingsu classifier` commands. The model is loaded lazily by `get_suggester`, not here."""
    from classifier.cli import classifier_group

    app.cli.add_command(classifier_group)
