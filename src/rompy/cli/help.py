"""`rompy --help`: every config group, option and key, described by the config models.

The descriptions come from the Pydantic field descriptions (the one source of truth);
the options come from the config folders Hydra will search (./conf, ROMPY_CONFIG_PATH,
the shipped conf/, --config-dir), scanned directly. Neither Hydra nor the Docker SDK
is imported, so the help costs little more than importing the config models.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import Any

# Groups whose options are validated by a config class chosen by `type`.
KINDS = ("backend", "postprocessor", "model")
KIND_BLURB = {
    "backend": "where and how the model command runs",
    "postprocessor": "what happens to the outputs after the model ran",
    "model": "what is run: renders INPUT and names the command",
}
# Hydra groups rompy ships options for; Hydra's own options (config-store entries, no file).
HYDRA_GROUPS = {"hydra/launcher": {"basic": "Hydra's own"}, "hydra/sweeper": {"basic": "Hydra's own"}}
PLUGIN_OPTIONS = {
    ("hydra/launcher", "hydra_plugins.hydra_submitit_launcher"): {
        "submitit_local": "from hydra-submitit-launcher", "submitit_slurm": "from hydra-submitit-launcher",
    },
}

USAGE = """\
usage: rompy [-h] [HYDRA FLAGS] [group=option ...] [key=value ...]
       rompy runs|show|diff|sweeps|report [OPTIONS]   (rompy runs --help, ...)

Run a numerical model from composable config: Hydra composes the groups below with
your overrides, Pydantic validates the result, one run path executes the model on the
chosen backend, postprocesses its outputs and records the run in
<output_dir>/<run_id>/rompy-result.json. `python -m rompy` is the same command.

Examples:
  rompy                                     the demo model, locally, every default
  rompy backend=docker backend.cpu=4        choose a group option, override one of its keys
  rompy model.depths=[5,10] dry_run=true    compose, validate, pre-flight; create nothing
  rompy 'backend.command="exit 3"'          quote a command with spaces (docs/overrides.md)
  rompy -m model.periods=5,10               a sweep: one run per value (docs/sweeps.md)
  rompy --cfg job backend=docker            print the composed config and exit
  rompy +backend.env_vars.TOKEN='${oc.env:TOKEN}'   a secret from the environment (docs/secrets.md)
  eval "$(rompy -sc install=bash)"          tab completion of groups, options and keys

Sub-commands (the first word; an override always holds `=` or starts with + or ~):
$subcommands
  e.g. rompy runs --status failed; rompy show RUN_ID; rompy report  (docs/runs.md)

Exit codes:
  0    success
  1    the run failed (model failed or timed out, postprocessor failed, image pull or build
       failed); in a sweep: any member failed
  2    configuration or usage error; nothing was run
  130  interrupted (SIGINT)
  143  terminated (SIGTERM)
"""

# Hydra's command-line flags (1.3); tests/ux checks this against Hydra's own parser.
HYDRA_FLAGS = [
    ("--cfg, -c {job,hydra,all}", "print the composed config instead of running"),
    ("--resolve", "with --cfg: resolve interpolations before printing"),
    ("--package, -p PACKAGE", "with --cfg: print only this package, e.g. backend"),
    ("--info, -i [all,config,defaults,defaults-tree,plugins,searchpath]", "Hydra's information about this app"),
    ("--run, -r", "a single run (the default)"),
    ("--multirun, -m", "one run per combination of swept values (a,b or range(...))"),
    ("--shell-completion, -sc", "install=bash|zsh|fish, uninstall=bash: tab completion"),
    ("--config-path, -cp DIR", "replace the folder of the primary config"),
    ("--config-name, -cn NAME", "use another primary config (default: rompy)"),
    ("--config-dir, -cd DIR", "add a config folder, searched after the shipped one"),
    ("--experimental-rerun FILE", "rerun a job from its pickled config"),
    ("--hydra-help", "Hydra's own help"),
    ("--version", "Hydra's version"),
    ("-h, --help", "this help"),
]


@dataclass
class Option:
    name: str
    path: Path
    source: str
    data: Any = None
    comment: str = ""
    problem: str | None = None  # why the file cannot be read, e.g. 'conf/x.yaml:5:5: ...'


@dataclass
class Group:
    name: str
    options: dict[str, Option] = field(default_factory=dict)


# -- reading the options ----------------------------------------------------------------
def _header_comment(text: str) -> str:
    """The first sentence of the file's leading comment, directives left out."""
    words: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("#"):
            break
        body = stripped.lstrip("#").strip()
        if body.startswith(("yaml-language-server:", "@package")):
            continue
        if not body:
            if words:
                break
            continue
        if words and body.startswith(("python ", "rompy ")):
            break  # an example command line, not prose
        words.append(body)
        if body.endswith((".", ":")):
            break
    sentence = " ".join(words)
    end = sentence.find(". ")
    return (sentence[: end + 1] if end > 0 else sentence).rstrip(":")


