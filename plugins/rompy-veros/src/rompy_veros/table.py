"""The headline numbers of every member of a sweep, one row each: `python -m rompy_veros.table <sweep dir>`.

Reads the sweep's summary.json (results.jsonl while it runs) and each member's run record,
where veros_summary left its `metrics`; prints the member, its status, the overrides that
differ between members, and the metrics. `--json` prints the same rows as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def members(sweep_dir: Path) -> list[dict[str, Any]]:
    """The sweep's members as summary.json lists them, or the latest line of each in results.jsonl."""
    summary = sweep_dir / "summary.json"
    if summary.is_file():
        return json.loads(summary.read_text())["members"]
    latest: dict[str, dict[str, Any]] = {}
    results = sweep_dir / "results.jsonl"
    for line in results.read_text().splitlines() if results.is_file() else []:
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # a torn last line of a sweep still running
        latest[entry["key"]] = entry
    return sorted(latest.values(), key=lambda entry: entry["member"])


def metrics_of(run_dir: str | None) -> dict[str, float]:
    record = Path(run_dir or "") / "rompy-result.json"
    if not run_dir or not record.is_file():
        return {}
    return (json.loads(record.read_text()).get("postprocess") or {}).get("metrics") or {}


def rows(sweep_dir: Path) -> list[dict[str, Any]]:
    entries = members(sweep_dir)
    settings = [dict(o.split("=", 1) for o in entry.get("overrides", []) if "=" in o and not o.startswith("+"))
                for entry in entries]
    varying = sorted({key for s in settings for key in s if len({t.get(key) for t in settings}) > 1})
    return [{"member": entry["member"], "status": entry["status"], **{key: s.get(key) for key in varying},
             **metrics_of(entry.get("run_dir"))} for entry, s in zip(entries, settings)]


def format_table(table: list[dict[str, Any]]) -> str:
    columns = list(dict.fromkeys(key for row in table for key in row))
    cells = [[_cell(row.get(column)) for column in columns] for row in table]
    widths = [max(len(column), *(len(row[i]) for row in cells)) for i, column in enumerate(columns)]
    lines = ["  ".join(text.ljust(width) for text, width in zip(columns, widths))]
    lines += ["  ".join(text.ljust(width) for text, width in zip(row, widths)) for row in cells]
    return "\n".join(line.rstrip() for line in lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rompy_veros.table", description=__doc__.splitlines()[0])
    parser.add_argument("sweep_dir", type=Path, help="the sweep's directory (hydra.sweep.dir)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)
    if not (args.sweep_dir / "summary.json").is_file() and not (args.sweep_dir / "results.jsonl").is_file():
        print(f"rompy_veros.table: error: {args.sweep_dir}: not a sweep directory (no summary.json or "
              "results.jsonl)", file=sys.stderr)
        return 2
    table = rows(args.sweep_dir)
    print(json.dumps(table, indent=1) if args.json else format_table(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
