"""The sweep every launcher shares: plan, validate, resume, run, record, summarise, exit code.

Launchers differ only in where members run (rompy.sweep.executors). Everything a user
relies on - run ids, validation before anything runs, results.jsonl, summary.json, the
table, resume, fail-fast and the exit code - is decided here, once, so it is the same
with every launcher.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from rompy import sweep
from rompy.errors import EXIT_OK, EXIT_RUN_FAILED, EXIT_USAGE, Interrupted
from rompy.runtime.files import creatable_problem
from rompy.runtime.signals import held
from rompy.sweep.lock import claim_sweep_dir
from rompy.sweep.plan import MemberJob, own_run_id, plan_members, shared_lines, sweep_id_from
from rompy.sweep.records import (
    FAILED_STATUSES,
    MULTIRUN_NAME,
    TABLE_ORDER,
    EndedMembers,
    MemberResult,
    ResultsFile,
    counts_of,
    member_line,
    write_summary,
)

log = logging.getLogger("rompy.sweep")

#: Rows of the end-of-sweep table; a larger sweep's table ends with how many more there are.
TABLE_ROWS = 100


class SweepContext:
    """What an executor needs: compose a member, report start and end, know when to stop."""

    def __init__(self, *, hydra_context, task_function, master, settings, results: ResultsFile,
                 progress, launcher: str, sweep_id: str, sweep_dir: Path, numbers: range,
                 shared_lines: frozenset[str] = frozenset()):
        from rompy.sweep.compose import MemberComposer

        self.hydra_context = hydra_context
        self.task_function = task_function
        self.callbacks = getattr(hydra_context, "callbacks", None)
        self.master = master
        self.settings = settings
        self.results = results
        self.progress = progress
        self.launcher = launcher
        self.sweep_id = sweep_id
        self.sweep_dir = sweep_dir  # the one this sweep writes to: on resume, the earlier sweep's
        self.composer = MemberComposer(hydra_context.config_loader, master, shared_lines)
        self.kept: dict[int, Any] = {}  # checked members this process will run (a parallel sweep's workers)
        self.folders: dict[tuple[str, str], str] = {}  # output_dir folders resolved (expected_run_dir)
        self.keep_at_most = 0
        self.sweep_lock: int | None = None  # the descriptor holding the sweep folder (claim_sweep_dir)
        self.ended = EndedMembers(numbers)  # status and results line of each member that ended
        self.stopping = False
        self.stop_reason: str | None = None
        self.interrupt_code: int | None = None

    # -- for executors -----------------------------------------------------------
    def compose(self, job: MemberJob):
        """The member's ComposedMember; raises what composing raised."""
        member = self.kept.pop(job.number, None)
        if member is not None:
            return member
        return self.composer.compose(job.launch_overrides, job.number, f"{self.sweep_id}_{job.number}")

    def sources(self, job: MemberJob):
        """Where a member's values came from, for its error (rompy.cli.diagnostics.Sources)."""
        from rompy.cli.diagnostics import Sources

        return Sources.of(self.master.hydra, job.launch_overrides)

    def keep(self, job: MemberJob, member, checked=None) -> None:
        """Keep a checked member for its run, so it is composed and validated once (up to
        `keep_at_most`); `checked` is what validating it gave."""
        if len(self.kept) < self.keep_at_most:
            member.checked = checked
            self.kept[job.number] = member

    def composition_failure(self, job: MemberJob, exc: BaseException) -> MemberResult:
        """A member that did not compose at run time (a config file changed since the check): one line, failed."""
        from rompy.cli.diagnostics import format_hydra_error
        from rompy.core.time import utcnow

        now = utcnow().isoformat()
        message = format_hydra_error(exc)
        sys.stderr.write(f"rompy: error: member {job.number}: {message}\n")
        return MemberResult("failed", EXIT_USAGE, message, started_at=now, finished_at=now, duration_s=0.0)

    def prepare(self, job: MemberJob):
        """The member's ComposedMember, or None (the member is then recorded as failed)."""
        from rompy.sweep.member import expected_run_dir

        try:
            member = self.compose(job)
        except Exception as exc:
            self.finished(job, self.composition_failure(job, exc), was_running=False)
            return None
        job.run_dir = expected_run_dir(member.task_cfg, self.folders)
        return member

    def started(self, job: MemberJob) -> None:
        self.progress.started(job)

    def not_started(self, job: MemberJob) -> None:
        """A member given to a worker that ended before starting it: it runs later, or is not_run."""
        self.progress.withdrawn(job)

    def finished(self, job: MemberJob, result: MemberResult, was_running: bool = True,
                 previous: dict[str, Any] | None = None) -> None:
        with held():  # a member's results line and its place in the summary go together
            line = member_line(job, result, self.launcher, self.sweep_id, previous)
            self.ended.add(job.number, result.status, self.results.append(line))
        if previous is None:
            self.progress.finished(job, result, was_running)
        if result.status == "interrupted" and self.stop_reason != "fail_fast":
            self.interrupt(result.exit_code or 130)
        elif result.status in FAILED_STATUSES and self.settings.fail_fast and not self.stopping:
            self.stopping, self.stop_reason = True, "fail_fast"
            sys.stderr.write(f"rompy: sweep: member {job.number} {result.status}; "
                             "sweep.fail_fast=true, stopping the sweep\n")

    def interrupt(self, code: int) -> None:
        if self.interrupt_code is None:
            self.interrupt_code = code
        self.stopping = True
        self.stop_reason = self.stop_reason or "interrupted"

    def tick(self) -> None:
        self.progress.tick()


