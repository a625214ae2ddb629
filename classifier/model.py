"""The suggestion model: one shared feature extractor and four calibrated heads, trained, saved and loaded together.

Heads: `department` (the 21 department types), `nature` (consult / suggest / complaint), `development`
(发展 or not) and `admissibility` ("admissible" or an InadmissibleCode). Each head learns from the corpus rows
that carry its label.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jieba
import joblib
import numpy as np
import scipy.sparse as sp
import sklearn
from scipy.special import expit
from sklearn.calibration import CalibratedClassifierCV
from sklearn.exceptions import InconsistentVersionWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import FeatureUnion
from sklearn.svm import LinearSVC

from classifier.corpus import Example, data_hash
from classifier.errors import DataError, ModelError
from classifier.pipeline import SVM_C, build_features, build_head, calibration_folds
from models.enums import PetitionKind

# Bump when the saved structure changes; a file of another format is retrained (default) or refused.
FORMAT = 1
ADMISSIBLE = "admissible"
HEADS = ("department", "nature", "development", "admissibility")
# Folds of the quick cross-validation whose figures are stored in the model's metadata.
METRIC_FOLDS = 3


def head_labels(examples: Sequence[Example]) -> dict[str, tuple[list[int], list[str]]]:
    """For each head, the indices of the examples it learns from and their labels."""
    rows: dict[str, tuple[list[int], list[str]]] = {head: ([], []) for head in HEADS}

    def add(head: str, index: int, label: str) -> None:
        rows[head][0].append(index)
        rows[head][1].append(label)

    for index, example in enumerate(examples):
        if example.dept_type and not example.inadmissible:
            add("department", index, example.dept_type)
        if example.nature:
            add("nature", index, example.nature)
        if example.kind:
            add("development", index, str(example.kind == PetitionKind.DEVELOPMENT.value))
        if example.inadmissible:
            add("admissibility", index, example.inadmissible)
        elif example.dept_type:
            add("admissibility", index, ADMISSIBLE)
    return rows


def _quick_metrics(features: sp.csr_matrix, labels: list[str]) -> dict[str, Any]:
    """Accuracy and macro-F1 of the head's SVM under a quick stratified k-fold on the already-fitted features.

    The vocabulary saw every row, so these figures are a little optimistic; `qingsu classifier eval` refits the
    features in every fold for the honest figure.
    """
    folds = min(METRIC_FOLDS, calibration_folds(labels))
    predicted = cross_val_predict(
        LinearSVC(C=SVM_C, class_weight="balanced"),
        features,
        labels,
        cv=StratifiedKFold(folds, shuffle=True, random_state=0),
    )
    return {
        "n": len(labels),
        "folds": folds,
        "accuracy": round(float(accuracy_score(labels, predicted)), 4),
        "macro_f1": round(float(f1_score(labels, predicted, average="macro")), 4),
    }


@dataclass(frozen=True)
class LinearHead:
    """A fitted calibrated linear SVM reduced to its arrays: the same probabilities as scikit-learn, ~50x faster.

    `CalibratedClassifierCV.predict_proba` validates its input and loops over per-class calibrators, which costs
    about a millisecond per call; a petition needs four heads in under two milliseconds. The arithmetic is
    scikit-learn's own (`_CalibratedClassifier.predict_proba` with sigmoid calibrators): one-vs-rest decision
    values, a sigmoid per class, normalised to sum to one (a binary head has a single weight row for `classes[1]`).
    """

    classes: np.ndarray
    weights: np.ndarray  # (n_features, n_rows) float32: transposed, so a sparse row times it is one product
    intercept: np.ndarray
    slope: np.ndarray  # sigmoid calibration: p = 1 / (1 + exp(slope * decision + offset))
    offset: np.ndarray

    @classmethod
    def from_calibrated(cls, head: CalibratedClassifierCV) -> LinearHead:
        """Extract the arrays from a fitted `build_head()` (sigmoid, `ensemble=False`)."""
        calibrated = head.calibrated_classifiers_[0]
        svm = calibrated.estimator
        if list(svm.classes_) != sorted(svm.classes_) or calibrated.method != "sigmoid":
            raise ModelError("unexpected calibrated classifier layout; expected sorted classes and sigmoid")
        return cls(
            classes=np.asarray([str(label) for label in head.classes_]),
            weights=np.ascontiguousarray(svm.coef_.T, dtype=np.float32),
            intercept=svm.intercept_.astype(np.float64),
            slope=np.asarray([c.a_ for c in calibrated.calibrators], dtype=np.float64),
            offset=np.asarray([c.b_ for c in calibrated.calibrators], dtype=np.float64),
        )

    def decision(self, row: sp.csr_matrix) -> np.ndarray:
        """The SVM's decision values for one row (one per class, or one for a binary head)."""
        return np.asarray(row @ self.weights, dtype=np.float64)[0] + self.intercept

    def class_weights(self, label: str) -> np.ndarray:
        """The weight of every feature towards `label`."""
        index = int(np.flatnonzero(self.classes == label)[0])
        if self.weights.shape[1] == 1:
            return self.weights[:, 0] if index == 1 else -self.weights[:, 0]
        return self.weights[:, index]

    def probabilities(self, row: sp.csr_matrix) -> np.ndarray:
        """Calibrated probabilities of `classes` for one row."""
        calibrated = expit(-(self.slope * self.decision(row) + self.offset))
        if len(self.classes) == 2:
            return np.array([1.0 - calibrated[0], calibrated[0]])
        total = calibrated.sum()
        return calibrated / total if total > 0 else np.full(len(self.classes), 1.0 / len(self.classes))

    def ranked(self, row: sp.csr_matrix) -> list[tuple[str, float]]:
        """(label, probability) pairs, most probable first."""
        scores = self.probabilities(row)
        return [(str(self.classes[i]), float(scores[i])) for i in np.argsort(-scores, kind="stable")]


