"""VerosConfig: a Veros setup run by rompy, a shipped one by name or your own setup file.

The run directory gets the setup file(s), veros.json (what to override, from the typed
fields, `settings` and the period) and veros_run.py (rompy_veros.runner), which runs Veros
from there. Everything a user can get wrong is checked while rendering, before anything
runs and in dry runs: the setup, each setting's name and type, the period against one time
step, and a restart file's grid. This module imports neither Veros nor NumPy: it is imported
whenever rompy validates a config that names `type: veros`.
"""

from __future__ import annotations

import difflib
import json
import math
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from rompy.config import ModelConfig, RenderedFile, Runtime
from rompy.errors import ConfigError
from rompy.template.inputs import InputFile

RUNNER = Path(__file__).with_name("runner.py")
RUN_FILE, CONFIG_FILE = "veros_run.py", "veros.json"

#: Settings rompy sets itself, and the key that sets each instead.
SET_BY_ROMPY = {"runlen": "period.duration (runlen comes from the period)",
                "restart_input_filename": "model.restart"}


def _typed(description: str, **rules) -> Any:
    return Field(None, description=f"{description} (null: the setup's own value).", **rules)


class VerosConfig(ModelConfig):
    """Veros, the versatile ocean simulator: a setup, the settings that differ from it, and a restart."""

    type: Literal["veros"] = "veros"
    setup: str = Field("acc", description="A setup Veros ships, by name (acc, acc_basic, global_4deg, ...), "
                                          "or your own setup file (a path ending in .py).")
    dt_mom: float | None = _typed("Time step of the momentum equations in seconds", gt=0)
    dt_tracer: float | None = _typed("Time step of the tracers in seconds: the model's step", gt=0)
    nx: int | None = _typed("Grid points in x (zonal)", ge=1)
    ny: int | None = _typed("Grid points in y (meridional)", ge=1)
    nz: int | None = _typed("Grid points in z (levels)", ge=1)
    A_h: float | None = _typed("Lateral (harmonic) viscosity in m²/s", ge=0)
    K_h: float | None = _typed("Lateral diffusivity of the tracers in m²/s", ge=0)
    r_bot: float | None = _typed("Linear bottom friction in 1/s", ge=0)
    r_quad_bot: float | None = _typed("Quadratic bottom friction, dimensionless", ge=0)
    K_iso_0: float | None = _typed("Isopycnal diffusivity in m²/s", ge=0)
    K_gm_0: float | None = _typed("Gent-McWilliams thickness diffusivity in m²/s", ge=0)
    kappaM_min: float | None = _typed("Least vertical viscosity in m²/s", ge=0)
    kappaH_min: float | None = _typed("Least vertical diffusivity in m²/s", ge=0)
    settings: dict[str, Any] = Field(default_factory=dict,
                                     description="Any other Veros setting by its Veros name: "
                                                 "+model.settings.enable_idemix=true.")
    restart: InputFile | None = Field(None, description="Continue from this restart file of an earlier run "
                                                        "(outputs/<identifier>_<step>.restart.h5); staged into datasets/.")
    python: str = Field("python3", description="The Python that runs Veros; in a container, the image's.")

    @field_validator("setup")
    @classmethod
    def _known_setup(cls, value: str) -> str:
        from rompy_veros.setups import all_setups, find_setup

        if _is_setup_file(value):
            if not os.path.isfile(os.path.expanduser(value)):
                raise ValueError("no such setup file")
            return value
        if find_setup(value) is None:
            names = sorted(all_setups())
            if not names:
                raise ValueError("Veros is not installed here: pip install veros (or install rompy-veros)")
            raise ValueError(f"unknown Veros setup{_did_you_mean(value, names)}; choose one of {', '.join(names)}, "
                             "or give your own setup file (a path ending in .py)")
        return value

    @field_validator("restart", mode="before")
    @classmethod
    def _restart_path(cls, value):
        """A restart is given as a path; it is staged into datasets/ under its own name."""
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        return {"src": value} if isinstance(value, str) else value

    @field_validator("restart")
    @classmethod
    def _restart_is_a_file(cls, value: InputFile | None) -> InputFile | None:
        if value is not None and not os.path.isfile(os.path.expanduser(value.src)):
            raise ValueError("a folder: give the restart file (.h5) an earlier run wrote into its outputs/")
        return value

    @field_validator("settings", mode="wrap")
    @classmethod
    def _veros_settings(cls, value, handler) -> dict[str, Any]:
        """Each setting a Veros setting, of its type; an error names the setting (model.settings.<name>)."""
        from pydantic import ValidationError
        from pydantic_core import InitErrorDetails, PydanticCustomError

        from rompy_veros.setups import known_settings

        known, checked = known_settings(), {}
        for name, setting in handler(value).items():
            try:
                if name in SET_BY_ROMPY:
                    raise ValueError(f"set by rompy: use {SET_BY_ROMPY[name]}")
                if name in cls.model_fields:
                    raise ValueError(f"has a key of its own: use model.{name}")
                if name not in known:
                    raise ValueError(f"unknown Veros setting{_did_you_mean(name, known)}")
                checked[name] = _as_type(setting, known[name].type)
            except ValueError as exc:
                error = PydanticCustomError("veros_setting", str(exc))
                raise ValidationError.from_exception_data(
                    cls.__name__, [InitErrorDetails(type=error, loc=(name,), input=setting)]) from None
        return checked

    # -- the model contract ---------------------------------------------------------
    def render(self, runtime: Runtime) -> dict[str, str | bytes | RenderedFile]:
        setup_file = self._setup_file()
        overrides = self.overrides()
        known = {**_constant_settings(setup_file), **overrides}
        runlen = runtime.period.duration.total_seconds()
        step = known.get("dt_tracer")
        if isinstance(step, (int, float)) and runlen < step:
            raise ConfigError(f"period.duration = {runtime.period.duration}: shorter than one Veros time step "
                              f"(dt_tracer = {step:g} s in {self.setup}); give at least {step:g} s")
        if self.restart is not None:
            _check_restart_grid(Path(self.restart.src).expanduser(), known)
        document = {
            "setup": setup_file.name,
            "settings": {"runlen": runlen, **overrides},
            "restart": self.restart.dest if self.restart is not None else None,
            "snapshot_interval_s": runtime.period.interval.total_seconds(),
        }
        return {CONFIG_FILE: json.dumps(document, indent=2) + "\n", RUN_FILE: RUNNER.read_bytes()}

    def stage(self, run_dir: Path) -> list[dict[str, Any]]:
        setup_file = self._setup_file()
        files = [setup_file] if _is_setup_file(self.setup) else _setup_files(setup_file.parent)
        inputs = [InputFile(src=str(path), dest=path.name) for path in files]
        if self.restart is not None:
            inputs.append(self.restart)
        return [item.stage(run_dir) for item in inputs]

    def model_command(self) -> list[str]:
        return [self.python, RUN_FILE, CONFIG_FILE]

    # -- helpers --------------------------------------------------------------------
    def overrides(self) -> dict[str, Any]:
        """The Veros settings this config changes from the setup's: the typed keys given, then `settings`."""
        typed = {name: getattr(self, name) for name in TYPED_SETTINGS if getattr(self, name) is not None}
        return {**typed, **self.settings}

    def _setup_file(self) -> Path:
        if _is_setup_file(self.setup):
            return Path(self.setup).expanduser().resolve()
        from rompy_veros.setups import find_setup

        return find_setup(self.setup) / f"{self.setup}.py"