def load_settings(master):
    from omegaconf import OmegaConf
    from pydantic import ValidationError

    from rompy.config import SweepConfig
    from rompy.errors import ConfigError

    node = OmegaConf.select(master, "sweep", default=None)
    data = OmegaConf.to_container(node, resolve=True) if node is not None else {}
    try:
        return SweepConfig.model_validate(data or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"sweep.{where}: {first['msg']}") from None


@dataclass
class MemberCheck:
    """What composing and validating one member found (small: it may come from another process)."""

    number: int
    problem: str | None = None
    run_dir: str | None = None
    resources: Any = None
    dry_run: bool | None = None
    output_dir: str | None = None


def check_member(ctx: SweepContext, job: MemberJob, resume: bool) -> MemberCheck:
    """Compose and validate one member, then drop it (composing again to run keeps memory flat),
    unless the process that checks it also runs it (SweepContext.keep)."""
    from rompy._hydra import hydra_job
    from rompy.cli.app import validate
    from rompy.cli.diagnostics import format_hydra_error
    from rompy.errors import RompyError
    from rompy.sweep.member import expected_run_dir

    try:
        member = ctx.compose(job)
    except Exception as exc:  # noqa: BLE001 - any composition error is this member's, in one line
        return MemberCheck(job.number, format_hydra_error(exc, job.launch_overrides, ctx.sources(job)))
    check = MemberCheck(job.number, run_dir=expected_run_dir(member.task_cfg, ctx.folders))
    try:
        member.activate(for_check=True)
        with hydra_job(member.hydra_cfg):
            config, source = validate(member.task_cfg, member.task_overrides)
    except RompyError as exc:
        check.problem = str(exc)
        return check
    check.dry_run, check.output_dir, check.resources = config.dry_run, config.output_dir, config.backend.resources()
    if (not config.dry_run and not resume and not config.delete_existing and check.run_dir
            and os.path.lexists(check.run_dir)):
        check.problem = (f"run directory {check.run_dir} already exists; set sweep.resume=true to run only "
                         "what did not succeed there, or choose another hydra.sweep.dir or run_id")
    if check.problem is None:
        ctx.keep(job, member, (config, source))
    return check


