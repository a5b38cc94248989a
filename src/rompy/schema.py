"""JSON Schemas of rompy's config files, made from the Pydantic models (one source of truth).

    python -m rompy.schema --write [DIR]   regenerate DIR (default: the checkout's schemas/)
    python -m rompy.schema --check [DIR]   exit 1 if DIR differs from the models
    python -m rompy.schema NAME            print one schema, e.g. backend-local
    python -m rompy.schema --docs FILE     refresh the generated field tables in FILE
                                           (docs/backend_configurations.md)

A config file points at its schema with a first line yaml-language-server reads:

    # yaml-language-server: $schema=../../schemas/backend-local.json

The schemas describe the files as Hydra reads them, so they also accept what Hydra
consumes before Pydantic sees the data: a `defaults:` list, OmegaConf interpolations
(`${oc.env:NAME}`) for any value, and the inputs the models convert (a number for a
list of depths, numbers for env_vars values, lower-case log levels).
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

# File name (without .json) -> (kind, type name) of the built-in config classes.
OPTION_SCHEMAS: dict[str, tuple[str, str]] = {
    "backend-local": ("backend", "local"),
    "backend-docker": ("backend", "docker"),
    "backend-slurm": ("backend", "slurm"),
    "postprocessor-noop": ("postprocessor", "noop"),
    "postprocessor-archive": ("postprocessor", "archive"),
    "postprocessor-summary": ("postprocessor", "summary"),
    "model-demo": ("model", "demo"),
}
ROOT_SCHEMA = "rompy"
DRAFT = "https://json-schema.org/draft/2020-12/schema"

INTERPOLATION = {
    "type": "string",
    "pattern": r"^.*\$\{.+\}.*$",
    "description": "An OmegaConf interpolation, e.g. ${oc.env:NAME}; resolved when rompy composes the config.",
}
DEFAULTS_LIST = {
    "type": "array",
    "description": "Hydra's defaults list: options this file extends, e.g. [local] (then _self_ last).",
    "items": {"anyOf": [{"type": "string"}, {"type": "object"}]},
}
SCALAR = [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]

# Inputs the models accept and convert in `mode="before"` validators, which Pydantic's
# schema (the validated type) does not show. tests/ux/test_schema.py checks each one
# against the model, so this list cannot claim more than the models accept.
LENIENT: dict[tuple[str, str], dict] = {
    ("*", "env_vars"): {"type": "object", "additionalProperties": {"anyOf": SCALAR}},
    ("DockerConfig", "build_args"): {"type": "object", "additionalProperties": {"anyOf": SCALAR}},
    ("DockerConfig", "memory"): {"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]},
    ("DockerConfig", "shm_size"): {"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]},
    ("SlurmConfig", "time_limit"): {"anyOf": [{"type": "string"}, {"type": "integer", "exclusiveMinimum": 0}]},
    ("DemoModelConfig", "depths"): {"anyOf": [{"type": "array", "items": {"type": "number"}}, {"type": "number"}]},
    ("DemoModelConfig", "periods"): {"anyOf": [{"type": "array", "items": {"type": "number"}}, {"type": "number"}]},
    ("RunConfig", "log_level"): {  # upper-cased by the model; any case is accepted
        "enum": [f(level) for level in ("debug", "info", "warning", "error") for f in (str.upper, str.lower, str.title)],
    },
}


# Other names a model accepts for a field (converted in a `mode="before"` model validator):
# (class name, alias) -> field. The schema lists the alias beside the field.
ALIASES: dict[tuple[str, str], str] = {
    ("SlurmConfig", "partition"): "queue",
}


def repo_schemas_dir() -> Path | None:
    """`schemas/` beside `conf/` in a source checkout (the modelines point there); None when installed."""
    root = Path(__file__).resolve().parents[2]
    return root / "schemas" if (root / "pyproject.toml").is_file() and (root / "conf").is_dir() else None


def config_class(kind: str, type_name: str):
    from rompy.registry import resolve

    return resolve(kind, type_name)


# -- making the schemas ---------------------------------------------------------------------
def _accepts_any_string(schema: dict) -> bool:
    if "anyOf" in schema:
        return any(_accepts_any_string(s) for s in schema["anyOf"])
    return schema.get("type") == "string" and not ({"enum", "const", "pattern"} & set(schema))


def _adjust_properties(name: str, schema: dict) -> None:
    """Make one object schema (a model) accept what Hydra and the model's converters accept."""
    for field_name, prop in list(schema.get("properties", {}).items()):
        lenient = LENIENT.get((name, field_name)) or LENIENT.get(("*", field_name))
        if lenient:
            kept = {k: v for k, v in prop.items() if k in ("title", "description", "default")}
            prop = {**kept, **copy.deepcopy(lenient)}
        if field_name != "type" and "$ref" not in prop and not _accepts_any_string(prop):
            kept = {k: prop.pop(k) for k in ("title", "description", "default") if k in prop}
            prop = {**kept, "anyOf": [prop, {"$ref": "#/$defs/Interpolation"}]}
        schema["properties"][field_name] = prop
    for (class_name, alias), target in ALIASES.items():
        properties = schema.get("properties", {})
        if class_name == name and target in properties:
            described = {k: v for k, v in properties[target].items() if k not in ("title", "default")}
            described["description"] = f"Another name for {target}: give one of them."
            items = list(properties.items())
            at = [key for key, _ in items].index(target) + 1
            schema["properties"] = dict(items[:at] + [(alias, described)] + items[at:])


