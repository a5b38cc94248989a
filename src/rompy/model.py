"""ModelRun: one run of a model, from staging its directory to its record.

This is the single run path. The CLI builds a ModelRun from the composed config and
calls `pipeline`; Python scripts call `generate`, `run`, `postprocess` and `pipeline`
themselves. Each stage updates the run record (rompy.record), so the record always
says how far the run got.
"""

from __future__ import annotations

import logging
import os
import platform
import shutil
import socket
import sys
from pathlib import Path
from typing import Any

from pydantic import Field, PrivateAttr, SerializeAsAny, field_validator

from rompy import __version__
from rompy._pluggable import StrictModel
from rompy.config import ModelConfig, RenderedFile, Runtime, check_run_id, default_period
from rompy.core.time import TimeRange
from rompy.errors import Interrupted, RunDirectoryExists, RunFailed
from rompy.record import RECORD_NAME, RecordStore, RunRecord
from rompy.redaction import redact_config

log = logging.getLogger("rompy")

CONFIG_NAME = "rompy-config.yaml"


def _default_model() -> ModelConfig:
    """The model a ModelRun runs when none is given: the built-in demo."""
    from rompy.registry import resolve

    return resolve("model", "demo")()


def _versions() -> dict[str, str]:
    hydra = sys.modules.get("hydra")  # the CLI has it loaded: no package-metadata scan
    hydra_version = getattr(hydra, "__version__", None)
    if hydra_version is None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            hydra_version = version("hydra-core")
        except PackageNotFoundError:
            hydra_version = "not installed"
    return {"rompy": __version__, "python": platform.python_version(), "hydra": hydra_version}


