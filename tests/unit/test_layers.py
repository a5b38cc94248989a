"""The import rules docs/architecture.md states, checked on the source so a change that breaks one fails here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import rompy

PACKAGE = Path(rompy.__file__).parent


def imported_modules(path: Path) -> set[str]:
    """Every module a source file imports, at module level or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def breaches(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    lines = []
    for path in sorted((PACKAGE / folder).rglob("*.py")):
        for module in sorted(imported_modules(path)):
            if any(module == name or module.startswith(name + ".") for name in forbidden):
                lines.append(f"{path.relative_to(PACKAGE)} imports {module}")
    return lines


@pytest.mark.parametrize(
    ("folder", "forbidden"),
    [
        ("backends", ("rompy.cli", "rompy._hydra", "rompy.sweep", "rompy.runs", "hydra", "omegaconf")),
        ("runtime", ("rompy.backends", "rompy.cli", "rompy._hydra", "rompy.sweep", "hydra", "omegaconf")),
        ("runs", ("rompy.backends", "rompy.cli", "rompy._hydra", "hydra", "omegaconf")),
        ("postprocess", ("rompy.cli", "rompy._hydra", "rompy.sweep", "hydra")),
    ],
)
def test_a_layer_imports_nothing_above_it(folder, forbidden):
    assert breaches(folder, forbidden) == []


def test_the_check_sees_an_import_made_inside_a_function(tmp_path):
    module = tmp_path / "late.py"
    module.write_text("def f():\n    from rompy.cli.terminal import console\n    import hydra\n")
    assert imported_modules(module) == {"rompy.cli.terminal", "hydra"}
