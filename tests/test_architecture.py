"""The layering of docs/architecture.md, read from the code's own imports with ``ast``.

Every ``import`` counts, at the top of a module, inside a function, or under
``TYPE_CHECKING`` (a type is a dependency too, only a cheaper one): a rule broken in a
function-local import is as broken as one at the top. When a rule here has to change,
change docs/architecture.md with it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "bulkboot"

# Which of bulkboot's packages (or bottom modules) each one may import.
BOTTOM = {"errors", "identity", "gcpause", "isotime", "bulkboot"}
MAY_IMPORT: dict[str, set[str]] = {
    "bulkboot": set(),
    "errors": {"pipeline"},  # pipeline.spec's Location, for typing only (checked below)
    "identity": set(),
    "gcpause": set(),
    "isotime": set(),
    "pipeline": {"errors", "identity", "gcpause", "isotime"},
    "simulator": {"bulkboot", "isotime"},  # isotime: pure standard library
    "cloud": {"pipeline", *BOTTOM},
    "engine": {"cloud", "pipeline", *BOTTOM},
    "ui": {"engine", "cloud", "pipeline", *BOTTOM},
    "commands": {"cli", "cloud", "engine", "pipeline", "simulator", "ui", *BOTTOM},
    "cli": {"commands", "ui", *BOTTOM},  # ui: only ui.text, to print errors safely
    "__main__": {"cli"},
}
# The third-party packages each one may import (anything else in the standard library).
THIRD_PARTY = {"aiohttp", "anyio", "yaml", "rich"}
MAY_USE: dict[str, set[str]] = {
    "pipeline": {"yaml"},
    "cloud": {"aiohttp", "anyio", "yaml"},
    "engine": {"anyio"},
    "ui": {"rich", "anyio"},
    "simulator": {"aiohttp"},
    "commands": {"anyio", "yaml"},
}


def _unit(path: Path) -> str:
    """The layer a module belongs to: its package under bulkboot/, or its own name."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    if parts == ("__init__",):
        return "bulkboot"
    return parts[0]


def _imports(path: Path) -> Iterator[tuple[int, str, bool]]:
    """(line, imported module, under TYPE_CHECKING) for every import in a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                for inner in ast.walk(child):
                    typing_only.add(id(inner))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, id(node) in typing_only
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module, id(node) in typing_only


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_every_layer_is_known() -> None:
    assert {_unit(p) for p in _modules()} <= set(MAY_IMPORT)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_follow_the_layers(path: Path) -> None:
    unit = _unit(path)
    wrong = []
    for line, module, typing_only in _imports(path):
        top, _, rest = module.partition(".")
        if top == "bulkboot":
            target = rest.split(".")[0] if rest else "bulkboot"
            if target == unit:
                continue
            if target not in MAY_IMPORT[unit]:
                wrong.append(f"{path.name}:{line}: {unit} imports {module}")
            elif unit == "errors" and not typing_only:
                wrong.append(f"{path.name}:{line}: errors imports {module} at run time")
        elif top in THIRD_PARTY and top not in MAY_USE.get(unit, set()):
            wrong.append(f"{path.name}:{line}: {unit} imports {module}")
    assert not wrong, "\n".join(wrong)


def test_the_engine_does_not_choose_the_cloud() -> None:
    """Choosing the cloud (clouds.yaml) and starting the embedded simulator are the
    commands' business: the engine is handed a client."""
    for path in (PACKAGE / "engine").rglob("*.py"):
        for line, module, _ in _imports(path):
            assert not module.startswith("bulkboot.cloud.config"), f"{path.name}:{line}"


def test_a_broken_rule_is_seen(tmp_path: Path) -> None:
    """The reader finds imports in functions and under TYPE_CHECKING too."""
    source = tmp_path / "sample.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import rich\n"
        "def f():\n    from bulkboot.simulator import x\n"
    )
    assert list(_imports(source)) == [
        (1, "typing", False),
        (3, "rich", True),
        (5, "bulkboot.simulator", False),
    ]
