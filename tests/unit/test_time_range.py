"""TimeRange takes what rompy's users write, and never reads a date as a Unix timestamp."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from pydantic import BaseModel, ValidationError

from rompy.core.time import TimeRange


@pytest.mark.parametrize("text,expected", [
    ("20190101", datetime(2019, 1, 1)),
    ("20190101T06", datetime(2019, 1, 1, 6)),
    ("20190101T0630", datetime(2019, 1, 1, 6, 30)),
    ("20190101.063000", datetime(2019, 1, 1, 6, 30)),
    ("2019-01-01T06", datetime(2019, 1, 1, 6)),
    ("2019-01-01T06:30:00", datetime(2019, 1, 1, 6, 30)),
    (20190101, datetime(2019, 1, 1)),  # YAML reads an unquoted 20190101 as a number
])
def test_dates_as_users_write_them(text, expected):
    assert TimeRange(start=text, duration="1d").start == expected


@pytest.mark.parametrize("value", ["20190101", 20190101])
def test_a_compact_date_is_never_a_unix_timestamp(value):
    assert TimeRange(start=value, duration="1d").start.year == 2019


@pytest.mark.parametrize("value", [1546300800, "1546300800", 2019.5, "12345", True])
def test_numbers_that_are_not_dates_are_refused(value):
    with pytest.raises(ValidationError, match="not a date"):
        TimeRange(start=value, duration="1d")


@pytest.mark.parametrize("text,expected", [
    ("15M", timedelta(minutes=15)), ("30m", timedelta(minutes=30)), ("30min", timedelta(minutes=30)),
    ("1H", timedelta(hours=1)), ("1D", timedelta(days=1)), ("2w", timedelta(weeks=2)), ("15s", timedelta(seconds=15)),
    ("PT1H", timedelta(hours=1)), ("PT30M", timedelta(minutes=30)), ("P1DT6H", timedelta(days=1, hours=6)),
    (3600, timedelta(hours=1)), (timedelta(minutes=5), timedelta(minutes=5)),
])
def test_intervals_and_durations_as_users_write_them(text, expected):
    period = TimeRange(start="20190101", duration=text, interval=text)
    assert period.interval == expected and period.duration == expected


@pytest.mark.parametrize("text", ["1mo", "1month", "1y", "2 years", "0h", "-1h", "P1M", "soon"])
def test_calendar_and_nonsense_intervals_are_refused(text):
    with pytest.raises(ValidationError):
        TimeRange(start="20190101", duration="1d", interval=text)


def test_two_of_start_end_and_duration_make_a_period():
    assert TimeRange(end="20190102", duration="1d").start == datetime(2019, 1, 1)
    assert TimeRange(start="20190101", end="20190103").duration == timedelta(days=2)
    assert TimeRange(start="20190101", end="20190102", duration="1d").end == datetime(2019, 1, 2)
    for kwargs in ({"start": "20190101"}, {"duration": "1d"}, {"start": "20190101", "end": "20190102",
                                                               "duration": "2d"}):
        with pytest.raises(ValidationError):
            TimeRange(**kwargs)


def test_a_period_with_one_time_zone_is_refused_in_words():
    """It raised Python's "can't subtract offset-naive and offset-aware datetimes"."""
    with pytest.raises(ValidationError, match="start has a time zone and end has none"):
        TimeRange(start="2020-01-01T00:00+10:00", end="2020-01-02")
    with pytest.raises(ValidationError, match="end has a time zone and start has none"):
        TimeRange(start="2020-01-01", end="2020-01-02T00:00Z")
    both = TimeRange(start="2020-01-01T00:00+10:00", end="2020-01-02T00:00Z")
    assert both.duration == timedelta(hours=34)


def test_duration_is_left_out_when_start_and_end_say_it_also_nested():
    period = TimeRange(start="20190101", duration="1d", interval="6h")
    assert "duration" not in period.model_dump() and "duration" not in period.model_dump(mode="json")

    class Run(BaseModel):
        period: TimeRange

    dumped = Run(period=period).model_dump(mode="json")
    assert set(dumped["period"]) == {"start", "end", "interval", "include_end"}
    assert TimeRange.model_validate(dumped["period"]) == period  # and it reads back


def test_the_times_to_loop_over():
    period = TimeRange(start="20190101", duration="1d", interval="6h")
    assert period.date_range == [datetime(2019, 1, 1, h) for h in (0, 6, 12, 18)] + [datetime(2019, 1, 2)]
    assert period.contains(datetime(2019, 1, 1, 12)) and datetime(2019, 1, 3) not in period
    later = TimeRange(start="20190101T12", duration="1d", interval="6h")
    assert period.common_times(later) == [datetime(2019, 1, 1, 12), datetime(2019, 1, 1, 18), datetime(2019, 1, 2)]


def test_iso_dates_are_read_without_strptime():
    """Dates as configs write them go through the C parser: a run's start-up does not import strptime's module."""
    import subprocess
    import sys

    code = ("import sys; from rompy.core.time import TimeRange; "
            "TimeRange(start='2020-02-21T04:00:00', duration='1d'); TimeRange(start='2019-01-01T06', end='2019-01-02'); "
            "print('_strptime' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