@dataclass(frozen=True)
class FastTfidf:
    """A fitted TfidfVectorizer's single-text transform without scikit-learn's per-call input validation.

    scikit-learn validates and converts its input on every call (about half a millisecond per vectorizer);
    for one short text the arithmetic itself takes microseconds. Same steps as `TfidfVectorizer.transform`: count
    the analyzer's n-grams that are in the vocabulary, 1 + log(count) (sublinear tf), times idf, L2-normalise.
    """

    analyze: Callable[[str], list[str]]
    vocabulary: dict[str, int]
    idf: np.ndarray
    weight: float = 1.0  # the block's weight in the FeatureUnion (`transformer_weights`)

    @classmethod
    def from_vectorizer(cls, vectorizer: TfidfVectorizer, weight: float = 1.0) -> FastTfidf:
        """Wrap a fitted vectorizer built by `build_features` (sublinear tf, idf, L2 norm).

        :raises ModelError: the vectorizer was configured otherwise.
        """
        if not (vectorizer.sublinear_tf and vectorizer.use_idf and vectorizer.norm == "l2"):
            raise ModelError("fast TF-IDF needs sublinear_tf, use_idf and the L2 norm")
        return cls(vectorizer.build_analyzer(), vectorizer.vocabulary_, vectorizer.idf_, weight)

    def columns(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The non-zero columns of the text's row and their values."""
        counts = Counter(
            index for term in self.analyze(text) if (index := self.vocabulary.get(term)) is not None
        )
        if not counts:
            return np.empty(0, dtype=np.int64), np.empty(0)
        columns = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        values = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))) * self.idf[
            columns
        ]
        return columns, values * (self.weight / np.sqrt(np.dot(values, values)))


