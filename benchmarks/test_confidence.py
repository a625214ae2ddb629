"""How far the suggestion's confidence can be trusted: the 不确定 threshold chosen on the fixed validation set.

The served model never trains on the shipped corpus's validation rows (`classifier.corpus.split_validation`); the
model trained on the rest ranks them, and each pair of thresholds (first probability below B, or a lead over the
second below M → 不确定) gives a coverage (share of suggestions shown as sure) and a precision (share of those whose
first department is right). The rule: the largest coverage with a precision of at least TARGET_PRECISION, the higher
thresholds on a tie. The constants in `classifier/suggest.py` must be the ones chosen here.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from classifier.corpus import load_corpus, split_validation
from classifier.model import train
from classifier.suggest import UNCERTAIN_BELOW, UNCERTAIN_MARGIN, Suggester, is_uncertain

TARGET_PRECISION = 0.85
BELOW = (0.3, 0.4, 0.5, 0.6)
MARGIN = (0.0, 0.1, 0.2, 0.3)


def test_uncertainty_threshold_on_the_validation_set(record: Callable[..., None]) -> None:
    training, validation = split_validation(load_corpus())
    suggester = Suggester(train(training, with_metrics=False))
    rows = [e for e in validation if e.dept_type and not e.inadmissible]
    head = suggester.model.heads["department"]
    ranked = [head.ranked(suggester.features(e.text)) for e in rows]
    top = np.array([r[0][1] for r in ranked])
    lead = top - np.array([r[1][1] for r in ranked])
    right = np.array([r[0][0] == e.dept_type for r, e in zip(ranked, rows, strict=True)])
    in_three = np.array([e.dept_type in [c for c, _ in r[:3]] for r, e in zip(ranked, rows, strict=True)])
    options = []
    for below in BELOW:
        for margin in MARGIN:
            sure = (top >= below) & (lead >= margin)
            precision = float(right[sure].mean()) if sure.any() else 0.0
            options.append((float(sure.mean()), below, margin, precision))
    coverage, below, margin, precision = max(o for o in options if o[3] >= TARGET_PRECISION)
    section = "Confidence: the 不确定 threshold (shipped corpus, fixed validation rows)"
    record(section, "department rows in the validation set", str(len(rows)))
    record(section, "first suggestion right, all rows", f"{right.mean():.3f}")
    record(section, "right department among the three shown, all rows", f"{in_three.mean():.3f}")
    record(section, "chosen: 不确定 when first < B or lead < M", f"B = {below}, M = {margin}")
    record(section, "coverage (shown as sure)", f"{coverage:.3f}")
    record(section, "precision of the sure ones", f"{precision:.3f}", f"≥ {TARGET_PRECISION}")
    uncertain = np.array([is_uncertain([t, t - d]) for t, d in zip(top, lead, strict=True)])
    record(section, "不确定 rows with the right department among the three", f"{in_three[uncertain].mean():.3f}")
    assert (below, margin) == (UNCERTAIN_BELOW, UNCERTAIN_MARGIN)
