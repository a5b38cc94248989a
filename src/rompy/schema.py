"""JSON Schemas of rompy's config files, made from the Pydantic models (one source of truth).

    python -m rompy.schema --write [DIR]   regenerate DIR (default: the checkout's schemas/)
    python -m rompy.schema --check [DIR]   exit 1 if DIR differs from the models
    python -m rompy.schema NAME            print one schema, e.g. backend-local
    python -m rompy.schema pkg.mod:Class   print the schema of your own config class

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

# File name (without .json) -> (kind, type name) of the built-in config classes.
OPTION_SCHEMAS: dict[str, tuple[str, str]] = {
    "backend-local": ("backend", "local"),
    "backend-docker": ("backend", "docker"),
    "backend-slurm": ("backend", "slurm"),
    "postprocessor-noop": ("postprocessor", "noop"),
    "postprocessor-archive": ("postprocessor", "archive"),
    "postprocessor-summary": ("postprocessor", "summary"),
    "model-demo": ("model", "demo"),
    "model-template": ("model", "template"),
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
    # The shipped template option leaves these for the user to give (null): the model says what to give.
    ("TemplateModelConfig", "template"): {"anyOf": [{"type": "string"}, {"type": "null"}]},
    ("TemplateModelConfig", "command"): {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}},
                                                   {"type": "null"}]},
    ("TimeRange", "start"): {"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]},
    ("TimeRange", "end"): {"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]},
    ("TimeRange", "duration"): {"anyOf": [{"type": "string"}, {"type": "number", "exclusiveMinimum": 0},
                                          {"type": "null"}]},
    ("TimeRange", "interval"): {"anyOf": [{"type": "string"}, {"type": "number", "exclusiveMinimum": 0}]},
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


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m rompy.schema", description=__doc__.splitlines()[0])
    parser.add_argument("name", nargs="?", help="print this schema (e.g. backend-local, rompy)")
    parser.add_argument("--write", nargs="?", const="", metavar="DIR", help="write every schema to DIR")
    parser.add_argument("--check", nargs="?", const="", metavar="DIR", help="exit 1 if DIR is out of date")
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
    if args.name and ":" in args.name:  # a class of the user's: package.module:ClassName
        return _print_class_schema(args.name)
    schemas = all_schemas()
    if args.name:
        if args.name not in schemas:
            print(f"unknown schema {args.name!r}; one of: {', '.join(schemas)}", file=sys.stderr)
            return 2
        sys.stdout.write(dumps(schemas[args.name]))
        return 0
    print("\n".join(schemas))
    return 0


def _print_class_schema(path: str) -> int:
    """The schema of an option file for a config class given by import path (a user's own)."""
    from rompy.errors import ConfigError
    from rompy.registry import kind_of, resolve_import_path

    try:
        cls = resolve_import_path(path)
        kind = kind_of(cls)
    except ConfigError as exc:
        print(f"rompy.schema: error: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(dumps(option_schema(cls, kind)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
