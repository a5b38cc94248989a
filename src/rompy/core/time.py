"""TimeRange: the simulation period, written the way rompy users write it.

Dates: ISO 8601 (`2019-01-01T06:00`), compact (`20190101`, `20190101T06`, `20190101.0600`)
or a YAML date. Intervals and durations: `1h`, `30min`, `15M` and `30m` (minutes), `1d`, `2w`,
seconds, or ISO 8601 (`PT1H`, `P1DT6H`). Months and years have no fixed length, so they
are refused rather than guessed. Two of start, end and duration make a period.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_serializer, model_validator


def utcnow() -> datetime:
    """Now, in UTC, with its time zone: what every record and log line is stamped with."""
    return datetime.now(timezone.utc)


_UNITS = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "t": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "week": 604800, "weeks": 604800,
}
_CALENDAR = {"mo", "mon", "month", "months", "ms", "me", "y", "yr", "year", "years", "a", "ys", "ye"}
_INTERVAL_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)?\s*([A-Za-z]+)\s*$")
_DATE_FORMATS = ("%Y%m%d", "%Y%m%dT%H", "%Y%m%dT%H%M", "%Y%m%dT%H%M%S", "%Y%m%d.%H", "%Y%m%d.%H%M",
                 "%Y%m%d.%H%M%S", "%Y-%m-%dT%H", "%Y-%m-%dT%H%M")
_DATE_RULE = ("a date is ISO 8601 ('2019-01-01T06:00') or compact ('20190101', '20190101T06', "
              "'20190101.0600')")


def parse_interval(value: Any) -> timedelta:
    """'1H', '30min', '15M', '1D', 'PT1H', a timedelta or seconds -> timedelta (positive)."""
    if isinstance(value, timedelta):
        delta = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        delta = timedelta(seconds=value)
    elif isinstance(value, str) and value.strip().upper().startswith("P"):
        from pydantic import TypeAdapter, ValidationError

        if re.match(r"^P[^T]*[YM]", value.strip().upper()):  # P1M is a month, PT1M a minute
            raise ValueError("months and years have no fixed length; use days or weeks (e.g. 'P30D')")

        try:
            delta = TypeAdapter(timedelta).validate_python(value.strip().upper())
        except ValidationError:
            raise ValueError("not an ISO 8601 duration such as 'PT1H' or 'P1DT6H'") from None
    elif isinstance(value, str):
        match = _INTERVAL_RE.match(value)
        if not match:
            raise ValueError("not '<number><unit>' such as '1h', '30min', '1D' or 'PT1H'")
        number = float(match.group(1) or 1)
        unit = match.group(2) if match.group(2) in ("M", "m") else match.group(2).lower()
        if unit in _CALENDAR:
            raise ValueError("months and years have no fixed length; use s, min, h, d or w (e.g. '30D')")
        if unit.lower() not in _UNITS:
            raise ValueError(f"unknown unit {match.group(2)!r}; use s, min (or m, M), h, d or w")
        delta = timedelta(seconds=number * _UNITS[unit.lower()])
    else:
        raise ValueError("expected a string like '1h', a timedelta or seconds")
    if delta <= timedelta(0):
        raise ValueError("must be positive")
    return delta


def parse_date(value: Any) -> datetime:
    """A datetime from what users write; a number is never taken for a Unix timestamp."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError(f"not a date; {_DATE_RULE}")
    text = str(value).strip()
    if isinstance(value, int) and not re.fullmatch(r"\d{8}", text):
        raise ValueError(f"not a date (numbers are not read as Unix timestamps); {_DATE_RULE}")
    if text[4:5] == "-":  # ISO 8601 as written in configs: the C parser, without importing strptime's
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass  # e.g. '2019-1-1T6', which the formats below still read
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    if re.fullmatch(r"\d+(\.\d+)?", text):
        raise ValueError(f"not a date (numbers are not read as Unix timestamps); {_DATE_RULE}")
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not a date; {_DATE_RULE}") from None


class TimeRange(BaseModel):
    """A period: two of start, end and duration, stepped by interval."""

    model_config = ConfigDict(extra="forbid")

    start: datetime | None = Field(None, description="First time: ISO 8601 or compact ('20190101T06').")
    end: datetime | None = Field(None, description="Last time (or give duration instead).")
    duration: timedelta | None = Field(None, description="Length of the period: '3d', '36h', 'P1DT12H' (or give end).")
    interval: timedelta = Field(timedelta(hours=1), description="Step between the times the model is given: '1h', '15min', 'PT30M'.")
    include_end: bool = Field(True, description="Whether the end time is one of the steps.")

    @field_validator("start", "end", mode="before")
    @classmethod
    def _date(cls, value):
        return None if value is None else parse_date(value)

    @field_validator("interval", mode="before")
    @classmethod
    def _interval(cls, value):
        return parse_interval(value)

    @field_validator("duration", mode="before")
    @classmethod
    def _duration(cls, value):
        return None if value is None else parse_interval(value)

    @model_validator(mode="after")
    def _two_of_three(self):
        given = [name for name in ("start", "end", "duration") if getattr(self, name) is not None]
        if len(given) < 2:
            raise ValueError("give two of start, end and duration")
        if self.start is not None and self.end is not None and \
                (self.start.tzinfo is None) != (self.end.tzinfo is None):
            zoned, naive = ("start", "end") if self.start.tzinfo is not None else ("end", "start")
            raise ValueError(f"{zoned} has a time zone and {naive} has none; give both one "
                             f"(e.g. '+00:00' or 'Z') or neither")
        if self.start is None:
            self.start = self.end - self.duration
        elif self.end is None:
            self.end = self.start + self.duration
        elif self.duration is None:
            self.duration = self.end - self.start
        elif self.start + self.duration != self.end:
            raise ValueError("end and duration disagree; give one of them")
        if self.end < self.start:
            raise ValueError("end is before start")
        return self

    @model_serializer(mode="wrap")
    def _without_redundant_duration(self, handler):
        """start and end say it all: duration is left out (as upstream rompy writes a period)."""
        data = handler(self)
        if self.start is not None and self.end is not None:
            data.pop("duration", None)
        return data

    @property
    def date_range(self) -> list[datetime]:
        """Every time from start to end, `interval` apart (end included if it falls on a step and include_end)."""
        times, current = [], self.start
        while current < self.end or (self.include_end and current == self.end):
            times.append(current)
            current += self.interval
        return times

    def contains(self, when: datetime) -> bool:
        return self.start <= when <= self.end if self.include_end else self.start <= when < self.end

    __contains__ = contains

    def contains_range(self, other: "TimeRange") -> bool:
        return self.contains(other.start) and self.contains(other.end)

    def common_times(self, other: "TimeRange") -> list[datetime]:
        return [when for when in self.date_range if other.contains(when)]
