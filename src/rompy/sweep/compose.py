"""Compose each member's config once, and cheaply when members differ only in values.

A member's config is the config composed from its config-group choices with its value
overrides applied on top, so members that share their group choices share that first
part. The composer composes one template per distinct set of group overrides with Hydra
itself and, per member, copies the template's task part and applies the value overrides
as Hydra does. Value overrides every member has (`output_dir=...` beside the swept keys)
are applied to the template once, when no other override of the member touches their
keys. The large hydra node is not copied per member: a ComposedMember carries the four
values that differ and writes them into the template's node when it runs.
Anything unusual (a per-member `hydra.` override, Hydra internals that moved) falls
back to a full composition, so a member's config is always the one Hydra would compose.
"""

from __future__ import annotations

import copy
import logging
import pickle
import re
from dataclasses import dataclass
from typing import Any

from rompy._hydra import int_value_override, run_id_override

log = logging.getLogger("rompy.sweep")

#: The run id a sweep gives each member (always a slug: letters, digits, `.`, `_`, `-`).
_RUN_ID_LINE = re.compile(r"run_id='([A-Za-z0-9._-]+)'")
#: How a config reads the hydra node (`${hydra:job.num}`); `hydra :` is no interpolation OmegaConf accepts.
_HYDRA_RESOLVER = "hydra:"
#: Parsed override lines kept for the members that share them (group choices, fixed values).
PARSED_KEPT = 512


@dataclass
class ComposedMember:
    """A member's task config (no hydra node) plus what its hydra node must say."""

    task_cfg: Any           # DictConfig without `hydra`, what the task receives
    hydra_cfg: Any          # DictConfig {hydra: ...}, shared by the members of one template
    task_overrides: list
    override_dirname: str
    num: int
    job_id: str
    reads_hydra: bool = True  # may its task config read the hydra node (`${hydra:...}`)?
    #: (RunConfig, source) from the whole-sweep check, for a member kept to run where it was
    #: checked: the run uses them rather than validating the same config again.
    checked: Any = None

    def activate(self, for_check: bool = False):
        """Write this member's values into the shared hydra node and return it (rompy._hydra.hydra_job makes it current).

        `for_check`: the whole-sweep check of a member whose config reads nothing from the
        hydra node leaves out its override list, the one costly value (the check is given
        the list itself). A member that runs always gets the whole node, as Hydra gives it.
        """
        from omegaconf import open_dict, read_write

        node = self.hydra_cfg.hydra
        with_list = not for_check or self.reads_hydra
        if _is_writable(node):  # a template's node, made writable once (flag changes walk the whole node)
            _write_member_values(node, self, with_list)
        else:
            with read_write(node), open_dict(node):
                _write_member_values(node, self, with_list)
        node._set_parent(self.task_cfg)
        return node


