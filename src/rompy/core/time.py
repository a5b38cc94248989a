"""TimeRange: the simulation period, written the way rompy users write it.

Intervals are fixed-length (seconds to weeks). Months and years have no fixed
length, so they are refused rather than guessed.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

def utcnow() -> datetime:
    """Now, in UTC, with its time zone: what every record and log line is stamped with."""
    return datetime.now(timezone.utc)


_UNITS = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "t": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "week": 604800, "weeks": 604800,
}
_CALENDAR = {"m", "mo", "mon", "month", "months", "ms", "me", "y", "yr", "year", "years", "a", "ys", "ye"}
_INTERVAL_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)?\s*([A-Za-z]+)\s*$")


def parse_interval(value: Any) -> timedelta:
    """'1H', '30min', '1D', '15s', '2w', a timedelta or seconds -> timedelta."""
    if isinstance(value, timedelta):
        delta = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        delta = timedelta(seconds=value)
    elif isinstance(value, str):
        match = _INTERVAL_RE.match(value)
        if not match:
            raise ValueError(f"interval {value!r} is not '<number><unit>' such as '1h', '30min', '1D'")
        number = float(match.group(1) or 1)
        unit = match.group(2).lower()
        if unit in _CALENDAR:
            raise ValueError(
                f"interval {value!r}: months and years have no fixed length; "
                "use s, min, h, d or w (e.g. '30D')"
            )
        if unit not in _UNITS:
            raise ValueError(f"interval {value!r}: unknown unit {match.group(2)!r}; use s, min, h, d or w")
        delta = timedelta(seconds=number * _UNITS[unit])
    else:
        raise ValueError(f"interval must be a string like '1h', a timedelta or seconds, got {value!r}")
    if delta <= timedelta(0):
        raise ValueError("interval must be positive")
    return delta


class TimeRange(BaseModel):
    """A period from `start` to `end` (or `start` + `duration`) stepped by `interval`."""

    model_config = ConfigDict(extra="forbid")

    start: datetime
    end: datetime | None = None
    duration: timedelta | None = None
    interval: timedelta = timedelta(hours=1)
    include_end: bool = True

    @field_validator("interval", mode="before")
    @classmethod
    def _interval(cls, value):
        return parse_interval(value)

    @field_validator("duration", mode="before")
    @classmethod
    def _duration(cls, value):
        return None if value is None else parse_interval(value)

    @model_validator(mode="after")
    def _end_from_duration(self):
        if self.end is None and self.duration is None:
            raise ValueError("give either end or duration")
        if self.end is None:
            self.end = self.start + self.duration
        elif self.duration is None:
            self.duration = self.end - self.start
        elif self.start + self.duration != self.end:
            raise ValueError("end and duration disagree; give one of them")
        if self.end < self.start:
            raise ValueError("end is before start")
        return self

    @property
    def date_range(self) -> list[datetime]:
        times, current = [], self.start
        while current < self.end or (self.include_end and current == self.end):
            times.append(current)
            current += self.interval
        return times

    def __contains__(self, when: datetime) -> bool:
        return self.start <= when <= self.end if self.include_end else self.start <= when < self.end
