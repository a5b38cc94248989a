"""Which values are secrets, and how they are kept out of records, printed configs and logs.

A value read from the environment through `${oc.env:NAME}` is written out as that
reference, never as its value; `env_vars` entries with secret-looking names are shown
as `***`.
"""

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
HOW_TO_PASS_A_SECRET = ("pass it from the environment instead: '+{key}=${{oc.env:{name}}}' (export {name} first), "
        "or list {name} in backend.secret_env")


def is_env_reference(value: Any) -> bool:
    return isinstance(value, str) and bool(_ENV_REFERENCE_RE.match(value.strip()))


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
                    + HOW_TO_PASS_A_SECRET.format(key=f"backend.env_vars.{name}", name=name))
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


def as_env_references(data: Any, extra: Iterable[str] = ()) -> Any:
    """`data` with the value of every secret-looking `env_vars` entry replaced by `${oc.env:NAME}`.

    What a config saved to run again holds: it works wherever the variable is set, and never
    holds the secret.
    """
    if isinstance(data, dict):
        return {k: ({name: (f"${{oc.env:{name}}}" if is_secret_name(name, extra) and not is_env_reference(value)
                            else value) for name, value in v.items()}
                    if k == "env_vars" and isinstance(v, dict) else as_env_references(v, extra))
                for k, v in data.items()}
    if isinstance(data, list):
        return [as_env_references(v, extra) for v in data]
    return data
