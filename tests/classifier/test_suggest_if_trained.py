"""`suggest_if_trained`: the suggestion a request may ask for, which never trains a model."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from flask import Flask

import classifier
from classifier.corpus import Example
from classifier.lifecycle import DEFAULT_SOURCE
from classifier.model import train

HEATING = "暖气不热，室温太低"


@pytest.fixture
def tiny_model(app: Flask, tmp_path: Path, tiny_corpus: list[Example]) -> Path:
    """A default-sourced model trained on the tiny corpus, configured as the app's model."""
    path = tmp_path / "tiny.joblib"
    train(tiny_corpus, source=DEFAULT_SOURCE, with_metrics=False).save(path)
    app.config["CLASSIFIER"]["model_path"] = str(path)
    return path


def test_a_trained_model_suggests(app: Flask, tiny_model: Path) -> None:
    suggestion = classifier.suggest_if_trained(HEATING, "shinan", app)
    assert isinstance(suggestion, classifier.Suggestion)
    assert suggestion.departments[0][0] == "heating"
    assert classifier.suggest_if_trained(HEATING) == suggestion  # the app from the app context


def test_the_district_is_passed_to_the_rules(app: Flask, tiny_model: Path) -> None:
    suggestion = classifier.suggest_if_trained("崂山区沙子口的暖气不热", "shinan", app)
    assert suggestion is not None and not suggestion.admissible


def test_without_a_model_nothing_is_suggested_nor_trained(
    app: Flask, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "not-trained-yet.joblib"
    app.config["CLASSIFIER"]["model_path"] = str(path)
    with caplog.at_level(logging.WARNING, logger="classifier.lifecycle"):
        assert classifier.suggest_if_trained(HEATING, "shinan", app) is None
    assert not path.exists()
    assert any(str(path) in record.getMessage() for record in caplog.records)


def test_a_damaged_model_is_logged_and_neither_used_nor_retrained(
    app: Flask, tiny_model: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A damaged *default* model is one `get_suggester` would retrain: a request must not.
    assert classifier.suggest_if_trained(HEATING, app=app) is not None
    tiny_model.write_bytes(b"damaged")
    with caplog.at_level(logging.ERROR, logger="classifier.lifecycle"):
        assert classifier.suggest_if_trained(HEATING, app=app) is None
    assert tiny_model.read_bytes() == b"damaged"
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert str(tiny_model) in record.getMessage()


def test_a_model_replaced_on_disk_is_picked_up(
    app: Flask, tiny_model: Path, tiny_corpus: list[Example]
) -> None:
    first = classifier.suggest_if_trained(HEATING, app=app)
    housing_only = [example for example in tiny_corpus if example.dept_type in ("housing", "hrss")]
    train(housing_only, source="file", with_metrics=False).save(tiny_model)
    second = classifier.suggest_if_trained(HEATING, app=app)
    assert first is not None and second is not None
    assert first.departments[0][0] == "heating"
    assert "heating" not in {department for department, _ in second.departments}


def test_empty_text_gets_no_suggestion(app: Flask, tiny_model: Path) -> None:
    assert classifier.suggest_if_trained("  ", app=app) is None


def test_preload_readies_a_trained_model_before_any_request(app: Flask, tiny_model: Path) -> None:
    from classifier.lifecycle import EXTENSION_KEY, preload

    app.extensions.pop(EXTENSION_KEY, None)
    assert preload(app) is True
    assert app.extensions[EXTENSION_KEY][0] == tiny_model.resolve()


def test_preload_without_a_model_neither_trains_nor_fails(app: Flask, tmp_path: Path) -> None:
    from classifier.lifecycle import EXTENSION_KEY, preload

    path = tmp_path / "not-trained-yet.joblib"
    app.config["CLASSIFIER"]["model_path"] = str(path)
    app.extensions.pop(EXTENSION_KEY, None)
    assert preload(app) is False
    assert not path.exists() and EXTENSION_KEY not in app.extensions
