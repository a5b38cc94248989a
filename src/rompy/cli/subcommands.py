"""`rompy runs | show | diff | sweeps | report`: what ran, found in the run records alone.

A sub-command is the first word of the command line, exactly one of SUBCOMMANDS. A Hydra
override always holds `=` or starts with `+` or `~`, so the two never meet. Each
sub-command parses its own options (anything wrong is one line and exit 2), asks
rompy.runs, and draws the answer (rompy.cli.terminal: rich on a terminal, plain lines
elsewhere). Neither Hydra nor rich is imported to list runs into a pipe.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

SUBCOMMANDS = {
    "runs": "list the runs under output_dir: status, exit code, start, duration, what differs",
    "show": "one run's record: status, timings, config, logs, the last log lines of a failure",
    "diff": "how two runs differ: config, then outcome",
    "sweeps": "list the sweeps under output_dir/sweeps with their counts",
    "report": "write a sweep's report.html: members, counts, durations, plots of their metrics",
}
STATUSES = ("running", "succeeded", "failed", "timed_out", "interrupted")
OPTIONS = {  # for completion: the options each sub-command takes
    "runs": ["--status", "--sweep", "--since", "--model", "--limit", "--json", "--output-dir", "--help"],
    "show": ["--lines", "--json", "--output-dir", "--help"],
    "diff": ["--json", "--output-dir", "--help"],
    "sweeps": ["--json", "--output-dir", "--help"],
    "report": ["--output-dir", "--help"],
}
DEFAULT_LIMIT = 100
MOST_METRICS = 3  # metrics per row in the table; `rompy show` and --json have them all
FAILED = ("failed", "timed_out", "interrupted")


class _Usage(Exception):
    pass


#: Upstream rompy's sub-commands, and what does their job here (docs/migration.md).
UPSTREAM_SUBCOMMANDS = {
    "run": "rompy backend=local (your config groups in ./conf)",
    "generate": "rompy dry_run=true to check, or ModelRun(...).generate() in Python",
    "postprocess": "rompy postprocessor=NAME (it runs after the model)",
    "pipeline": "rompy (generate, run and postprocess is what a run does)",
    "validate": "rompy dry_run=true",
    "backends": "rompy --help (it lists every group and option)",
}


def is_subcommand(argv: list[str]) -> bool:
    return bool(argv) and argv[0] in SUBCOMMANDS


def bare_word_problem(word: str) -> str:
    """The error for a first word that is neither a sub-command nor an override (`rompy run x.yml`)."""
    import difflib

    if word in UPSTREAM_SUBCOMMANDS:
        return (f"'{word}' is upstream rompy's sub-command; here: {UPSTREAM_SUBCOMMANDS[word]} "
                "(docs/migration.md)")
    if word in ("help", "version"):
        return f"'{word}' is not a sub-command; did you mean 'rompy --{word}'?"
    close = difflib.get_close_matches(word, list(SUBCOMMANDS), n=1, cutoff=0.6)
    if close:
        return f"'{word}' is not a sub-command; did you mean 'rompy {close[0]}'?"
    return (f"'{word}' is neither an override (key=value, e.g. backend=docker) nor a sub-command "
            f"({', '.join(SUBCOMMANDS)})")


def main(argv: list[str]) -> int:
    """Run a sub-command; its exit code (0, or 2 with one line on stderr)."""
    from rompy.cli import console
    from rompy.cli.app import error
    from rompy.errors import EXIT_SIGINT, EXIT_USAGE, RompyError
    from rompy.runtime.active_runs import clean_up_leftovers

    console.configure("INFO")
    clean_up_leftovers()  # as every rompy start: a run whose rompy was killed is marked so before it is listed
    try:
        args = _parser(argv[0]).parse_args(_as_options(argv[1:]))
        return args.handler(args)
    except _Usage as exc:
        error(f"rompy {argv[0]}: {exc}")
        return EXIT_USAGE
    except RompyError as exc:
        error(str(exc))
        return exc.exit_code
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:
        return EXIT_SIGINT


def _as_options(args: list[str]) -> list[str]:
    """`output_dir=DIR`, as typed for a run, means `--output-dir DIR` here."""
    out = []
    for arg in args:
        if arg.startswith("output_dir="):
            out += ["--output-dir", arg.split("=", 1)[1]]
        else:
            out.append(arg)
    return out


def _parser(name: str):
    import argparse

    class Parser(argparse.ArgumentParser):
        def error(self, message: str):  # one line, not argparse's usage block
            raise _Usage(message)

    parser = Parser(prog=f"rompy {name}", description=SUBCOMMANDS[name] + ".",
                    epilog="Runs are read from output_dir of the primary config (./conf/rompy.yaml, "
                           "ROMPY_CONFIG_PATH, or the shipped one: ./output). See docs/runs.md.")
    parser.add_argument("--output-dir", metavar="DIR", help="the folder the runs are in (default: output_dir "
                        "of the config, usually ./output); output_dir=DIR works too")
    if name == "runs":
        parser.add_argument("--status", metavar="S[,S]", help=f"only runs with this status: {', '.join(STATUSES)}")
        parser.add_argument("--sweep", metavar="ID", help="only the members of this sweep (id under "
                            "output_dir/sweeps, or its folder)")
        parser.add_argument("--since", metavar="WHEN", help="only runs started since WHEN: a UTC date or time "
                            "(2026-12-01, 2026-12-01T06:00) or an age (30m, 6h, 2d, 1w)")
        parser.add_argument("--model", metavar="NAME", help="only runs of this model type (e.g. demo)")
        parser.add_argument("--limit", type=int, metavar="N", help=f"the newest N runs (default {DEFAULT_LIMIT}; "
                            "0: all; with --json: all)")
        parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
        parser.set_defaults(handler=_runs)
    elif name == "show":
        parser.add_argument("run", metavar="RUN", help="a run id (or the start of one), or a run folder")
        parser.add_argument("--lines", type=int, default=20, metavar="N",
                            help="log lines shown for a run that did not succeed (default 20)")
        parser.add_argument("--json", action="store_true", help="print the record as it is on disk")
        parser.set_defaults(handler=_show)
    elif name == "diff":
        parser.add_argument("run_a", metavar="RUN_A")
        parser.add_argument("run_b", metavar="RUN_B")
        parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
        parser.set_defaults(handler=_diff)
    elif name == "sweeps":
        parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
        parser.set_defaults(handler=_sweeps)
    else:
        parser.add_argument("sweep", metavar="SWEEP", nargs="?",
                            help="a sweep folder, or a sweep id under output_dir/sweeps (default: the newest)")
        parser.set_defaults(handler=_report)
    return parser


def output_dir_of(args) -> Path:
    """The folder given with --output-dir (ConfigError if there is none such: a mistyped folder is
    not an empty project), else the primary config's output_dir."""
    from rompy.cli.searchpath import default_output_dir

    if not args.output_dir:
        return default_output_dir()
    given = Path(args.output_dir).expanduser()
    if not given.exists():
        from rompy.errors import ConfigError

        raise ConfigError(f"--output-dir {args.output_dir}: no such folder")
    return given


