"""Accuracy on the project's own corpus: the shipped `classifier/data/corpus_*.csv`, one figure per department type.

The same pipeline as the Taidi benchmark and the served model (`classifier.pipeline.build_pipeline`), stratified
5-fold CV over the corpus's department rows (admissible rows with a department type; the validation rows included,
since each fold refits everything).
"""

from __future__ import annotations

from collections.abc import Callable

from classifier.corpus import load_corpus
from classifier.evaluate import cross_validate
from models.enums import DeptType

FOLDS = 5


def test_five_fold_cv_on_the_shipped_corpus_per_department_type(record: Callable[..., None]) -> None:
    rows = [e for e in load_corpus() if e.dept_type and not e.inadmissible]
    report = cross_validate([e.text for e in rows], [e.dept_type or "" for e in rows], folds=FOLDS)
    section = "Shipped corpus, 5-fold stratified CV per department type (production pipeline)"
    record(section, f"all {report.n} department rows: macro-F1", f"{report.macro_f1:.4f}")
    record(section, "accuracy", f"{report.accuracy:.4f}")
    for label, figures in sorted(report.per_class.items(), key=lambda item: item[1].f1):
        record(
            section,
            f"{label} {DeptType(label).label} (n={figures.support}): precision / recall / F1",
            f"{figures.precision:.3f} / {figures.recall:.3f} / {figures.f1:.3f}",
        )
    record(section, "time for 5 folds", f"{report.seconds:.0f} s")
    # Every department type is learnt: none is missed wholesale.
    assert min(figures.f1 for figures in report.per_class.values()) > 0.5
