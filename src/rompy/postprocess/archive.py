"""Archive a run's outputs/ into one tar.gz or zip file beside it."""

from __future__ import annotations

import os
import tarfile
import zipfile
from typing import Literal

from pydantic import Field

from rompy.postprocess.base import PostprocessorConfig, PostprocessResult


class ArchiveConfig(PostprocessorConfig):
    """Pack `outputs/` into `<run_dir>/<run_id>-outputs.<format>`."""

    type: Literal["archive"] = "archive"
    format: Literal["tar.gz", "zip"] = Field("tar.gz", description="Archive format: tar.gz or zip.")
    remove_outputs: bool = Field(False, description="Delete outputs/ contents once archived and verified.")

    def process(self, model_run, **kwargs) -> PostprocessResult:
        outputs = model_run.outputs_dir
        if not outputs.is_dir():
            return PostprocessResult(success=False, message=f"no outputs directory at {outputs}")
        files = sorted(p for p in outputs.rglob("*") if p.is_file())
        target = model_run.run_dir / f"{model_run.run_id}-outputs.{self.format}"
        tmp = target.with_name(f".{target.name}.tmp")
        names = [str(p.relative_to(outputs.parent)) for p in files]
        if self.format == "zip":
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                for path, name in zip(files, names):
                    zf.write(path, name)
            with zipfile.ZipFile(tmp) as zf:
                ok = zf.testzip() is None and sorted(zf.namelist()) == sorted(names)
        else:
            with tarfile.open(tmp, "w:gz") as tf:
                for path, name in zip(files, names):
                    tf.add(path, name)
            with tarfile.open(tmp, "r:gz") as tf:
                ok = sorted(m.name for m in tf.getmembers() if m.isfile()) == sorted(names)
        if not ok:
            tmp.unlink(missing_ok=True)
            return PostprocessResult(success=False, message="archive verification failed")
        os.replace(tmp, target)
        if self.remove_outputs:
            for path in files:
                path.unlink()
        return PostprocessResult(
            success=True,
            message=f"archived {len(files)} files to {target.name}",
            files=[str(target)],
            data={"archive": str(target), "members": names, "bytes": target.stat().st_size},
        )
