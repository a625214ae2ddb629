"""The `qingsu classifier train|eval|predict` contract, bad input included (one-line errors, no tracebacks)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask
from openpyxl import Workbook

from classifier.corpus import Example
from classifier.model import read_metadata


def _ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def _one_line_error(result: Result, *needles: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0]


def test_eval_prints_figures_and_ends_with_json(app: Flask, tiny_csv: Path) -> None:
    result = _ok(
        app.test_cli_runner().invoke(
            args=[
                "classifier",
                "eval",
                "--data",
                str(tiny_csv),
                "--label-col",
                "dept_type",
                "--folds",
                "3",
                "--json",
            ]
        )
    )
    assert "accuracy" in result.output and "macro-F1" in result.output and "heating" in result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert figures["n"] == 24 and figures["folds"] == 3
    assert 0.0 <= figures["macro_f1"] <= 1.0 and 0.0 <= figures["accuracy"] <= 1.0
    assert set(figures["per_class"]) == {"housing", "heating", "hrss"}
    # Three departments with clear vocabularies (chance is 1/3): cross-validation must find most.
    assert figures["accuracy"] >= 0.6


def test_eval_reads_xlsx_and_other_columns(app: Flask, tmp_path: Path, tiny_csv: Path) -> None:
    import csv

    with tiny_csv.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["留言详情", "一级分类", "备注"])
    for row in rows:
        sheet.append([row["text"], row["nature"], None])
    path = tmp_path / "data.xlsx"
    workbook.save(path)
    result = _ok(
        app.test_cli_runner().invoke(
            args=["classifier", "eval", "--data", str(path), "--text-col", "留言详情", "--label-col", "一级分类",
                  "--folds", "2", "--json"]
        )
    )  # fmt: skip
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert figures["n"] == len(rows) and set(figures["per_class"]) == {"complaint", "consult", "suggest"}


@pytest.mark.parametrize(
    ("content", "args", "needles"),
    [
        (None, [], ["cannot read", "missing.csv"]),
        (
            "text,label\n物业不作为,housing\n",
            ["--label-col", "dept_type"],
            ["no column 'dept_type'", "columns: text, label"],
        ),
        ("", [], ["no column"]),
        ("text,dept_type\n,\n", [], ["no row with both"]),
        ("text,dept_type\n物业不作为,housing\n暖气不热,heating\n", [], ["fewer than 5 examples"]),
    ],
)
def test_eval_bad_input(
    app: Flask, tmp_path: Path, content: str | None, args: list[str], needles: list[str]
) -> None:
    path = tmp_path / "missing.csv"
    if content is not None:
        path = tmp_path / "data.csv"
        path.write_text(content, encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["classifier", "eval", "--data", str(path), *args])
    _one_line_error(result, *needles)


def test_eval_unreadable_files(app: Flask, tmp_path: Path) -> None:
    binary = tmp_path / "data.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81garbage\x00")
    _one_line_error(
        app.test_cli_runner().invoke(args=["classifier", "eval", "--data", str(binary)]), "cannot read"
    )
    broken = tmp_path / "data.xlsx"
    broken.write_bytes(b"PK not really a workbook")
    _one_line_error(
        app.test_cli_runner().invoke(args=["classifier", "eval", "--data", str(broken)]), "cannot read"
    )


def test_predict_writes_one_json_object_per_line(app: Flask) -> None:
    stdin = "小区物业乱收停车费\n\n楼下着火了，快来人\n暖气不热\n"
    result = _ok(app.test_cli_runner().invoke(args=["classifier", "predict"], input=stdin))
    lines = [json.loads(line) for line in result.output.strip().splitlines()]
    assert len(lines) == 4
    assert lines[0]["departments"][0] == {"type": "housing", "score": lines[0]["departments"][0]["score"]}
    assert lines[0]["admissible"] is True and lines[0]["inadmissible_code"] is None and lines[0]["terms"]
    assert lines[1] == {"error": "empty text", "line": 2}
    assert (
        lines[2]["admissible"] is False
        and lines[2]["inadmissible_code"] == "emergency"
        and lines[2]["reason"]
    )
    assert lines[3]["departments"][0]["type"] == "heating"
    assert lines[3]["nature"] in {"consult", "suggest", "complaint"}


def test_predict_with_no_text_fails(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["classifier", "predict"], input="\n  \n")
    _one_line_error(result, "no petition text")


def test_train_from_a_file_writes_model_and_metadata(
    app: Flask, tmp_path: Path, tiny_csv: Path, tiny_corpus: list[Example], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The tiny corpus stands in for the shipped one (nature, kind and admissibility rows) to keep the test fast.
    monkeypatch.setattr("classifier.cli.load_corpus", lambda: tiny_corpus)
    out = tmp_path / "custom.joblib"
    result = _ok(
        app.test_cli_runner().invoke(
            args=[
                "classifier",
                "train",
                "--data",
                str(tiny_csv),
                "--label-col",
                "dept_type",
                "--output",
                str(out),
            ]
        )
    )
    assert "department" in result.output and str(out) in result.output
    meta = read_metadata(out)
    assert meta["source"] == "file"
    # The file's 24 department rows; the stand-in corpus keeps its other labels but gives up its departments.
    assert meta["label_counts"]["department"] == 24
    assert meta["label_counts"]["nature"] == len(tiny_corpus)
    assert len(meta["data_hash"]) == 64 and meta["trained_at"]


def test_train_if_missing_keeps_an_existing_model_and_trains_a_missing_one(
    app: Flask, tmp_path: Path, tiny_corpus: list[Example], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("classifier.cli.load_corpus", lambda: tiny_corpus)
    out = tmp_path / "model.joblib"
    args = ["classifier", "train", "--if-missing", "--output", str(out)]
    first = _ok(app.test_cli_runner().invoke(args=args))
    assert "serving v0001" in first.output and out.exists()
    written = out.stat().st_mtime_ns
    second = _ok(app.test_cli_runner().invoke(args=args))
    assert "not retrained" in second.output
    assert out.stat().st_mtime_ns == written


def test_train_bad_input(app: Flask, tmp_path: Path) -> None:
    out = tmp_path / "custom.joblib"
    result = app.test_cli_runner().invoke(
        args=["classifier", "train", "--data", str(tmp_path / "nope.csv"), "--output", str(out)]
    )
    _one_line_error(result, "cannot read")
    assert not out.exists()


def test_train_from_db_adds_confirmed_routings(
    app: Flask, db_session, tmp_path: Path, tiny_corpus: list[Example], monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from models import Petition
    from models.enums import DeptType, PetitionKind
    from tests.factories import make_district

    monkeypatch.setattr("classifier.cli.load_corpus", lambda: tiny_corpus)
    make_district(db_session, "shinan")
    for number, (content, dept) in enumerate(
        [("小区路灯坏了一个月", DeptType.URBAN_MGMT), ("路边的路灯晚上不亮", DeptType.URBAN_MGMT)], start=1
    ):
        db_session.add(
            Petition(number=f"SN{number}", district_code="shinan", kind=PetitionKind.LIVELIHOOD, content=content,
                     dept_type=dept, suggestion_accepted=False)
        )  # fmt: skip
    db_session.commit()
    out = tmp_path / "fed.joblib"
    result = _ok(
        app.test_cli_runner().invoke(args=["classifier", "train", "--from-db", "--output", str(out)])
    )
    assert "dispatcher-confirmed rows from the database: 2" in result.output
    meta = read_metadata(out)
    assert meta["source"] == "default+db"
    assert meta["label_counts"]["department"] == 24 + 2


def test_corpus_command_prints_the_counts(app: Flask) -> None:
    result = _ok(app.test_cli_runner().invoke(args=["classifier", "corpus"]))
    assert "| `housing` | 住房城乡建设 |" in result.output
    assert "| `emergency` |" in result.output
