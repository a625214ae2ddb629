"""Stratified k-fold cross-validation of the pipeline on any labelled texts (`qingsu classifier eval`, benchmarks)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline

from classifier.errors import DataError
from classifier.pipeline import build_pipeline


@dataclass(frozen=True)
class ClassFigures:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class EvalReport:
    """The figures of one cross-validation run."""

    n: int
    folds: int
    accuracy: float
    macro_f1: float
    per_class: dict[str, ClassFigures]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """The JSON object printed as the last line of `qingsu classifier eval --json`."""
        return {
            "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
            "n": self.n,
            "folds": self.folds,
            "seconds": round(self.seconds, 1),
            "per_class": {
                label: {
                    "precision": round(c.precision, 4),
                    "recall": round(c.recall, 4),
                    "f1": round(c.f1, 4),
                    "support": c.support,
                }
                for label, c in self.per_class.items()
            },
        }


def cross_validate(
    texts: Sequence[str],
    labels: Sequence[str],
    folds: int = 5,
    seed: int = 0,
    on_fold: Callable[[int, float], None] | None = None,
    build: Callable[[Sequence[str]], Pipeline] = build_pipeline,
) -> EvalReport:
    """Stratified k-fold cross-validation: the whole pipeline (vocabulary included) is refitted in every fold.

    `on_fold(fold_number, seconds)` is called after each fold (progress for the command line); `build(labels)`
    makes the pipeline (the production one unless a benchmark compares a variant).

    :raises DataError: fewer than 2 folds, fewer than two classes, or a class with fewer examples than folds.
    """
    if folds < 2:
        raise DataError(f"--folds must be at least 2, got {folds}")
    if len(texts) != len(labels) or not texts:
        raise DataError("no labelled text to evaluate")
    counts = Counter(labels)
    if len(counts) < 2:
        raise DataError(f"need at least two classes, found {len(counts)}")
    rare = sorted(label for label, count in counts.items() if count < folds)
    if rare:
        raise DataError(
            f"class(es) with fewer than {folds} examples, too few for {folds}-fold CV: {', '.join(rare)}"
        )
    started = time.perf_counter()
    x = np.asarray(texts, dtype=object)
    y = np.asarray(labels, dtype=object)
    predicted = np.empty(len(y), dtype=object)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for number, (train, test) in enumerate(splitter.split(x, y), start=1):
        fold_started = time.perf_counter()
        pipeline = build(y[train].tolist()).fit(x[train].tolist(), y[train].tolist())
        predicted[test] = pipeline.predict(x[test].tolist())
        if on_fold is not None:
            on_fold(number, time.perf_counter() - fold_started)
    classes = sorted(counts)
    precision, recall, f1, support = precision_recall_fscore_support(
        y, predicted, labels=classes, zero_division=0
    )
    return EvalReport(
        n=len(y),
        folds=folds,
        accuracy=float(accuracy_score(y, predicted)),
        macro_f1=float(f1_score(y, predicted, labels=classes, average="macro", zero_division=0)),
        per_class={
            label: ClassFigures(float(p), float(r), float(f), int(s))
            for label, p, r, f, s in zip(classes, precision, recall, f1, support, strict=True)
        },
        seconds=time.perf_counter() - started,
    )
