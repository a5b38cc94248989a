"""Example 2: run the built-in demo model in a container with CPU, memory and time limits.

The same ModelRun as example 1; only the backend changes. The run directory is
mounted at /rompy/run in the container and the model runs there as your own
user, so the outputs belong to you. Any image with python3 works:

    ROMPY_EXAMPLE_IMAGE=python:3.12-slim python examples/backends/02_docker_run.py

(default image: python:3.12-slim, pulled if missing). Without a registry, make a
local image first, e.g. `sudo scripts/services/test-images.sh` and then
ROMPY_EXAMPLE_IMAGE=rompy-test-python:latest.

Exits 0 on success, 1 if the model failed, 2 if the image or the Docker engine is
not available (with a message saying what to do).
"""

import logging
import os
import sys
from datetime import datetime

from rompy.backends import DockerConfig
from rompy.core.time import TimeRange
from rompy.errors import PreflightError, RunFailed
from rompy.model import ModelRun

logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
logger = logging.getLogger(__name__)

IMAGE = os.environ.get("ROMPY_EXAMPLE_IMAGE", "python:3.12-slim")


def main() -> int:
    model = ModelRun(
        run_id="example_docker_run",
        period=TimeRange(start=datetime(2023, 1, 1), end=datetime(2023, 1, 2), interval="1h"),
        output_dir="./output",
        delete_existing=True,
    )
    backend = DockerConfig(image=IMAGE, cpu=1, memory="512m", timeout=600)
    try:
        success = model.run(backend=backend)
    except (PreflightError, RunFailed) as exc:
        # Raised by the pre-flight, before anything was created: no engine, or no image.
        print(f"02_docker_run: {exc}", file=sys.stderr)
        print(
            f"02_docker_run: this example needs a Docker engine and an image with python3 ({IMAGE}). "
            f"Pull it (docker pull {IMAGE}), or build a local one (sudo scripts/services/test-images.sh) "
            "and run again with ROMPY_EXAMPLE_IMAGE=rompy-test-python:latest.",
            file=sys.stderr,
        )
        return 2
    logger.info("model run %s", "succeeded" if success else "failed")

    results = model.postprocess(processor="summary")
    logger.info("summary: %s", results.get("message") or results.get("data"))
    logger.info("run directory: %s", model.run_dir)
    return 0 if success else 1


if __name__ == "__main__":
    sys.exit(main())
