"""The built-in demo model: linear wave dispersion, computed by a standalone script.

The script (`wave_dispersion.py`) uses only the standard library, so the same
model runs unchanged locally and in any container image that has python3.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from rompy.config import ModelConfig

SCRIPT = Path(__file__).with_name("wave_dispersion.py")


def _positive_list(value: Any, name: str) -> list[float]:
    items = value if isinstance(value, (list, tuple)) else [value]
    if not items:
        raise ValueError(f"{name} needs at least one value")
    out = []
    for item in items:
        if isinstance(item, bool):
            raise ValueError(f"{name} must be positive numbers, got a boolean")
        try:
            number = float(item)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be positive numbers (metres or seconds), got {item!r}") from None
        if not number > 0 or number != number:
            raise ValueError(f"{name} must be positive numbers, got {item!r}")
        out.append(number)
    return out


class DemoModelConfig(ModelConfig):
    """Wavelength, phase and group speed for each depth and wave period."""

    type: Literal["demo"] = "demo"
    depths: list[float] = Field([10.0, 20.0, 50.0], description="Water depths in metres (a number or a list).")
    periods: list[float] = Field([5.0, 10.0], description="Wave periods in seconds (a number or a list).")
    g: float = Field(9.81, gt=0, description="Gravitational acceleration in m/s².")

    @field_validator("depths", mode="before")
    @classmethod
    def _depths(cls, value):
        return _positive_list(value, "depths")

    @field_validator("periods", mode="before")
    @classmethod
    def _periods(cls, value):
        return _positive_list(value, "periods")

    def render_input(self, context: dict[str, Any]) -> str:
        document = {
            "depths": self.depths,
            "periods": self.periods,
            "g": self.g,
            "output": "outputs/dispersion.csv",
            **context,
        }
        return json.dumps(document, indent=2, default=str) + "\n"

    def stage(self, run_dir: Path) -> None:
        shutil.copy2(SCRIPT, run_dir / SCRIPT.name)

    def model_command(self) -> list[str]:
        return ["python3", SCRIPT.name, "INPUT"]