class MemberComposer:
    """Composes members; `shared_lines`: the override lines every member of the sweep has."""

    def __init__(self, config_loader, master_config, shared_lines: frozenset[str] = frozenset()):
        self._loader = config_loader
        self._master = master_config
        self._shared = shared_lines
        self._templates: dict[tuple, tuple[Any, Any, frozenset[str], Any]] = {}
        self._parsed: dict[str, Any] = {}
        self._is_group: dict[str, bool] = {}
        self._parser = None
        self._repo = None
        self.fast = True
        try:
            from hydra.core.override_parser.overrides_parser import OverridesParser

            self._parser = OverridesParser.create(config_loader=config_loader)
            from rompy._hydra import group_repository

            self._repo = group_repository(config_loader, master_config.hydra.job.config_name,
                                          list(master_config.hydra.overrides.hydra))
        except Exception as exc:  # Hydra internals changed: stay correct, be slower
            log.debug("full composition for every member: %s", exc)
            self.fast = False

    def compose(self, overrides: list[str], number: int, job_id: str) -> ComposedMember:
        """The member's config, as Hydra would compose it."""
        member = None
        if self.fast:
            try:
                member = self._compose_fast(overrides, number, job_id)
            except (AttributeError, ImportError, TypeError) as exc:  # Hydra internals moved
                log.debug("full composition for every member: %s", exc)
                self.fast = False
        if member is None:
            member = self._compose_full(overrides, number, job_id)
        return member

    # -- internals ------------------------------------------------------------------
    def _compose_full(self, overrides, number, job_id) -> ComposedMember:
        cfg = self._loader.load_sweep_config(self._master, list(overrides))
        task_cfg, hydra_cfg = _split(cfg)
        return ComposedMember(task_cfg, hydra_cfg, list(cfg.hydra.overrides.task),
                              str(cfg.hydra.job.override_dirname), number, job_id)

    def _parse(self, overrides: list[str]) -> list:
        parsed = []
        for line in overrides:
            override = self._parsed.get(line) or _built_directly(line)
            if override is None:
                override = self._parser.parse_overrides([line])[0]
                if len(self._parsed) >= PARSED_KEPT:  # a sweep over 10,000 values parses 10,000 lines once each
                    self._parsed.clear()
                self._parsed[line] = override
            parsed.append(override)
        return parsed

    def _group_exists(self, key: str) -> bool:
        known = self._is_group.get(key)
        if known is None:
            known = self._is_group[key] = bool(self._repo.group_exists(key))
        return known

    def _template(self, groups: list[str], shared: list) -> tuple[Any, Any, frozenset[str], Any]:
        """(copyable task part, hydra node, the value lines applied to it, the task part itself)
        composed from `groups`, with `shared` applied unless a key of theirs leads through an
        interpolation."""
        from rompy._hydra import apply_value_overrides

        key = (tuple(groups), tuple(o.input_line for o in shared))
        template = self._templates.get(key)
        if template is None:
            task_part, hydra_cfg = _split(self._loader.load_sweep_config(self._master, list(groups)))
            _writable(hydra_cfg.hydra)
            applied: frozenset[str] = frozenset()
            if shared and not any(_through_interpolation(task_part, o.key_or_group) for o in shared):
                apply_value_overrides(shared, task_part)
                applied = frozenset(o.input_line for o in shared)
            template = self._templates[key] = (_Snapshot(task_part), hydra_cfg, applied, task_part)
        return template

    def _compose_fast(self, overrides, number, job_id) -> ComposedMember | None:
        from rompy._hydra import apply_value_overrides, overrides_dirname

        parsed = self._parse(list(overrides))
        groups: list[str] = []
        values = []
        for override in parsed:
            if override.is_hydra_override():
                return None
            if override.package is not None or (
                self._group_exists(override.key_or_group) and not isinstance(override.value(), dict)
            ):
                groups.append(override.input_line)
            else:
                values.append(override)
        snapshot, hydra_cfg, applied, config = self._template(groups, _shareable(values, self._shared))
        own = [o for o in values if o.input_line not in applied]
        if applied and any(_through_interpolation(config, o.key_or_group) for o in own):
            # An own key that leads through an interpolation may set a shared one (OmegaConf 2.4
            # writes through it): the member's lines in Hydra's order, on the plain template.
            snapshot, hydra_cfg, applied, config = self._template(groups, [])
            own = values
        task_cfg = snapshot.copy()
        apply_value_overrides(own, task_cfg)
        dirname_conf = hydra_cfg.hydra.job.config.override_dirname
        dirname = overrides_dirname(parsed, exclude_keys=list(dirname_conf.exclude_keys),
                                    item_sep=dirname_conf.item_sep, kv_sep=dirname_conf.kv_sep)
        lines = [o.input_line for o in parsed]
        reads_hydra = snapshot.reads_hydra or any(_HYDRA_RESOLVER in line for line in lines)
        return ComposedMember(task_cfg, hydra_cfg, lines, dirname, number, job_id, reads_hydra)


def _shareable(values: list, shared_lines: frozenset[str]) -> list:
    """The member's value overrides that can be applied to its template, before its others.

    Hydra applies value overrides in order; applying some of them first gives the same
    config when none of the others sets, adds or deletes the same key, a key inside it
    or one containing it.
    """
    if not shared_lines:
        return []
    shared = [o for o in values if o.input_line in shared_lines]
    own_keys = [o.key_or_group for o in values if o.input_line not in shared_lines]
    if any(_keys_overlap(o.key_or_group, key) for o in shared for key in own_keys):
        return []
    return shared


