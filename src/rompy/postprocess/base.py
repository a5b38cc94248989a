"""The postprocessor contract.

A postprocessor is anything with `process(model_run, **kwargs)` returning a dict
or a `PostprocessResult`. Configs validated by rompy subclass
`PostprocessorConfig`; a plain user object with a `process` method works as well
when passed to `ModelRun.postprocess`. Named numbers it returns under `metrics`
go into the run record, where `rompy runs`, `diff`, the sweep summary and report show them.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from rompy._pluggable import PluggableConfig


class PostprocessResult(BaseModel):
    """What a built-in postprocessor returns; user processors may return a plain dict."""

    model_config = ConfigDict(defer_build=True)

    success: bool = True
    message: str = ""
    files: list[str] = Field(default_factory=list)
    data: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, float] = Field(default_factory=dict)


class PostprocessorConfig(PluggableConfig):
    kind: ClassVar[str] = "postprocessor"
    #: True for a postprocessor that only looks at the run and returns at once (noop). A
    #: pipeline then writes the run's end into the record together with its result: one write
    #: per run instead of two, which a sweep of many members on a shared filesystem notices.
    #: A postprocessor that works (plots, archives) leaves it False, so that the record says
    #: how the model ended while it works.
    quick: ClassVar[bool] = False

    fail_run: bool = Field(True, description="A failure of this postprocessor fails the run (exit 1).")

    def process(self, model_run, **kwargs) -> PostprocessResult | dict[str, Any]:  # pragma: no cover
        raise NotImplementedError(f"{type(self).__name__} does not implement process()")


def result_as_dict(result: Any) -> dict[str, Any]:
    """Normalise a processor's return value for the run record."""
    if isinstance(result, PostprocessResult):
        return result.model_dump(mode="json")
    if hasattr(result, "model_dump"):
        return result.model_dump(mode="json")
    if isinstance(result, dict):
        return result
    raise TypeError(
        f"a postprocessor must return a dict or PostprocessResult, got {type(result).__name__}"
    )


def metrics_of(result: dict[str, Any]) -> tuple[dict[str, float], list[str]]:
    """The finite real numbers under the result's `metrics`, and a note for each entry left out.

    A bad entry is the postprocessor's bug, not the run's failure: it is left out and named.
    """
    import math

    raw = result.get("metrics")
    if raw is None:
        return {}, []
    if not isinstance(raw, dict):
        return {}, [f"metrics: expected a mapping of names to numbers, got {type(raw).__name__}"]
    metrics, problems = {}, []
    for name, value in raw.items():
        number = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
        if number is None or not math.isfinite(number):
            problems.append(f"metrics.{name}: {value!r} is not a finite number")
        else:
            metrics[str(name)] = number
    return metrics, problems


def result_succeeded(result: dict[str, Any]) -> bool:
    """A processor failed when it says success: false (or status 'failed')."""
    if result.get("success") is False:
        return False
    return result.get("status") not in ("failed", "error")