@dataclass
class SuggestionModel:
    """The fitted features and heads plus metadata (data hash, date, metrics, library versions)."""

    features: FeatureUnion
    heads: dict[str, LinearHead]
    metadata: dict[str, Any] = field(default_factory=dict)

    def transform(self, text: str) -> sp.csr_matrix:
        """The feature row of one text: FeatureUnion.transform without its per-call overhead (same columns)."""
        return sp.hstack(
            [vectorizer.transform([text]) * weight for _, vectorizer, weight in self.blocks()]
        ).tocsr()

    def blocks(self) -> list[tuple[str, TfidfVectorizer, float]]:
        """The feature blocks in column order: name, fitted vectorizer, weight (1 unless the union weights it)."""
        weights = self.features.transformer_weights or {}
        return [
            (name, vectorizer, float(weights.get(name, 1.0)))
            for name, vectorizer in self.features.transformer_list
        ]

    @property
    def source(self) -> str:
        """ "default" when trained from the shipped corpus only; anything else was trained on purpose."""
        return str(self.metadata.get("source", ""))

    def save(self, path: Path) -> int:
        """Write the model atomically (temp file, then rename) so a reader never sees half a file; returns its size.

        :raises ModelError: the directory cannot be written.
        """
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
            os.close(handle)
            joblib.dump({"format": FORMAT, "model": self}, temp, compress=3)
            os.replace(temp, path)
            metadata_path(path).write_text(
                json.dumps(
                    {**self.metadata, "size_bytes": path.stat().st_size}, ensure_ascii=False, indent=2
                ),
                encoding="utf-8",
            )
        except OSError as exc:
            raise ModelError(f"cannot write the model to {path}: {exc}") from exc
        return path.stat().st_size


def train(examples: Sequence[Example], source: str = "default", with_metrics: bool = True) -> SuggestionModel:
    """Fit the features on every text and each head on the rows that carry its label.

    :raises DataError: no department labels, or a head whose rarest class has a single example.
    """
    started = time.perf_counter()
    labelled = head_labels(examples)
    if not labelled["department"][1]:
        raise DataError("no row has a department label to train on")
    features = build_features()
    matrix = features.fit_transform([example.text for example in examples]).tocsr()
    for _, vectorizer in features.transformer_list:
        # The n-grams cut by max_features; only kept for introspection, and large (scikit-learn says to drop it).
        vectorizer.stop_words_ = None
    heads: dict[str, LinearHead] = {}
    metrics: dict[str, Any] = {}
    for head, (indices, labels) in labelled.items():
        if len(set(labels)) < 2:
            # A custom data set may lack nature or admissibility labels; that head is simply not offered.
            continue
        rows = matrix[indices]
        heads[head] = LinearHead.from_calibrated(build_head(calibration_folds(labels)).fit(rows, labels))
        if with_metrics:
            metrics[head] = _quick_metrics(rows, labels)
    metadata = {
        "format": FORMAT,
        "source": source,
        "trained_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "data_hash": data_hash(
            (e.text, e.dept_type or "", e.nature or "", e.kind or "", e.inadmissible or "") for e in examples
        ),
        "n_examples": len(examples),
        "label_counts": {head: len(labels) for head, (_, labels) in labelled.items()},
        "n_features": int(matrix.shape[1]),
        "metrics": metrics,
        "train_seconds": round(time.perf_counter() - started, 2),
        "versions": {
            "python": platform.python_version(),
            "scikit-learn": sklearn.__version__,
            "numpy": np.__version__,
            "jieba": jieba.__version__,
        },
    }
    return SuggestionModel(features=features, heads=heads, metadata=metadata)


def metadata_path(path: Path) -> Path:
    """The JSON file beside a model that repeats its metadata, readable without unpickling the model."""
    return path.with_name(path.name + ".json")


def read_metadata(path: Path) -> dict[str, Any]:
    """The metadata saved beside the model at `path`, or {} when there is none or it is unreadable."""
    try:
        data = json.loads(metadata_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def load(path: Path) -> SuggestionModel:
    """Read a model file written by `SuggestionModel.save`.

    :raises ModelError: the file is unreadable, of another format, or was written by another scikit-learn version
        (its pickled estimators would not be trustworthy).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", InconsistentVersionWarning)
            payload = joblib.load(path)
    except InconsistentVersionWarning as exc:
        raise ModelError(f"{path} was written by another scikit-learn version; retrain it") from exc
    except FileNotFoundError:
        raise
    except Exception as exc:  # unpickling raises anything from EOFError to AttributeError on a damaged file
        raise ModelError(f"cannot read the model {path}: {type(exc).__name__}: {exc}") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelError(f"{path} is not a classifier model of format {FORMAT}; retrain it")
    model = payload["model"]
    if not isinstance(model, SuggestionModel):
        raise ModelError(f"{path} does not hold a suggestion model; retrain it")
    return model
