"""Benchmark fixtures: the real data in ../shared (never copied into the repository) and a results collector.

Every benchmark records its figures with `record(section, name, value, target)`; at the end of the session the
table is printed and written to benchmarks/results.md with the command that reproduces it.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import platform
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("QINGSU_SHARED_DIR", REPO / ".." / "shared")).resolve()
TAIDI = SHARED / "data" / "taidi2020"
FULL = TAIDI / "taidi2020_fj2_full_segmented.csv"
RAW_SAMPLE = TAIDI / "taidi2020_fj2_sample495_raw.csv"
RESULTS = Path(__file__).resolve().parent / "results.md"
RESULTS_JSON = Path(__file__).resolve().parent / "results.json"


@dataclass(frozen=True)
class Figure:
    section: str
    name: str
    value: str
    target: str


_figures: list[Figure] = []


@pytest.fixture(scope="session")
def record() -> Iterator[object]:
    def add(section: str, name: str, value: str, target: str = "") -> None:
        _figures.append(Figure(section, name, value, target))

    yield add


def _read(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        pytest.skip(
            f"benchmark data not found: {path} (the shared/ directory must sit beside the repository)"
        )
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="session")
def taidi_full() -> list[dict[str, str]]:
    """The 9,210 labelled messages, already segmented (columns text_seg, label)."""
    return _read(FULL)


@pytest.fixture(scope="session")
def taidi_raw_sample() -> list[dict[str, str]]:
    """The organisers' 495 raw messages (留言主题, 留言详情, 一级分类)."""
    return _read(RAW_SAMPLE)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Merge this run's sections into results.json (a section re-run replaces the old one) and write results.md."""
    if not _figures:
        return
    stored = (
        json.loads(RESULTS_JSON.read_text(encoding="utf-8")) if RESULTS_JSON.exists() else {"sections": {}}
    )
    stamp = (
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f}"
    )
    for section in dict.fromkeys(f.section for f in _figures):
        rows = [[f.name, f.value, f.target] for f in _figures if f.section == section]
        stored["sections"][section] = {"run": stamp, "rows": rows}
    print("\n" + write_results(stored))


def write_results(stored: dict) -> str:
    """Write results.json and results.md (one table a section) from `stored`; returns the Markdown."""
    RESULTS_JSON.write_text(json.dumps(stored, ensure_ascii=False, indent=1), encoding="utf-8")
    lines = [
        "# Benchmarks",
        "",
        "Reproduce with `make bench` (runs `pytest benchmarks`; the data is read from `../shared/data/taidi2020/`,",
        "never copied into the repository). Timings depend on what else the machine is doing: each section says",
        "when it ran and the load average then.",
        "",
    ]
    for section, content in stored["sections"].items():
        lines += [
            f"## {section}",
            "",
            f"Run: {content['run']}.",
            "",
            "| measure | result | target |",
            "|---|---|---|",
        ]
        lines += [f"| {name} | {value} | {target} |" for name, value, target in content["rows"]]
        lines.append("")
    # Sections written by hand (figures from scripts outside pytest) are kept as they are, after the measured ones.
    lines += _hand_written(set(stored["sections"]))
    text = "\n".join(lines)
    RESULTS.write_text(text, encoding="utf-8")
    return text


def _hand_written(measured: set[str]) -> list[str]:
    """The lines of the ``## `` sections of results.md that no benchmark here writes."""
    if not RESULTS.exists():
        return []
    kept: list[str] = []
    keep = False
    for line in RESULTS.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            keep = line[3:].strip() not in measured
        elif line.startswith("# "):
            keep = False
        if keep:
            kept.append(line)
    return [*kept, ""] if kept and kept[-1] else kept