def _print_json(data: Any, compact: bool = False) -> None:
    """JSON on stdout; `compact` for large listings (json's C encoder writes no indentation)."""
    from rompy.cli.terminal import write

    text = json.dumps(data, separators=(",", ":"), default=str) if compact else json.dumps(data, indent=2, default=str)
    write(text + "\n")


# -- rompy runs ---------------------------------------------------------------------------------
def parse_since(text: str, now: datetime | None = None) -> datetime:
    """A UTC date or time, or an age such as 6h; _Usage if it is neither."""
    now = now or datetime.now(timezone.utc)
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    if text[:-1].replace(".", "", 1).isdigit() and text[-1:] in units:
        return now - timedelta(seconds=float(text[:-1]) * units[text[-1]])
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _Usage(f"--since {text!r}: expected a date or time (2026-12-01, 2026-12-01T06:00) "
                     "or an age (30m, 6h, 2d, 1w)") from None
    return when.astimezone(timezone.utc) if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _filters(args, output_dir: Path):
    from rompy.runs.index import Filters

    filters = Filters(model=args.model)
    if args.status:
        filters.statuses = {s.strip() for s in args.status.split(",") if s.strip()}
        unknown = sorted(filters.statuses - set(STATUSES))
        if unknown:
            raise _Usage(f"--status {','.join(unknown)}: not a status; one of {', '.join(STATUSES)}")
    if args.since:
        filters.since = parse_since(args.since)
    if args.sweep:
        from rompy.runs.sweeps import find_sweep, load_sweep

        filters.names = load_sweep(find_sweep(output_dir, args.sweep)).run_ids
    return filters


