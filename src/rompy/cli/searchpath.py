"""Where rompy looks for config groups, in the order it looks.

Users commit their groups in `./conf` or in folders on ROMPY_CONFIG_PATH; these come
before the shipped `conf/`, so a user's `backend/local.yaml` replaces the shipped one
(the search-path plugin in `hydra_plugins.rompy_searchpath` puts them there while rompy
composes). `--config-dir` keeps Hydra's meaning and comes after.
"""

from __future__ import annotations

import os
from pathlib import Path

CONFIG_NAME = "rompy"
CONFIG_PATH_VARIABLE = "ROMPY_CONFIG_PATH"

#: True while rompy's own CLI composes: the search-path plugin acts only then, never for other Hydra apps.
COMPOSING = False


def shipped_conf_dir() -> Path:
    """`rompy/conf` inside an installed wheel, else the checkout's top-level `conf/`."""
    package = Path(__file__).resolve().parents[1]
    packaged = package / "conf"
    if (packaged / f"{CONFIG_NAME}.yaml").is_file():
        return packaged
    return package.parents[1] / "conf"


def user_conf_dirs() -> list[Path]:
    """Config folders searched before the shipped one: ./conf, then ROMPY_CONFIG_PATH in order."""
    shipped = shipped_conf_dir().resolve()
    return [folder for folder, label in search_path([])
            if label in ("./conf", CONFIG_PATH_VARIABLE) and folder != shipped]


def flag_value(argv: list[str], long: str, short: str) -> str | None:
    """The value of a Hydra flag (`--config-dir DIR`, `-cd DIR`, `--config-dir=DIR`) on the command line."""
    value = None
    for i, arg in enumerate(argv):
        if arg in (long, short) and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith(long + "="):
            value = arg.split("=", 1)[1]
    return value


def plugin_conf_dirs() -> list[tuple[Path, str]]:
    """Config folders of installed plugin packages (entry point group `rompy.config_groups`).

    Their own Hydra search-path plugins put these folders on the search path when rompy
    composes; the entry point lets rompy list their options without starting Hydra.
    """
    import importlib.util

    from rompy.registry import plugin_entry_points

    found = []
    for name, entry_point in plugin_entry_points()["config_groups"].items():
        try:
            spec = importlib.util.find_spec(entry_point.module)
        except (ImportError, ValueError):
            spec = None
        locations = list(spec.submodule_search_locations or []) if spec is not None else []
        if locations:
            found.append((Path(locations[0]).resolve(), f"plugin {name}"))
    return found


def search_path(argv: list[str], plugins: bool = False) -> list[tuple[Path, str]]:
    """Every config folder for this command line, in search order, each with a label for messages.

    `plugins`: with the folders of installed plugin packages, where Hydra has them (after the
    primary folder, before --config-dir); finding them reads every package's metadata.
    """
    shipped = shipped_conf_dir().resolve()
    found: list[tuple[Path, str]] = []
    local = Path.cwd() / "conf"
    if local.is_dir():
        found.append((local.resolve(), "./conf"))
    for entry in filter(None, os.environ.get(CONFIG_PATH_VARIABLE, "").split(":")):
        found.append((Path(entry).expanduser().resolve(), CONFIG_PATH_VARIABLE))
    config_path = flag_value(argv, "--config-path", "-cp")
    found.append((Path(config_path).resolve() if config_path else shipped, "primary" if config_path else "shipped"))
    if plugins:
        found.extend(plugin_conf_dirs())
    config_dir = flag_value(argv, "--config-dir", "-cd")
    if config_dir:
        found.append((Path(config_dir).expanduser().resolve(), "--config-dir"))
    unique: list[tuple[Path, str]] = []
    for folder, label in found:
        if all(folder != seen for seen, _ in unique):
            unique.append((folder, label))
    return unique


def user_primary_problem(argv: list[str]) -> str | None:
    """The error for a primary config of the user's that cannot stand in for the shipped one.

    A `rompy.yaml` in `./conf` (or on ROMPY_CONFIG_PATH) replaces the shipped primary config
    as a whole; without its defaults list there is no backend, postprocessor or model, and
    Hydra's own run folder settings come back (an `outputs/` folder per run).
    """
    shipped = shipped_conf_dir().resolve()
    for folder, _label in search_path(argv):
        candidate = folder / f"{CONFIG_NAME}.yaml"
        if not candidate.is_file():
            continue
        if folder == shipped:
            return None
        import yaml

        try:
            data = yaml.safe_load(candidate.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError, OSError):
            return None  # a broken file: composing says where and why
        if not isinstance(data, dict):
            return None
        entries = data.get("defaults") if isinstance(data.get("defaults"), list) else []
        named = set()
        for entry in entries:
            for key in (entry if isinstance(entry, dict) else {str(entry): None}):
                named.add(str(key).split()[-1].lstrip("/").split("@")[0])
        missing = [group for group in ("backend", "postprocessor", "model") if group not in named]
        if not missing:
            return None
        return (f"{candidate} replaces rompy's primary config, and its defaults list selects no "
                f"{', '.join(missing)}; start it from a copy of {shipped / (CONFIG_NAME + '.yaml')}, "
                "or keep only config groups in that folder")
    return None


def default_output_dir() -> Path:
    """`output_dir` of the primary config Hydra would use here (./conf, ROMPY_CONFIG_PATH, shipped)."""
    from rompy.cli.files import load

    for folder, _ in search_path([]):
        path = folder / f"{CONFIG_NAME}.yaml"
        if path.is_file():
            data, problem = load(path)
            value = data.get("output_dir") if isinstance(data, dict) and not problem else None
            if isinstance(value, str) and "${" in value:
                value = _resolve_alone(value)
            if value:
                return Path(str(value)).expanduser()
    return Path("output")


def _resolve_alone(value: str) -> str | None:
    """An interpolation such as ${oc.env:SCRATCH}/runs, resolved as Hydra would (None if it cannot be)."""
    from omegaconf import OmegaConf

    try:
        return str(OmegaConf.create({"v": value}).v)
    except Exception:  # noqa: BLE001 - interpolations of other keys need the whole composition
        return None