def check_members(ctx: SweepContext, jobs: list[MemberJob], resume: bool,
                  executor=None) -> tuple[list[str], set[bool]]:
    """Compose and validate every member before any runs: (problem lines, the members' dry_run values).

    A long ensemble must not fail member 700 hours in on a typo the first member could have
    shown. An executor may check members side by side (`check_all`), in any order. Each member's run
    directory and resources are noted on its job; members with the same problem share one line.
    """
    check_all = getattr(executor, "check_all", None)
    checks = check_all(jobs, ctx, lambda job: check_member(ctx, job, resume)) if check_all else None
    if checks is None:  # one at a time: ten thousand checks are not held at once
        checks = (check_member(ctx, job, resume) for job in jobs)
    by_number = {job.number: job for job in jobs}
    by_problem: dict[str, list[MemberJob]] = {}
    dry_runs: set[bool] = set()
    output_dirs: dict[str, list[int]] = {}
    shared: dict = {}
    for check in checks:
        job = by_number[check.number]
        job.run_dir = check.run_dir
        if check.resources is not None:  # one object for the members that ask alike
            job.resources = shared.setdefault(check.resources, check.resources)
        if check.dry_run is not None:
            dry_runs.add(check.dry_run)
        if check.problem:
            by_problem.setdefault(check.problem, []).append(job)
        elif check.output_dir is not None:
            output_dirs.setdefault(check.output_dir, []).append(job.number)
    # Checks made side by side come in no set order: problems are told in member order.
    ordered = sorted(by_problem.items(), key=lambda item: min(job.number for job in item[1]))
    problems = [f"{_members_label(bad, len(jobs))}: {problem}" for problem, bad in ordered]
    for output_dir, numbers in sorted(output_dirs.items(), key=lambda item: min(item[1])):  # one line per folder
        problem = creatable_problem(output_dir)
        if problem:
            whose = "every member" if len(numbers) == len(jobs) else f"members {_numbers(numbers)}"
            problems.append(f"output_dir of {whose}: {problem}")
    if len(dry_runs) > 1:
        problems.append("dry_run: the members disagree (true for some, false for others); "
                        "set it once for the whole sweep")
    return problems, dry_runs


def _sweep_run_id_problems(master) -> list[str]:
    """A run_id given for the whole sweep names it, so it is checked as a single run's is, not cleaned."""
    from omegaconf import OmegaConf

    from rompy.config import check_run_id
    from rompy.sweep.plan import override_key

    run_id = OmegaConf.select(master, "run_id", default=None)
    if not run_id:
        return []
    try:
        check_run_id(str(run_id))
    except ValueError as exc:
        setters = [o for o in OmegaConf.select(master, "hydra.overrides.task", default=None) or []
                   if override_key(o) == "run_id"]
        where = f" (set by override {setters[-1]!r})" if setters else ""
        return [f"run_id = {str(run_id)!r}: {exc}{where}"]
    return []


def _members_label(bad: list[MemberJob], total: int) -> str:
    if len(bad) == 1:
        return f"member {bad[0].number} ({bad[0].label})"
    if len(bad) == total:
        return f"every member ({total})"
    return f"members {_numbers([job.number for job in bad])}"


def _numbers(numbers: list[int]) -> str:
    """`0-3, 7, 9-10`: member numbers as ranges."""
    spans: list[list[int]] = []
    for number in sorted(numbers):
        if spans and number == spans[-1][1] + 1:
            spans[-1][1] = number
        else:
            spans.append([number, number])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def run_sweep(*, hydra_context, task_function, master, member_overrides: list[list[str]],
              executor, first_number: int = 0) -> dict[str, Any] | None:
    """Run a whole sweep; returns the summary (also written to summary.json), None if nothing ran."""
    try:
        return _run_sweep(hydra_context=hydra_context, task_function=task_function, master=master,
                          member_overrides=member_overrides, executor=executor, first_number=first_number)
    finally:
        release = getattr(executor, "release", None)
        if release is not None:  # what it holds from the check (a parallel sweep's workers) and did not use
            release()