def _runs(args) -> int:
    from rompy.cli.terminal import Table, duration, write
    from rompy.runs.diff import differing, shown
    from rompy.runs.index import list_runs

    if args.limit is not None and args.limit < 0:
        raise _Usage("--limit: expected 0 (all) or more")
    output_dir = output_dir_of(args)
    limit = args.limit if args.limit is not None else (0 if args.json else DEFAULT_LIMIT)
    listing = list_runs(output_dir, _filters(args, output_dir), limit)
    rows = listing.rows
    config_keys = differing([r.asked for r in rows])
    metric_keys = differing([r.metrics for r in rows])
    if args.json:
        _print_json({"output_dir": str(output_dir), "matched": listing.matched, "total": listing.total,
                     "counts": listing.counts, "unreadable": [str(p) for p in listing.unreadable],
                     "differing": config_keys, "runs": [r.to_dict() for r in rows]}, compact=True)
        return 0
    headers = ["run id", "status", "exit", "started (UTC)", "time", "backend", "model"]
    with_metrics = bool(metric_keys)
    if with_metrics:
        headers.append("metrics")
    headers.append("differs")
    body = []
    for r in rows:
        cells = [r.name, r.status, "" if r.exit_code is None else str(r.exit_code), _start(r.started_at),
                 duration(r.duration_s), r.backend, r.model]
        if with_metrics:
            mine = [f"{k}={shown(r.metrics[k])}" for k in metric_keys if k in r.metrics]
            cells.append(" ".join(mine[:MOST_METRICS]) + (f" (+{len(mine) - MOST_METRICS})" if len(mine) > MOST_METRICS
                                                          else ""))
        cells.append(" ".join(f"{k}={shown(r.asked[k])}" for k in config_keys if k in r.asked))
        body.append(cells)
    if rows:
        Table(headers, body, _runs_footer(listing, args), status_column=1).print()
    else:
        write(_runs_footer(listing, args) + "\n")
    return 0


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _start(iso: str) -> str:
    return iso[:19].replace("T", " ")


def _runs_footer(listing, args) -> str:
    filtered = any((args.status, args.sweep, args.since, args.model))
    where = listing.output_dir
    if not listing.total and not listing.unreadable:
        return (f"no runs in {where} (each run writes a folder there; --output-dir DIR reads another)"
                if not filtered else f"no runs in {where}")
    counts = ", ".join(f"{n} {status}" for status, n in sorted(listing.counts.items()))
    text = (f"{listing.matched} of {_count(listing.total, 'run')} match" if filtered
            else _count(listing.matched, "run"))
    text += f" in {where}" + (f": {counts}" if counts else "")
    if len(listing.rows) < listing.matched:
        text += f"; the newest {len(listing.rows)} shown (--limit 0: all)"
    if listing.unreadable:
        names = ", ".join(str(p) for p in listing.unreadable[:3])
        more = f" and {len(listing.unreadable) - 3} more" if len(listing.unreadable) > 3 else ""
        text += f"; {_count(len(listing.unreadable), 'unreadable record')} skipped: {names}{more}"
    return text


# -- rompy show -------------------------------------------------------------------------------
def _show(args) -> int:
    from rompy.record import RecordStore
    from rompy.runs.index import find_run

    if args.lines < 0:
        raise _Usage("--lines: expected 0 or more")
    run_dir = find_run(output_dir_of(args), args.run)
    record = RecordStore(run_dir).load()
    if record is None:
        from rompy.errors import ConfigError

        raise ConfigError(f"the record of {run_dir} cannot be read (damaged, or half written by an older rompy)")
    data = record.as_dict()
    if args.json:
        _print_json(data)
        return 0
    show_document(data, run_dir, args.lines).print()
    return 0


