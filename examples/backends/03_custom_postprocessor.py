"""Example 3: your own postprocessor, as a plain class with a `process` method.

Any object with `process(model_run, **kwargs) -> dict` is a postprocessor; no base
class or registration is needed. This one reads the demo model's CSV and reports
the longest wave. Returning `success: False` would fail the run.

    python examples/backends/03_custom_postprocessor.py
"""

import csv
import logging
import sys
from datetime import datetime

from rompy.backends import LocalConfig
from rompy.core.time import TimeRange
from rompy.model import ModelRun

logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
logger = logging.getLogger(__name__)


class LongestWave:
    """Find the row with the longest wavelength in the model's output."""

    def process(self, model_run, **kwargs) -> dict:
        csv_path = model_run.output_dir / model_run.run_id / "outputs" / "dispersion.csv"
        if not csv_path.exists():
            return {"success": False, "message": f"no output at {csv_path}"}
        with open(csv_path, newline="") as fh:
            rows = list(csv.DictReader(fh))
        longest = max(rows, key=lambda row: float(row["wavelength_m"]))
        return {
            "success": True,
            "message": f"longest wave {float(longest['wavelength_m']):.2f} m",
            "depth_m": float(longest["depth_m"]),
            "period_s": float(longest["period_s"]),
            "rows": len(rows),
        }


def main() -> int:
    model = ModelRun(
        run_id="example_custom_postprocessor",
        period=TimeRange(start=datetime(2023, 1, 1), duration="1D", interval="1H"),
        output_dir="./output",
        delete_existing=True,
    )
    if not model.run(backend=LocalConfig(timeout=600)):
        logger.error("model run failed; see %s", model.logs_dir)
        return 1
    result = model.postprocess(processor=LongestWave())
    logger.info("%s", result["message"])
    return 0 if result["success"] else 1


if __name__ == "__main__":
    sys.exit(main())
