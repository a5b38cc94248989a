"""Figures from the hardening tests, collected for docs/reliability.md.

Each test calls `figures.record(name, **numbers)`; the numbers land in
build/reliability/<test>.json and `python scripts/reliability_report.py` turns
them into docs/reliability.md after the run.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIGURES_DIR = REPO / "build" / "reliability"


class Figures:
    def __init__(self, test_id: str):
        self.test_id = test_id

    def record(self, description: str, **numbers) -> None:
        FIGURES_DIR.mkdir(parents=True, exist_ok=True)
        safe = self.test_id.replace("/", "_").replace(":", "_").replace("[", "_").replace("]", "")
        (FIGURES_DIR / f"{safe}.json").write_text(
            json.dumps({"test": self.test_id, "description": description, "figures": numbers}, indent=1))


@pytest.fixture
def figures(request):
    return Figures(request.node.nodeid)
