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
