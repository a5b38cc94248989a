"""Example 1: run the built-in demo model locally, then a no-op postprocess.

Shows the smallest useful script: a ModelRun over a TimeRange, a LocalConfig
backend, and the default postprocessor. Run it from anywhere:

    python examples/backends/01_basic_local_run.py

It writes ./output/example_local_run/ with INPUT, datasets/, outputs/, logs/ and
rompy-result.json, and exits 0 on success, 1 if the model failed.
"""

import logging
import sys
from datetime import datetime

from rompy.backends import LocalConfig
from rompy.core.time import TimeRange
from rompy.model import ModelRun

logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
logger = logging.getLogger(__name__)


def main() -> int:
    model = ModelRun(
        run_id="example_local_run",
        period=TimeRange(start=datetime(2023, 1, 1), end=datetime(2023, 1, 2), interval="1H"),
        output_dir="./output",
        delete_existing=True,
    )

    # No command given: the model's own command runs (the demo model's dispersion solver).
    backend = LocalConfig(timeout=3600, env_vars={"OMP_NUM_THREADS": "1"})
    success = model.run(backend=backend)
    logger.info("model run %s", "succeeded" if success else "failed")

    results = model.postprocess(processor="noop")
    logger.info("outputs: %s", results["data"]["outputs"])
    logger.info("run directory: %s", model.run_dir)
    return 0 if success else 1


if __name__ == "__main__":
    sys.exit(main())
