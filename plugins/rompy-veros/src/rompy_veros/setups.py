"""Veros setups: the ones Veros ships, found by name, and what a setup file sets.

Both happen before anything runs, in dry runs too, so neither imports Veros's numerical
core: a shipped setup is found from where the veros package lies, and a setup's settings
are read from its source as far as they are constants (`settings.dt_tracer = 86400 / 2.0`).
"""

from __future__ import annotations

import ast
import importlib.util
import operator
from functools import lru_cache
from pathlib import Path
from typing import Any

#: Files of a setup folder that are not part of the setup (Veros's copy-setup leaves them out too).
NOT_SETUP_FILES = ("__init__.py", "__pycache__")


def _veros_setups_dir() -> Path | None:
    spec = importlib.util.find_spec("veros")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "setups"


@lru_cache(maxsize=None)
def all_setups() -> dict[str, Path]:
    """Every setup `veros copy-setup` knows: Veros's own, plugins', and VEROS_SETUP_DIR's."""
    if importlib.util.find_spec("veros") is None:
        return {}
    from veros.cli.veros_copy_setup import SETUPS

    return {name: Path(path) for name, path in SETUPS.items()}


def find_setup(name: str) -> Path | None:
    """The folder of the setup called `name`, or None. Veros's own setups are found without importing Veros."""
    own = _veros_setups_dir()
    if own is not None and (own / name / f"{name}.py").is_file() and not name.startswith(("_", ".")):
        return own / name
    return all_setups().get(name)


def setup_files(folder: Path) -> list[Path]:
    """The files of a setup folder that a run needs (its main file, data it reads)."""
    return sorted(path for path in folder.iterdir()
                  if path.is_file() and path.name not in NOT_SETUP_FILES and path.suffix != ".pyc")


def known_settings() -> dict[str, Any]:
    """Veros's settings registry: {name: Setting(default, type, description)}."""
    from veros.settings import SETTINGS  # a plain dict module: no numerical core

    return SETTINGS


_OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
              ast.FloorDiv: operator.floordiv, ast.Pow: operator.pow, ast.Mod: operator.mod,
              ast.USub: operator.neg, ast.UAdd: operator.pos}


class _Unknown(Exception):
    """An expression that cannot be worked out without running the setup."""


def _setting_name(target: ast.expr) -> str | None:
    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "settings":
        return target.attr
    return None


def _evaluate(node: ast.expr, values: dict[str, Any]) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, bool, str)):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_evaluate(node.left, values), _evaluate(node.right, values))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_evaluate(node.operand, values))
    name = _setting_name(node)
    if name is not None and name in values:
        return values[name]
    raise _Unknown


def constant_settings(setup_file: Path) -> dict[str, Any]:
    """The settings `setup_file` gives constant values, in the order it sets them.

    A setting set from anything but numbers, text and other settings (a function call, a
    file read) is left out: it is known only once the setup runs.
    """
    tree = ast.parse(setup_file.read_text(encoding="utf-8"), str(setup_file))
    values = {name: setting.default for name, setting in known_settings().items()}
    found: dict[str, Any] = {}
    assignments = sorted((node for node in ast.walk(tree) if isinstance(node, ast.Assign)),
                         key=lambda node: (node.lineno, node.col_offset))
    for node in assignments:
        for target in node.targets:
            pairs = [(target, node.value)]
            if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple) \
                    and len(target.elts) == len(node.value.elts):
                pairs = list(zip(target.elts, node.value.elts))
            for element, value in pairs:
                name = _setting_name(element)
                if name is None:
                    continue
                try:
                    found[name] = values[name] = _evaluate(value, values)
                except (_Unknown, ArithmeticError):
                    found.pop(name, None)
                    values.pop(name, None)
    return found
