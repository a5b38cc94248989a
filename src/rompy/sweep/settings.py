"""The `sweep:` block of the configuration: how a multirun treats its members.

It lives in RunConfig (so a typo such as `sweep.fail_fats=true` is refused like any
other key) but only the sweep reads it; a single run ignores it. Launcher-specific
knobs (cores, partition, ...) live under `hydra.launcher`, where Hydra expects them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from rompy.base import StrictModel


class SweepConfig(StrictModel):
    """Failure policy, resume and progress display of a multirun (`-m`)."""

    fail_fast: bool = Field(
        False, description="Stop at the first failed member (running members are stopped, the rest not started)."
    )
    resume: bool = Field(
        False,
        description="Skip members that succeeded in an earlier run of the same sweep directory; "
        "run the others again, replacing their run directories.",
    )
    progress: Literal["auto", "live", "plain", "off"] = Field(
        "auto", description="'auto': a live line on a terminal, plain lines otherwise."
    )
