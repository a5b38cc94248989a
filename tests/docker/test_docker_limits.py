"""Every DockerConfig field, observed from inside a real container.

The limits are read back from the container's own cgroup files (v1 or v2,
whichever the engine uses), the user with `id`, the environment with `echo`:
the test believes the kernel, not rompy's record. The record must then agree.
"""

from __future__ import annotations

import os

import pytest

from tests.helpers.docker import MPICH, PYTHON, containers_of, remove_containers, run_api

pytestmark = pytest.mark.docker

CGROUP_READ = (
    'if [ -f /sys/fs/cgroup/cpu.max ]; then echo "cpu $(cat /sys/fs/cgroup/cpu.max)"; '
    'echo "mem $(cat /sys/fs/cgroup/memory.max)"; echo "swap $(cat /sys/fs/cgroup/memory.swap.max)"; '
    'else echo "cpu $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)"; '
    'echo "mem $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes)"; '
    'echo "swap $(cat /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes 2>/dev/null || echo none)"; fi'
)


def _values(stdout: str) -> dict[str, list[str]]:
    return {line.split()[0]: line.split()[1:] for line in stdout.splitlines() if line.strip()}


def test_cpu_and_memory_limits_are_what_was_asked(docker_client, tmp_path, run_id):
    ok, record, out, err = run_api(run_id, tmp_path, cpu=0.5, memory="64m", command=CGROUP_READ)
    assert ok, (record["message"], err)
    values = _values(out)
    quota, period = int(values["cpu"][0]), int(values["cpu"][1])
    assert quota / period == pytest.approx(0.5)  # cgroup v2: "50000 100000"
    assert int(values["mem"][0]) == 64 * 1024 * 1024
    if values["swap"] != ["none"]:  # v1: memory+swap == memory; v2: swap.max == 0
        assert int(values["swap"][0]) in (0, 64 * 1024 * 1024)
    details = record["backend"]["details"]
    assert details["nano_cpus"] == 500_000_000
    assert details["memory_bytes"] == 64 * 1024 * 1024
    assert details["memory_swap_bytes"] == 64 * 1024 * 1024
    assert details["image_id"].startswith("sha256:")
    assert details["user"] == f"{os.getuid()}:{os.getgid()}"
    assert not containers_of(docker_client, run_id)


def test_fractional_cpu_above_one(docker_client, tmp_path, run_id):
    ok, record, out, _ = run_api(run_id, tmp_path, cpu=1.5, command=CGROUP_READ)
    assert ok
    quota, period = map(int, _values(out)["cpu"])
    assert quota / period == pytest.approx(1.5)


def test_env_vars_arrive_and_command_string_uses_sh(docker_client, tmp_path, run_id):
    ok, record, out, err = run_api(run_id, tmp_path, env_vars={"GREETING": "hello world", "N": 7},
                                 command='echo "[$GREETING] [$N]"; pwd')
    assert ok, (record["message"], err)
    assert out.splitlines() == ["[hello world] [7]", "/rompy/run"], (out, err, record["backend"])


def test_secret_env_reaches_the_container_but_not_the_record(docker_client, tmp_path, run_id, monkeypatch):
    monkeypatch.setenv("ROMPY_TEST_SECRET", "s3cr3t-value")
    ok, record, out, _ = run_api(run_id, tmp_path, secret_env=["ROMPY_TEST_SECRET"],
                                 command='echo "${#ROMPY_TEST_SECRET}"')
    assert ok and out == "12\n"
    assert "s3cr3t-value" not in (tmp_path / run_id / "rompy-result.json").read_text()


def test_command_list_runs_as_given(docker_client, tmp_path, run_id):
    ok, _, out, _ = run_api(run_id, tmp_path, command=["echo", "a  b", "$HOME"])
    assert ok
    assert out == "a  b $HOME\n"  # no shell: no splitting, no expansion


def test_explicit_user_and_writable_home(docker_client, tmp_path, run_id):
    ok, record, out, err = run_api(run_id, tmp_path, user="1234:2345",
                                   command='id -u; id -g; echo "$HOME"; touch "$HOME/x" && echo home-writable')
    assert ok, err
    assert out.splitlines() == ["1234", "2345", "/rompy/home", "home-writable"]
    assert record["backend"]["details"]["user"] == "1234:2345"


def test_home_from_env_vars_is_kept(docker_client, tmp_path, run_id):
    ok, _, out, _ = run_api(run_id, tmp_path, user="1234", env_vars={"HOME": "/tmp"}, command='echo "$HOME"')
    assert ok and out == "/tmp\n"


def test_working_dir(docker_client, tmp_path, run_id):
    ok, _, out, _ = run_api(run_id, tmp_path, working_dir="/tmp", command="pwd; ls /rompy/run")
    assert ok
    lines = out.splitlines()
    assert lines[0] == "/tmp" and "INPUT" in lines