def _load(path: Path) -> tuple[Any, str, str | None]:
    """(data, header comment, problem): the file read as Hydra reads it; problem if it is broken."""
    from rompy.cli.files import load

    data, problem = load(path)
    try:
        comment = _header_comment(path.read_text(encoding="utf-8", errors="replace")) if not problem else ""
    except OSError:
        comment = ""
    return data, comment, problem


def scan_groups(folders: list[tuple[Path, str]]) -> dict[str, Group]:
    """Every group and option in `folders`; the first folder that has an option wins."""
    groups: dict[str, Group] = {}
    for folder, label in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*.yaml")):
            rel = path.relative_to(folder)
            if len(rel.parts) < 2:
                continue  # a primary config, not a group option
            group = groups.setdefault("/".join(rel.parts[:-1]), Group("/".join(rel.parts[:-1])))
            if path.stem not in group.options:
                data, comment, problem = _load(path)
                group.options[path.stem] = Option(path.stem, path, label, data, comment, problem)
    return groups


def primary_config(folders: list[tuple[Path, str]], name: str) -> tuple[dict, dict[str, str]]:
    """(the primary config's own keys, {group: default option}) from the first folder that has it."""
    for folder, _ in folders:
        path = folder / f"{name}.yaml"
        if path.is_file():
            data, _, _ = _load(path)
            data = data if isinstance(data, dict) else {}
            defaults: dict[str, str] = {}
            entries = data.get("defaults")
            for entry in entries if isinstance(entries, list) else []:
                if isinstance(entry, dict):
                    for key, value in entry.items():
                        defaults[str(key).replace("override ", "").strip()] = str(value)
            return data, defaults
    return {}, {}


# -- describing keys ----------------------------------------------------------------------
def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value if value and value.strip() == value and not value.startswith(("[", "{")) else json.dumps(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(", ", ": "), default=str)
    return str(value)


def _default(info) -> Any:
    from pydantic_core import PydanticUndefined

    if info.default_factory is not None:
        try:
            return info.default_factory()
        except TypeError:
            return "???"
    return "???" if info.default is PydanticUndefined else info.default


def field_rows(cls, values: dict | None, prefix: str = "") -> list[tuple[str, str, str]]:
    """(key, value, description) for every field of `cls`; nested models are expanded."""
    from pydantic import BaseModel

    rows = []
    values = values if isinstance(values, dict) else {}
    for name, info in cls.model_fields.items():
        if name == "type" and not prefix:
            continue
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            rows += field_rows(annotation, values.get(name), f"{prefix}{name}.")
            continue
        value = values[name] if name in values else _default(info)
        description = (info.description or "").strip().splitlines()
        rows.append((prefix + name, _show(value), description[0] if description else "(no description)"))
    return rows


def _table(rows: list[tuple[str, str, str]], indent: str) -> list[str]:
    if not rows:
        return []
    width = min(max(len(f"{k}={v}") for k, v, _ in rows), 34)
    lines = []
    for key, value, description in rows:
        setting = f"{key}={value}"
        if len(setting) > width:
            lines.append(f"{indent}{setting}")
            lines.append(f"{indent}{'':{width}}  {description}")
        else:
            lines.append(f"{indent}{setting:{width}}  {description}")
    return lines


def _plugin_types() -> dict[str, list[str]]:
    """Type names registered by installed packages, per kind."""
    from rompy.registry import plugin_entry_points

    return {kind: list(eps) for kind, eps in plugin_entry_points().items()}


def _config_class(kind: str, option: Option):
    """(class, problem): the config class an option's `type` names."""
    from rompy.registry import resolve

    if option.data is not None and not isinstance(option.data, dict):
        return None, f"the file holds a {type(option.data).__name__}, not a mapping of keys"
    data = option.data or {}
    type_name = data.get("type")
    if not isinstance(type_name, str) or not type_name:
        return None, "no 'type' key" if data else "the file is empty"
    try:
        return resolve(kind, type_name), ""
    except Exception as exc:  # noqa: BLE001 - a broken user option must not break --help
        return None, str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _first_doc_line(cls) -> str:
    doc = (cls.__doc__ or "").strip().splitlines()
    return doc[0] if doc else ""


def _option_title(name: str, option: Option, default: str | None, extra: str) -> str:
    marks = []
    if name == default:
        marks.append("default")
    if option.source not in ("shipped", "primary"):
        marks.append(f"from {option.source}")
    title = f"  {name}" + (f" ({', '.join(marks)})" if marks else "")
    return f"{title}: {extra}" if extra else title


