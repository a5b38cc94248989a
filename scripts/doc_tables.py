"""The field tables of docs/backend_configurations.md, generated from the config models.

    python scripts/doc_tables.py [FILE]      refresh the tables in FILE (default: docs/backend_configurations.md)
    python scripts/doc_tables.py --check     exit 1 if they are out of date

Docs-only data: one example per field (shown as a command-line override) and, for fields
whose rule a validator enforces, a value that breaks it: the table shows the error rompy
gives for it, so the rule text is always the model's own. tests/ux/test_backend_docs.py
checks every example validates, every bad value is refused and every field has an example.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any


from rompy.schema import config_class

DOC = Path(__file__).resolve().parents[1] / "docs" / "backend_configurations.md"

# Docs-only data: one example per field (shown as a command-line override) and, for fields
# whose rule is enforced by a validator, a value that breaks it: the table shows the error
# rompy gives for it, so the rule text is always the model's own. tests/ux checks every
# example validates, every bad value is refused and every field has an example.
EXAMPLES: dict[str, dict[str, Any]] = {
    "LocalConfig": {
        "timeout": 7200, "command": "python3 run.py --fast", "env_vars": {"OMP_NUM_THREADS": "4"},
        "secret_env": ["API_TOKEN"], "executable": "./model.exe", "mpiexec": "mpiexec",
        "cpu": 4, "shell": False, "capture_output": False, "working_dir": "/tmp",
    },
    "DockerConfig": {
        "timeout": 600, "command": ["python3", "run.py"], "env_vars": {"MODEL_MODE": "fast"},
        "secret_env": ["API_TOKEN"], "executable": "/opt/model/bin/model", "mpiexec": "mpiexec",
        "image": "ghcr.io/org/model:1.2", "dockerfile": "Dockerfile", "build_context": "docker",
        "build_args": {"MODEL_VERSION": "1.2"}, "cpu": 0.5, "memory": "2g", "volumes": ["/tmp:/data:ro"],
        "allow_unsafe_mounts": True, "remove_container": False, "pull_policy": "never", "user": "1000:1000", "working_dir": "/work",
        "gpus": "all", "network": "none", "shm_size": "1g",
    },
    "SlurmConfig": {
        "timeout": 7200, "command": "python3 run.py", "env_vars": {"OMP_NUM_THREADS": "4"},
        "secret_env": ["API_TOKEN"], "executable": "./model.exe", "mpiexec": "srun",
        "queue": "debug", "nodes": 2, "ntasks": 8, "cpus_per_task": 4, "time_limit": "1-12:00:00",
        "account": "myproject", "qos": "normal", "reservation": "maintenance", "job_name": "wave-hindcast",
        "output_file": "slurm-%j.out", "error_file": "slurm-%j.err", "mail_type": "END,FAIL",
        "mail_user": "me@example.org", "additional_options": ["--mem=4G", "--exclusive"], "working_dir": "/tmp",
    },
}
BAD_VALUES: dict[str, dict[str, list[Any]]] = {
    "LocalConfig": {"command": [" ", []], "env_vars": [{"1BAD": "x"}], "secret_env": [["NOT-A-NAME"]],
                    "working_dir": ["/no/such/folder"]},
    "DockerConfig": {"image": ["Bad_Image"], "memory": ["lots", "1m"], "shm_size": ["1x"],
                     "volumes": [["data"], ["/tmp:data"], ["/no/such/folder:/data"], ["/tmp:/data:fast"],
                                 ["/tmp:/data:ro,rw"], ["/:/host"]],
                     "working_dir": ["work"], "gpus": [0], "env_vars": [{"1BAD": "x"}],
                     "command": [" ", []], "secret_env": [["NOT-A-NAME"]]},
    "SlurmConfig": {"command": [" ", []], "env_vars": [{"1BAD": "x"}], "secret_env": [["NOT-A-NAME"]],
                    "working_dir": ["/no/such/folder"],
                    "queue": ["two words"], "time_limit": ["2 hours", "1-24:00:00"],
                    "job_name": ["a\nb"], "mail_type": ["SOMETIMES"],
                    "additional_options": [["-N 2"], ["--time=10"], ["--mem=1G", "--mem=2G"]]},
}
# Values a class needs besides the field under test (DockerConfig needs an image or a Dockerfile).
BASE_VALUES: dict[str, dict[str, Any]] = {"LocalConfig": {}, "DockerConfig": {"image": "busybox"}, "SlurmConfig": {}}
TABLE_CLASSES = {"LocalConfig": ("backend", "local"), "DockerConfig": ("backend", "docker"),
                 "SlurmConfig": ("backend", "slurm")}


def example_input(class_name: str, field: str, value: Any) -> dict:
    data = {**BASE_VALUES[class_name], field: value}
    if class_name == "DockerConfig" and field == "dockerfile":
        data.pop("image")
    return data


def refusals(cls, class_name: str, field: str) -> list[str]:
    """The messages rompy gives for the field's bad values: the rules its validators enforce.

    Only a validator's own message (`value_error`) counts; type and bound errors are
    already stated by the type column. A bad value that is accepted raises AssertionError.
    """
    from pydantic import ValidationError

    messages: list[str] = []
    for value in BAD_VALUES.get(class_name, {}).get(field, []):
        try:
            cls.model_validate(example_input(class_name, field, value))
        except ValidationError as exc:
            error = exc.errors()[0]
            assert error["type"] == "value_error", (class_name, field, value, error["type"])
            message = error["msg"].removeprefix("Value error, ")
            if message not in messages:
                messages.append(message)
        else:
            raise AssertionError(f"{class_name}.{field}={value!r} should be refused")
    return messages


def _override(value: Any) -> str:
    """A value in Hydra's override grammar."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        simple = value and all(c.isalnum() or c in "._/-:@" for c in value)
        return value if simple else "'" + value + "'"
    if isinstance(value, list):
        return "[" + ",".join(_override(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_override(v)}" for k, v in value.items()) + "}"
    return str(value)


