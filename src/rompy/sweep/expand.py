"""Sweep overrides -> one override list per member (the cartesian product).

The same grammar and order as Hydra's basic sweeper (`a=1,2 b=x,y`, `range()`,
`hydra.sweeper.params` first, then the command line; a later value for the same
key wins), so switching sweepers never changes which members a sweep has.
"""

from __future__ import annotations


def member_overrides(config_loader, params: dict | None, arguments: list[str]) -> list[list[str]]:
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    lines = [f"{key}={value}" for key, value in (params or {}).items()]
    lines.extend(arguments)
    parser = OverridesParser.create(config_loader=config_loader)
    parsed = parser.parse_overrides(lines)
    batches = BasicSweeper.split_arguments(parsed, None)
    return [list(member) for member in batches[0]] if batches else []
