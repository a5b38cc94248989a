"""The shipped JSON Schemas match the models, and every shipped config file validates against its own."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from pydantic import ValidationError

from rompy import schema as rs
from tests.helpers.cli import REPO

CONF = REPO / "conf"
SCHEMAS = REPO / "schemas"
MODELINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)$")


def validator(name: str) -> jsonschema.Draft202012Validator:
    document = json.loads((SCHEMAS / f"{name}.json").read_text())
    jsonschema.Draft202012Validator.check_schema(document)
    return jsonschema.Draft202012Validator(document)


def errors(name: str, data) -> list[str]:
    return [e.message for e in validator(name).iter_errors(data)]


def test_shipped_schemas_match_the_models():
    assert rs.stale(SCHEMAS) == [], "run: python -m rompy.schema --write"
    shipped = {p.stem for p in SCHEMAS.glob("*.json")}
    assert shipped == set(rs.all_schemas()), "schemas/ holds files no model makes"


def test_check_command_reports_a_stale_folder(tmp_path):
    cmd = [sys.executable, "-m", "rompy.schema"]
    assert subprocess.run([*cmd, "--write", str(tmp_path)], capture_output=True).returncode == 0
    assert subprocess.run([*cmd, "--check", str(tmp_path)], capture_output=True).returncode == 0
    (tmp_path / "backend-local.json").write_text("{}")
    proc = subprocess.run([*cmd, "--check", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 1 and "backend-local.json" in proc.stderr


def shipped_yaml() -> list[Path]:
    return sorted(CONF.rglob("*.yaml"))


@pytest.mark.parametrize("path", shipped_yaml(), ids=lambda p: str(p.relative_to(CONF)))
def test_shipped_yaml_validates_against_its_modeline_schema(path):
    first = path.read_text().splitlines()[0]
    match = MODELINE.match(first)
    group = path.relative_to(CONF).parts[0]
    if group in ("backend", "postprocessor", "model") or path.relative_to(CONF) == Path("rompy.yaml"):
        assert match, f"{path} must start with a yaml-language-server modeline"
    if not match:
        return
    target = (path.parent / match.group(1)).resolve()
    assert target.parent == SCHEMAS and target.is_file(), f"{path}: modeline points at {target}"
    assert errors(target.stem, yaml.safe_load(path.read_text())) == []


def test_option_schemas_catch_typos_and_rule_breaks():
    assert errors("backend-local", {"type": "local", "cpuu": 2})          # unknown key
    assert errors("backend-local", {"type": "local", "timeout": 30})      # below 60
    assert errors("backend-docker", {"type": "docker", "pull_policy": "sometimes"})
    assert errors("backend-local", {"type": "docker"})                    # wrong file for the type
    assert errors("rompy", {"dry_run": "maybe"})
    assert errors("rompy", {"backend": {"type": "local", "cpuu": 1}})


# Inputs the models accept that their validated types do not show (schema.LENIENT).
ACCEPTED = [
    ("backend-local", "LocalConfig", {"env_vars": {"OMP_NUM_THREADS": 4, "DEBUG": True}}),
    ("backend-docker", "DockerConfig", {"image": "busybox", "build_args": {"V": 2}, "memory": 1073741824}),
    ("backend-docker", "DockerConfig", {"image": "busybox", "shm_size": 67108864}),
    ("model-demo", "DemoModelConfig", {"depths": 10, "periods": 8}),
    ("rompy", "RunConfig", {"log_level": "debug"}),
]


@pytest.mark.parametrize("name,class_name,data", ACCEPTED, ids=[a[1] + ":" + next(iter(a[2])) for a in ACCEPTED])
def test_schema_accepts_what_the_model_accepts(name, class_name, data):
    from rompy.config import RunConfig
    from rompy.registry import resolve

    if class_name == "RunConfig":
        full = {"backend": {"type": "local"}, "postprocessor": {"type": "noop"}, "model": {"type": "demo"}, **data}
        RunConfig.model_validate(full)
    else:
        kind, type_name = rs.OPTION_SCHEMAS[name]
        resolve(kind, type_name).model_validate(data)
    assert errors(name, data) == []


def test_lenient_entries_name_real_fields():
    from rompy.config import RunConfig
    from rompy.core.time import TimeRange
    from rompy.registry import resolve

    classes = {cls.__name__: cls for cls in [RunConfig, TimeRange] + [resolve(k, t) for k, t in rs.OPTION_SCHEMAS.values()]}
    for class_name, field in rs.LENIENT:
        if class_name == "*":
            continue
        assert field in classes[class_name].model_fields, (class_name, field)


def test_interpolations_are_accepted_where_hydra_resolves_them():
    assert errors("backend-local", {"timeout": "${oc.env:ROMPY_TIMEOUT}", "cpu": "${oc.decode:4}"}) == []
    assert errors("backend-local", {"timeout": "soon"})        # a plain string is still refused


def test_a_users_option_extending_a_shipped_one_validates():
    """conf/backend/hpc.yaml with a defaults list (see docs/config_groups.md)."""
    assert errors("backend-local", {"defaults": ["local", "_self_"], "timeout": 7200}) == []


def test_wrong_type_value_is_refused_by_the_model_too():
    from rompy.backends.local import LocalConfig

    with pytest.raises(ValidationError):
        LocalConfig.model_validate({"timeout": 30})
