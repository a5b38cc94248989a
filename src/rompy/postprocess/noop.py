"""The default postprocessor: reports the run's outputs without touching them."""

from __future__ import annotations

from typing import ClassVar, Literal

from rompy.postprocess.base import PostprocessorConfig, PostprocessResult


class NoopConfig(PostprocessorConfig):
    """Do nothing to the outputs; list them in the record."""

    type: Literal["noop"] = "noop"
    quick: ClassVar[bool] = True

    def process(self, model_run, **kwargs) -> PostprocessResult:
        outputs = model_run.outputs_dir
        files = sorted(str(p.relative_to(outputs)) for p in outputs.rglob("*") if p.is_file()) if outputs.is_dir() else []
        return PostprocessResult(success=True, message="no postprocessing", data={"outputs": files})
