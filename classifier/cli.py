"""`qingsu classifier train|eval|predict`: the command-line contract scripts rely on (see classifier/README.md).

Every failure a user can cause (a missing column, an unreadable file, empty data) ends in one `Error: …` line on
stderr and exit status 1, never a traceback.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click
from flask import current_app
from flask.cli import with_appcontext

from classifier.corpus import Example, corpus_table, load_corpus, read_table
from classifier.errors import ClassifierError, DataError
from classifier.evaluate import cross_validate
from classifier.lifecycle import DEFAULT_SOURCE, confirmed_examples, get_suggester, model_path
from classifier.model import train

F = TypeVar("F", bound=Callable[..., Any])


def _clean_errors(command: F) -> F:
    """Turn the classifier's own errors into click's one-line `Error:` and exit status 1."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ClassifierError as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper  # type: ignore[return-value]


@click.group("classifier", help="Train, evaluate and run the petition classifier.")
def classifier_group() -> None:
    """The `qingsu classifier` commands."""


_DATA = click.option(
    "--data",
    "data",
    type=click.Path(path_type=Path, dir_okay=False),
    help="A CSV (UTF-8) or XLSX file with a header.",
)
_TEXT_COL = click.option("--text-col", default="text", show_default=True, help="The column holding the text.")
_LABEL_COL = click.option(
    "--label-col", default="dept_type", show_default=True, help="The column holding the label."
)


def _table(data: Path, text_col: str, label_col: str) -> tuple[list[str], list[str]]:
    if not data.is_file():
        raise DataError(f"cannot read {data}: no such file")
    return read_table(data, text_col, label_col)


@classifier_group.command("train")
@_DATA
@_TEXT_COL
@_LABEL_COL
@click.option(
    "--from-db", is_flag=True, help="Add the routings dispatchers confirmed and the petitions they rejected."
)
@click.option(
    "--output", type=click.Path(path_type=Path, dir_okay=False), help="Default: [classifier] model_path."
)
@click.option("--if-missing", is_flag=True, help="Do nothing when the model file already exists (make run uses it).")
@with_appcontext
@_clean_errors
def train_command(
    data: Path | None, text_col: str, label_col: str, from_db: bool, output: Path | None, if_missing: bool
) -> None:
    """Train the suggestion model and write it with its metadata (data hash, date, metrics, versions).

    Without --data the department model learns from the shipped corpus; with --data it learns FILE's labels
    instead, while nature, 发展 and admissibility still come from the shipped corpus.
    """
    target = output.resolve() if output else model_path(current_app)
    if if_missing and target.exists():
        click.echo(f"model already at {target}: not retrained")
        return
    started = time.perf_counter()
    examples = load_corpus()
    if data is not None:
        texts, labels = _table(data, text_col, label_col)
        # The shipped rows keep their nature, kind and admissibility labels but not their department type.
        examples = [replace(example, dept_type=None) for example in examples]
        examples += [Example(text=text, dept_type=label) for text, label in zip(texts, labels, strict=True)]
    sources = ["file" if data is not None else DEFAULT_SOURCE]
    if from_db:
        from models.db import get_session

        confirmed = confirmed_examples(get_session())
        click.echo(f"dispatcher-confirmed rows from the database: {len(confirmed)}")
        examples += confirmed
        if confirmed:
            sources.append("db")
    model = train(examples, source="+".join(sources))
    path = target
    size = model.save(path)
    meta = model.metadata
    click.echo(f"trained on {meta['n_examples']} rows in {time.perf_counter() - started:.1f} s")
    for head, figures in meta["metrics"].items():
        click.echo(
            f"  {head:<14} n={figures['n']:<6} accuracy={figures['accuracy']:.4f} macro-F1={figures['macro_f1']:.4f}"
            f" ({figures['folds']}-fold, quick)"
        )
    click.echo(f"wrote {path} ({size / 1e6:.1f} MB), data hash {meta['data_hash'][:12]}")


@classifier_group.command("corpus")
@_clean_errors
def corpus_command() -> None:
    """Print the shipped corpus's counts per label (the tables of classifier/data/README.md)."""
    click.echo(corpus_table(load_corpus()))


@classifier_group.command("eval")
@click.option(
    "--data", "data", required=True, type=click.Path(path_type=Path, dir_okay=False), help="CSV or XLSX."
)
@_TEXT_COL
@_LABEL_COL
@click.option("--folds", default=5, show_default=True, type=int, help="Stratified folds.")
@click.option("--seed", default=0, show_default=True, type=int, help="Shuffle seed of the folds.")
@click.option(
    "--json", "as_json", is_flag=True, help="End with one JSON line: accuracy, macro_f1, n, folds, per_class."
)
@_clean_errors
def eval_command(data: Path, text_col: str, label_col: str, folds: int, seed: int, as_json: bool) -> None:
    """Cross-validate the pipeline (features refitted per fold) on FILE and print accuracy, macro-F1, per class."""
    texts, labels = _table(data, text_col, label_col)
    click.echo(f"{len(texts)} rows, {len(set(labels))} classes, {folds}-fold stratified cross-validation")
    report = cross_validate(
        texts,
        labels,
        folds=folds,
        seed=seed,
        on_fold=lambda n, s: click.echo(f"  fold {n}/{folds}: {s:.1f} s"),
    )
    click.echo(f"accuracy  {report.accuracy:.4f}")
    click.echo(f"macro-F1  {report.macro_f1:.4f}")
    width = max(len(label) for label in report.per_class)
    click.echo(f"{'class':<{width}}  precision  recall  f1      support")
    for label, c in report.per_class.items():
        click.echo(f"{label:<{width}}  {c.precision:.4f}     {c.recall:.4f}  {c.f1:.4f}  {c.support}")
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False))


@classifier_group.command("predict")
@click.option(
    "--district", default=None, help="District code: petitions naming only other districts are flagged."
)
@with_appcontext
@_clean_errors
def predict_command(district: str | None) -> None:
    """Read one petition text per line on stdin; write one JSON object per line on stdout.

    Output line i answers input line i. A blank input line gets {"error": "empty text", "line": i} so the lines
    stay aligned; the exit status is 1 if stdin held no text at all.
    """
    suggester = get_suggester(current_app)
    seen_text = False
    for number, line in enumerate(sys.stdin, start=1):
        text = line.strip()
        if not text:
            click.echo(json.dumps({"error": "empty text", "line": number}))
            continue
        seen_text = True
        click.echo(json.dumps(suggester.suggest(text, district_code=district).to_dict(), ensure_ascii=False))
    if not seen_text:
        raise DataError("no petition text on stdin (one text per line)")
