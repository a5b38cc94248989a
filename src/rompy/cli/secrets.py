"""Secrets on the command line: refused before Hydra starts, because Hydra writes the command line to files."""

from __future__ import annotations

import re

from rompy.redaction import HOW_TO_PASS_A_SECRET, is_env_reference, is_secret_name

_ENV_KEY_RE = re.compile(r"(?:^|\.)env_vars\.([A-Za-z_][A-Za-z0-9_]*)$")


def _literal_secret_message(key: str, name: str) -> str:
    return (f"{key}: refusing a literal secret on the command line (Hydra would save it and the "
            f"process list would show it); " + HOW_TO_PASS_A_SECRET.format(key=key, name=name))


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
