"""`run(config)`: the one entry point every front end calls.

The CLI, the Python API and the examples all come here (or to ModelRun, which
this calls), so a run is decided in exactly one place.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from typing import Any

from rompy.config import RunConfig, new_run_id
from rompy.errors import EXIT_OK, EXIT_RUN_FAILED

log = logging.getLogger("rompy")


@dataclass
class RunOutcome:
    """What the caller needs: exit code, the record (if a run happened), the run dir."""

    exit_code: int
    run_id: str | None = None
    run_dir: str | None = None
    record: dict[str, Any] | None = None
    pipeline: dict[str, Any] = field(default_factory=dict)


def build_model_run(config: RunConfig, source_config: dict[str, Any] | None = None):
    """The ModelRun a RunConfig describes (the CLI and API build it the same way)."""
    from rompy.model import ModelRun

    model_run = ModelRun(
        run_id=config.run_id or new_run_id(),
        output_dir=config.output_dir,
        delete_existing=config.delete_existing,
        period=config.period,
        config=config.model,
    )
    from rompy.redaction import keep_env_references

    dumped = keep_env_references(config.model_dump(mode="json"), source_config or {})
    dumped["run_id"] = model_run.run_id
    model_run._run_config = dumped
    model_run._source_config = source_config
    return model_run


def run(config: RunConfig | dict[str, Any], source_config: dict[str, Any] | None = None) -> RunOutcome:
    """Validate (if needed), pre-flight, and run generate -> run -> postprocess."""
    if not isinstance(config, RunConfig):
        config = RunConfig.model_validate(config)
    if config.dry_run:
        from rompy.model import _preflight

        _preflight(config.backend)
        _check_run_dir_could_be_claimed(config)
        _render_in_memory(config, source_config)
        import yaml

        from rompy.redaction import keep_env_references, redact_config

        shown = keep_env_references(config.model_dump(mode="json"), source_config or {})
        sys.stdout.write(yaml.safe_dump(redact_config(shown, config.backend.secret_env), sort_keys=False))
        sys.stdout.flush()
        return RunOutcome(exit_code=EXIT_OK, run_id=config.run_id)
    model_run = build_model_run(config, source_config)
    outcome = model_run.pipeline(backend_config=config.backend, processor=config.postprocessor)
    record = model_run.record
    # The record decides: a processor with fail_run=false may fail without failing the run.
    exit_code = EXIT_OK if record and record["status"] == "succeeded" else EXIT_RUN_FAILED
    return RunOutcome(exit_code=exit_code, run_id=model_run.run_id, run_dir=str(model_run.run_dir),
                      record=record, pipeline=outcome)


def _check_run_dir_could_be_claimed(config: RunConfig) -> None:
    """What claiming the run directory would refuse, found without creating anything."""
    import os
    from pathlib import Path

    from rompy.errors import ConfigError, RunDirectoryExists
    from rompy.runtime.files import creatable_problem

    run_dir = Path(config.output_dir) / (config.run_id or "new-run")
    if config.run_id and os.path.lexists(run_dir) and not config.delete_existing:
        raise RunDirectoryExists(run_dir)
    problem = creatable_problem(run_dir)
    if problem:
        raise ConfigError(f"output_dir: {problem}")


def _render_in_memory(config: RunConfig, source_config: dict[str, Any] | None) -> None:
    """Render the model's files as a run would (a template error is one line, exit 2), writing nothing."""
    from pathlib import Path

    from rompy.config import Runtime

    written = (source_config or {}).get("model")
    run_id = config.run_id or "dry-run"
    config.model.render(Runtime(run_id=run_id, period=config.period, run_dir=Path(config.output_dir).resolve() / run_id,
                                written=written if isinstance(written, dict) else {}))
