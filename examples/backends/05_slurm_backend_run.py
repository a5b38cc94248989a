"""Example 5: run the built-in demo model as a SLURM batch job.

The same ModelRun as example 1; only the backend changes. rompy submits the run
as one job (through submitit), streams the model's output while it follows the
job, and records the job id, partition and final SLURM state in
rompy-result.json. Run it where SLURM's commands work (a login node), with the
output folder on a filesystem the compute nodes share:

    python examples/backends/05_slurm_backend_run.py

The partition is the cluster's default; set ROMPY_EXAMPLE_PARTITION to choose
another (e.g. debug). Needs `pip install 'rompy-hydra[slurm]'`.

Exits 0 on success, 1 if the model failed, 2 if SLURM is not available (with a
message saying what is missing).
"""

import logging
import os
import sys
from datetime import datetime

from rompy.backends import SlurmConfig
from rompy.core.time import TimeRange
from rompy.errors import PreflightError
from rompy.model import ModelRun

logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
logger = logging.getLogger(__name__)


def main() -> int:
    model = ModelRun(
        run_id="example_slurm_run",
        period=TimeRange(start=datetime(2023, 1, 1), end=datetime(2023, 1, 2), interval="1H"),
        output_dir="./output",
        delete_existing=True,
    )

    backend = SlurmConfig(
        queue=os.environ.get("ROMPY_EXAMPLE_PARTITION"),  # None: the cluster's default partition
        nodes=1,
        ntasks=1,
        cpus_per_task=1,          # also OMP_NUM_THREADS for the model
        time_limit="00:10:00",    # SLURM's own limit (HH:MM:SS, D-HH:MM:SS or minutes)
        timeout=600,              # rompy's: seconds of running before the job is cancelled
        job_name="rompy-example",
        env_vars={"MODEL_MODE": "example"},
    )
    try:
        success = model.run(backend=backend)
    except PreflightError as exc:
        # Raised before anything was submitted: no submitit, no SLURM commands, unknown partition.
        print(f"05_slurm_backend_run: {exc}", file=sys.stderr)
        return 2
    details = model.record["backend"]["details"]
    logger.info("SLURM job %s on partition %s ended %s; the run %s", details["slurm_job_id"],
                details["partition"], details["slurm_state"], "succeeded" if success else "failed")

    results = model.postprocess(processor="noop")
    logger.info("outputs: %s", results["data"]["outputs"])
    logger.info("run directory: %s", model.run_dir)
    return 0 if success else 1


if __name__ == "__main__":
    sys.exit(main())
