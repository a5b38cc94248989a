"""Turn Pydantic, OmegaConf and Hydra errors into one line a user can act on.

A line names the config path as the user writes it (`backend.timeout`), the bad
value (unless it may be a secret), the rule, and where the value was set: the
command-line override or the YAML file of the selected group.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rompy.redaction import is_secret_name
from rompy.sweep.plan import override_key

GROUPS = ("backend", "postprocessor", "model")


@dataclass
class Sources:
    """What Hydra knows about where values came from."""

    overrides: list[str] = field(default_factory=list)
    choices: dict[str, str] = field(default_factory=dict)
    search_dirs: list[str] = field(default_factory=list)
    swept: list[str] = field(default_factory=list)  # the keys of hydra.sweeper.params

    @classmethod
    def of(cls, hydra_node, overrides: list[str]) -> "Sources":
        """From a composed config's `hydra` node: its selected options, its config folders and the
        keys its sweeper's params sweep."""
        from omegaconf import OmegaConf

        choices = hydra_node.runtime.choices or {}
        search_dirs = [str(src.path) for src in hydra_node.runtime.config_sources or []
                       if src.schema == "file" and src.path]
        params = OmegaConf.select(hydra_node, "sweeper.params", default=None)
        return cls(overrides=list(overrides), choices={k: str(v) for k, v in choices.items() if v is not None},
                   search_dirs=search_dirs, swept=[str(key) for key in params or {}])

    def origin(self, path: str) -> str:
        """Where the value at `path` came from.

        Hydra applies value overrides after the group choices, wherever they stand on the
        command line, so an override of the path (or of a key under it) wins over the file.
        """
        group = _group_of(path)
        keyed = [(override_key(override), override) for override in self.overrides]
        for key, override in reversed(keyed):
            if key not in GROUPS and (path == key or path.startswith(key + ".")):
                if key in self.swept:  # a member's value from the sweeper's params, not from the command line
                    return f"swept by hydra.sweeper.params, {self.origin('hydra.sweeper.params')}"
                return f"set by override '{_shorten(override)}'"
        below = [override for key, override in keyed if key not in GROUPS and key.startswith(path + ".")]
        if below:
            return "set by " + ", ".join(f"override '{_shorten(override)}'" for override in below)
        globally = self._global_option_setting(path)
        if globally is not None:  # an ensemble-like option (`+ensemble=x`) is composed after the groups
            return f"set in {globally}"
        if group in self.choices:
            choice = self.choices[group]
            for folder in self.search_dirs:
                candidate = Path(folder) / group / f"{choice}.yaml"
                if candidate.is_file():
                    return f"set in {candidate}"
            return f"set by {group}={choice}"
        for folder in self.search_dirs:
            candidate = Path(folder) / "rompy.yaml"
            if candidate.is_file():
                return f"set in {candidate}"
        return "set in the config"

    def _global_option_setting(self, path: str) -> Path | None:
        """The last selected option file in `# @package _global_` that sets `path`, if any."""
        found = None
        for group, choice in self.choices.items():
            for folder in self.search_dirs if choice else ():
                candidate = Path(folder) / group / f"{choice}.yaml"
                if candidate.is_file():
                    if _sets_globally(candidate, path):
                        found = candidate
                    break
        return found


def _sets_globally(file: Path, path: str) -> bool:
    """Whether `file`, a `# @package _global_` option, sets `path` (`hydra.sweeper.params`)."""
    import yaml

    try:
        text = file.read_text(encoding="utf-8")
        if "@package _global_" not in "".join(text.splitlines(keepends=True)[:5]):
            return False
        node = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _group_of(path: str) -> str:
    """The group a path's value comes from: `backend.cpu` -> backend; `hydra.launcher.cores` -> hydra/launcher."""
    parts = path.split(".", 2)
    return f"hydra/{parts[1]}" if parts[0] == "hydra" and len(parts) > 1 else parts[0]


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _path(loc: tuple) -> str:
    return ".".join(str(part) for part in loc if part not in ("function-after", "function-before"))


