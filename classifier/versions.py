"""Model versions: every trained model is kept with its validation figures; one serves, the previous can come back.

The served model is the file at `[classifier] model_path` (what the app loads). Each model `qingsu classifier
train` makes is first written to `<model_path>.versions/vNNNN.joblib` with its metadata, measured on the fixed
validation set (`classifier.corpus.split_validation`: rows no version trains on), and copied over the served file
only when it is not worse than the model serving now. `served.json` in the same directory is the order in which
versions served, so `rollback` can put the previous one back.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from classifier.corpus import Example
from classifier.errors import ModelError
from classifier.model import ADMISSIBLE, SuggestionModel, load, metadata_path, read_metadata
from classifier.suggest import Suggester

# A new model may score this much less than the served one on a validation figure and still count as not worse:
# liblinear's results move in the third decimal between runs on the same data.
TOLERANCE = 0.005
# The validation figures compared before a model serves (head, figure).
COMPARED = (("department", "macro_f1"), ("admissibility", "macro_f1"))
HISTORY = "served.json"


def store(path: Path) -> Path:
    """The directory that keeps every version of the model served at `path`."""
    return path.with_name(path.name + ".versions")


def _version_file(path: Path, version: str) -> Path:
    return store(path) / f"{version}.joblib"


def _history(path: Path) -> list[str]:
    try:
        data = json.loads((store(path) / HISTORY).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [str(v) for v in data] if isinstance(data, list) else []


def _write_history(path: Path, history: list[str]) -> None:
    (store(path) / HISTORY).write_text(json.dumps(history), encoding="utf-8")


def versions(path: Path) -> list[dict[str, Any]]:
    """The metadata of every kept version, oldest first, each with `served` true for the one serving now."""
    served = read_metadata(path).get("version")
    found = []
    for file in sorted(store(path).glob("v*.joblib")):
        meta = read_metadata(file)
        meta.setdefault("version", file.stem)
        found.append({**meta, "served": meta["version"] == served})
    return found


def _next_version(path: Path) -> str:
    numbers = [int(file.stem[1:]) for file in store(path).glob("v*.joblib") if file.stem[1:].isdigit()]
    return f"v{max(numbers, default=0) + 1:04d}"


def validate(model: SuggestionModel, validation: Sequence[Example]) -> dict[str, Any]:
    """The model's figures on the validation rows, as the app would suggest (admissibility = rules, then the head).

    department: accuracy and macro-F1 of the first suggestion on the rows with a department; admissibility: the
    verdict on every row ("admissible" or the code) with precision and recall per category.
    """
    if not validation:
        return {}
    suggester = Suggester(model)
    suggestions = [suggester.suggest(example.text) for example in validation]
    figures: dict[str, Any] = {}
    routed = [(e, s) for e, s in zip(validation, suggestions, strict=True) if e.dept_type and not e.inadmissible]
    if routed:
        truth = [e.dept_type for e, _ in routed]
        predicted = [s.departments[0][0] for _, s in routed]
        figures["department"] = {
            "n": len(routed),
            "accuracy": round(float(accuracy_score(truth, predicted)), 4),
            "macro_f1": round(float(f1_score(truth, predicted, average="macro", zero_division=0)), 4),
        }
    truth = [e.inadmissible or ADMISSIBLE for e in validation]
    predicted = [s.inadmissible_code or ADMISSIBLE for s in suggestions]
    labels = sorted(set(truth))
    precision, recall, _, support = precision_recall_fscore_support(
        truth, predicted, labels=labels, zero_division=0
    )
    figures["admissibility"] = {
        "n": len(validation),
        "accuracy": round(float(accuracy_score(truth, predicted)), 4),
        "macro_f1": round(float(f1_score(truth, predicted, labels=labels, average="macro", zero_division=0)), 4),
        "per_class": {
            label: {"precision": round(float(p), 4), "recall": round(float(r), 4), "support": int(s)}
            for label, p, r, s in zip(labels, precision, recall, support, strict=True)
        },
    }
    return figures


def worse_than(new: dict[str, Any], old: dict[str, Any]) -> list[str]:
    """Why figures `new` are worse than `old` (empty when they are not): each compared figure that fell."""
    reasons = []
    for head, figure in COMPARED:
        if head in old and figure in old[head]:
            before, after = old[head][figure], new.get(head, {}).get(figure, 0.0)
            if after < before - TOLERANCE:
                reasons.append(f"{head} {figure} {after:.4f} < {before:.4f}")
    return reasons


def _copy_atomically(source: Path, target: Path) -> None:
    handle, temp = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".tmp")
    os.close(handle)
    shutil.copyfile(source, temp)
    os.replace(temp, target)


def serve(path: Path, version: str, record: bool = True) -> dict[str, Any]:
    """Make `version` the served model (the file at `path`, replaced atomically); returns its metadata.

    :raises ModelError: no such version, or it cannot be copied.
    """
    source = _version_file(path, version)
    if not source.exists():
        known = ", ".join(v["version"] for v in versions(path)) or "none"
        raise ModelError(f"no model version {version} (kept: {known})")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        metadata_path(path).write_text(metadata_path(source).read_text(encoding="utf-8"), encoding="utf-8")
        _copy_atomically(source, path)
    except OSError as exc:
        raise ModelError(f"cannot serve {version} at {path}: {exc}") from exc
    if record:
        _write_history(path, [*_history(path), version])
    return read_metadata(path)


def rollback(path: Path) -> str:
    """Serve again the version that served before the current one; returns it.

    :raises ModelError: there is no earlier served version to go back to.
    """
    history = _history(path)
    current = read_metadata(path).get("version")
    while history and history[-1] == current:
        history.pop()
    earlier = [v for v in history if _version_file(path, v).exists()]
    if not earlier:
        raise ModelError("no earlier served version to roll back to")
    previous = earlier[-1]
    serve(path, previous, record=False)
    _write_history(path, history)
    return previous


@dataclass(frozen=True)
class Outcome:
    """What `keep_and_serve` did with a newly trained model."""

    version: str
    served: bool
    figures: dict[str, Any]
    served_figures: dict[str, Any]
    reasons: list[str]


def _served_figures(path: Path, validation: Sequence[Example]) -> dict[str, Any]:
    """The served model's figures on today's validation rows (measured now: the rows may have changed since)."""
    if not path.exists():
        return {}
    try:
        return validate(load(path), validation)
    except ModelError:
        return {}  # an unreadable served model is no standard to keep a new one out


def keep_and_serve(
    model: SuggestionModel, path: Path, validation: Sequence[Example], force: bool = False
) -> Outcome:
    """Keep `model` as a new version with its validation figures and serve it unless it is worse than the served one.

    With `force` it serves whatever its figures (a model for other labels than the shipped ones, say).

    :raises ModelError: the version cannot be written or served.
    """
    version = _next_version(path)
    figures = validate(model, validation)
    model.metadata.update(version=version, validation=figures)
    model.save(_version_file(path, version))
    served_figures = _served_figures(path, validation)
    reasons = worse_than(figures, served_figures)
    if reasons and not force:
        return Outcome(version, False, figures, served_figures, reasons)
    serve(path, version)
    return Outcome(version, True, figures, served_figures, reasons)