def _keys_overlap(a: str, b: str) -> bool:
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def _through_interpolation(cfg, key: str) -> bool:
    """Does `key` lead through (or to) an interpolation? Setting it may then change what
    another key reads, and order matters again."""
    from omegaconf import DictConfig, ListConfig

    node = cfg
    for part in key.split("."):
        try:
            if isinstance(node, DictConfig):
                node = node._get_node(part, validate_access=False)
            elif isinstance(node, ListConfig):
                node = node._get_node(int(part))
            else:
                return False  # a plain value on the way: Hydra's update reports it as it would
        except Exception:  # noqa: BLE001 - anything unexpected: keep Hydra's order
            return True
        if node is None:
            return False  # a key not there yet (`+a.b=1`)
        if node._is_interpolation():
            return True
    return False


def _built_directly(line: str):
    """A line each member has its own of (its run id, its value of a range), parsed without Hydra's parser."""
    own_run_id = _RUN_ID_LINE.fullmatch(line)
    return run_id_override(own_run_id.group(1), line) if own_run_id else int_value_override(line)


def _write_member_values(node, member: ComposedMember, with_list: bool = True) -> None:
    if with_list:
        _set_list(node.overrides, "task", member.task_overrides)
    job = node.job
    _set_value(job, "override_dirname", member.override_dirname)
    _set_value(job, "num", member.num)
    _set_value(job, "id", member.job_id)


def _set_value(parent, key: str, value) -> None:
    """`parent[key] = value`, through the value's own node when it has one.

    Assigning through the container wraps and validates the value again and walks the
    container's flags; setting the node it replaces does the same validation (an int for
    `job.num`) at a fraction of the cost, which every member pays for four values.
    """
    from omegaconf import ValueNode

    try:
        leaf = parent._get_node(key)
        if isinstance(leaf, ValueNode):
            leaf._set_value(value)
            return
    except AttributeError:  # OmegaConf internals moved: assign as any user would
        pass
    parent[key] = value


def _set_list(parent, key: str, values: list) -> None:
    """`parent[key] = list(values)`, element by element when the list there has as many (see _set_value)."""
    from omegaconf import ListConfig, ValueNode

    try:
        current = parent._get_node(key)
        if (isinstance(current, ListConfig) and not current._is_none() and not current._is_missing()
                and not current._is_interpolation() and len(current) == len(values)):
            leaves = [current._get_node(i) for i in range(len(values))]
            if all(isinstance(leaf, ValueNode) for leaf in leaves):
                for leaf, value in zip(leaves, values):
                    leaf._set_value(value)
                return
    except AttributeError:
        pass
    parent[key] = list(values)


def _writable(node) -> None:
    from omegaconf import OmegaConf

    OmegaConf.set_readonly(node, False)
    OmegaConf.set_struct(node, False)


def _is_writable(node) -> bool:
    from omegaconf import OmegaConf

    return OmegaConf.is_readonly(node) is False and OmegaConf.is_struct(node) is False


class _Snapshot:
    """A template's task part, copied for each member.

    Pickled once, unpickled per member: a pickle round trip copies faster than deepcopy
    (resolver cache included), and the template never changes. What does not pickle (a
    structured config's odd type) is deep-copied instead.
    """

    def __init__(self, cfg):
        from omegaconf import OmegaConf

        self.reads_hydra = _HYDRA_RESOLVER in str(OmegaConf.to_container(cfg, resolve=False))
        self._cfg = None  # kept only for what does not pickle
        try:
            self._pickled: bytes | None = pickle.dumps(cfg, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 - any pickling problem: the slower copy is always right
            self._pickled, self._cfg = None, cfg

    def copy(self):
        if self._pickled is not None:
            return pickle.loads(self._pickled)
        return copy.deepcopy(self._cfg)


def _split(cfg) -> tuple[Any, Any]:
    """(task part, {hydra: ...}) of a composed config; the task part keeps the resolver cache."""
    from omegaconf import OmegaConf, open_dict, read_write

    hydra_cfg = OmegaConf.masked_copy(cfg, "hydra")
    task_cfg = copy.deepcopy(cfg)
    with read_write(task_cfg), open_dict(task_cfg):
        del task_cfg["hydra"]
    return task_cfg, hydra_cfg
