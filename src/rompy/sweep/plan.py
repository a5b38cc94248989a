"""Members of a sweep: their overrides (Hydra's sweep grammar), their identity (key) and their run ids.

A member's run id is `<sweep id>-<slug>-<key>` (docs/sweeps.md): the sweep's run_id or
its directory's name; the values that vary, made readable; and a hash of the member's
overrides (leaving out how to sweep: `hydra.*`, `sweep.*`, `dry_run`), which is its
identity for resume. A member whose own overrides set `run_id` keeps that run id when no
other member sets it too; otherwise it takes the sweep id's place.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, Field

SLUG_MAX = 48
SWEEP_ID_MAX = 120
_UNSAFE = re.compile(r"[^A-Za-z0-9.]+")


def override_key(override: str) -> str:
    """`+backend.cpu=2` -> `backend.cpu`; `~model` -> `model`."""
    return override.split("=", 1)[0].lstrip("+~")


#: Keys that say how to run a sweep, not what its members compute: left out of member keys and run ids.
HOW_KEYS = ("hydra", "sweep", "dry_run")


def is_identity_override(override: str) -> bool:
    key = override_key(override)
    return not any(key == how or key.startswith((how + ".", how + "/")) for how in HOW_KEYS)


def identity(overrides: list[str]) -> list[str]:
    return [o for o in overrides if is_identity_override(o)]


def member_key(overrides: list[str]) -> str:
    text = "\n".join(sorted(identity(overrides)))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def _slug(overrides: list[str], varying: set[str] | None = None) -> str:
    parts = []
    for override in identity(overrides):
        key, _, value = override.partition("=")
        if varying is not None and override_key(override) not in varying:
            continue
        name = re.split(r"[./@]", key.lstrip("+~"))[-1]
        parts.append(_clean(f"{name}-{value.strip(chr(34) + chr(39))}"))
    slug = "_".join(p for p in parts if p)
    return slug[:SLUG_MAX].strip("._-")


def _clean(text: str) -> str:
    text = _UNSAFE.sub("-", text)
    text = re.sub(r"\.{2,}", ".", text)
    return text.strip("-.")


def sweep_id_from(run_id: Any, sweep_dir: str) -> str:
    """The sweep's own id: its run_id if one was given, else the sweep folder's name."""
    raw = str(run_id) if run_id else (sweep_dir.rstrip("/").rsplit("/", 1)[-1] or "sweep")
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", raw)
    cleaned = re.sub(r"\.{2,}", ".", cleaned).strip("-._")[:SWEEP_ID_MAX]
    return cleaned or "sweep"


def varying_keys(member_overrides: list[list[str]]) -> set[str]:
    """Keys whose value differs between members: the ones worth showing in run ids."""
    values: dict[str, set[str]] = {}
    for overrides in member_overrides:
        for override in identity(overrides):
            values.setdefault(override_key(override), set()).add(override)
    present = [set(map(override_key, identity(o))) for o in member_overrides]
    return {key for key, seen in values.items()
            if len(seen) > 1 or any(key not in keys for keys in present)} - {"output_dir", "delete_existing"}


def shared_lines(member_overrides: list[list[str]]) -> frozenset[str]:
    """The override lines every member has: the command line's fixed values beside the swept ones."""
    if not member_overrides:
        return frozenset()
    common = set(member_overrides[0])
    for overrides in member_overrides[1:]:
        common.intersection_update(overrides)
        if not common:
            break
    return frozenset(common)


def own_run_id(overrides: list[str], varying: set[str] | None = None) -> str | None:
    """The member's own run id: a `run_id` override whose value differs between members (`run_id=a,b`).

    One run_id for every member (`-m run_id=ens1 ...`) names the sweep: it is the sweep id.
    """
    if varying is not None and "run_id" not in varying:
        return None
    own = [o for o in overrides if override_key(o) == "run_id"]
    return own[-1].split("=", 1)[1].strip("'\"") if own else None


def member_run_id(sweep_id: str, overrides: list[str], varying: set[str] | None = None,
                  own_is_unique: bool = True) -> str:
    """`<sweep id>-<slug>-<key>`, or the member's own run id. An own run id that other members
    share with different overrides (`run_id=a,b` crossed with `model.depths=[10],[20]`)
    starts the run id in place of the sweep id."""
    own = own_run_id(overrides, varying)
    if own is not None and own_is_unique:
        return own
    slug = _slug(overrides, None if varying is None else varying - {"run_id"})
    key = member_key(overrides)
    prefix = sweep_id if own is None else own
    return f"{prefix}-{slug}-{key}" if slug else f"{prefix}-{key}"