def _fields_at(loc: tuple, data: Any, root: Any = None) -> list[str] | None:
    """Valid key names of the model that owns `loc[-1]` (`root`: the model `data` was validated with,
    default RunConfig), for 'did you mean'; None if it cannot tell."""
    from rompy.config import RunConfig
    from rompy.registry import resolve

    model: Any = root or RunConfig
    node = data
    for part in loc[:-1]:
        if isinstance(node, dict):
            node = node.get(part)
        if part in GROUPS and model is RunConfig:
            try:
                model = resolve(part, node.get("type")) if isinstance(node, dict) else None
            except Exception:
                return None
        else:
            annotation = getattr(model, "model_fields", {}).get(part)
            inner = getattr(annotation, "annotation", None)
            model = inner if hasattr(inner, "model_fields") else None
        if model is None:
            return None
    return list(getattr(model, "model_fields", {}))


def suggestion(name: str, candidates: list[str] | None) -> str:
    """'; did you mean ...' or the valid keys; nothing when they are not known (None)."""
    if candidates is None:
        return ""
    if not candidates:
        return "; this option takes no keys"
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else f"; valid keys: {', '.join(sorted(candidates))}"


def _show_value(path: str, value: Any, hidden: set[str] = frozenset()) -> str:
    last = path.rsplit(".", 1)[-1]
    if path in hidden or (".env_vars." in f".{path}" and is_secret_name(last)):
        return "<from the environment, hidden>"
    text = repr(value)
    return _shorten(text, 60)


def format_validation_error(exc, data: Any, sources: Sources | None = None, prefix: tuple = (),
                            hidden: set[str] = frozenset(), model: Any = None) -> str:
    """One line for a pydantic ValidationError raised on `data` (by `model`, default RunConfig),
    whose paths start at `prefix`."""
    sources = sources or Sources()
    parts = []
    for err in exc.errors(include_url=False):
        loc = prefix + tuple(err["loc"])
        path = _path(loc)
        kind = err["type"]
        if kind in ("missing_type", "unknown_type", "not_a_config"):
            path = f"{path}.type" if path else "type"
        message = re.sub(r"^(Value|Assertion) error, ", "", err["msg"])
        if kind == "extra_forbidden":
            key = str(loc[-1])
            text = f"{path}: unknown key{suggestion(key, _fields_at(tuple(err['loc']), data, model))}"
        elif kind == "missing":
            text = f"{path}: required but not given"
        else:
            shown = "" if kind in ("missing_type", "unknown_type") else f" = {_show_value(path, err.get('input'), hidden)}"
            if isinstance(err.get("input"), dict):
                shown = ""
            text = f"{path}{shown}: {message}"
        parts.append(f"{text} ({sources.origin(path)})")
    return "; ".join(parts)


def config_file_problem(exc: BaseException, argv: list[str] = ()) -> str | None:
    """`file:line:column: problem` when composing stopped at a broken config file, else None."""
    from rompy.cli import files

    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        problem = files.config_file_problem(exc)
        if problem:
            return problem
        if isinstance(exc, UnicodeDecodeError) or "Invalid loaded object type" in str(exc):
            from rompy.cli.searchpath import search_path  # the error does not name the file: find it

            selected = [f"{a.split('=', 1)[0].lstrip('+~')}/{a.split('=', 1)[1]}.yaml" for a in argv if "=" in a]
            return files.find_unreadable([folder for folder, _ in search_path(list(argv), plugins=True)],
                                   not_utf8=isinstance(exc, UnicodeDecodeError), selected=selected) or (
                f"a config file cannot be read: {exc}")
        exc = exc.__cause__ or exc.__context__
    return None


def plugin_problem(exc: BaseException, argv: list[str] = ()) -> str | None:
    """One line when the sweeper or launcher a config selects is not one Hydra can use, else None."""
    from rompy._hydra import refused_plugin

    refused = refused_plugin(exc)
    if refused is None:
        return _plugin_value_problem(exc, argv)
    from rompy._hydra import plugin_options

    kind, target = refused
    base = "rompy" if kind == "sweeper" else "parallel"
    options = plugin_options(exc)
    if options is not None and not isinstance(options[1], dict):  # the option file holds a list or a value
        path = f"hydra.{kind}"
        held = "a list" if isinstance(options[1], list) else f"the single value {options[1]!r}"
        return (f"{path}: the option file holds {held}, not a mapping of the {kind}'s keys (an option file "
                f"of your own may start with 'defaults: [{base}]') ({_plugin_sources(kind, argv).origin(path)})")
    path = f"hydra.{kind}._target_"
    what = f" = {target!r}: not a Hydra {kind} (a {kind.capitalize()} class in the hydra_plugins package)" \
        if target else ": required but not given"
    origin = _plugin_sources(kind, argv).origin(path)
    return f"{path}{what}; an option file of your own may start with 'defaults: [{base}]' ({origin})"


