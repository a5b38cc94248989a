"""SlurmConfig without a cluster: fields as rompy users write them, time limits, what sbatch is asked for."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from rompy.backends.base import BackendConfig, Job
from rompy.backends.slurm.jobs import (expand_nodelist, format_time_limit, parse_time_limit, slurm_status,
                                      time_limit_minutes)

REPO = Path(__file__).resolve().parents[2]


# -- time limits -------------------------------------------------------------------------
@pytest.mark.parametrize("text,seconds", [
    ("00:30:00", 1800), ("01:00:00", 3600), ("1:00:00", 3600), ("48:00:00", 172800),
    ("1-00:00:00", 86400), ("2-12:30:15", 2 * 86400 + 12 * 3600 + 30 * 60 + 15),
    ("90", 5400), (90, 5400), ("25:00", 1500), ("1-2", 93600), ("1-2:30", 95400),
])
def test_time_limit_forms(text, seconds):
    assert parse_time_limit(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "1h", "2 hours", "00:61:00", "00:00:60", "1-24:00:00",
                                  "0", "00:00:00", "-1", "1:2:3:4", True, 1.5, None])
def test_bad_time_limits_are_refused(text):
    with pytest.raises(ValueError):
        parse_time_limit(text)


def test_time_limits_are_kept_in_one_form_and_round_up_to_minutes():
    assert format_time_limit(3600) == "01:00:00"
    assert format_time_limit(86400 + 3661) == "1-01:01:01"
    assert time_limit_minutes(30) == 1 and time_limit_minutes(3600) == 60 and time_limit_minutes(3601) == 61


def test_slurm_states_map_to_statuses():
    assert slurm_status("CANCELLED by 0", "5")[0] == "failed"
    assert "cancelled" in slurm_status("CANCELLED by 0", "5")[1]
    assert slurm_status("TIMEOUT", "5")[0] == "timed_out"
    assert slurm_status("DEADLINE", "5")[0] == "timed_out"
    assert slurm_status("NODE_FAIL", "5")[0] == "failed"
    assert slurm_status("OUT_OF_MEMORY", "5") == ("failed", "SLURM job 5 ended OUT_OF_MEMORY")



@pytest.mark.parametrize("text,names", [
    ("n7", ["n7"]),
    ("n[1-3,7],gpu01", ["n1", "n2", "n3", "n7", "gpu01"]),
    ("c[08-10]", ["c08", "c09", "c10"]),
    ("r[1-2]n[1-2]", ["r1n1", "r1n2", "r2n1", "r2n2"]),
    ("None assigned", []),
    ("", []),
    (None, []),
    ("odd[x]", ["odd[x]"]),
])
def test_node_lists_are_expanded_as_slurm_writes_them(text, names):
    assert expand_nodelist(text) == names


def test_a_huge_range_is_kept_as_written():
    assert expand_nodelist("n[1-999999999]") == ["n[1-999999999]"]


# -- the config as users write it ----------------------------------------------------------
def test_import_as_rompy_users_write_it_and_registered_as_builtin():
    from rompy.backends import SlurmConfig
    from rompy.registry import BUILTINS, resolve

    assert BUILTINS["backend"]["slurm"] == "rompy.backends.slurm:SlurmConfig"
    assert resolve("backend", "slurm") is SlurmConfig
    config = BackendConfig.model_validate({"type": "slurm", "queue": "debug"})
    assert isinstance(config, SlurmConfig) and config.queue == "debug"


def test_upstream_fields():
    from rompy.backends import SlurmConfig

    config = SlurmConfig(
        queue="general", nodes=2, ntasks=8, cpus_per_task=4, time_limit="02:00:00", account="myproject",
        qos="normal", reservation="special", job_name="advanced_simulation", output_file="slurm-%j.out",
        error_file="slurm-%j.err", mail_type="BEGIN,END,FAIL", mail_user="researcher@domain.com",
        additional_options=["--exclusive", "--mem-per-cpu=2048"], command="python run_model.py", timeout=7200,
        env_vars={"OMP_NUM_THREADS": 4, "MODEL_DEBUG": True},
    )
    assert config.type == "slurm" and config.time_limit == "02:00:00" and config.time_limit_seconds == 7200
    assert config.env_vars == {"OMP_NUM_THREADS": "4", "MODEL_DEBUG": "True"}
    defaults = SlurmConfig()
    assert (defaults.queue, defaults.nodes, defaults.ntasks, defaults.cpus_per_task, defaults.time_limit) == \
        (None, 1, 1, 1, "01:00:00")
    assert defaults.additional_options == [] and defaults.timeout == 3600


def test_partition_is_another_name_for_queue():
    from rompy.backends import SlurmConfig

    assert SlurmConfig(partition="debug").queue == "debug"
    assert SlurmConfig.model_validate({"partition": "debug", "queue": None}).queue == "debug"
    assert SlurmConfig.model_validate({"partition": "debug", "queue": "debug"}).queue == "debug"
    with pytest.raises(ValidationError, match="same setting"):
        SlurmConfig(partition="debug", queue="gpu")
    assert "partition" not in SlurmConfig(partition="debug").model_dump()


def test_time_limit_is_validated_and_normalised():
    from rompy.backends import SlurmConfig

    assert SlurmConfig(time_limit="1-12:00:00").time_limit == "1-12:00:00"
    assert SlurmConfig(time_limit=90).time_limit == "01:30:00"          # minutes, as sbatch reads them
    assert SlurmConfig(time_limit="100:00:00").time_limit == "4-04:00:00"
    for bad in ("25 hours", "00:75:00", "1-30:00:00", 0):
        with pytest.raises(ValidationError, match="time limit"):
            SlurmConfig(time_limit=bad)


@pytest.mark.parametrize("field,value,message", [
    ("nodes", 0, "greater than or equal"), ("nodes", 101, "less than or equal"),
    ("ntasks", 0, "greater than or equal"), ("cpus_per_task", 129, "less than or equal"),
    ("queue", "two words", "one word"), ("queue", "", "must not be empty"), ("account", "a\nb", "one word"),
    ("job_name", "x\n#SBATCH --wrap=evil", "control characters"), ("output_file", "a\tb", "control characters"),
    ("mail_type", "SOMETIMES", "not a SLURM mail type"),
    ("additional_options", ["-N 2"], "--name=value"), ("additional_options", ["--time=10"], "use time_limit"),
    ("additional_options", ["--partition=x"], "use queue"), ("additional_options", ["--output=x"], "use output_file"),
    ("additional_options", ["--export=NONE"], "set by rompy"), ("additional_options", ["--wait"], "set by rompy"),
    ("additional_options", ["--mem=1G", "--mem=2G"], "twice"), ("additional_options", ["--gres=gpu\n:1"], "control"),
    ("timeout", 30, "greater than or equal"), ("timeout", 90000, "less than or equal"),
])
def test_rules(field, value, message):
    from rompy.backends import SlurmConfig

    with pytest.raises(ValidationError, match=message):
        SlurmConfig.model_validate({field: value})


def test_mail_type_is_normalised():
    from rompy.backends import SlurmConfig

    assert SlurmConfig(mail_type="end, fail").mail_type == "END,FAIL"


def _job(tmp_path: Path, command="true") -> Job:
    return Job(run_id="r1", run_dir=tmp_path, command=command, logs_dir=tmp_path / "logs", token="t0k3n")


def test_what_sbatch_is_asked_for(tmp_path):
    from rompy.backends import SlurmConfig

    config = SlurmConfig(queue="debug", nodes=2, ntasks=8, cpus_per_task=4, time_limit="1-00:00:30",
                         account="acct", qos="normal", reservation="res", output_file="slurm-%j.out",
                         error_file="/abs/err-%j", mail_type="END", mail_user="me@example.org",
                         additional_options=["--exclusive", "--mem=4G"])
    params = config.submitit_parameters(_job(tmp_path))
    assert params == {
        "job_name": "rompy-r1", "time": 1441, "nodes": 2, "cpus_per_task": 4, "use_srun": False,
        "partition": "debug", "account": "acct", "qos": "normal", "mail_type": "END", "mail_user": "me@example.org",
        "additional_parameters": {"ntasks": 8, "exclusive": True, "mem": "4G", "reservation": "res",
                                  "output": str(tmp_path / "slurm-%j.out"), "error": "/abs/err-%j"},
    }
    defaults = SlurmConfig(job_name="mine").submitit_parameters(_job(tmp_path))
    assert defaults["job_name"] == "mine" and "partition" not in defaults and "account" not in defaults
    assert defaults["time"] == 60 and defaults["additional_parameters"] == {"ntasks": 1}


def test_the_sbatch_script_submitit_writes(tmp_path):
    """The parameters go through submitit's own script writer as sbatch options."""
    from submitit.slurm.slurm import _make_sbatch_string

    from rompy.backends import SlurmConfig

    config = SlurmConfig(queue="debug", ntasks=2, time_limit="00:10:00", job_name="job name",
                         additional_options=["--comment=hello world", "--exclusive"])
    text = _make_sbatch_string(command="python -m x", folder=str(tmp_path), **config.submitit_parameters(_job(tmp_path)))
    for line in ("#SBATCH --partition=debug", "#SBATCH --ntasks=2", "#SBATCH --time=10", "#SBATCH --exclusive",
                 "#SBATCH --job-name='job name'", "#SBATCH --comment='hello world'", "#SBATCH --cpus-per-task=1"):
        assert line in text.splitlines(), (line, text)
    assert "srun" not in text  # the runner starts once; the model launches its own tasks


