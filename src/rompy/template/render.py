"""Rendering a template folder with Jinja2, the engine under cookiecutter and upstream rompy.

A folder in upstream rompy's cookiecutter layout (`<template>/{{runtime.staging_dir}}/INPUT`)
renders unchanged: the contents of its one templated top folder go into the run directory.
A plain folder of templates renders as it is. File and folder names are templates too;
files that are not UTF-8 text are copied as they are, and executable files stay executable.
An undefined variable or a syntax error is one line naming the template file and line.
"""

from __future__ import annotations

import os
import subprocess
import tarfile
import tempfile
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from rompy.errors import ConfigError


def render_folder(template: Path, context: dict[str, Any]) -> dict[str, tuple[bytes, bool]]:
    """{relative path in the run directory: (content, executable)} for every file of `template`."""
    import jinja2

    root = _project_root(template)
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(str(root)), undefined=jinja2.StrictUndefined,
                                     keep_trailing_newline=True, autoescape=False)
    rendered: dict[str, tuple[bytes, bool]] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not _hidden(p.relative_to(root))):
        relative = path.relative_to(root)
        name = "/".join(_render_text(environment, part, context, f"{template}: the name {relative}")
                        for part in relative.parts)
        if not name or any(not part for part in name.split("/")):
            continue  # a name that renders empty is left out, as cookiecutter does
        data = path.read_bytes()
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            content = data  # binary: copied as it is
        else:
            content = _render_file(environment, relative.as_posix(), path, context).encode("utf-8")
        rendered[name] = (content, os.access(path, os.X_OK))
    return rendered


def _hidden(relative: Path) -> bool:
    return any(part in (".git", "__pycache__") for part in relative.parts)


def _project_root(template: Path) -> Path:
    """The cookiecutter layout's templated top folder (`{{runtime.staging_dir}}`), else the folder itself."""
    templated = [child for child in template.iterdir()
                 if child.is_dir() and "{{" in child.name and "}}" in child.name and "runtime" in child.name]
    return templated[0] if len(templated) == 1 else template


def _render_text(environment, text: str, context: dict[str, Any], where: str) -> str:
    import jinja2

    if "{{" not in text and "{%" not in text:
        return text
    try:
        rendered = environment.from_string(text).render(context)
    except jinja2.TemplateError as exc:
        raise ConfigError(f"{where}: {_message(exc)}") from None
    # A name such as {{runtime.staging_dir}} renders to the run directory itself: only its last part counts.
    return Path(rendered).name if os.path.isabs(rendered) else rendered


def _render_file(environment, name: str, path: Path, context: dict[str, Any]) -> str:
    import jinja2

    try:
        return environment.get_template(name).render(context)
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: {_message(exc)}") from None
    except jinja2.TemplateError as exc:
        raise ConfigError(f"{path}:{_line_in(exc, path)}: {_message(exc)}") from None
    except Exception as exc:  # noqa: BLE001 - an error in an expression (a strftime, a division) is the template's
        raise ConfigError(f"{path}:{_line_in(exc, path)}: {type(exc).__name__}: {exc}") from None


def _line_in(exc: BaseException, path: Path) -> int | str:
    """The template line an error happened on (Jinja2 puts template frames into the traceback)."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename == str(path):
            return frame.lineno
    return "?"


def _message(exc: BaseException) -> str:
    return " ".join(str(getattr(exc, "message", None) or exc).split()) or type(exc).__name__


@contextmanager
def checked_out(template: Path, checkout: str | None) -> Iterator[Path]:
    """The template folder, or the `checkout` (a branch, tag or commit) of the git repository it is."""
    if checkout is None:
        yield template
        return
    with tempfile.TemporaryDirectory(prefix="rompy-template-") as folder:
        proc = subprocess.run(["git", "-C", str(template), "archive", "--format=tar", checkout],
                              capture_output=True, timeout=120)
        if proc.returncode != 0:
            reason = " ".join(proc.stderr.decode(errors="replace").split())[:300]
            raise ConfigError(f"model.checkout: cannot check out {checkout!r} of {template}: {reason}")
        import io

        with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as archive:
            archive.extractall(folder, filter="data")
        yield Path(folder)