#: The typed keys that are Veros settings of the same name.
TYPED_SETTINGS = ("dt_mom", "dt_tracer", "nx", "ny", "nz", "A_h", "K_h", "r_bot", "r_quad_bot", "K_iso_0",
                  "K_gm_0", "kappaM_min", "kappaH_min")


def _is_setup_file(value: str) -> bool:
    return value.endswith(".py") or "/" in value or os.sep in value


def _setup_files(folder: Path) -> list[Path]:
    from rompy_veros.setups import setup_files

    return setup_files(folder)


def _constant_settings(setup_file: Path) -> dict[str, Any]:
    from rompy_veros.setups import constant_settings

    try:
        return constant_settings(setup_file)
    except SyntaxError as exc:
        raise ConfigError(f"model.setup = {str(setup_file)!r}: not Python: line {exc.lineno}: {exc.msg}") from None


def _did_you_mean(name: str, choices) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _as_type(value: Any, kind) -> Any:
    """`value` as the type Veros declares for the setting; ValueError saying which type otherwise."""
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ValueError("must be true or false")
    wanted = {int: "a whole number", float: "a number", str: "text"}.get(kind, "a value of the setting's type")
    if isinstance(value, bool) or (value is None and isinstance(kind, type)) \
            or (kind is int and isinstance(value, float) and not value.is_integer()):
        raise ValueError(f"must be {wanted}")
    try:
        converted = kind(value)
    except (TypeError, ValueError):
        raise ValueError(f"must be {wanted}") from None
    if isinstance(converted, float) and not math.isfinite(converted):
        raise ValueError("must be finite")
    return converted


def _check_restart_grid(path: Path, known: dict[str, Any]) -> None:
    """A restart file must come from a run on this run's grid: Veros would fail deep in NumPy otherwise."""
    import h5py  # Veros's own dependency; only a restart run pays for its import

    try:
        with h5py.File(path, "r") as restart:
            shape = restart["core/temp"].shape
    except (OSError, KeyError):
        raise ConfigError(f"model.restart = {str(path)!r}: not a Veros restart file "
                          "(an HDF5 file with core/temp, written at the end of every Veros run)") from None
    theirs = (shape[0] - 4, shape[1] - 4, shape[2])  # Veros keeps 2 ghost cells on each side in x and y
    ours = tuple(known.get(name) for name in ("nx", "ny", "nz"))
    if all(isinstance(n, int) for n in ours) and ours != theirs:
        raise ConfigError(f"model.restart = {str(path)!r}: written on a {'x'.join(map(str, theirs))} grid, "
                          f"but this run's grid is {'x'.join(map(str, ours))}")