def show_document(data: dict[str, Any], run_dir: Path, lines: int = 20):
    """The `rompy show` text of one record."""
    import yaml

    from rompy.cli.terminal import Document, duration
    from rompy.runs.diff import RUN_FIELDS, shown
    from rompy.runs.logs import log_files, tail

    status = data.get("status") or "running"
    title = f"run {data.get('run_id')}  {status}"
    if data.get("exit_code") is not None:
        title += f" (exit {data['exit_code']})"
    if data.get("failed_stage") and status != "succeeded":
        title += f" in {data['failed_stage']}"
    doc = Document().title(title, status)
    config = data.get("config") or {}
    backend = data.get("backend") or {}
    pairs = [("message", data.get("message") or "")] if data.get("message") else []
    pairs.append(("started", _when(data.get("started_at"))))
    if data.get("finished_at"):
        pairs.append(("finished", f"{_when(data['finished_at'])}, took {duration(data.get('duration_s'))}"))
    elif status == "running":
        pairs.append(("running", _still_running(data)))
    pairs += [("backend", _section_type(config.get("backend")) + _backend_outcome(backend)),
              ("model", _section_type(config.get("model"))),
              ("host", f"{data.get('host') or '?'}" + (f", pid {data['pid']}" if data.get("pid") else "")),
              ("versions", ", ".join(f"{k} {v}" for k, v in (data.get("versions") or {}).items())),
              ("folder", str(Path(data.get("run_dir") or run_dir)))]
    logs = log_files(data, run_dir)
    if logs:
        pairs.append(("logs", "\n".join(str(p) for p in logs)))
    post = data.get("postprocess")
    if post:
        pairs.append(("postprocess", f"{_section_type(config.get('postprocessor')) or '?'}: "
                                     f"{'ok' if post.get('success', True) else 'failed'}"
                                     + (f", {post['message']}" if post.get("message") else "")))
    doc.pairs(pairs)
    if data.get("metrics"):
        doc.heading("metrics").pairs([(k, shown(v)) for k, v in data["metrics"].items()])
    doc.heading("config").text(yaml.safe_dump(config, sort_keys=False, default_flow_style=None, width=100))
    others = {k: v for k, v in data.items() if k not in RUN_FIELDS}
    if others:
        doc.heading("other fields").text(yaml.safe_dump(others, sort_keys=False, default_flow_style=None,
                                                        width=100))
    if status != "succeeded" and lines:
        for path in logs:
            end = tail(path, lines)
            if end:
                doc.heading(f"the end of {path}").text("\n".join(end))
    return doc


def _when(iso: str | None) -> str:
    return f"{_start(iso)} UTC" if iso else "?"


def _section_type(section: Any) -> str:
    return str(section.get("type") or "") if isinstance(section, dict) else ""


def _backend_outcome(backend: dict[str, Any]) -> str:
    if backend.get("exit_code") is not None:
        return f" (the model exited with {backend['exit_code']})"
    return ""


def _still_running(data: dict[str, Any]) -> str:
    """Whether the run's rompy is still there, where this machine can tell."""
    import socket

    pid, host = data.get("pid"), data.get("host")
    if not pid or host != socket.gethostname():
        return f"as far as its record says (rompy's pid {pid or '?'} on {host or '?'})"
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return (f"its rompy (pid {pid}) is gone: it was killed, and the next rompy start of its "
                "registry (ROMPY_STATE_DIR) marks it interrupted")
    except (PermissionError, ValueError, OverflowError):
        pass
    return f"rompy pid {pid} on this machine"


# -- rompy diff --------------------------------------------------------------------------------
def _diff(args) -> int:
    from rompy.cli.terminal import Document, Table
    from rompy.errors import ConfigError
    from rompy.record import RecordStore
    from rompy.runs.diff import MISSING, diff_records, shown
    from rompy.runs.index import find_run

    output_dir = output_dir_of(args)
    records = []
    for given in (args.run_a, args.run_b):
        run_dir = find_run(output_dir, given)
        record = RecordStore(run_dir).load()
        if record is None:
            raise ConfigError(f"the record of {run_dir} cannot be read (damaged, or half written by an older rompy)")
        records.append(record.as_dict())
    a, b = records
    result = diff_records(a, b)
    name_a, name_b = str(a.get("run_id")), str(b.get("run_id"))
    if args.json:
        def side(pairs):
            return [{"key": k, "a": None if x is MISSING else x, "b": None if y is MISSING else y,
                     "in_a": x is not MISSING, "in_b": y is not MISSING} for k, x, y in pairs]

        _print_json({"a": name_a, "b": name_b, "config": side(result.config), "outcome": side(result.outcome)})
        return 0
    doc = Document().title(f"diff {name_a} {name_b}")
    for heading, pairs in (("config (what the runs were asked to do)", result.config),
                           ("outcome (how they ended)", result.outcome)):
        doc.heading(heading)
        if pairs:
            doc.table(Table(["key", name_a, name_b], [[k, shown(x), shown(y)] for k, x, y in pairs]))
        else:
            doc.text("the same")
    doc.print()
    return 0


