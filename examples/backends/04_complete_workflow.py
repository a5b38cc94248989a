"""Example 4: the complete workflow in one call, and what it leaves on disk.

`pipeline()` runs generate -> run -> postprocess and stops at the first failed
stage. Here the demo model is configured explicitly, run with a local backend,
and its outputs summarised (file sizes, min/max per CSV column) and archived.

    python examples/backends/04_complete_workflow.py
"""

import json
import logging
import sys
from datetime import datetime

from rompy.backends import LocalConfig
from rompy.core.time import TimeRange
from rompy.demo import DemoModelConfig
from rompy.model import ModelRun
from rompy.postprocess.archive import ArchiveConfig
from rompy.postprocess.summary import SummaryConfig

logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
logger = logging.getLogger(__name__)


def main() -> int:
    model = ModelRun(
        run_id="example_complete_workflow",
        period=TimeRange(start=datetime(2023, 1, 1), end=datetime(2023, 1, 3), interval="6h"),
        output_dir="./output",
        delete_existing=True,
        config=DemoModelConfig(depths=[5, 10, 20, 50, 100], periods=[4, 8, 12]),
    )
    backend = LocalConfig(timeout=600, env_vars={"MODEL_CONFIG": "production"}, capture_output=True)

    outcome = model.pipeline(backend_config=backend, processor=SummaryConfig())
    logger.info("stages completed: %s", ", ".join(outcome["stages_completed"]))
    if not outcome["success"]:
        logger.error("workflow failed: %s", outcome.get("message"))
        return 1

    summary = outcome["postprocess"]["data"]
    ranges = summary["files"]["dispersion.csv"]["columns"]["wavelength_m"]
    logger.info("wavelength range: %.2f .. %.2f m", ranges["min"], ranges["max"])

    archive = model.postprocess(processor=ArchiveConfig(format="zip"))
    logger.info("archive: %s", archive["data"]["archive"])

    record = json.loads(model.record_path.read_text())
    logger.info("record status: %s (exit code %s)", record["status"], record["exit_code"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