def _kind_section(kind: str, group: Group | None, default: str | None) -> list[str]:
    from rompy.registry import BUILTINS

    lines = [f"{kind}={'|'.join(sorted(group.options)) if group else '<option>'}  ({KIND_BLURB[kind]})"]
    plugins = [t for t in _plugin_types().get(kind, []) if t not in BUILTINS[kind]]
    lines.append(f"  type: {', '.join(BUILTINS[kind])}"
                 + (f"; from plugins: {', '.join(plugins)}" if plugins else "")
                 + "; or an import path 'package.module:ClassName'")
    if group is None:
        return lines
    first_of_class: dict[type, Option] = {}
    for name in sorted(group.options):
        option = group.options[name]
        if option.problem:
            lines.append(_option_title(name, option, default, f"(broken: {option.problem})"))
            continue
        cls, problem = _config_class(kind, option)
        if cls is None:
            lines.append(_option_title(name, option, default, f"(cannot describe: {problem})"))
            data = option.data if isinstance(option.data, dict) else {}
            lines += _table([(f"{kind}.{k}", _show(v), "") for k, v in data.items()], "      ")
            continue
        summary = f"type {option.data['type']}: {_first_doc_line(cls) or option.comment}"
        if cls in first_of_class:
            # Same keys as an option already listed: show only what this one sets differently.
            base = first_of_class[cls]
            ours = {k: v for k, v, _ in field_rows(cls, option.data)}
            theirs = {k: v for k, v, _ in field_rows(cls, base.data)}
            changed = [f"{kind}.{k}={v}" for k, v in ours.items() if theirs.get(k) != v]
            lines.append(_option_title(name, option, default, summary))
            lines.append(f"      keys as for {kind}={base.name}; this option sets "
                         + (", ".join(changed) if changed else "the same values"))
            continue
        first_of_class[cls] = option
        lines.append(_option_title(name, option, default, summary))
        lines += _table([(f"{kind}.{k}", v, d) for k, v, d in field_rows(cls, option.data)], "      ")
    return lines


def _plain_section(group: Group, default: str | None, builtin: dict[str, str]) -> list[str]:
    names = sorted(set(group.options) | set(builtin))
    lines = [f"{group.name}={'|'.join(names)}"]
    for name in names:
        option = group.options.get(name)
        if option is None:
            lines.append(f"  {name}{' (default)' if name == default else ''}: {builtin[name]}")
        else:
            summary = f"(broken: {option.problem})" if option.problem else option.comment
            lines.append(_option_title(name, option, default, summary))
    return lines


def render_help(argv: list[str] | None = None) -> str:
    """The whole `rompy --help` text for this working directory, environment and argv."""
    from rompy.config import RunConfig
    from rompy.cli.searchpath import CONFIG_NAME, flag_value, search_path

    argv = list(argv or [])
    folders = search_path(argv, plugins=True)
    groups = scan_groups(folders)
    primary, defaults = primary_config(folders, flag_value(argv, "--config-name", "-cn") or CONFIG_NAME)

    from rompy.cli.subcommands import SUBCOMMANDS

    usage = USAGE.replace("$subcommands\n", "".join(f"  {name:7} {text}\n" for name, text in SUBCOMMANDS.items()))
    out = [usage, "Config groups (choose with group=option; keys as group.key=value):", ""]
    for kind in KINDS:
        out += _kind_section(kind, groups.get(kind), defaults.get(kind))
        out.append("")
    others = [g for g in sorted(groups) if g not in KINDS and not g.startswith("hydra/")]
    for name in others:
        out += _plain_section(groups[name], defaults.get(name), {})
        if name not in defaults:
            out.append(f"  (not in the defaults: add one with +{name}=<option>)")
        out.append("")
    for name, builtin in HYDRA_GROUPS.items():
        extra = dict(builtin)
        for (group_name, module), options in PLUGIN_OPTIONS.items():
            if group_name == name and _installed(module):
                extra.update(options)
        group = groups.get(name, Group(name))
        out += _plain_section(group, defaults.get(name), extra)
        out.append("")

    out.append("Top-level keys (key=value):")
    root_values = {k: v for k, v in primary.items() if k not in ("defaults", "hydra")}
    rows = [r for r in field_rows(RunConfig, root_values) if r[0].split(".")[0] not in KINDS]
    out += _table(rows, "  ")
    out.append("")

    out.append("Config search path (the first folder that has an option wins):")
    for folder, label in folders:
        note = "" if folder.is_dir() else "  (not a directory)"
        out.append(f"  {label:18} {folder}{note}")
    out.append("  Commit your own groups in ./conf or a ROMPY_CONFIG_PATH folder: docs/config_groups.md")
    out.append("")

    out.append("Hydra flags:")
    width = max(len(flag) for flag, _ in HYDRA_FLAGS[:-1] if len(flag) < 40)
    for flag, text in HYDRA_FLAGS:
        if len(flag) > width:
            out.append(f"  {flag}")
            out.append(f"  {'':{width}}  {text}")
        else:
            out.append(f"  {flag:{width}}  {text}")
    out.append("")
    out.append("Validate config files in your editor: JSON Schemas in schemas/ (python -m rompy.schema).")
    return "\n".join(out) + "\n"


def _installed(module: str) -> bool:
    try:
        return find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def print_help(argv: list[str] | None = None) -> int:
    """Print the help to stdout; a closed pipe (`rompy --help | head`) is not an error."""
    from rompy.cli.terminal import write

    write(render_help(argv))
    return 0