def _run_sweep(*, hydra_context, task_function, master, member_overrides, executor, first_number):
    from omegaconf import OmegaConf

    from rompy.cli import console
    from rompy.core.time import utcnow
    from rompy.runtime import collector
    from rompy.runtime.signals import interruptible
    from rompy.sweep.progress import Progress, preview, table
    from rompy.sweep.records import earlier_success, latest_by_key, success_in_record

    t0, started_at = time.monotonic(), utcnow()
    try:
        console.configure(str(OmegaConf.select(master, "log_level", default="INFO")).upper())
    except ValueError:
        console.configure("INFO")
    settings = load_settings(master)
    sweep_dir = Path(str(master.hydra.sweep.dir)).expanduser()
    if str(sweep_dir) != str(master.hydra.sweep.dir):  # `~/...`, written where the members read it too
        from omegaconf import open_dict, read_write

        with read_write(master.hydra), open_dict(master.hydra):
            master.hydra.sweep.dir = str(sweep_dir)
    default_dir = _is_default_sweep_dir(master, sweep_dir)
    if settings.resume and default_dir:
        sweep_dir = _sweep_to_resume(master, sweep_dir)
    shared_run_id = OmegaConf.select(master, "run_id", default=None)
    sweep_id = sweep_id_from(shared_run_id, str(sweep_dir))
    jobs = plan_members(member_overrides, sweep_id, first_number, replace_run_dirs=settings.resume)
    # Run ids that start with a sweep id chosen anew by every command (the preview says so).
    id_per_command = default_dir and not shared_run_id and any(own_run_id(job.overrides) is None for job in jobs)
    results = ResultsFile(sweep_dir)
    mode = settings.progress
    progress = Progress(len(jobs), "off" if mode == "off" else mode)
    ctx = SweepContext(hydra_context=hydra_context, task_function=task_function, master=master,
                       settings=settings, results=results, progress=progress,
                       launcher=getattr(executor, "name", type(executor).__name__), sweep_id=sweep_id,
                       sweep_dir=sweep_dir, numbers=range(first_number, first_number + len(jobs)),
                       shared_lines=shared_lines(member_overrides))

    preflight = getattr(executor, "preflight", None)
    if preflight is not None:
        preflight()
    collector.start_up_over()  # the members' compositions are garbage to collect, not start-up to freeze
    try:
        with interruptible():  # a large sweep's check takes long enough to be stopped in
            problems, dry_runs = check_members(ctx, jobs, settings.resume, executor)
    except Interrupted as exc:
        sys.stderr.write(f"rompy: error: interrupted by {exc} while checking the sweep's {len(jobs)} members; "
                         "nothing ran\n")
        sweep.set_exit_code(exc.exit_code)
        return None
    problems[:0] = _sweep_run_id_problems(master)
    problem = creatable_problem(sweep_dir)
    if problem and not any(line.endswith(problem.rsplit(": ", 1)[-1]) for line in problems):
        problems.append(f"hydra.sweep.dir: {problem}")  # unless an output_dir line said it already
    if problems:
        for line in problems:
            sys.stderr.write(f"rompy: error: {line}\n")
        sweep.set_exit_code(EXIT_USAGE)
        return None
    if dry_runs == {True}:
        preview(jobs, str(sweep_dir), id_per_command).print(sys.stdout)
        sweep.set_exit_code(EXIT_OK)
        return None

    with claim_sweep_dir(sweep_dir) as lock:
        ctx.sweep_lock = lock
        OmegaConf.save(master, sweep_dir / MULTIRUN_NAME)
        todo = jobs
        if settings.resume:
            latest = latest_by_key(results.read())
            todo = []
            skipped = 0
            for job in jobs:
                previous = earlier_success(latest.get(job.key)) or success_in_record(job.run_dir)
                if previous is None:
                    todo.append(job)
                    continue
                skipped += 1
                result = MemberResult("skipped", previous.get("exit_code", 0),
                                      "succeeded in an earlier run of this sweep", run_dir=previous.get("run_dir"))
                ctx.finished(job, result, was_running=False, previous=previous)
            progress.skip(skipped)
        log.debug("sweep %s: %d members, %d to run, launcher %s", sweep_id, len(jobs), len(todo), ctx.launcher)

        try:
            with interruptible():
                executor.execute(todo, ctx)
        except Interrupted as exc:
            ctx.interrupt(exc.exit_code)
        except KeyboardInterrupt:
            ctx.interrupt(130)
        finally:
            progress.close()

        counts = counts_of(ctx.ended.status(job.number) for job in jobs)
        if ctx.interrupt_code is not None:
            code = ctx.interrupt_code
        elif any(counts.get(status) for status in (*FAILED_STATUSES, "not_run")):
            code = EXIT_RUN_FAILED
        else:
            code = EXIT_OK
        finished_at = utcnow()
        summary = {
            "sweep_id": sweep_id,
            "sweep_dir": str(sweep_dir.resolve()),
            "launcher": ctx.launcher,
            "started_at": started_at.isoformat(),
            "finished_at": finished_at.isoformat(),
            "duration_s": round(time.monotonic() - t0, 6),
            "total": len(jobs),
            "counts": counts,
            "exit_code": code,
            "stopped": ctx.stop_reason,
        }
        write_summary(sweep_dir, summary, member_lines(ctx, jobs))
    table(member_lines(ctx, rows_first(jobs, ctx.ended.status)), {k: v for k, v in counts.items() if v},
          str(sweep_dir), len(jobs)).print(sys.stdout)
    sweep.set_exit_code(code)
    return summary


