"""Safe retraining: each trained model is kept as a version with its validation figures, serves only when it is not
worse than the served model on the fixed validation set, and the previous version can be put back."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask

import classifier
from classifier import versions
from classifier.corpus import VALIDATION_MIN_ROWS, Example, load_corpus, split_validation
from classifier.errors import ModelError
from classifier.model import read_metadata, train

# Held out from the tiny corpus: texts none of its rows contain, one department each.
VALIDATION = [
    Example(text="物业把小区的绿地改成了停车位还收费", dept_type="housing"),
    Example(text="物业公司换了也不公示，业主委员会不知情", dept_type="housing"),
    Example(text="家里暖气只有二十度不到，热力公司说正常", dept_type="heating"),
    Example(text="供暖管道漏水一周了暖气片全凉", dept_type="heating"),
    Example(text="工地老板欠我们半年工资不给", dept_type="hrss"),
    Example(text="公司不给缴社保，辞职也不给开证明", dept_type="hrss"),
]
ROTATED = {"housing": "heating", "heating": "hrss", "hrss": "housing"}


def _worse(examples: list[Example]) -> list[Example]:
    """The same texts with every department label moved to the wrong one: a model that learns them is worse."""
    return [replace(e, dept_type=ROTATED[e.dept_type]) if e.dept_type else e for e in examples]


def _cli(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=["classifier", *args])


def test_a_worse_model_is_kept_but_not_served_and_the_old_one_keeps_serving(
    app: Flask, tmp_path: Path, tiny_corpus: list[Example]
) -> None:
    path = tmp_path / "model.joblib"
    app.config["CLASSIFIER"]["model_path"] = str(path)
    good = versions.keep_and_serve(train(tiny_corpus), path, VALIDATION)
    assert good.served and good.version == "v0001"
    assert good.figures["department"]["macro_f1"] == pytest.approx(1.0)
    before = classifier.get_suggester(app).suggest("暖气片一点也不热").departments[0][0]
    assert before == "heating"

    bad = versions.keep_and_serve(train(_worse(tiny_corpus)), path, VALIDATION)
    assert not bad.served and bad.version == "v0002"
    assert bad.reasons and "department macro_f1" in bad.reasons[0]
    assert read_metadata(path)["version"] == "v0001"
    assert classifier.get_suggester(app).suggest("暖气片一点也不热").departments[0][0] == "heating"
    assert classifier.get_suggester(app).suggest("暖气片一点也不热").model_version == "v0001"
    kept = versions.versions(path)
    assert [(v["version"], v["served"]) for v in kept] == [("v0001", True), ("v0002", False)]
    assert kept[1]["validation"]["department"]["macro_f1"] < kept[0]["validation"]["department"]["macro_f1"]


def test_promote_and_rollback_from_the_command_line(
    app: Flask, tmp_path: Path, tiny_corpus: list[Example], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "model.joblib"
    monkeypatch.setattr("classifier.cli.load_corpus", lambda: tiny_corpus)
    monkeypatch.setattr("classifier.cli.split_validation", lambda rows: (list(rows), VALIDATION))
    first = _cli(app, "train", "--output", str(path))
    assert first.exit_code == 0, first.output
    assert "serving v0001" in first.output

    worse_csv = tmp_path / "worse.csv"
    worse_csv.write_text(
        "text,dept_type\n" + "".join(f"{e.text},{e.dept_type}\n" for e in _worse(tiny_corpus) if e.dept_type),
        encoding="utf-8",
    )
    refused = _cli(app, "train", "--data", str(worse_csv), "--output", str(path))
    assert refused.exit_code == 1
    errors = [line for line in refused.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "v0002 is worse than the served model" in errors[0]
    assert read_metadata(path)["version"] == "v0001"

    listed = _cli(app, "versions", "--model", str(path)).output.splitlines()
    assert listed[0].startswith("* v0001") and listed[1].startswith("  v0002")

    assert "serving v0002" in _cli(app, "promote", "v0002", "--model", str(path)).output
    assert read_metadata(path)["version"] == "v0002"
    assert "serving v0001" in _cli(app, "rollback", "--model", str(path)).output
    assert read_metadata(path)["version"] == "v0001"

    unknown = _cli(app, "promote", "v0009", "--model", str(path))
    assert unknown.exit_code == 1 and "no model version v0009" in unknown.output
    nothing_earlier = _cli(app, "rollback", "--model", str(path))
    assert nothing_earlier.exit_code == 1 and "no earlier served version" in nothing_earlier.output

    forced = _cli(app, "train", "--data", str(worse_csv), "--output", str(path), "--force")
    assert forced.exit_code == 0, forced.output
    assert read_metadata(path)["version"] == "v0003"


def test_rollback_without_versions_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no earlier served version"):
        versions.rollback(tmp_path / "none.joblib")


def test_the_validation_set_is_fixed_and_never_trained_on() -> None:
    corpus = load_corpus()
    assert len(corpus) >= VALIDATION_MIN_ROWS
    training, validation = split_validation(corpus)
    again = split_validation(list(reversed(corpus)))[1]
    assert {e.text for e in validation} == {e.text for e in again}
    assert not {e.text for e in training} & {e.text for e in validation}
    assert 0.1 * len(corpus) < len(validation) < 0.2 * len(corpus)
    # Every head has rows to be measured on: departments and the 不予受理 categories.
    assert len({e.dept_type for e in validation if e.dept_type}) >= 15
    assert len({e.inadmissible for e in validation if e.inadmissible}) >= 5
