"""Summarise a run's outputs: file count and sizes, and min/max of numeric CSV columns.

The same figures go into the run record as metrics (`file_count`, `total_bytes`,
`<csv file without .csv>.<column>.min|max`), so runs and sweeps can be compared on them.
"""

from __future__ import annotations

import csv
import math
from typing import Literal

from pydantic import Field

from rompy.postprocess.base import PostprocessorConfig, PostprocessResult
from rompy.runtime.files import write_json_atomic


def _numeric_ranges(path) -> dict[str, dict[str, float]]:
    ranges: dict[str, dict[str, float]] = {}
    non_numeric: set[str] = set()
    with open(path, newline="", encoding="utf-8", errors="replace") as fh:
        for row in csv.DictReader(fh):
            for column, text in row.items():
                if column is None or column in non_numeric or text in (None, ""):
                    continue
                try:
                    value = float(text)
                except ValueError:
                    non_numeric.add(column)
                    ranges.pop(column, None)
                    continue
                if math.isnan(value):
                    continue
                span = ranges.setdefault(column, {"min": value, "max": value})
                span["min"] = min(span["min"], value)
                span["max"] = max(span["max"], value)
    return ranges


class SummaryConfig(PostprocessorConfig):
    """Write `<run_dir>/<filename>` describing the outputs."""

    type: Literal["summary"] = "summary"
    filename: str = Field("summary.json", description="Name of the summary file in the run directory.")

    def process(self, model_run, **kwargs) -> PostprocessResult:
        outputs = model_run.outputs_dir
        files = sorted(p for p in outputs.rglob("*") if p.is_file()) if outputs.is_dir() else []
        report = {
            "file_count": len(files),
            "total_bytes": sum(p.stat().st_size for p in files),
            "files": {str(p.relative_to(outputs)): {"bytes": p.stat().st_size} for p in files},
        }
        for path in files:
            if path.suffix.lower() == ".csv":
                report["files"][str(path.relative_to(outputs))]["columns"] = _numeric_ranges(path)
        target = model_run.run_dir / self.filename
        write_json_atomic(target, report)
        return PostprocessResult(
            success=True,
            message=f"summarised {len(files)} files",
            files=[str(target)],
            data=report,
            metrics=_metrics(report),
        )


def _metrics(report: dict) -> dict[str, float]:
    metrics = {"file_count": float(report["file_count"]), "total_bytes": float(report["total_bytes"])}
    for name, info in report["files"].items():
        stem = name[:-4] if name.lower().endswith(".csv") else name
        for column, span in info.get("columns", {}).items():
            for end in ("min", "max"):
                metrics[f"{stem}.{column}.{end}"] = span[end]
    return metrics
