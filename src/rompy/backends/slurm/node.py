"""What a SLURM job of the SLURM backend runs on its node: the model, as the local backend runs it."""

from __future__ import annotations

import os
import signal
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

from rompy.backends.base import INTERNAL_ENV, Stopwatch


def run_on_node(spec: dict[str, Any]) -> dict[str, Any]:
    """Run the command in a process group in the run directory; a BackendResult as a dict (submitit pickles it)."""
    from rompy.errors import Interrupted
    from rompy.runtime.signals import interruptible

    # submitit turns SLURM's pre-time-limit SIGUSR2 into a requeue; rompy enforces its limits itself.
    signal.signal(signal.SIGUSR2, signal.SIG_IGN)
    logs_dir = Path(spec["logs_dir"])
    logs = {stream: str(logs_dir / f"{stream}.log") for stream in ("stdout", "stderr")}
    clock = Stopwatch()
    try:
        # submitit ignores SIGTERM from before this call, so rompy's handler goes in before the
        # job sets up: a scancel landing then stops it before the model starts.
        with interruptible():
            from rompy.runtime.processes import run_process_group

            env = {name: value for name, value in os.environ.items() if name not in INTERNAL_ENV}
            if spec.get("omp_threads"):
                env["OMP_NUM_THREADS"] = spec["omp_threads"]
            # The model's output goes to the run's logs/ only (the submitting rompy shows it), not into
            # SLURM's job log as well; scancel's SIGTERM stops the model's whole process group.
            with open(os.devnull, "w") as devnull, redirect_stdout(devnull), redirect_stderr(devnull):
                status, exit_code, message = run_process_group(
                    spec["argv"], cwd=Path(spec["cwd"]), env=env, timeout=spec["timeout"], logs_dir=logs_dir,
                    token=spec.get("token") or None)
        result = clock.result(status, exit_code, message, logs=logs)
    except Interrupted as exc:
        result = clock.result("interrupted", exc.exit_code, f"stopped on the node by {exc}", logs=logs)
    result.details["host"] = os.environ.get("SLURMD_NODENAME") or os.uname().nodename
    # Every node of the allocation (the model's tasks run there, through srun or mpiexec). Right after a job ends,
    # accounting's NodeList can still name only its first node; the job's own environment names them all.
    result.details["nodelist"] = os.environ.get("SLURM_JOB_NODELIST")
    return result.model_dump(mode="json")
