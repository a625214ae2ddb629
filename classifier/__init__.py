"""Suggestions for dispatchers: department types, nature, 发展, admissibility, and the terms behind them.

jieba + scikit-learn, trained on the corpus shipped in `classifier/data/` (and, with `qingsu classifier train
--from-db`, on dispatchers' confirmed routings). `screen()` is the rules-only admissibility check the chat bot runs
on every description; `get_suggester().suggest()` is the full suggestion stored on each petition.
"""

from __future__ import annotations

from flask import Flask

from classifier.errors import ClassifierError, DataError, ModelError
from classifier.lifecycle import get_suggester
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
]


def init_app(app: Flask) -> None:
    """Register the `qingsu classifier` commands. The model is loaded lazily by `get_suggester`, not here."""
    from classifier.cli import classifier_group

    app.cli.add_command(classifier_group)