def _plugin_value_problem(exc: BaseException, argv: list[str]) -> str | None:
    """A value of a launcher or sweeper option that does not resolve (`cores: ${nope}`): Hydra's
    error names no key; the first option that interpolates the missing key is the one."""
    from rompy._hydra import plugin_options
    from rompy.runs.diff import flatten

    made = plugin_options(exc) if type(exc).__module__.startswith("omegaconf") else None
    if made is None or not isinstance(made[1], dict):
        return None
    kind, options = made
    missing = re.search(r"key '([^']+)'", str(exc))
    wanted = "${" + missing.group(1) if missing else "${"
    key = next((path for path, value in flatten(options).items() if wanted in str(value)), None)
    path = f"hydra.{kind}" + (f".{key}" if key else "")
    return f"{path}: {_shorten(str(exc).splitlines()[0], 300)} ({_plugin_sources(kind, argv).origin(path)})"


def _plugin_sources(kind: str, argv: list[str]) -> "Sources":
    """Where `hydra.<kind>` values came from, from the command line alone (nothing was composed)."""
    from rompy.cli.searchpath import search_path

    overrides = [a for a in argv if "=" in a and not a.startswith("-")]
    choices = {key: value for key, value in (a.split("=", 1) for a in overrides) if key == f"hydra/{kind}"}
    return Sources(overrides=overrides, choices=choices,
                   search_dirs=[str(folder) for folder, _ in search_path(list(argv))])


def format_hydra_error(exc: BaseException, argv: list[str] = (), sources: Sources | None = None) -> str:
    """One line for a Hydra/OmegaConf composition or override error; `sources` (a sweep
    member's) names where a key the sweeper's params sweep was set."""
    problem = config_file_problem(exc, argv) or plugin_problem(exc, argv)
    if problem:
        return problem
    text = str(exc).strip()
    if "Config group override must be a string" in text:
        bad = [a for a in argv if override_key(a) in GROUPS and "=" in a]
        culprit = bad[-1] if bad else "group=option"
        return f"{culprit}: a config group option is a name (e.g. backend=local), {text.split('. ', 1)[-1]}"
    full_key = getattr(exc, "full_key", None)
    if full_key and type(exc).__module__.startswith("omegaconf"):
        return f"{full_key}: {_shorten(text.splitlines()[0], 300)}"
    missing = re.search(r"Could not find '([^']+)/([^']+)'", text)
    if missing:
        group, option = missing.groups()
        if group == "hydra/launcher" and option in ("submitit_local", "submitit_slurm"):
            from importlib.util import find_spec

            from rompy.errors import MissingExtra

            if find_spec("hydra_plugins.hydra_submitit_launcher") is None:
                return str(MissingExtra(f"{group}={option}", "hydra_submitit_launcher"))
        options = re.findall(r"^\t(\S+)$", text, flags=re.M)
        valid = f"; choose one of: {', '.join(options)}" if options else ""
        close = difflib.get_close_matches(option, options, n=1, cutoff=0.6)
        hint = f"; did you mean '{group}={close[0]}'?" if close else ""
        return f"{group}={option}: unknown option for config group '{group}'{valid}{hint}"
    override = re.search(r"Could not override '([^']+)'", text)
    if override and ("not in struct" in text or "To append" in text):
        key = override.group(1)
        origin = f" ({sources.origin(key)})" if sources is not None and key in sources.swept else ""
        return f"{key}: unknown key{_key_hint(key, argv)}{origin}"
    deletion = re.search(r"Could not delete '([^']*)'", text)
    if deletion:
        return (f"~{deletion.group(1)}: the deletion override matches nothing; name a key or group "
                "to delete, e.g. ~postprocessor")
    append = re.search(r"Could not append to config\. An item is already at '([^']+)'", text)
    if append:
        return f"{append.group(1)}: already exists; override it without the '+' prefix"
    if type(exc).__name__ == "OverrideParseException" or "Error parsing override" in text:
        # Hydra 1.4 puts "Error when parsing index: N, string: ... out of [...]" first: the override is named below
        parts = [part.strip() for part in text.splitlines()
                 if part.strip() and not part.startswith(("Error when parsing index", "See https://"))]
        first = parts[0] if parts else "invalid override"
        first = re.sub(r" expecting \{[^}]*\}", "", first)  # the parser's token names say nothing to users
        if first.startswith("LexerNoViableAltException"):
            first = "a character the override grammar does not allow unquoted"
        line = getattr(exc, "override", None)
        return (
            f"{f'override {line!r}: ' if line else ''}{first}; quote values with spaces or special "
            "characters, e.g. 'backend.command=\"exit 3\"' (see docs/overrides.md)"
        )
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    summary = " ".join(lines[:3])
    return _shorten(summary, 400) if summary else type(exc).__name__