def test_volumes_ro_refuses_writes_rw_accepts(docker_client, tmp_path, run_id):
    ro, rw = tmp_path / "ro", tmp_path / "rw"
    ro.mkdir(), rw.mkdir()
    (ro / "data.txt").write_text("read me\n")
    os.chmod(rw, 0o777)
    ok, record, out, err = run_api(
        run_id, tmp_path / "out", volumes=[f"{ro}:/data:ro", f"{rw}:/scratch"],
        command="cat /data/data.txt; echo new > /scratch/new.txt; touch /data/forbidden",
    )
    assert not ok and record["status"] == "failed" and record["exit_code"] != 0
    assert out == "read me\n"
    assert "Read-only file system" in err
    assert (rw / "new.txt").read_text() == "new\n"
    assert not (ro / "forbidden").exists()
    assert not containers_of(docker_client, run_id)


def test_network_none_and_shm_size(docker_client, tmp_path, run_id):
    ok, record, out, _ = run_api(run_id, tmp_path, network="none", shm_size="32m",
                                 command="ls /sys/class/net; df -k /dev/shm | tail -n 1")
    assert ok
    lines = out.splitlines()
    assert lines[:-1] == ["lo"]
    assert lines[-1].split()[1] == str(32 * 1024)  # 1K-blocks of /dev/shm
    assert record["backend"]["details"]["network_mode"] == "none"
    assert record["backend"]["details"]["shm_size_bytes"] == 32 * 1024 * 1024


def test_exit_code_is_recorded_and_container_removed(docker_client, tmp_path, run_id):
    ok, record, _, err = run_api(run_id, tmp_path, command="echo oops >&2; exit 3")
    assert not ok
    assert record["status"] == "failed" and record["exit_code"] == 3
    assert "exited with code 3" in record["message"]
    assert err == "oops\n"
    assert not containers_of(docker_client, run_id)


def test_remove_container_false_keeps_it(docker_client, tmp_path, run_id):
    ok, record, _, _ = run_api(run_id, tmp_path, remove_container=False, command="true")
    try:
        assert ok
        (kept,) = containers_of(docker_client, run_id)
        assert kept["State"] == "exited"
        assert kept["Labels"]["rompy.remove"] == "false"
    finally:
        remove_containers(docker_client, containers_of(docker_client, run_id))


def test_out_of_memory_is_reported(docker_client, tmp_path, run_id):
    ok, record, _, _ = run_api(run_id, tmp_path, image=PYTHON, memory="64m",
                               command=["python3", "-c", "x = b'x' * (200 << 20); print(len(x))"])
    assert not ok
    assert record["status"] == "failed"
    details = record["backend"]["details"]
    assert details["oom_killed"] is True
    assert "out of memory" in record["message"] and "64m" in record["message"]
    assert record["exit_code"] == 137
    assert not containers_of(docker_client, run_id)


def test_failed_create_leaves_no_container(docker_client, tmp_path, run_id):
    # 'nocopy' passes rompy's validation (it is a valid volume option) but the
    # engine refuses it for a bind mount at create time.
    ok, record, _, _ = run_api(run_id, tmp_path, volumes=[f"{tmp_path}:/x:nocopy"], command="true")
    assert not ok and record["status"] == "failed"
    assert "refused to create" in record["message"] and "nocopy" in record["message"]
    assert not containers_of(docker_client, run_id)


def test_failed_start_leaves_no_container(docker_client, tmp_path, run_id):
    # 'shared' propagation needs a shared source mount: created fine, refused at start.
    ok, record, _, _ = run_api(run_id, tmp_path, volumes=[f"{tmp_path}:/x:shared"], command="true")
    if ok:
        pytest.skip("this host's mounts are shared: the engine accepted 'shared' propagation")
    assert record["status"] == "failed" and "could not start" in record["message"]
    assert not containers_of(docker_client, run_id)


def test_gpus_request_reaches_the_engine(docker_client, tmp_path, run_id):
    """No GPU here: the engine must refuse the device request (proof that it was made)."""
    ok, record, out, _ = run_api(run_id, tmp_path, gpus="all", command="nvidia-smi -L || echo no-gpu")
    if ok:
        pytest.skip("this engine has GPU support; the refusal path cannot be observed")
    assert "gpu" in record["message"].lower()
    assert not containers_of(docker_client, run_id)


def test_stdout_and_stderr_are_streamed_in_order_to_logs(docker_client, tmp_path, run_id):
    command = "for i in 1 2 3 4 5; do echo out$i; echo err$i >&2; done; printf 'no-newline'"
    ok, record, out, err = run_api(run_id, tmp_path, command=command)
    assert ok
    assert out == "out1\nout2\nout3\nout4\nout5\nno-newline"
    assert err == "err1\nerr2\nerr3\nerr4\nerr5\n"
    assert set(record["backend"]["logs"]) == {"stdout", "stderr"}


def test_mpiexec_runs_one_rank_per_cpu_in_the_container(docker_client, tmp_path, run_id):
    docker_client.api.inspect_image(MPICH)  # built by scripts/services/test-images.sh
    ok, record, out, err = run_api(run_id, tmp_path, image=MPICH, cpu=2, mpiexec="mpiexec",
                                   command="python3 -c 'import os; print(os.environ.get(\"PMI_RANK\"))'")
    assert ok, err
    assert sorted(out.split()) == ["0", "1"]
    assert record["backend"]["details"]["nano_cpus"] == 2_000_000_000