def test_node_spec_holds_no_environment_values(tmp_path):
    from rompy.backends import SlurmConfig

    config = SlurmConfig(env_vars={"TOKEN": "plain-value"}, secret_env=["HOME"], cpus_per_task=3)
    spec = config.node_spec(_job(tmp_path, "echo hi"))
    assert spec["argv"] == ["/bin/sh", "-c", "echo hi"] and spec["cwd"] == str(tmp_path)
    assert spec["timeout"] == config.timeout + 60 and spec["token"] == "t0k3n" and spec["omp_threads"] == "3"
    assert "plain-value" not in repr(spec) and os.environ["HOME"] not in repr(spec)
    assert SlurmConfig(env_vars={"OMP_NUM_THREADS": "2"}).node_spec(_job(tmp_path))["omp_threads"] is None
    assert SlurmConfig().node_spec(_job(tmp_path, ["a", "b c"]))["argv"] == ["a", "b c"]


def test_mpi_ranks_are_the_jobs_tasks():
    from rompy.backends import SlurmConfig

    assert SlurmConfig(mpiexec="srun", ntasks=4).resolve_command("model.exe") == ["srun", "-n", "4", "model.exe"]
    assert SlurmConfig(mpiexec="mpiexec -np 2", ntasks=4).resolve_command(["m"]) == ["mpiexec", "-np", "2", "m"]


def test_shipped_option_file_lists_every_field_with_the_defaults():
    from rompy.backends import SlurmConfig

    path = REPO / "conf" / "backend" / "slurm.yaml"
    assert path.read_text().splitlines()[0] == "# yaml-language-server: $schema=../../schemas/backend-slurm.json"
    data = yaml.safe_load(path.read_text())
    assert set(data) == set(SlurmConfig.model_fields)
    assert SlurmConfig.model_validate(data) == SlurmConfig()


def test_preflight_without_slurm_commands(monkeypatch, tmp_path):
    from rompy.backends import SlurmConfig
    from rompy.errors import PreflightError

    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PreflightError, match="not found on PATH"):
        SlurmConfig().preflight()


def test_preflight_checks_secret_env_first(monkeypatch):
    from rompy.backends import SlurmConfig
    from rompy.errors import PreflightError

    monkeypatch.delenv("ROMPY_TEST_NO_SUCH_SECRET", raising=False)
    with pytest.raises(PreflightError, match="ROMPY_TEST_NO_SUCH_SECRET"):
        SlurmConfig(secret_env=["ROMPY_TEST_NO_SUCH_SECRET"]).preflight()