#: One string per folder that holds members' run directories, shared by all its members.
_FOLDERS: dict[str, str] = {}


@dataclass(slots=True)
class MemberJob:
    """One member as the runner and the executors see it (slots: a sweep holds ten thousand)."""

    number: int
    overrides: list[str]
    key: str
    run_id: str
    replace_run_dir: bool = False  # a resumed sweep replaces what an unfinished member left
    own_run_id: bool = False  # its overrides name its run id (`run_id=a,b`)
    resources: Any = None  # the member's backend Resources, known once it is validated
    # Its run directory (see run_dir), kept as its folder when it is `<folder>/<run_id>`, as
    # nearly always: ten thousand members then share one folder string.
    _run_dir_folder: str | None = None
    _run_dir_elsewhere: str | None = None

    @property
    def run_dir(self) -> str | None:
        """The member's run directory once it is known (after the check), else None."""
        if self._run_dir_folder is not None:
            return f"{self._run_dir_folder}/{self.run_id}"
        return self._run_dir_elsewhere

    @run_dir.setter
    def run_dir(self, value: str | None) -> None:
        folder, _, name = (value or "").rpartition("/")
        if value and name == self.run_id and folder:
            self._run_dir_folder, self._run_dir_elsewhere = _FOLDERS.setdefault(folder, folder), None
        else:
            self._run_dir_folder, self._run_dir_elsewhere = None, value

    @property
    def label(self) -> str:
        return " ".join(identity(self.overrides)) or "(no overrides)"

    @property
    def launch_overrides(self) -> list[str]:
        """The overrides a member is composed from: its own, plus its run id and, on resume, delete_existing."""
        launch = list(self.overrides)
        if not self.own_run_id:  # after a run_id naming the whole sweep: the last one wins
            launch.append(f"run_id='{self.run_id}'")
        if self.replace_run_dir:
            launch.append("delete_existing=true")
        return launch


def plan_members(member_overrides: list[list[str]], sweep_id: str, first_number: int = 0,
                 replace_run_dirs: bool = False) -> list[MemberJob]:
    """MemberJobs in sweep order; `run_id` (and `delete_existing` on resume) go into their launch overrides."""
    jobs = []
    seen: dict[str, int] = {}
    varying = varying_keys(member_overrides)
    members_of: dict[str, set[str]] = {}  # own run id -> keys of the members that set it
    if "run_id" in varying:
        for overrides in member_overrides:
            own = own_run_id(overrides, varying)
            if own is not None:
                members_of.setdefault(own, set()).add(member_key(overrides))
    for offset, overrides in enumerate(member_overrides):
        overrides = overrides if isinstance(overrides, list) else list(overrides)  # not a second copy
        own = own_run_id(overrides, varying)
        unique = own is not None and len(members_of[own]) == 1
        run_id = member_run_id(sweep_id, overrides, varying, own_is_unique=unique)
        key = member_key(overrides)
        count = seen.get(key, 0)
        seen[key] = count + 1
        if count:  # the same overrides twice (e.g. `a=1,1`): keep the runs apart
            key, run_id = f"{key}-{count}", f"{run_id}-{count}"
        jobs.append(MemberJob(number=first_number + offset, overrides=overrides, key=key, run_id=run_id,
                              replace_run_dir=replace_run_dirs, own_run_id=unique and not count))
    return jobs


class SweeperSettings(BaseModel):
    """`hydra/sweeper=rompy`'s keys."""

    model_config = ConfigDict(extra="forbid")

    params: Optional[dict[str, Any]] = Field(
        None, description="key: 'v1,v2' pairs swept in addition to the command line.")
    max_batch_size: Optional[int] = Field(
        None, ge=1, description="Taken from configs written for Hydra's basic sweeper; members are planned at once.")


def member_overrides(config_loader, params: dict | None, arguments: list[str]) -> list[list[str]]:
    """One override list per member: the cartesian product, in the order Hydra's basic sweeper gives.

    `hydra.sweeper.params` first, then the command line; a later value for the same key wins.
    Switching sweepers never changes which members a sweep has.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from rompy._hydra import split_sweep_arguments

    lines = [f"{key}={value}" for key, value in (params or {}).items()]
    lines.extend(arguments)
    parser = OverridesParser.create(config_loader=config_loader)
    return split_sweep_arguments(parser.parse_overrides(lines))
