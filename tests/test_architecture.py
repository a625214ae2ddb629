"""The import rules of ARCHITECTURE.md: edges → rules → models and infrastructure, never the other way.

Read from the source with `ast` (every import, also the ones inside functions), so a rule broken anywhere fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Each top-level package and the project packages it may import (besides itself). The order is the layering:
# models and wechat at the bottom, the rules (classifier, workflow) above them, the edges (bot, admin_web) above the
# rules, and the application factory (qingsu) that wires them all together on top.
ALLOWED: dict[str, set[str]] = {
    "models": set(),
    "wechat": {"models"},
    "classifier": {"models"},
    "workflow": {"models", "wechat", "classifier"},
    "bot": {"models", "wechat", "classifier", "workflow"},
    "admin_web": {"models", "wechat", "classifier", "workflow", "bot"},
    "qingsu": {"models", "wechat", "classifier", "workflow", "bot", "admin_web"},
}


def imports_of(path: Path) -> set[str]:
    """The top-level project packages `path` imports (absolute imports; the project uses no relative ones)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import"
            names = [node.module or ""]
        else:
            continue
        found |= {name.split(".")[0] for name in names if name.split(".")[0] in ALLOWED}
    return found


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {package: set() for package in ALLOWED}
    for package in ALLOWED:
        for path in (ROOT / package).rglob("*.py"):
            graph[package] |= imports_of(path) - {package}
    return graph


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_the_layers_below_it(package: str) -> None:
    offending = {
        f"{path.relative_to(ROOT)} imports {other}"
        for path in (ROOT / package).rglob("*.py")
        for other in imports_of(path) - ALLOWED[package] - {package}
    }
    assert not offending, sorted(offending)


def test_the_rules_and_the_models_import_no_edge() -> None:
    graph = package_graph()
    for package in ("workflow", "classifier", "models", "wechat"):
        assert not graph[package] & {"bot", "admin_web", "qingsu"}, (package, graph[package])


def test_no_cycle_between_top_level_packages() -> None:
    graph = package_graph()
    done: set[str] = set()

    def visit(package: str, path: tuple[str, ...]) -> None:
        assert package not in path, " → ".join((*path, package))
        if package in done:
            return
        for other in graph[package]:
            visit(other, (*path, package))
        done.add(package)

    for package in graph:
        visit(package, ())


def test_the_check_sees_an_import_inside_a_function(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from bot.webhook import x\n    import admin_web.auth\n", encoding="utf-8")
    assert imports_of(module) == {"bot", "admin_web"}
