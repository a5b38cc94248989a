"""A fake SLURM for the fast test tier: sbatch, srun, sacct, squeue, scancel and sinfo as commands on PATH.

Jobs really run, on this machine, right away: sbatch starts one supervisor process per
(array) task, which runs the batch script in its own process group with SLURM's
environment variables, and records the task's state in FAKE_SLURM_DIR. scancel stops a
task's process group and marks it CANCELLED (FAKE_SLURM_ACCOUNTING_LAG_S seconds after the
task ended, as a cluster's accounting may lag). sacct and squeue answer from those
records in the formats rompy and submitit ask for. No controller, no accounting, no
time limits, one node called `fake`.

    FakeSlurm(folder).install()   # writes the commands to folder/bin; put it first on PATH
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

NODE = "fake"
PARTITION = "debug"
COMMANDS = ("sbatch", "srun", "sacct", "squeue", "scancel", "sinfo")
UNFINISHED = ("PENDING", "RUNNING")


class FakeSlurm:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.bin = self.folder / "bin"
        self.jobs = self.folder / "jobs"

    def install(self) -> dict[str, str]:
        """Write the commands; the environment variables that make them the ones found."""
        self.bin.mkdir(parents=True, exist_ok=True)
        self.jobs.mkdir(parents=True, exist_ok=True)
        for command in COMMANDS:
            path = self.bin / command
            path.write_text(f"#!/bin/sh\nexec '{sys.executable}' '{Path(__file__).resolve()}' {command} \"$@\"\n")
            path.chmod(0o755)
        return {"PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}", "FAKE_SLURM_DIR": str(self.folder)}

    def tasks(self) -> list[dict]:
        return [_read(path) for path in sorted(self.jobs.glob("*.json"))]

    def stop_everything(self) -> None:
        """Whatever a test left running: stop it (by the supervisors' process groups)."""
        for task in self.tasks():
            if task.get("state") in UNFINISHED and task.get("supervisor"):
                _kill_group(task["supervisor"], signal.SIGKILL)


# -- the commands -------------------------------------------------------------------------
def _folder() -> Path:
    return Path(os.environ["FAKE_SLURM_DIR"])


def _read(path: Path) -> dict:
    for _ in range(50):  # a supervisor may be replacing it
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            time.sleep(0.01)
    return {}


def _write(task: dict) -> None:
    path = _folder() / "jobs" / f"{task['id']}.json"
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(task))
    os.replace(tmp, path)


def _now() -> str:
    return datetime.now().strftime("%Y-%m-%dT%H:%M:%S")