def member_lines(ctx: SweepContext, jobs: list[MemberJob]):
    """Each member's line of this sweep, read back from results.jsonl; members never started are `not_run`."""
    read = ctx.results.lines_at(ctx.ended.offset(job.number) for job in jobs if job.number in ctx.ended)
    for job in jobs:
        if job.number in ctx.ended:
            yield next(read)
        else:
            yield {"member": job.number, "key": job.key, "run_id": job.run_id, "overrides": job.overrides,
                   "status": "not_run", "exit_code": None, "run_dir": None}


def rows_first(jobs: list[MemberJob], status_of: Callable[[int], str]) -> list[MemberJob]:
    """The members the end-of-sweep table shows: failures first, at most TABLE_ROWS (without
    sorting every member of a large sweep)."""
    import heapq

    rank = {status: i for i, status in enumerate(TABLE_ORDER)}
    return heapq.nsmallest(TABLE_ROWS, jobs, key=lambda job: (rank.get(status_of(job.number), 0), job.number))


def _is_default_sweep_dir(master, sweep_dir: Path) -> bool:
    """True when the sweep folder is the one every command gets anew (none was chosen)."""
    from rompy.cli.compose import command_id

    output_dir = master.get("output_dir")
    return bool(output_dir) and sweep_dir == Path(str(output_dir)).expanduser() / "sweeps" / command_id()


def _sweep_to_resume(master, fresh_dir: Path) -> Path:
    """`sweep.resume=true` without a folder: the latest sweep with the same overrides, or a one-line error."""
    from omegaconf import OmegaConf, open_dict, read_write

    from rompy.errors import ConfigError
    from rompy.sweep.records import latest_sweep_like, sweep_identity

    wanted = sweep_identity(OmegaConf.to_container(master.hydra, resolve=False))
    found = latest_sweep_like(fresh_dir.parent, wanted)
    if found is None:
        raise ConfigError(f"sweep.resume=true: no sweep in {fresh_dir.parent} has these overrides, so there is "
                          "nothing to resume; run without sweep.resume, or name the sweep with hydra.sweep.dir=...")
    sys.stderr.write(f"rompy: sweep: resuming {found}, the latest sweep with the same overrides\n")
    with read_write(master.hydra), open_dict(master.hydra):
        master.hydra.sweep.dir = str(found)
    return found
