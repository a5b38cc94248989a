"""Run folders and sweeps for the tests of `rompy runs / show / diff / sweeps / report`."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.sweeps import Sweep

# A user's postprocessor that records metrics, and fails for deep members (a failure to find).
TRANSPORT = '''\
from rompy.postprocess.base import PostprocessorConfig


class Transport(PostprocessorConfig):
    type: str = "transport:Transport"

    def process(self, model_run, **kwargs):
        depth = model_run.config.depths[0]
        if depth > 40:
            return {"success": False, "message": f"transport undefined below 40 m (depth {depth:g})"}
        return {"success": True, "metrics": {"transport_sv": depth * 2.5, "max_speed_m_s": depth ** 0.5}}
'''


def record(output: Path, run_id: str, **fields) -> Path:
    """A run folder holding a record with `fields` (written through RecordStore, as rompy writes it)."""
    from rompy.record import RecordStore, RunRecord

    run_dir = output / run_id
    (run_dir / "logs").mkdir(parents=True, exist_ok=True)
    fields.setdefault("config", {"run_id": run_id, "backend": {"type": "local"}, "model": {"type": "demo"}})
    RecordStore(run_dir).save(RunRecord(run_id=run_id, run_dir=str(run_dir), **fields))
    return run_dir


def transport_sweep(root: Path, depths: str = "[10],[20],[30],[50]", name: str = "sweep") -> Sweep:
    """A finished sweep over model.depths whose members record metrics; members deeper than 40 m fail."""
    (root / "transport.py").write_text(TRANSPORT)
    sweep = Sweep(root, name)
    proc = sweep.run(f"model.depths={depths}", "postprocessor.type=transport:Transport")
    assert proc.returncode in (0, 1), proc.stderr
    return sweep
