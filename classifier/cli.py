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

from classifier.corpus import Example, corpus_table, load_corpus, read_table, split_validation
from classifier.errors import ClassifierError, DataError
from classifier.evaluate import cross_validate
from classifier.lifecycle import DEFAULT_SOURCE, confirmed_examples, get_suggester, model_path
from classifier.model import train
from classifier.versions import keep_and_serve, rollback, serve, versions

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
@click.option("--force", is_flag=True, help="Serve the new version even if it is worse on the validation set.")
@with_appcontext
@_clean_errors
def train_command(
    data: Path | None,
    text_col: str,
    label_col: str,
    from_db: bool,
    output: Path | None,
    if_missing: bool,
    force: bool,
) -> None:
    """Train the suggestion model, keep it as a new version and serve it unless it is worse than the served one.

    Without --data the department model learns from the shipped corpus; with --data it learns FILE's labels
    instead, while nature, 发展 and admissibility still come from the shipped corpus. The shipped corpus's fixed
    validation rows are never trained on: each version is measured on them, and a version that scores worse than
    the served model is kept but not served (exit status 1; `promote` serves it on purpose).
    """
    target = _target(output)
    if if_missing and target.exists():
        click.echo(f"model already at {target}: not retrained")
        return
    started = time.perf_counter()
    examples, validation = split_validation(load_corpus())
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
    outcome = keep_and_serve(model, target, validation, force=force)
    meta = model.metadata
    click.echo(f"trained on {meta['n_examples']} rows in {time.perf_counter() - started:.1f} s")
    for head, figures in meta["metrics"].items():
        click.echo(
            f"  {head:<14} n={figures['n']:<6} accuracy={figures['accuracy']:.4f} macro-F1={figures['macro_f1']:.4f}"
            f" ({figures['folds']}-fold, quick)"
        )
    click.echo(f"version {outcome.version}, data hash {meta['data_hash'][:12]}; validation set:")
    for head, figures in outcome.figures.items():
        before = outcome.served_figures.get(head, {}).get("macro_f1")
        served = "" if before is None else f" (served model: {before:.4f})"
        click.echo(f"  {head:<14} n={figures['n']:<6} macro-F1={figures['macro_f1']:.4f}{served}")
    if not outcome.served:
        raise click.ClickException(
            f"{outcome.version} is worse than the served model on the validation set ({'; '.join(outcome.reasons)}):"
            f" kept, not served; the served model goes on serving (`qingsu classifier promote {outcome.version}`"
            " serves it anyway)"
        )
    click.echo(f"serving {outcome.version} at {target}")


def _target(output: Path | None) -> Path:
    return output.resolve() if output else model_path(current_app)


_MODEL = click.option(
    "--model", "output", type=click.Path(path_type=Path, dir_okay=False), help="Default: [classifier] model_path."
)


@classifier_group.command("versions")
@_MODEL
@with_appcontext
@_clean_errors
def versions_command(output: Path | None) -> None:
    """List the kept model versions with their date, source and validation figures; * marks the one serving."""
    kept = versions(_target(output))
    if not kept:
        click.echo("no model versions yet (run `qingsu classifier train`)")
    for meta in kept:
        figures = meta.get("validation", {})
        scores = "  ".join(f"{head} macro-F1 {f['macro_f1']:.4f}" for head, f in figures.items()) or "no validation"
        click.echo(
            f"{'*' if meta['served'] else ' '} {meta['version']}  {meta.get('trained_at', '?')}"
            f"  {meta.get('source', '?'):<12} {scores}"
        )


@classifier_group.command("promote")
@click.argument("version")
@_MODEL
@with_appcontext
@_clean_errors
def promote_command(version: str, output: Path | None) -> None:
    """Serve VERSION (one `versions` lists), whatever its figures."""
    serve(_target(output), version)
    click.echo(f"serving {version}")


@classifier_group.command("rollback")
@_MODEL
@with_appcontext
@_clean_errors
def rollback_command(output: Path | None) -> None:
    """Serve again the version that served before the current one."""
    click.echo(f"serving {rollback(_target(output))}")


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
