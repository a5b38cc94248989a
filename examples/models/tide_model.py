"""A model of your own: a harmonic tide at a point, written as a rompy model class.

It keeps rompy's model contract (docs/plugins.md, "A model"): `render` returns the files
the run directory gets, `model_command` the program that runs there. Select it with
`type: "tide_model:TideConfig"` in a config group (this folder on PYTHONPATH), or register
it under the `rompy.models` entry point of your package.
"""

from __future__ import annotations

import json

from pydantic import Field

from rompy.config import ModelConfig, RenderedFile, Runtime

PROGRAM = '''\
import json, math
settings = json.load(open("tide.json"))
omega = 2 * math.pi / (settings["period_h"] * 3600)
rows = ["time,elevation_m"] + [f"{t},{settings['amplitude_m'] * math.cos(omega * s):.3f}"
                               for t, s in zip(settings["times"], settings["seconds"])]
open("outputs/tide.csv", "w").write("\\n".join(rows) + "\\n")
print(f"tide: {len(rows) - 1} elevations, range {2 * settings['amplitude_m']:.2f} m")
'''


class TideConfig(ModelConfig):
    """A harmonic tide: elevation = amplitude * cos(2 pi t / period) at every time of the period."""

    type: str = "tide_model:TideConfig"
    amplitude_m: float = Field(1.0, gt=0, description="Tidal amplitude in metres.")
    period_h: float = Field(12.42, gt=0, description="Tidal period in hours (M2: 12.42).")

    def render(self, runtime: Runtime) -> dict[str, str | RenderedFile]:
        times = runtime.period.date_range
        settings = {"amplitude_m": self.amplitude_m, "period_h": self.period_h,
                    "times": [t.isoformat() for t in times],
                    "seconds": [(t - runtime.period.start).total_seconds() for t in times]}
        return {"tide.json": json.dumps(settings, indent=1), "tide.py": RenderedFile(PROGRAM, executable=True)}

    def model_command(self) -> list[str]:
        return ["python3", "tide.py"]
