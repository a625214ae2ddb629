"""Reading labelled text: the shipped training corpus, and any CSV or XLSX file named on the command line."""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from classifier.errors import DataError
from models.enums import DeptType, InadmissibleCode, Nature, PetitionKind

CORPUS_DIR = Path(__file__).resolve().parent / "data"
CORPUS_GLOB = "corpus_*.csv"
CORPUS_COLUMNS = ("text", "dept_type", "nature", "kind", "inadmissible")
# The corpus labels only the two kinds a citizen or an enterprise sends; 执法 petitions come from staff.
CORPUS_KINDS = frozenset({PetitionKind.LIVELIHOOD.value, PetitionKind.DEVELOPMENT.value})


@dataclass(frozen=True)
class Example:
    """One labelled petition text; a label is None where the row does not give it."""

    text: str
    dept_type: str | None = None
    nature: str | None = None
    kind: str | None = None
    inadmissible: str | None = None


def _check(value: str, allowed: Iterable[str], column: str, where: str) -> str | None:
    if not value:
        return None
    if value not in {str(item) for item in allowed}:
        raise DataError(f"{where}: unknown {column} {value!r}")
    return value


def corpus_files(directory: Path = CORPUS_DIR) -> list[Path]:
    """Every `corpus_*.csv` in `directory`, sorted, so more files can be added without changing code."""
    return sorted(directory.glob(CORPUS_GLOB))


def load_corpus(paths: Sequence[Path] | None = None) -> list[Example]:
    """Read the labelled corpus files (default: every shipped `classifier/data/corpus_*.csv`).

    :raises DataError: a file is missing a column, a label is not one of the codes in `models.enums`,
        or there is no row at all.
    """
    files = list(paths) if paths is not None else corpus_files()
    examples: list[Example] = []
    for path in files:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [column for column in CORPUS_COLUMNS if column not in (reader.fieldnames or [])]
            if missing:
                raise DataError(f"{path.name}: missing column(s) {', '.join(missing)}")
            for line, row in enumerate(reader, start=2):
                where = f"{path.name}:{line}"
                text = (row["text"] or "").strip()
                if not text:
                    continue
                examples.append(
                    Example(
                        text=text,
                        dept_type=_check((row["dept_type"] or "").strip(), DeptType, "dept_type", where),
                        nature=_check((row["nature"] or "").strip(), Nature, "nature", where),
                        kind=_check((row["kind"] or "").strip(), CORPUS_KINDS, "kind", where),
                        inadmissible=_check(
                            (row["inadmissible"] or "").strip(), InadmissibleCode, "inadmissible", where
                        ),
                    )
                )
    if not examples:
        raise DataError("the training corpus is empty (no classifier/data/corpus_*.csv rows)")
    return examples


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        return [], []
    return rows[0], rows[1:]


def _read_xlsx(path: Path) -> tuple[list[str], list[list[str]]]:
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        values = [
            ["" if cell is None else str(cell) for cell in row]
            for row in workbook.worksheets[0].iter_rows(values_only=True)
        ]
    finally:
        workbook.close()
    if not values:
        return [], []
    return values[0], values[1:]


def read_table(path: Path, text_col: str, label_col: str) -> tuple[list[str], list[str]]:
    """Texts and labels from a CSV (UTF-8) or XLSX (first sheet) file with a header row.

    Rows whose text or label is blank are skipped.

    :raises DataError: the file cannot be read, lacks `text_col` or `label_col`, or has no usable row.
    """
    try:
        if path.suffix.lower() in {".xlsx", ".xlsm"}:
            header, rows = _read_xlsx(path)
        else:
            header, rows = _read_csv(path)
    except (OSError, UnicodeDecodeError, csv.Error, ValueError, KeyError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc
    except Exception as exc:  # openpyxl raises assorted errors (zipfile.BadZipFile, …) on a damaged workbook
        raise DataError(f"cannot read {path}: {type(exc).__name__}: {exc}") from exc
    header = [name.strip() for name in header]
    missing = [column for column in (text_col, label_col) if column not in header]
    if missing:
        raise DataError(
            f"{path.name}: no column {' or '.join(repr(m) for m in missing)} (columns: {', '.join(header) or 'none'})"
        )
    text_at, label_at = header.index(text_col), header.index(label_col)
    texts: list[str] = []
    labels: list[str] = []
    for row in rows:
        text = row[text_at].strip() if text_at < len(row) else ""
        label = row[label_at].strip() if label_at < len(row) else ""
        if text and label:
            texts.append(text)
            labels.append(label)
    if not texts:
        raise DataError(f"{path.name}: no row with both {text_col!r} and {label_col!r} filled in")
    return texts, labels


def data_hash(pairs: Iterable[tuple[str, ...]]) -> str:
    """A SHA-256 over labelled rows in a canonical order: the same data gives the same hash in any row order."""
    digest = hashlib.sha256()
    for pair in sorted(pairs):
        digest.update("\x1f".join(pair).encode("utf-8"))
        digest.update(b"\x1e")
    return digest.hexdigest()


def corpus_table(examples: Sequence[Example]) -> str:
    """Counts per label of a corpus as Markdown tables (what classifier/data/README.md shows)."""
    lengths = sorted(len(example.text) for example in examples)
    lines = [
        f"{len(examples)} rows; text length median {lengths[len(lengths) // 2]} characters, "
        f"shortest {lengths[0]}, longest {lengths[-1]}.",
    ]
    columns = {
        "dept_type": [e.dept_type for e in examples if e.dept_type and not e.inadmissible],
        "inadmissible": [e.inadmissible for e in examples if e.inadmissible],
        "nature": [e.nature for e in examples if e.nature],
        "kind": [e.kind for e in examples if e.kind],
    }
    labels = {
        "dept_type": {d.value: d.label for d in DeptType},
        "inadmissible": {c.value: c.label for c in InadmissibleCode},
        "nature": {n.value: n.label for n in Nature},
        "kind": {k.value: k.label for k in PetitionKind},
    }
    for column, values in columns.items():
        counts = Counter(values)
        lines += ["", f"| {column} | | rows |", "|---|---|---|"]
        lines += [
            f"| `{value}` | {labels[column].get(value, '')} | {counts[value]} |" for value in sorted(counts)
        ]
    return "\n".join(lines)


# The fixed validation set: this share of the shipped corpus, picked by a hash of each text (so it never depends on
# the order of the files or on new rows), is never trained on. Every model version is measured on it before it
# serves, and the confidence threshold and the admissibility figures of classifier/README.md come from it.
VALIDATION_PERCENT = 15
# A corpus smaller than this (the tests' tiny ones) is trained on whole and has no validation set.
VALIDATION_MIN_ROWS = 200


def is_validation(text: str) -> bool:
    """Whether a shipped corpus text belongs to the fixed validation set."""
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:8], 16) % 100 < VALIDATION_PERCENT


def split_validation(examples: Sequence[Example]) -> tuple[list[Example], list[Example]]:
    """(training rows, validation rows) of the shipped corpus; a corpus under VALIDATION_MIN_ROWS is all training."""
    if len(examples) < VALIDATION_MIN_ROWS:
        return list(examples), []
    training = [e for e in examples if not is_validation(e.text)]
    return training, [e for e in examples if is_validation(e.text)]