class ModelRun(StrictModel):
    """A model run: where it lives, what model it runs, and over which period."""

    run_id: str = Field("run_id", description="Name of the run directory.")
    period: TimeRange = Field(default_factory=default_period, description="The simulation period.")
    output_dir: Path = Field(Path("./simulations"), description="Folder holding run directories.")
    run_id_subdir: bool = Field(True, description="Put the run in output_dir/run_id (else in output_dir).")
    delete_existing: bool = Field(False, description="Replace an existing run directory.")
    config: SerializeAsAny[ModelConfig] = Field(default_factory=_default_model)

    _record: RunRecord | None = PrivateAttr(None)
    _source_config: dict[str, Any] | None = PrivateAttr(None)
    _run_config: dict[str, Any] | None = PrivateAttr(None)
    _preflighted: Any = PrivateAttr(None)
    _next_postprocessor: Any = PrivateAttr(None)  # what pipeline() runs after the model, while it runs
    _end_unsaved: bool = PrivateAttr(False)       # the run's end waits to be written with a quick postprocessor's result
    _resolved: tuple[Path, Path] | None = PrivateAttr(None)  # (run_dir, run_dir resolved)

    @field_validator("run_id")
    @classmethod
    def _run_id(cls, value):
        return check_run_id(value)

    # -- layout -----------------------------------------------------------------
    @property
    def run_dir(self) -> Path:
        return self.output_dir / self.run_id if self.run_id_subdir else self.output_dir

    def _resolved_run_dir(self) -> Path:
        """run_dir.resolve(), worked out once per run directory: every stage asks for it."""
        run_dir = self.run_dir
        if self._resolved is None or self._resolved[0] != run_dir:
            self._resolved = (run_dir, run_dir.resolve())
        return self._resolved[1]

    @property
    def staging_dir(self) -> Path:  # the name upstream rompy used
        return self.run_dir

    @property
    def outputs_dir(self) -> Path:
        return self.run_dir / "outputs"

    @property
    def datasets_dir(self) -> Path:
        return self.run_dir / "datasets"

    @property
    def logs_dir(self) -> Path:
        return self.run_dir / "logs"

    @property
    def record_path(self) -> Path:
        return self.run_dir / RECORD_NAME

    @property
    def record(self) -> dict[str, Any] | None:
        """The run record as it is on disk (None before `generate`)."""
        return None if self._record is None else self._record.as_dict()

    @property
    def _store(self) -> RecordStore:
        return RecordStore(self.run_dir)

    # -- stages -----------------------------------------------------------------
    def runtime(self) -> Runtime:
        """What the model is told about this run when it renders and stages."""
        written = (self._source_config or {}).get("model")
        return Runtime(run_id=self.run_id, period=self.period, run_dir=self._resolved_run_dir(),
                       written=written if isinstance(written, dict) else self.config.model_dump(mode="json"))

    def generate(self) -> Path:
        """Render the model's files, then claim the run directory and stage them, datasets/, outputs/, logs/."""
        return self._generate(save=True)

    def _generate(self, save: bool) -> Path:
        """generate(); without `save` the record is first written by run(), which follows at once."""
        files = self.config.render(self.runtime())  # a template error stops the run before anything exists
        self._claim_run_dir()
        staged = None
        try:
            for sub in (self.datasets_dir, self.outputs_dir, self.logs_dir):
                sub.mkdir()
            write_rendered(self._resolved_run_dir(), files)
            staged = self.config.stage(self.run_dir)
            self._write_config_yaml()
        except OSError as exc:
            self._record = self._new_record()
            self._record.finish("failed", "generate", f"cannot stage the run directory: {exc.strerror or exc}")
            self._save()
            raise RunFailed(f"cannot stage the run directory {self.run_dir}: {exc.strerror or exc}") from None
        self._record = self._new_record()
        if staged:
            self._record.inputs = staged
        if save:
            self._save()
        log.info("run %s staged in %s", self.run_id, self.run_dir)
        return self.run_dir

    def _new_record(self) -> RunRecord:
        return RunRecord(run_id=self.run_id, run_dir=str(self._resolved_run_dir()), config=self._config_for_record(),
                         versions=_versions(), host=socket.gethostname(), pid=os.getpid())

    def run(self, backend=None, **kwargs) -> bool:
        """Run the model through `backend` (a backend config or name); True on success."""
        from rompy.backends.base import Job
        from rompy.runtime import active_runs, teardown

        backend = _as_backend(backend, **kwargs)
        if self._preflighted is not backend:
            _preflight(backend)
        if self._record is None:
            self.generate()
        record = self._record
        if "backend" not in record.config:  # the CLI already put it there, env references kept
            record.config["backend"] = redact_config(backend.model_dump(mode="json"), backend.secret_env)
        record.stage = "run"
        self._save()
        if self._source_config is None:
            self._write_config_yaml()  # now with the backend
        import uuid

        token = uuid.uuid4().hex
        run_dir = self._resolved_run_dir()
        job = Job(run_id=self.run_id, run_dir=run_dir, logs_dir=run_dir / "logs",
                  command=backend.resolve_command(self.config.model_command()), token=token,
                  on_note=lambda facts: active_runs.note(token, **facts))
        entry = active_runs.register(token, run_dir / RECORD_NAME, reaper=backend.reaper)
        try:
            result = backend.execute(job)
        except (KeyboardInterrupt, Interrupted):
            if job.notes:  # e.g. the SLURM job id, which the backend never got to report
                record.backend = {"status": "interrupted", "details": dict(job.notes)}
            self._finish("interrupted", "run", message="interrupted by signal")
            raise
        except Exception as exc:
            self._finish("failed", "run", message=f"{type(exc).__name__}: {exc}")
            raise
        finally:  # kept while the backend still cleans up: a later rompy finishes it if this one dies
            teardown.after(lambda: active_runs.unregister(entry), name=f"unregister run {self.run_id}")
        record.backend = result.model_dump(mode="json")
        record.exit_code = result.exit_code
        if result.succeeded:
            self._finish("succeeded", None)
            log.info("run %s succeeded in %.2f s", self.run_id, result.duration_s)
        else:
            self._finish(result.status, "run", message=result.message)
            log.error("run %s %s: %s", self.run_id, result.status.replace("_", " "), result.message)
        return result.succeeded

    def postprocess(self, processor="noop", **kwargs) -> dict[str, Any]:
        """Run a postprocessor (a name, a config, or any object with `process`)."""
        from rompy.postprocess.base import metrics_of, result_as_dict, result_succeeded

        processor = _as_processor(processor)
        record = self._record
        if record is not None and hasattr(processor, "model_dump"):
            record.config["postprocessor"] = processor.model_dump(mode="json")
            if self._source_config is None:
                self._write_config_yaml()  # now with the postprocessor
        try:
            result = result_as_dict(processor.process(self, **kwargs))
        except (KeyboardInterrupt, Interrupted):
            if record is not None:
                self._finish("interrupted", "postprocess", message="interrupted by signal")
            raise
        except Exception as exc:
            result = {"success": False, "message": f"{type(exc).__name__}: {exc}"}
        ok = result_succeeded(result)
        metrics, problems = metrics_of(result)
        for problem in problems:
            log.warning("postprocessor %s: %s (left out of the record)", _processor_name(processor), problem)
        if record is not None:
            record.postprocess = result
            record.metrics = metrics
            if not ok and getattr(processor, "fail_run", True):
                self._finish("failed", "postprocess", message=f"postprocessor failed: {result.get('message', '')}")
            else:
                self._save()
        if not ok:
            log.error("postprocessor %s failed: %s", _processor_name(processor), result.get("message", ""))
        return result

    def pipeline(self, pipeline_backend: str = "local", backend_config=None, processor="noop",
                 run_kwargs: dict | None = None, process_kwargs: dict | None = None) -> dict[str, Any]:
        """generate -> run -> postprocess; stops at the first failed stage."""
        from rompy.postprocess.base import result_succeeded

        backend = backend_config if backend_config is not None else _as_backend(pipeline_backend)
        _preflight(backend)  # before generate: a backend that cannot start creates nothing
        self._preflighted = backend
        outcome: dict[str, Any] = {"success": False, "run_id": self.run_id, "stages_completed": []}
        if self._record is None:
            outcome["generate"] = str(self._generate(save=False))
        outcome["stages_completed"].append("generate")
        processor = _as_processor(processor)
        self._next_postprocessor = processor  # how the run ended is synced once, with the postprocessor's result
        try:
            ran = self.run(backend=backend, **(run_kwargs or {}))
            self._next_postprocessor = None
            outcome["run"] = self._record.backend
            if not ran:
                outcome["message"] = self._record.message
                return outcome
            outcome["stages_completed"].append("run")
            result = self.postprocess(processor=processor, **(process_kwargs or {}))
        finally:
            self._next_postprocessor = None
            if self._end_unsaved:  # the postprocessor did not get as far as writing the record
                self._save()
        outcome["postprocess"] = result
        if result_succeeded(result):
            outcome["stages_completed"].append("postprocess")
        outcome["success"] = self._record.status == "succeeded" and result_succeeded(result)
        if not outcome["success"]:
            outcome["message"] = self._record.message or result.get("message", "")
        return outcome

    # -- internals --------------------------------------------------------------
    def _claim_run_dir(self) -> None:
        """Create the run directory atomically; refuse an existing one unless delete_existing."""
        run_dir = self.run_dir
        try:
            run_dir.parent.mkdir(parents=True, exist_ok=True)
            run_dir.mkdir()
            return
        except FileExistsError:
            if not self.run_id_subdir and run_dir.is_dir() and not any(run_dir.iterdir()):
                return
            if not self.delete_existing:
                raise RunDirectoryExists(run_dir) from None
        except OSError as exc:
            from rompy.errors import ConfigError
            from rompy.runtime.files import creatable_problem

            problem = creatable_problem(run_dir) or f"cannot create {str(run_dir)[:200]}: {exc.strerror or exc}"
            raise ConfigError(f"output_dir: {problem}") from None
        doomed = run_dir.with_name(f".{run_dir.name}.deleting-{os.getpid()}")
        os.replace(run_dir, doomed)
        try:
            run_dir.mkdir()
        finally:
            shutil.rmtree(doomed, ignore_errors=True)

    def _config_for_record(self) -> dict[str, Any]:
        if self._run_config is not None:
            secret_names = (self._run_config.get("backend") or {}).get("secret_env") or []
            return redact_config(self._run_config, secret_names)
        return {
            "run_id": self.run_id,
            "output_dir": str(self.output_dir),
            "delete_existing": self.delete_existing,
            "period": self.period.model_dump(mode="json"),
            "model": self.config.model_dump(mode="json"),
        }

    def _write_config_yaml(self) -> None:
        """Save a config that `python -m rompy --config-dir <run_dir> --config-name rompy-config` runs again.

        The same model, period, backend and postprocessor; a new run id (run_id is left out);
        never `delete_existing` of the original; secrets as environment references, never values.
        """
        from rompy.redaction import as_env_references

        if self._source_config is not None:
            source = self._source_config
        else:  # the Python API: what is known so far (the backend and postprocessor once they ran)
            source = {**self._config_for_record(), **{k: v for k, v in (self._record.config if self._record else {})
                                                         .items() if k in ("backend", "postprocessor")}}
            source = as_env_references(source)
        document = {k: v for k, v in source.items() if k not in ("run_id", "hydra", "defaults")}
        document["delete_existing"] = False
        groups = [{f"override {group}": None} for group in ("backend", "postprocessor", "model") if group in document]
        document = {"defaults": ["rompy", *groups, "_self_"], **document}
        text = "# Run again with: python -m rompy --config-dir <this folder> --config-name rompy-config\n"
        text += _yaml_mapping(document)
        (self.run_dir / CONFIG_NAME).write_text(text, encoding="utf-8")

    def _finish(self, status: str, failed_stage: str | None, message: str = "") -> None:
        if self._record is not None:
            self._record.finish(status, failed_stage, message)
            follows = self._next_postprocessor if status == "succeeded" else None
            if getattr(follows, "quick", False):
                self._end_unsaved = True  # written in a moment, with the postprocessor's result
                return
            self._save(durable=follows is None)

    def _save(self, durable: bool | None = None) -> None:
        """Write the record as it is now (durable: synced before it replaces the old one; None: RecordStore.save's rule)."""
        self._store.save(self._record, durable=durable)
        self._end_unsaved = False


