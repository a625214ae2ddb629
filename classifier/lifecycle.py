"""Where the model lives: loading it once per process, training the default on first use, dispatchers' feedback."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from classifier.corpus import Example, load_corpus
from classifier.errors import ModelError
from classifier.model import SuggestionModel, load, read_metadata, train
from classifier.suggest import Suggester
from models import Petition
from models.enums import InadmissibleCode, PetitionKind, PetitionState

log = logging.getLogger(__name__)

EXTENSION_KEY = "classifier.suggester"
DEFAULT_SOURCE = "default"

_lock = threading.Lock()
# Loaded models by resolved path and file modification time: every app in the process shares one copy.
_loaded: dict[tuple[Path, int], Suggester] = {}


def model_path(app: Flask) -> Path:
    """The configured model file (`[classifier] model_path`), relative paths taken from the working directory."""
    return Path(app.config["CLASSIFIER"]["model_path"]).resolve()


def train_default(path: Path) -> SuggestionModel:
    """Train on the shipped corpus and save to `path`, skipping the quick metrics so a first start is fast
    (`qingsu classifier train` records them).

    :raises DataError: the shipped corpus is unusable. :raises ModelError: `path` cannot be written.
    """
    model = train(load_corpus(), source=DEFAULT_SOURCE, with_metrics=False)
    size = model.save(path)
    log.info("trained the default classifier model: %s (%d bytes)", path, size)
    return model


def _load_or_train(path: Path) -> Suggester:
    if not path.exists():
        log.info("no classifier model at %s; training the default model from the shipped corpus", path)
        train_default(path)
    key = (path, path.stat().st_mtime_ns)
    if key not in _loaded:
        try:
            model = load(path)
        except ModelError as exc:
            # A default model is ours to rebuild (e.g. after a scikit-learn upgrade); a model trained on purpose
            # (custom data, dispatchers' feedback) must not be silently replaced.
            if not _is_default(path):
                raise
            log.warning("%s; retraining the default model", exc)
            model = train_default(path)
            key = (path, path.stat().st_mtime_ns)
        _loaded.clear()
        _loaded[key] = Suggester(model)
    return _loaded[key]


def _is_default(path: Path) -> bool:
    return read_metadata(path).get("source") == DEFAULT_SOURCE


def get_suggester(app: Flask | None = None) -> Suggester:
    """The app's suggester, loaded once per process; trains and saves the default model if the file is missing.

    :raises ModelError: the model file exists but cannot be used and was not a default model.
    :raises DataError: the model is missing and the shipped corpus cannot be trained on.
    """
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    path = model_path(app)
    with _lock:
        cached = app.extensions.get(EXTENSION_KEY)
        if (
            cached is not None
            and cached[0] == path
            and path.exists()
            and cached[1] == path.stat().st_mtime_ns
        ):
            return cached[2]
        suggester = _load_or_train(path)
        app.extensions[EXTENSION_KEY] = (path, path.stat().st_mtime_ns, suggester)
        return suggester


def confirmed_examples(session: Session) -> list[Example]:
    """The dispatchers' decisions as training rows.

    A routing counts once a dispatcher has decided on the suggestion (`suggestion_accepted` is not null) and the
    petition has a department type; the department, nature and 民生/发展 kind are then the confirmed ones.
    A petition rejected with a code is a confirmed example of that inadmissible category.
    """
    examples: list[Example] = []
    routed = select(Petition).where(
        Petition.dept_type.is_not(None), Petition.suggestion_accepted.is_not(None)
    )
    for petition in session.scalars(routed):
        kind = petition.kind.value if petition.kind != PetitionKind.ENFORCEMENT else None
        examples.append(
            Example(
                text=petition.content,
                dept_type=petition.dept_type.value if petition.dept_type else None,
                nature=petition.nature.value if petition.nature else None,
                kind=kind,
            )
        )
    rejected = select(Petition).where(
        Petition.state == PetitionState.REJECTED, Petition.inadmissible_code.is_not(None)
    )
    for petition in session.scalars(rejected):
        code: InadmissibleCode = petition.inadmissible_code  # type: ignore[assignment]
        examples.append(Example(text=petition.content, inadmissible=code.value))
    return [example for example in examples if example.text.strip()]