def _finish(schema: dict, title: str) -> dict:
    defs = schema.setdefault("$defs", {})
    for def_name, sub in defs.items():
        _adjust_properties(def_name, sub)
    defs["Interpolation"] = INTERPOLATION
    return {"$schema": DRAFT, "title": title, **{k: v for k, v in schema.items() if k != "title"}}


def option_schema(cls, kind: str) -> dict:
    """Schema of one group option file (conf/<kind>/<option>.yaml) validated by `cls`."""
    schema = copy.deepcopy(cls.model_json_schema())
    _adjust_properties(cls.__name__, schema)
    schema["properties"] = {"defaults": DEFAULTS_LIST, **schema["properties"]}
    type_name = schema["properties"].get("type", {}).get("const")
    title = f"rompy {kind} {type_name or cls.__name__} ({cls.__module__}.{cls.__name__})"
    return _finish(schema, title)


def root_schema() -> dict:
    """Schema of the primary config (conf/rompy.yaml): RunConfig plus Hydra's keys."""
    from pydantic.json_schema import models_json_schema

    from rompy.config import RunConfig

    builtins = {kind: [config_class(k, t) for k, t in OPTION_SCHEMAS.values() if k == kind]
                for kind in ("backend", "postprocessor", "model")}
    classes = [RunConfig] + [cls for group in builtins.values() for cls in group]
    _, top = models_json_schema([(cls, "validation") for cls in dict.fromkeys(classes)])
    defs = top["$defs"]
    schema = defs.pop("RunConfig")
    schema["$defs"] = defs
    _adjust_properties("RunConfig", schema)
    for kind, classes_of_kind in builtins.items():
        names = [cls.model_fields["type"].default for cls in classes_of_kind]
        described = schema["properties"][kind]
        schema["properties"][kind] = {
            "description": f"The {kind}: usually chosen with {kind}=<option> rather than written here.",
            "anyOf": [{"$ref": f"#/$defs/{cls.__name__}"} for cls in classes_of_kind] + [{
                "type": "object",
                "description": f"A {kind} of another type (a plugin or 'package.module:ClassName').",
                "required": ["type"],
                "properties": {"type": {"type": "string", "not": {"enum": names}}},
            }],
        }
        defs.pop(described.get("$ref", "").rsplit("/", 1)[-1], None)  # the abstract base class
    schema["required"] = [r for r in schema.get("required", []) if r not in builtins]
    schema["properties"] = {
        "defaults": {**DEFAULTS_LIST, "description": "Hydra's defaults list: the option of each group."},
        **schema["properties"],
        "hydra": {"type": "object", "description": "Hydra's own settings (run/sweep folders, launcher, ...)."},
    }
    return _finish(schema, "rompy primary config (rompy.config.RunConfig)")


def all_schemas() -> dict[str, dict]:
    """{file name without .json: schema} for every shipped schema."""
    schemas = {name: option_schema(config_class(kind, type_name), kind)
               for name, (kind, type_name) in OPTION_SCHEMAS.items()}
    schemas[ROOT_SCHEMA] = root_schema()
    return schemas


def dumps(schema: dict) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in all_schemas().items():
        path = folder / f"{name}.json"
        text = dumps(schema)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def stale(folder: Path) -> list[str]:
    """Names of the schema files in `folder` that are missing or differ from the models."""
    out = []
    for name, schema in all_schemas().items():
        path = folder / f"{name}.json"
        if not path.is_file() or path.read_text(encoding="utf-8") != dumps(schema):
            out.append(f"{name}.json")
    return out


# -- field tables for docs/backend_configurations.md ---------------------------------------------
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
        "mail_user": "me@example.org", "additional_options": ["--mem=4G", "--exclusive"],
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
    return (f"<!-- generated by python -m rompy.schema --docs: {class_name} -->",
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


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m rompy.schema", description=__doc__.splitlines()[0])
    parser.add_argument("name", nargs="?", help="print this schema (e.g. backend-local, rompy)")
    parser.add_argument("--write", nargs="?", const="", metavar="DIR", help="write every schema to DIR")
    parser.add_argument("--check", nargs="?", const="", metavar="DIR", help="exit 1 if DIR is out of date")
    parser.add_argument("--docs", metavar="FILE", help="refresh the generated tables in FILE")
    args = parser.parse_args(argv)
    for given in (args.write, args.check):
        if given == "" and repo_schemas_dir() is None:
            print("not a source checkout: give a folder, e.g. --write schemas", file=sys.stderr)
            return 2
    if args.write is not None:
        folder = Path(args.write) if args.write else repo_schemas_dir()
        for path in write(folder):
            print(path)
        return 0
    if args.check is not None:
        folder = Path(args.check) if args.check else repo_schemas_dir()
        out_of_date = stale(folder)
        if out_of_date:
            print(f"out of date in {folder}: {', '.join(out_of_date)}; run: python -m rompy.schema --write",
                  file=sys.stderr)
            return 1
        return 0
    if args.docs:
        path = Path(args.docs)
        path.write_text(refresh_docs(path.read_text(encoding="utf-8")), encoding="utf-8")
        return 0
    schemas = all_schemas()
    if args.name:
        if args.name not in schemas:
            print(f"unknown schema {args.name!r}; one of: {', '.join(schemas)}", file=sys.stderr)
            return 2
        sys.stdout.write(dumps(schemas[args.name]))
        return 0
    print("\n".join(schemas))
    return 0


if __name__ == "__main__":
    sys.exit(main())