def _key_hint(key: str, argv: list[str] = ()) -> str:
    from rompy.config import RunConfig

    head, _, rest = key.partition(".")
    if not rest:
        if head in RunConfig.model_fields:  # a primary config of the user's that leaves it out
            return f" in this primary config; add '{head}:' to it, as the shipped rompy.yaml has, or use '+{head}=...'"
        return suggestion(head, list(RunConfig.model_fields))
    if head in GROUPS and "." not in rest:
        candidates = _selected_fields(head, key, list(argv))
        if rest in candidates:
            return f" in the YAML of this {head} option; add it with '+{key}=...'"
        return suggestion(rest, sorted(candidates))
    plugin = re.fullmatch(r"hydra\.(launcher|sweeper)\.(\w+)", key)
    if plugin:
        hint = _plugin_key_hint(plugin.group(1), plugin.group(2), key, list(argv))
        if hint:
            return hint
    return f" (append a new key with '+{key}=...')"


def _plugin_key_hint(kind: str, name: str, key: str, argv: list[str]) -> str | None:
    """'did you mean' from the keys the selected launcher's (or sweeper's) option declares; for one of
    rompy's that declares none, that it takes none. None: no better hint than appending the key."""
    from omegaconf import OmegaConf

    from rompy.cli.compose import compose_or_none
    from rompy.cli.searchpath import CONFIG_NAME, shipped_conf_dir

    cfg = compose_or_none([arg for arg in argv if override_key(arg) != key], str(shipped_conf_dir()), CONFIG_NAME)
    node = OmegaConf.select(cfg, f"hydra.{kind}", default=None) if cfg is not None else None
    if not OmegaConf.is_dict(node):
        return None
    declared = sorted(str(k) for k in node if k != "_target_")
    close = difflib.get_close_matches(name, declared, n=1, cutoff=0.6)
    if close:
        return f"; did you mean '{close[0]}'?"
    if not declared and str(node.get("_target_", "")).startswith("hydra_plugins.rompy_launchers."):
        return suggestion(name, [])
    return None


def _selected_fields(group: str, key: str, argv: list[str]) -> set[str]:
    """Keys of the config class the command line selects for `group` (all classes' if unknown).

    Composes once more without the override of `key`, to learn the group's `type`: a user's
    class gets its own keys in the hint, not the built-ins'.
    """
    from rompy.cli.searchpath import CONFIG_NAME, shipped_conf_dir
    from rompy.registry import known_types, resolve
    from rompy.cli.compose import compose_or_none

    rest = [arg for arg in argv if override_key(arg) != key]
    cfg = compose_or_none(rest, str(shipped_conf_dir()), CONFIG_NAME) if argv else None
    try:
        from omegaconf import OmegaConf

        type_name = OmegaConf.select(cfg, f"{group}.type") if cfg is not None else None
        if isinstance(type_name, str):
            return set(resolve(group, type_name).model_fields)
    except Exception:  # noqa: BLE001 - fall back to every known class's keys
        pass
    candidates: set[str] = set()
    for name in known_types(group):
        try:
            candidates |= set(resolve(group, name).model_fields)
        except Exception:  # noqa: BLE001 - a broken plugin must not break a hint
            continue
    return candidates