def _next_job_id() -> int:
    counter = _folder() / "next_id"
    import fcntl

    with open(counter, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        fh.seek(0)
        number = int(fh.read() or 100)
        fh.seek(0)
        fh.truncate()
        fh.write(str(number + 1))
    return number


def _directives(script: str) -> dict[str, str]:
    found = {}
    for line in script.splitlines():
        match = re.match(r"#SBATCH\s+--([\w-]+)(?:=(.*))?", line)
        if match:
            found[match.group(1)] = (match.group(2) or "").strip()
    return found


def _expand(pattern: str, job_id: str, array_id: str, task: str) -> str:
    return (pattern.replace("%A", array_id).replace("%a", task).replace("%j", job_id).replace("%t", "0")
            .replace("%N", NODE))


def sbatch(args: list[str]) -> int:
    options = [a for a in args if a.startswith("-")]
    script_path = Path(next(a for a in args if not a.startswith("-")))
    script = script_path.read_text()
    directives = _directives(script)
    for option in options:  # command-line options win over #SBATCH lines
        name, _, value = option.lstrip("-").partition("=")
        directives[name] = value
    base = str(_next_job_id())
    kept = _folder() / "jobs" / f"{base}.sh"  # as sbatch: the script as submitted (submitit deletes its file)
    kept.write_text(script)
    array = directives.get("array")
    indices = [None]
    if array:
        first, last = re.match(r"(\d+)-(\d+)", array).groups()
        indices = list(range(int(first), int(last) + 1))
    for index in indices:
        task_id = base if index is None else f"{base}_{index}"
        task = {"id": task_id, "array_id": base, "task": index, "state": "PENDING", "name": directives.get("job-name", ""),
                "partition": directives.get("partition") or PARTITION, "submit": _now(), "start": None, "end": None,
                "exit": None, "script": str(kept), "output": directives.get("output", ""),
                "error": directives.get("error", ""), "supervisor": None}
        _write(task)
        proc = subprocess.Popen([sys.executable, __file__, "_supervise", task_id], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                                env=os.environ.copy())
        task["supervisor"] = proc.pid
        _write(task)
    print(f"Submitted batch job {base}")
    return 0


def _supervise(task_id: str) -> int:
    """One task: run the batch script in its own process group until it ends or is cancelled."""
    path = _folder() / "jobs" / f"{task_id}.json"
    task = _read(path)
    index = "" if task["task"] is None else str(task["task"])
    env = {**os.environ, "SLURM_JOB_ID": task_id if task["task"] is None else str(_next_task_number(task)),
           "SLURM_JOB_NAME": task["name"], "SLURM_JOB_NUM_NODES": "1", "SLURM_NODEID": "0", "SLURM_PROCID": "0",
           "SLURM_LOCALID": "0", "SLURM_NTASKS": "1", "SLURM_JOB_NODELIST": NODE, "SLURMD_NODENAME": NODE,
           "SLURM_JOB_PARTITION": task["partition"]}
    if task["task"] is not None:
        env.update(SLURM_ARRAY_JOB_ID=task["array_id"], SLURM_ARRAY_TASK_ID=index)
    out = _expand(task["output"] or "slurm-%j.out", task_id, task["array_id"], index)
    err = _expand(task["error"], task_id, task["array_id"], index) if task["error"] else out
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    with open(out, "ab") as stdout, open(err, "ab") as stderr:
        child = subprocess.Popen(["bash", task["script"]], env=env, stdout=stdout, stderr=stderr,
                                 stdin=subprocess.DEVNULL, start_new_session=True)

    def cancel(signum, frame):
        _kill_group(child.pid, signal.SIGTERM)
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _kill_group(child.pid, signal.SIGKILL)
        # Accounting lags behind the job on a real cluster: sacct may say RUNNING a while after it ended.
        time.sleep(float(os.environ.get("FAKE_SLURM_ACCOUNTING_LAG_S") or 0))
        _finish(path, "CANCELLED", 0, 15)
        os._exit(0)

    signal.signal(signal.SIGTERM, cancel)
    task.update(state="RUNNING", start=_now(), child=child.pid)
    _write(task)
    code = child.wait()
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _finish(path, "COMPLETED" if code == 0 else "FAILED", code if code >= 0 else 0, -code if code < 0 else 0)
    return 0


def _next_task_number(task: dict) -> int:
    """SLURM gives each array task a job id of its own; any unique number serves here."""
    return int(task["array_id"]) * 1000 + int(task["task"])


def _finish(path: Path, state: str, code: int, signum: int) -> None:
    task = _read(path)
    if task.get("state") not in UNFINISHED:
        return
    task.update(state=state, end=_now(), exit=f"{code}:{signum}")
    _write(task)


def _kill_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _selected(ids_text: str) -> list[dict]:
    wanted = {i for i in ids_text.split(",") if i}
    return [task for task in (_read(p) for p in sorted((_folder() / "jobs").glob("*.json")))
            if task and (not wanted or task["id"] in wanted or task["array_id"] in wanted)]


def _option(args: list[str], *names: str) -> str | None:
    for i, arg in enumerate(args):
        for name in names:
            if arg == name and i + 1 < len(args):
                return args[i + 1]
            if arg.startswith(name + "=") and name.startswith("--"):
                return arg.split("=", 1)[1]
    return None


def _field(task: dict, name: str) -> str:
    return {"JobID": task["id"], "State": task["state"] + (" by 0" if task["state"] == "CANCELLED" else ""),
            "Partition": task["partition"], "NodeList": NODE if task["start"] else "None assigned",
            "ExitCode": task["exit"] or "0:0", "Submit": task["submit"], "Start": task["start"] or "Unknown",
            "End": task["end"] or "Unknown", "JobName": task["name"]}.get(name, "")


def sacct(args: list[str]) -> int:
    if _option(args, "-S", "--starttime") and not _option(args, "-j", "--jobs"):
        return 0  # rompy's accounting check: answers, lists nothing
    fields = (_option(args, "-o", "--format") or "JobID,State").split(",")
    rows = [] if "-n" in args or "--noheader" in args else ["|".join(fields)]
    for task in _selected(_option(args, "-j", "--jobs") or ""):
        rows.append("|".join(_field(task, name) for name in fields))
    print("\n".join(rows))
    return 0


def squeue(args: list[str]) -> int:
    fmt = _option(args, "-o", "--format") or "%i %T"
    codes = {"%i": "id", "%T": "state", "%P": "partition", "%r": "reason", "%j": "name"}
    for task in _selected(_option(args, "-j", "--jobs") or ""):
        if task["state"] not in UNFINISHED:
            continue
        values = {"id": task["id"], "state": task["state"], "partition": task["partition"], "reason": "None",
                  "name": task["name"]}
        print(re.sub(r"%[iTPrj]", lambda m: values[codes[m.group(0)]], fmt))
    return 0


def scancel(args: list[str]) -> int:
    for task in _selected(",".join(a for a in args if not a.startswith("-"))):
        if task["state"] == "RUNNING" and task.get("supervisor"):
            os.kill(task["supervisor"], signal.SIGTERM)
        elif task["state"] == "PENDING":
            _finish(_folder() / "jobs" / f"{task['id']}.json", "CANCELLED", 0, 15)
    return 0


def sinfo(args: list[str]) -> int:
    print(f"{PARTITION}*")
    return 0


def srun(args: list[str]) -> int:
    """Run the command once (one task), with srun's --output/--error patterns expanded."""
    command, out, err = [], None, None
    i = 0
    while i < len(args):
        arg = args[i]
        if command:
            command.append(arg)
        elif arg in ("--output", "-o", "--error", "-e"):
            value = args[i + 1]
            if arg in ("--output", "-o"):
                out = value
            else:
                err = value
            i += 1
        elif arg.startswith("-"):
            pass
        else:
            command.append(arg)
        i += 1
    job, array, task = (os.environ.get(k, "") for k in ("SLURM_JOB_ID", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID"))
    stdout = open(_expand(out, job, array or job, task), "ab") if out else None
    stderr = open(_expand(err, job, array or job, task), "ab") if err else None
    return subprocess.call(command, stdout=stdout, stderr=stderr)


if __name__ == "__main__":
    name, rest = sys.argv[1], sys.argv[2:]
    if name == "_supervise":
        sys.exit(_supervise(rest[0]))
    sys.exit(globals()[name](rest))
