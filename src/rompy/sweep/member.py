"""Run one member through the CLI's own task, in whatever process it lands in.

The same function runs a member in the sweep's process, in a forked worker and on a
SLURM node, so a member behaves exactly like `rompy` run once with the same overrides.
Nothing that escapes the task stops the sweep: a `SystemExit` or any other exception
becomes a failed member, an interrupt an interrupted one.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable

from rompy.errors import EXIT_RUN_FAILED, EXIT_SIGINT, Interrupted
from rompy.runtime.signals import held
from rompy.sweep.records import MemberResult

log = logging.getLogger("rompy.sweep")


def expected_run_dir(cfg, folders: dict[tuple[str, str], str] | None = None) -> str | None:
    """output_dir/run_id of a member's task config (None if it cannot be resolved).

    `folders`: output_dir folders already resolved, kept by the sweep (every member shares one).
    """
    from omegaconf import OmegaConf

    try:
        output_dir = OmegaConf.select(cfg, "output_dir")
        run_id = OmegaConf.select(cfg, "run_id")
    except Exception:
        return None
    if not output_dir or not run_id:
        return None
    output_dir = str(output_dir)
    key = (output_dir, "" if os.path.isabs(output_dir) else os.getcwd())
    folder = folders.get(key) if folders is not None else None
    if folder is None:
        folder = str(Path(output_dir).resolve())
        if folders is not None:
            folders[key] = folder
    run_dir = Path(folder) / str(run_id)
    if run_dir.is_symlink():  # a resumed run directory that is a link: where it leads, as resolve() says
        return str(run_dir.resolve())
    return str(run_dir)


def run_member(task_function, member, callbacks=None, run_dir: str | None = None,
               report: Callable[[MemberResult], None] | None = None) -> MemberResult:
    """Call `task_function` on a ComposedMember (see compose.py) and say how it ended.

    `report` is called with the result before a signal that arrives once the member has
    ended takes effect: a member whose model ended is always reported.
    """
    from rompy._hydra import hydra_job
    from rompy.core.time import utcnow

    started, t0 = utcnow(), time.monotonic()
    cfg = member.task_cfg
    run_dir = run_dir or expected_run_dir(cfg)
    ret: Any = None
    failure: MemberResult | None = None
    try:
        member.activate()
        with hydra_job(member.hydra_cfg):
            if callbacks is not None and getattr(callbacks, "callbacks", None):
                callbacks.on_job_start(config=member.hydra_cfg, task_function=task_function)
            checked = getattr(member, "checked", None)  # kept from the check: not validated again
            ret = task_function(cfg, checked=checked) if checked else task_function(cfg)
    except (Interrupted, KeyboardInterrupt) as exc:
        code = exc.exit_code if isinstance(exc, Interrupted) else EXIT_SIGINT
        failure = MemberResult("interrupted", code, f"interrupted ({exc or 'SIGINT'})")
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) and exc.code else EXIT_RUN_FAILED
        failure = MemberResult("failed", code, f"the member raised SystemExit({exc.code!r})")
    except BaseException as exc:  # debug=true re-raises: show it, keep sweeping
        traceback.print_exc()
        failure = MemberResult("failed", EXIT_RUN_FAILED, f"{type(exc).__name__}: {exc}")
    with held():
        result = failure or result_from_task_return(ret)
        finished = utcnow()
        result.started_at = result.started_at or started.isoformat()
        result.finished_at = result.finished_at or finished.isoformat()
        if result.duration_s is None:
            result.duration_s = round(time.monotonic() - t0, 6)
        result.run_dir = result.run_dir or run_dir
        if failure is not None:
            settle_record(result.run_dir, result)
        if report is not None:
            report(result)
    return result


def result_from_task_return(ret: Any) -> MemberResult:
    """Map the CLI task's return value (dict with exit_code/message/outcome) to a result."""
    if not isinstance(ret, dict):
        return MemberResult("succeeded", 0)
    exit_code = int(ret.get("exit_code") or 0)
    message = ret.get("message") or ""
    outcome = ret.get("outcome")
    record = getattr(outcome, "record", None) if outcome is not None else None
    if record:
        status = record.get("status") or "failed"
        if status == "running":
            status = "failed"
        if exit_code in (130, 143):
            status = "interrupted"
        elif status == "succeeded" and exit_code != 0:
            status = "failed"
        return MemberResult(
            status=status, exit_code=exit_code, message=message or record.get("message", ""),
            model_exit_code=record.get("exit_code"), run_dir=record.get("run_dir"),
            metrics=record.get("metrics") or {},
        )
    if exit_code in (130, 143):
        status = "interrupted"
    else:
        status = "succeeded" if exit_code == 0 else "failed"
    run_dir = getattr(outcome, "run_dir", None) if outcome is not None else None
    return MemberResult(status=status, exit_code=exit_code, message=message, run_dir=run_dir)


def settle_record(run_dir: str | None, result: MemberResult) -> None:
    """A member that escaped the task (SystemExit, ...) left its record unfinished or
    claiming success (a postprocessor that exits): make the record say how it ended."""
    if run_dir:
        from rompy.record import RecordStore

        RecordStore(run_dir).settle(result.status, result.message, result.finished_at)


def flush_std_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