#: YAML text of config entries already dumped, by (key, repr of the value); see _yaml_mapping.
_YAML_ENTRIES: dict[tuple[str, str], str] = {}
_YAML_ENTRIES_KEPT = 256


def _yaml_mapping(document: dict[str, Any]) -> str:
    """yaml.dump of a mapping in block style, keys in order, dumped entry by entry.

    Block text of a mapping is its entries' texts one after the other. The members of a
    sweep differ in an entry or two, so the others are dumped once and their text kept.
    """
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    parts = []
    for key, value in document.items():
        kept = (key, repr(value))  # tells 1, True, 1.0 and '1' apart, as YAML does
        text = _YAML_ENTRIES.get(kept)
        if text is None:
            text = yaml.dump({key: value}, Dumper=dumper, sort_keys=False)
            if len(_YAML_ENTRIES) >= _YAML_ENTRIES_KEPT:
                _YAML_ENTRIES.clear()
            _YAML_ENTRIES[kept] = text
        parts.append(text)
    return "".join(parts)


def write_rendered(run_dir: Path, files: dict[str, str | bytes | RenderedFile]) -> None:
    """Write a model's rendered files into the run directory (never outside it)."""
    for name, content in files.items():
        parts = Path(name).parts
        if parts and not Path(name).is_absolute() and ".." not in parts:
            root, path = run_dir, run_dir / name  # inside by its name alone: the run directory is new, without links
        else:
            root = run_dir.resolve()
            path = (root / name).resolve()
        if path == root or root not in path.parents:
            raise RunFailed(f"the model rendered {name!r}, which is outside its run directory")
        executable = isinstance(content, RenderedFile) and content.executable
        content = content.content if isinstance(content, RenderedFile) else content
        if path.parent != root:
            path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        if executable:
            path.chmod(path.stat().st_mode | 0o111)


