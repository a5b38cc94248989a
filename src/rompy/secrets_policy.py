"""Which environment variables hold secrets, and how their values are kept out of output."""

from __future__ import annotations

import re
from typing import Any, Iterable

SECRET_NAME_RE = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL", re.IGNORECASE)
REDACTED = "***"


def is_secret_name(name: str, extra: Iterable[str] = ()) -> bool:
    return bool(SECRET_NAME_RE.search(name)) or name in set(extra)


def redact_env(env: dict[str, Any], extra: Iterable[str] = ()) -> dict[str, Any]:
    """A copy of `env` with the values of secret-looking names replaced."""
    extra = set(extra)
    return {k: (REDACTED if is_secret_name(k, extra) else v) for k, v in env.items()}


def redact_config(data: Any, extra: Iterable[str] = ()) -> Any:
    """Redact every `env_vars` mapping found anywhere in a dumped config."""
    if isinstance(data, dict):
        return {
            k: (redact_env(v, extra) if k == "env_vars" and isinstance(v, dict) else redact_config(v, extra))
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [redact_config(v, extra) for v in data]
    return data


_ENV_REFERENCE_RE = re.compile(r"^\$\{oc\.env:[A-Za-z_][A-Za-z0-9_]*\}$")
_ENV_KEY_RE = re.compile(r"(?:^|\.)env_vars\.([A-Za-z_][A-Za-z0-9_]*)$")
_HOW = ("pass it from the environment instead: '+{key}=${{oc.env:{name}}}' (export {name} first), "
        "or list {name} in backend.secret_env")


def is_env_reference(value: Any) -> bool:
    return isinstance(value, str) and bool(_ENV_REFERENCE_RE.match(value.strip()))


def _literal_secret_message(key: str, name: str) -> str:
    return (f"{key}: refusing a literal secret on the command line (Hydra would save it and the "
            f"process list would show it); " + _HOW.format(key=key, name=name))


def check_command_line(overrides: list[str]) -> str | None:
    """The error for a literal secret value among the overrides, or None.

    Runs before Hydra starts, because Hydra writes the command line to several
    files before rompy's code sees the config. Values are never echoed.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser

    candidates = [arg for arg in overrides if "=" in arg and not arg.startswith("-")]
    parser = OverridesParser.create()
    parsed = []
    for text in candidates:
        try:
            parsed.extend(parser.parse_overrides([text]))
        except Exception:  # Hydra reports syntax errors itself
            continue
    declared: set[str] = set()
    for override in parsed:
        if override.key_or_group.lstrip("+~").endswith("secret_env"):
            value = override.value()
            if isinstance(value, list):
                declared.update(str(v) for v in value)
    for override in parsed:
        key = override.key_or_group.lstrip("+~")
        match = _ENV_KEY_RE.search(key)
        if match:
            name = match.group(1)
            value = override.value()
            values = value.list if hasattr(value, "list") else [value]  # a sweep: every member
            if is_secret_name(name, declared) and not all(is_env_reference(v) for v in values):
                return _literal_secret_message(key, name)
        elif key.endswith("env_vars"):
            value = override.value()
            if isinstance(value, dict):
                for name, item in value.items():
                    if is_secret_name(str(name), declared) and not is_env_reference(item):
                        return _literal_secret_message(f"{key}.{name}", str(name))
    return None


def env_reference_paths(node: Any, prefix: str = "") -> set[str]:
    """Dotted paths of values that come from `${oc.env:...}` in an unresolved config."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            found |= env_reference_paths(value, f"{prefix}{key}.")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found |= env_reference_paths(value, f"{prefix}{index}.")
    elif isinstance(node, str) and "oc.env" in node:
        found.add(prefix.rstrip("."))
    return found


def check_composed(source: dict[str, Any]) -> str | None:
    """Secrets rules that need the composed (unresolved) config; the error or None."""
    backend = source.get("backend") or {}
    if not isinstance(backend, dict):
        return None
    for key in ("command", "executable", "mpiexec"):
        if "oc.env" in str(backend.get(key) or ""):
            return (f"backend.{key}: ${{oc.env:...}} inside a command would put the value on the process's "
                    "command line; set it in backend.env_vars and refer to $NAME in the command")
    declared = backend.get("secret_env")
    declared = {str(n) for n in declared} if isinstance(declared, list) else set()
    env_vars = backend.get("env_vars")
    for name, value in (env_vars.items() if isinstance(env_vars, dict) else ()):
        if name in declared and not is_env_reference(value):
            return (f"backend.env_vars.{name}: listed in backend.secret_env but given a literal value; "
                    + _HOW.format(key=f"backend.env_vars.{name}", name=name))
    return None


def keep_env_references(resolved: Any, source: Any) -> Any:
    """`resolved` with every value that came from `${oc.env:...}` put back as the reference.

    Records and printed configs use this, so a value read from the environment is
    never written out, whatever its variable is called.
    """
    if isinstance(source, str) and "oc.env" in source:
        return source
    if isinstance(resolved, dict) and isinstance(source, dict):
        return {k: keep_env_references(v, source.get(k)) for k, v in resolved.items()}
    if isinstance(resolved, list) and isinstance(source, list) and len(resolved) == len(source):
        return [keep_env_references(r, s) for r, s in zip(resolved, source)]
    return resolved