# -- rompy sweeps ------------------------------------------------------------------------------
def _sweeps(args) -> int:
    from rompy.cli.terminal import Table, duration, write
    from rompy.runs.sweeps import SWEEPS_FOLDER, list_sweeps

    output_dir = output_dir_of(args)
    views = list_sweeps(output_dir)
    if args.json:
        _print_json([{"sweep_id": v.sweep_id, "dir": str(v.dir), "state": v.state, "launcher": v.launcher,
                      "started_at": v.started_at, "duration_s": v.duration_s, "members": len(v.members),
                      "counts": v.counts} for v in views])
        return 0
    if not views:
        write(f"no sweeps in {output_dir / SWEEPS_FOLDER} (`rompy -m ...` writes one there)\n")
        return 0
    body = [[v.dir.name, v.state, _start(v.started_at), duration(v.duration_s), v.launcher, str(len(v.members)),
             ", ".join(f"{n} {s}" for s, n in v.counts.items())] for v in views]
    failing = sum(1 for v in views if any(s in v.counts for s in (*FAILED, "not_run")))
    Table(["sweep", "state", "started (UTC)", "took", "launcher", "members", "counts"], body,
          f"{_count(len(views), 'sweep')} in {output_dir / SWEEPS_FOLDER}, {failing} with failures; "
          "`rompy runs --sweep ID` lists a sweep's runs, `rompy report ID` draws it").print()
    return 0


# -- rompy report ------------------------------------------------------------------------------
def _report(args) -> int:
    from rompy.cli.terminal import write
    from rompy.errors import ConfigError
    from rompy.runs.report import write_report
    from rompy.runs.sweeps import SWEEPS_FOLDER, find_sweep, list_sweeps

    output_dir = output_dir_of(args)
    if args.sweep:
        sweep_dir = find_sweep(output_dir, args.sweep)
    else:
        views = list_sweeps(output_dir)
        if not views:
            raise ConfigError(f"no sweeps in {output_dir / SWEEPS_FOLDER}; name one: rompy report SWEEP_DIR")
        sweep_dir = views[-1].dir
    try:
        path = write_report(sweep_dir)
    except OSError as exc:
        raise ConfigError(f"cannot write the report into {sweep_dir}: {exc.strerror or exc}") from None
    write(f"{path}\n")
    return 0


def completion_words(words: list[str], current_index: int, current: str) -> list[str]:
    """What to offer for the word being typed on a sub-command's line (words[0] is the sub-command)."""
    name = words[0]
    previous = words[current_index - 1] if current_index >= 1 else ""
    output_dir = Path(words[words.index("--output-dir") + 1]) if "--output-dir" in words[:current_index - 1] \
        else None
    from rompy.cli.searchpath import default_output_dir
    from rompy.runs.index import run_names

    output_dir = output_dir or default_output_dir()
    if previous == "--status":
        return list(STATUSES)
    if previous in ("--sweep",) or (name == "report" and not current.startswith("-")):
        from rompy.runs.sweeps import list_sweeps

        try:
            return [v.dir.name for v in list_sweeps(output_dir)]
        except Exception:  # noqa: BLE001 - completion must never fail the shell
            return []
    if previous in ("--output-dir", "--since", "--model", "--limit", "--lines"):
        return []
    if current.startswith("-") or name in ("runs", "sweeps"):
        return OPTIONS[name]
    try:
        return run_names(output_dir)
    except Exception:  # noqa: BLE001
        return []
