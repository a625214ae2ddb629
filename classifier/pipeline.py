"""The text-classification pipeline: word and character n-gram TF-IDF features and a calibrated linear model.

One definition serves every use: the shipped suggestion model, `qingsu classifier train --data`, the k-fold
cross-validation of `qingsu classifier eval` and the benchmarks, so a benchmark figure describes the model in use.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from classifier.errors import DataError
from classifier.text import normalize, opening, opening_tokens, tokenize

# Caps on the vocabulary keep the model file small (< 20 MB on the 9,210-message benchmark) at no measurable cost
# in accuracy: the least frequent n-grams are dropped first.
WORD_FEATURES = 100_000
CHAR_FEATURES = 150_000
# Uncapped, the opening blocks of the 9,210 Taidi messages hold ~90k word and ~130k character n-grams, most seen
# once; capped, that model's file drops from 18.9 to 13.6 MB at the same accuracy (see benchmarks/results.md). The
# caps sit above what the shipped corpus has (~19k and ~29k), so the default model is unchanged.
OPENING_WORD_FEATURES = 20_000
OPENING_CHAR_FEATURES = 40_000
# The opening of a text (the title, when a message has one) as two more blocks, weighted below the whole text's.
OPENING_WEIGHT = 0.7
# Regularisation of the linear SVM; chosen by 5-fold cross-validation on the benchmark (see benchmarks/results.md).
SVM_C = 1.0
# Folds used to fit the probability calibration (fewer when the rarest class has fewer examples).
CALIBRATION_FOLDS = 3


def build_features() -> FeatureUnion:
    """Word uni- and bigrams (jieba, user dictionary, stop words removed) beside character 1–3-grams, TF-IDF each,
    and the same two over the text's opening only (its first words and characters), weighted OPENING_WEIGHT.

    Words carry the meaning; character n-grams survive typos, unknown place names and segmentation errors. The
    opening is where a citizen names the matter (a message's title comes first), so its n-grams count again.
    """

    def words(tokenizer: Callable[[str], list[str]], features: int = WORD_FEATURES) -> TfidfVectorizer:
        return TfidfVectorizer(
            tokenizer=tokenizer,
            token_pattern=None,
            lowercase=False,
            ngram_range=(1, 2),
            sublinear_tf=True,
            max_features=features,
            dtype=np.float32,
        )

    def chars(preprocessor: Callable[[str], str], features: int = CHAR_FEATURES) -> TfidfVectorizer:
        return TfidfVectorizer(
            analyzer="char",
            preprocessor=preprocessor,
            ngram_range=(1, 3),
            sublinear_tf=True,
            max_features=features,
            dtype=np.float32,
        )

    # The whole-text word block stays first: the terms behind a suggestion are read from its columns.
    return FeatureUnion(
        [
            ("words", words(tokenize)),
            ("chars", chars(normalize)),
            ("opening_words", words(opening_tokens, OPENING_WORD_FEATURES)),
            ("opening_chars", chars(opening, OPENING_CHAR_FEATURES)),
        ],
        transformer_weights={"opening_words": OPENING_WEIGHT, "opening_chars": OPENING_WEIGHT},
    )


def calibration_folds(labels: Sequence[str]) -> int:
    """How many folds the calibration can use: at most CALIBRATION_FOLDS, at most the rarest class's count.

    :raises DataError: fewer than two classes, or a class with a single example (nothing to calibrate on).
    """
    counts = Counter(labels)
    if len(counts) < 2:
        raise DataError(f"need at least two classes to train, found {len(counts)}")
    label, rarest = min(counts.items(), key=lambda item: item[1])
    if rarest < 2:
        raise DataError(f"class {label!r} has only {rarest} example; every class needs at least 2")
    return min(CALIBRATION_FOLDS, rarest)


def build_head(folds: int = CALIBRATION_FOLDS) -> CalibratedClassifierCV:
    """A linear SVM with sigmoid-calibrated probabilities.

    `ensemble=False` fits one SVM on all the data (its weights explain a prediction) and calibrates it on
    cross-validated decision values, so a predicted 0.8 is right about 80 % of the time.
    Balanced class weights protect macro-F1 on the smaller departments.
    """
    return CalibratedClassifierCV(
        LinearSVC(C=SVM_C, class_weight="balanced"), method="sigmoid", cv=folds, ensemble=False
    )


def build_pipeline(labels: Sequence[str]) -> Pipeline:
    """The full text → label pipeline for `labels` (used to size the calibration folds).

    :raises DataError: as `calibration_folds`.
    """
    return Pipeline([("features", build_features()), ("model", build_head(calibration_folds(labels)))])
