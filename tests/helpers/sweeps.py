"""A sweep as the tests run it: `python -m rompy -m ...` into its own sweep directory, and what it wrote."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import datetime
from pathlib import Path

from tests.helpers.cli import rompy_cmd, run_rompy


class Sweep:
    """One sweep directory and the output folder its members write to."""

    def __init__(self, root: Path, name: str = "sweep"):
        self.root = root
        self.dir = root / name
        self.output = root / "output"

    def args(self, *extra: str) -> list[str]:
        return ["-m", f"hydra.sweep.dir={self.dir}", f"output_dir={self.output}", *extra]

    def run(self, *extra: str, env: dict | None = None, timeout: float = 600, **kwargs):
        return run_rompy(*self.args(*extra), cwd=self.root, env=env, timeout=timeout, **kwargs)

    def popen(self, *extra: str, env: dict | None = None):
        return subprocess.Popen(
            rompy_cmd(*self.args(*extra)), cwd=self.root,
            env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )

    def lines(self) -> list[dict]:
        path = self.dir / "results.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def summary(self) -> dict:
        return json.loads((self.dir / "summary.json").read_text())

    def by_member(self) -> dict[int, dict]:
        return {m["member"]: m for m in self.summary()["members"]}


def run_spans(lines: list[dict], margin: float = 0.0) -> list[tuple[float, float]]:
    """(start, end) of each member's run from its results line, shrunk by `margin` seconds at either end."""
    return [(datetime.fromisoformat(line["started_at"]).timestamp() + margin,
             datetime.fromisoformat(line["finished_at"]).timestamp() - margin) for line in lines]


def most_at_once(spans: list[tuple[float, float]]) -> int:
    """The most spans that overlap at any moment."""
    events = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    best = now = 0
    for _, step in events:
        now += step
        best = max(best, now)
    return best
