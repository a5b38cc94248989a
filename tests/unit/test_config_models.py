"""The documented Python config API and its rules, as users construct it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from rompy.backends import DockerConfig, LocalConfig
from rompy.backends.base import BackendConfig
from rompy.config import RunConfig


def test_seed_local_example_constructs_as_written():
    cfg = LocalConfig(timeout=3600, command="python run_model.py", env_vars={"OMP_NUM_THREADS": "4"},
                      shell=True, capture_output=True)
    assert cfg.type == "local" and cfg.timeout == 3600 and cfg.env_vars == {"OMP_NUM_THREADS": "4"}


def test_seed_docker_example_constructs_given_existing_host_path(tmp_path):
    cfg = DockerConfig(image="python:3.9-slim", cpu=2, memory="2g", timeout=7200,
                       volumes=[f"{tmp_path}:/app/data:rw"], env_vars={"MODEL_CONFIG": "production"})
    assert cfg.memory_bytes == 2 * 1024**3
    assert cfg.cpu == 2


@pytest.mark.parametrize("timeout", [59, 0, -1, 86401, 1.5, "soon"])
def test_timeout_outside_60_to_86400_is_refused(timeout):
    with pytest.raises(ValidationError) as exc:
        LocalConfig(timeout=timeout)
    assert exc.value.errors()[0]["loc"] == ("timeout",)


@pytest.mark.parametrize("timeout", [60, 86400, "120"])
def test_timeout_bounds_are_inclusive(timeout):
    assert LocalConfig(timeout=timeout).timeout == int(timeout)


def test_env_values_become_strings_and_names_are_checked():
    assert LocalConfig(env_vars={"A": 1, "B": True, "C": 1.5}).env_vars == {"A": "1", "B": "True", "C": "1.5"}
    with pytest.raises(ValidationError, match="not a valid environment variable name"):
        LocalConfig(env_vars={"1BAD": "x"})
    with pytest.raises(ValidationError):
        LocalConfig(env_vars={"A": None})


def test_local_cpu_is_a_positive_integer_docker_cpu_may_be_fractional(tmp_path):
    assert LocalConfig(cpu=4).cpu == 4
    for bad in (0, -1, 1.5):
        with pytest.raises(ValidationError):
            LocalConfig(cpu=bad)
    assert DockerConfig(image="busybox", cpu=0.5).cpu == 0.5
    with pytest.raises(ValidationError):
        DockerConfig(image="busybox", cpu=0)


def test_working_dir_must_exist(tmp_path):
    assert LocalConfig(working_dir=str(tmp_path)).working_dir == str(tmp_path)
    with pytest.raises(ValidationError, match="not an existing directory"):
        LocalConfig(working_dir=str(tmp_path / "missing"))
    with pytest.raises(ValidationError, match="absolute"):
        DockerConfig(image="busybox", working_dir="relative/path")


@pytest.mark.parametrize("image", ["python:3.12-slim", "busybox", "localhost:5000/team/model:v1.2",
                                   "ghcr.io/org/model@sha256:" + "a" * 64, "registry.example.com/x/y:latest"])
def test_valid_image_references(image):
    assert DockerConfig(image=image).image == image


@pytest.mark.parametrize("image", ["Python:3", "python:", "python:3.12 slim", "-bad", "a@sha256:123", ""])
def test_invalid_image_references(image):
    with pytest.raises(ValidationError):
        DockerConfig(image=image)


def test_exactly_one_of_image_or_dockerfile(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    with pytest.raises(ValidationError, match="exactly one of image or dockerfile"):
        DockerConfig()
    with pytest.raises(ValidationError, match="exactly one of image or dockerfile"):
        DockerConfig(image="busybox", dockerfile="Dockerfile", build_context=str(tmp_path))
    cfg = DockerConfig(dockerfile="Dockerfile", build_context=str(tmp_path), build_args={"V": 3})
    assert cfg.build_args == {"V": "3"}
    with pytest.raises(ValidationError, match="not found"):
        DockerConfig(dockerfile="Nope", build_context=str(tmp_path))


@pytest.mark.parametrize("memory,expected", [("512m", 512 * 2**20), ("2g", 2 * 2**30), ("1.5GiB", int(1.5 * 2**30)),
                                             ("64MB", 64 * 2**20), (str(10 * 2**20), 10 * 2**20)])
def test_memory_follows_docker_cli_grammar(memory, expected):
    assert DockerConfig(image="busybox", memory=memory).memory_bytes == expected


@pytest.mark.parametrize("memory", ["2x", "g", "-1m", "1ib", "1k"])
def test_bad_memory_is_refused(memory):
    with pytest.raises(ValidationError):
        DockerConfig(image="busybox", memory=memory)


def test_volume_rules(tmp_path):
    ok = DockerConfig(image="busybox", volumes=[f"{tmp_path}:/data", f"{tmp_path}:/ro:ro,z"])
    assert len(ok.volumes) == 2
    for bad, match in [
        (f"{tmp_path}/missing:/data", "does not exist"),
        (f"{tmp_path}:data", "absolute"),
        (f"{tmp_path}:/", "absolute and not '/'"),
        (f"{tmp_path}:/d:ro,rw", "at most one"),
        (f"{tmp_path}:/d:bogus", "unknown volume option"),
        ("justonepart", "host_path:container_path"),
    ]:
        with pytest.raises(ValidationError, match=match):
            DockerConfig(image="busybox", volumes=[bad])


def test_discriminated_union_gives_one_error_without_the_tag_in_its_path():
    with pytest.raises(ValidationError) as exc:
        BackendConfig.model_validate({"type": "docker", "image": "busybox", "cpu": -1})
    errors = exc.value.errors()
    assert len(errors) == 1
    assert errors[0]["loc"] == ("cpu",)


def test_unknown_backend_type_lists_choices():
    with pytest.raises(ValidationError, match="local, docker"):
        BackendConfig.model_validate({"type": "kubernetes"})


def test_unknown_keys_are_rejected():
    with pytest.raises(ValidationError) as exc:
        LocalConfig(timeout=100, cpus=2)
    assert exc.value.errors()[0]["type"] == "extra_forbidden"


def test_error_text_never_echoes_input_values():
    with pytest.raises(ValidationError) as exc:
        LocalConfig(env_vars={"API_KEY": "s3cr3t-value"}, timeout="s3cr3t-value")
    assert "s3cr3t-value" not in str(exc.value)


def test_run_config_from_dict_dispatches_each_group():
    cfg = RunConfig.model_validate({
        "backend": {"type": "docker", "image": "busybox"},
        "postprocessor": {"type": "archive", "format": "zip"},
        "model": {"type": "demo", "depths": 15, "periods": [6, 8]},
    })
    assert type(cfg.backend).__name__ == "DockerConfig"
    assert cfg.postprocessor.format == "zip"
    assert cfg.model.depths == [15.0]


@pytest.mark.parametrize("run_id", ["..", "../x", "/abs", "a/b", "", ".hidden"])
def test_run_ids_that_would_leave_output_dir_are_refused(run_id):
    with pytest.raises(ValidationError):
        RunConfig.model_validate({"run_id": run_id, "backend": {"type": "local"},
                                  "postprocessor": {"type": "noop"}, "model": {"type": "demo"}})


@pytest.mark.parametrize("sweep", [[], ["-m", "model.depths=[1],[2]", "sweep.progress=off"]])
def test_an_output_dir_under_home_is_the_home_folders(workdir, tmp_path_factory, sweep):
    """`output_dir: ~/scratch/runs` made a folder named `~` in the current one."""
    from tests.helpers.cli import run_rompy

    home = tmp_path_factory.mktemp("home")
    proc = run_rompy("output_dir='~/runs'", *sweep, cwd=workdir, env={"HOME": str(home)})
    assert proc.returncode == 0, proc.stderr
    assert not (workdir / "~").exists()
    records = list((home / "runs").glob("*/rompy-result.json"))
    assert len(records) == (2 if sweep else 1)
    if sweep:
        assert len(list((home / "runs" / "sweeps").glob("*/summary.json"))) == 1
