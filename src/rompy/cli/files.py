"""Reading users' config files, and saying where one is broken.

Hydra stops at the first YAML file it cannot read with a parser traceback (or, for
bytes that are not UTF-8, with no file name at all). rompy turns that into one
line, `conf/backend/broken.yaml:5:5: mapping values are not allowed here`: file,
line, column and the parser's own words, the way compilers report.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable


def shown_path(path: str | os.PathLike) -> str:
    """A path as the user would type it: relative to the current folder when inside it."""
    text = str(path)
    try:
        relative = os.path.relpath(text)
    except ValueError:
        return text
    return relative if not relative.startswith("..") else text


def yaml_problem(exc: BaseException) -> str | None:
    """`file:line:column: problem` for a YAML parser error, else None."""
    import yaml

    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "not valid YAML"
        if mark is None:
            return problem
        return f"{shown_path(mark.name)}:{mark.line + 1}:{mark.column + 1}: {problem}"
    if isinstance(exc, yaml.reader.ReaderError):
        line, column = _line_and_column(exc.name, exc.position)
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        return f"{shown_path(exc.name)}:{line}:{column}: character U+{code:04X} is not allowed in YAML"
    if isinstance(exc, yaml.YAMLError):
        return str(exc).splitlines()[0] if str(exc) else "not valid YAML"
    return None


def config_file_problem(exc: BaseException) -> str | None:
    """yaml_problem for an error Hydra raised, in the words rompy's own reader uses for that file.

    OmegaConf may parse with libyaml, which words problems differently: reading the file
    again here gives the same line in a run, a sweep, `--help` and completion.
    """
    problem = yaml_problem(exc)
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    name = getattr(mark, "name", None) or getattr(exc, "name", None)
    if problem and name and Path(name).is_file():
        return load(Path(name))[1] or problem
    return problem


def _line_and_column(name: str, position: int) -> tuple[int, int]:
    try:
        text = Path(name).read_text(encoding="utf-8", errors="replace")[:position]
    except OSError:
        return 1, position + 1
    return text.count("\n") + 1, position - (text.rfind("\n") + 1) + 1


def undecodable_problem(path: Path) -> str | None:
    """`file:line:column: ...` if the file is not UTF-8 text, else None."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        return f"{shown_path(path)}:{line}:{column}: byte {data[exc.start]:#04x} is not UTF-8 (save the file as UTF-8)"
    return None


def find_unreadable(folders: Iterable[Path], not_utf8: bool, selected: Iterable[str] = ()) -> str | None:
    """The config file under `folders` that Hydra could not load, described in one line.

    For the errors Hydra raises without naming the file: bytes that are not UTF-8
    (`not_utf8`), or a file holding a single value (`42`) where a mapping of keys belongs.
    Files the command line selects (`selected`: 'backend/mine.yaml') are looked at first.
    """
    paths: list[Path] = []
    for folder in folders:
        try:
            paths += sorted(Path(folder).rglob("*.yaml"))
        except OSError:
            continue
    wanted = set(selected)
    paths.sort(key=lambda p: not any(str(p).endswith("/" + name) for name in wanted))
    for path in paths:
        data, problem = load(path)
        if not_utf8 and problem and "is not UTF-8" in problem:
            return problem
        if not not_utf8 and not problem and data is not None and not isinstance(data, (dict, list)):
            return f"{shown_path(path)}:1:1: the file holds the single value {data!r:.60}, not a mapping of keys"
    return None


def load(path: Path) -> tuple[Any, str | None]:
    """(data, problem): a config file read with Hydra's rules for what is broken.

    YAML 1.1 as PyYAML's safe loader reads it, with duplicate keys refused as OmegaConf
    refuses them. (Not OmegaConf itself: `rompy --help` stays free of Hydra and OmegaConf.)
    """
    problem = undecodable_problem(path)
    if problem:
        return None, problem
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
        return yaml.load(text, Loader=_loader()), None  # noqa: S506 - a SafeLoader subclass
    except OSError as exc:
        return None, f"{shown_path(path)}: cannot read: {exc.strerror or exc}"
    except yaml.YAMLError as exc:
        if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
            exc.problem_mark.name = str(path)
        if isinstance(exc, yaml.reader.ReaderError):
            exc.name = str(path)
        return None, yaml_problem(exc)


_LOADER: list = []


def _loader():
    """yaml.SafeLoader that refuses a key given twice in one mapping, as OmegaConf does."""
    if not _LOADER:
        import yaml

        class StrictLoader(yaml.SafeLoader):
            def construct_mapping(self, node, deep=False):
                seen = set()
                for key_node, _ in node.value:
                    if key_node.tag == yaml.resolver.BaseResolver.DEFAULT_SCALAR_TAG:
                        if key_node.value in seen:
                            raise yaml.constructor.ConstructorError(
                                "while constructing a mapping", node.start_mark,
                                f"found duplicate key {key_node.value}", key_node.start_mark)
                        seen.add(key_node.value)
                return super().construct_mapping(node, deep=deep)

        _LOADER.append(StrictLoader)
    return _LOADER[0]