def shell_override(key: str, value: Any) -> str:
    """`key=value` as typed in a shell: quoted when the shell would change it."""
    text = f"{key}={_override(value)}"
    if not any(c in text for c in " '\"$`[]{}*?!;&|<>()~#"):
        return text
    return f'"{text}"' if not any(c in text for c in '"$`\\!') else "'" + text.replace("'", "'\\''") + "'"


def _type_text(prop: dict) -> str:
    if "anyOf" in prop:
        parts = [_type_text(p) for p in prop["anyOf"] if p.get("$ref") != "#/$defs/Interpolation"]
        return " or ".join(dict.fromkeys(parts))
    if "enum" in prop:
        return "one of " + ", ".join(f"`{v}`" for v in prop["enum"])
    if "const" in prop:
        return f"`{prop['const']}`"
    kind = prop.get("type", "any")
    if kind == "array":
        return f"list of {_type_text(prop.get('items', {}))}s".replace("ys", "ies")
    if kind == "object":
        values = prop.get("additionalProperties")
        return f"mapping to {_type_text(values)}" if isinstance(values, dict) else "mapping"
    bounds = []
    for key, sign in (("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤"), ("exclusiveMaximum", "<")):
        if key in prop:
            bounds.append(f"{sign} {prop[key]}")
    return kind + (f" ({', '.join(bounds)})" if bounds else "")


def field_table(class_name: str) -> str:
    """Markdown table of every field: override example, type and rule, default, meaning."""
    from pydantic_core import PydanticUndefined

    kind, type_name = TABLE_CLASSES[class_name]
    cls = config_class(kind, type_name)
    props = cls.model_json_schema()["properties"]
    lines = ["| field | type and rule | default | example | meaning |", "|---|---|---|---|---|"]
    for name, info in cls.model_fields.items():
        if name == "type":
            continue
        default = info.default_factory() if info.default_factory else info.default
        default_text = "required" if default is PydanticUndefined else f"`{_override(default)}`"
        rule = _type_text(props[name])
        for message in refusals(cls, class_name, name):
            rule += f"; *{message}*"
        example_text = (f"`{shell_override(f'{kind}.{name}', EXAMPLES[class_name][name])}`"
                        if name in EXAMPLES[class_name] else "")
        description = (info.description or "").replace("|", "\\|")
        lines.append(f"| `{name}` | {rule.replace('|', chr(92) + '|')} | {default_text} | "
                     f"{example_text.replace('|', chr(92) + '|')} | {description} |")
    return "\n".join(lines) + "\n"


def _markers(class_name: str) -> tuple[str, str]:
    return (f"<!-- generated by python scripts/doc_tables.py: {class_name} -->",
            f"<!-- end generated: {class_name} -->")


def refresh_docs(text: str) -> str:
    """`text` with every generated table between its markers replaced by a fresh one."""
    for class_name in TABLE_CLASSES:
        start, end = _markers(class_name)
        if start not in text:
            continue
        head, rest = text.split(start, 1)
        if end not in rest:
            raise ValueError(f"{start!r} has no closing {end!r}")
        _, tail = rest.split(end, 1)
        text = f"{head}{start}\n{field_table(class_name)}{end}{tail}"
    return text


def main(argv: list[str]) -> int:
    check = "--check" in argv
    paths = [Path(a) for a in argv if not a.startswith("--")] or [DOC]
    for path in paths:
        text = path.read_text(encoding="utf-8")
        fresh = refresh_docs(text)
        if check and fresh != text:
            print(f"{path}: field tables out of date; run: python scripts/doc_tables.py {path}", file=sys.stderr)
            return 1
        if not check:
            path.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
