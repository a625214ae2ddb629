"""Where the model lives: loading it once per process, training the default on first use outside requests,
suggestions inside requests without ever training, dispatchers' feedback."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from classifier.corpus import Example, load_corpus, split_validation
from classifier.errors import ModelError
from classifier.model import SuggestionModel, load, read_metadata, train
from classifier.suggest import Suggester, Suggestion
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
    """Train on the shipped corpus (less its validation rows) and serve it at `path` as a new version, skipping the
    quick metrics so a first start is fast (`qingsu classifier train` records them).

    :raises DataError: the shipped corpus is unusable. :raises ModelError: `path` cannot be written.
    """
    from classifier.versions import keep_and_serve

    training, validation = split_validation(load_corpus())
    model = train(training, source=DEFAULT_SOURCE, with_metrics=False)
    outcome = keep_and_serve(model, path, validation, force=True)
    log.info("trained the default classifier model: %s, version %s", path, outcome.version)
    return model


def _remember(path: Path, model: SuggestionModel) -> Suggester:
    _loaded.clear()
    suggester = Suggester(model)
    _loaded[(path, path.stat().st_mtime_ns)] = suggester
    return suggester


def _load_trained(path: Path) -> Suggester:
    """The model at `path`, from the process cache while the file is unchanged; never trains.

    :raises FileNotFoundError: no model file. :raises ModelError: the file cannot be used.
    """
    cached = _loaded.get((path, path.stat().st_mtime_ns))
    return cached if cached is not None else _remember(path, load(path))


def _load_or_train(path: Path) -> Suggester:
    if not path.exists():
        log.info("no classifier model at %s; training the default model from the shipped corpus", path)
        train_default(path)
    try:
        return _load_trained(path)
    except ModelError as exc:
        # A default model is ours to rebuild (e.g. after a scikit-learn upgrade); a model trained on purpose
        # (custom data, dispatchers' feedback) must not be silently replaced.
        if not _is_default(path):
            raise
        log.warning("%s; retraining the default model", exc)
        return _remember(path, train_default(path))


def _is_default(path: Path) -> bool:
    return read_metadata(path).get("source") == DEFAULT_SOURCE


def _app_suggester(app: Flask, make: Callable[[Path], Suggester]) -> Suggester:
    """The app's cached suggester while its model file is unchanged, else the one `make` gives for the file."""
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
        suggester = make(path)
        app.extensions[EXTENSION_KEY] = (path, path.stat().st_mtime_ns, suggester)
        return suggester


def get_suggester(app: Flask | None = None) -> Suggester:
    """The app's suggester, loaded once per process; trains and saves the default model if the file is missing.

    For the CLI and jobs: training takes far longer than a request may, so requests call `suggest_if_trained`.

    :raises ModelError: the model file exists but cannot be used and was not a default model.
    :raises DataError: the model is missing and the shipped corpus cannot be trained on.
    """
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    return _app_suggester(app, _load_or_train)


def suggest_if_trained(text: str, district_code: str | None = None, app: Flask | None = None) -> Suggestion | None:
    """The classifier's suggestion for a petition taken in during a request, or None when there is no usable model.

    Never trains: training the default model takes far longer than a request may (WeChat gives up after 5 seconds),
    so without a model, or with a model file that cannot be read (ModelError, logged as an error), the petition goes
    in unsuggested and the dispatcher classifies it by hand; `qingsu classifier train` makes or repairs the model.
    Empty text gets None. The model is loaded once per process, like `get_suggester`'s.
    """
    if not text.strip():
        return None
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        suggester = _app_suggester(app, _load_trained)
    except FileNotFoundError:
        log.warning(
            "no classifier model at %s: petition taken in without a suggestion (run `qingsu classifier train`)",
            model_path(app),
        )
        return None
    except ModelError as exc:
        log.error("%s: petition taken in without a suggestion (run `qingsu classifier train`)", exc)
        return None
    return suggester.suggest(text, district_code)


def preload(app: Flask) -> bool:
    """Load the trained model and warm up its word segmentation now, so no request pays for them; never trains.

    For a web server's start (`wsgi.py`): a worker's first submitted petition would otherwise wait for the model
    file to load and jieba's dictionary to be built. Returns whether a model is ready; without one (or with a file
    that cannot be read) requests go on as `suggest_if_trained` describes.
    """
    if not model_path(app).exists():
        log.info("no classifier model at %s yet: nothing to preload", model_path(app))
        return False
    return suggest_if_trained("小区路灯不亮", None, app) is not None


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