def _preflight(backend) -> None:
    """Everything a run needs before it starts: the backend's own checks, and a writable active-run registry."""
    from rompy.runtime import active_runs

    backend.preflight()
    active_runs.check_writable()


def _as_backend(backend, **kwargs):
    from rompy.backends.base import BackendConfig
    from rompy.registry import resolve

    if backend is None:
        backend = "local"
    if isinstance(backend, str):
        return resolve("backend", backend)(**kwargs)
    if kwargs:
        raise TypeError(f"run() got unexpected keyword argument(s) {', '.join(map(repr, kwargs))}: settings belong "
                        "in the backend config (e.g. LocalConfig(timeout=600)), or name the backend: "
                        "run('local', timeout=600)")
    if isinstance(backend, dict):
        return BackendConfig.model_validate(backend)
    if isinstance(backend, BackendConfig):
        return backend
    raise TypeError(f"backend must be a backend config, a dict or a name, got {type(backend).__name__}")


def _as_processor(processor):
    from rompy.postprocess.base import PostprocessorConfig
    from rompy.registry import resolve

    if processor is None:
        processor = "noop"
    if isinstance(processor, str):
        return resolve("postprocessor", processor)()
    if isinstance(processor, dict):
        return PostprocessorConfig.model_validate(processor)
    if hasattr(processor, "process"):
        return processor
    raise TypeError("processor must be a name, a postprocessor config or an object with process()")


def _processor_name(processor) -> str:
    return getattr(processor, "type", type(processor).__name__)
