"""Fixtures of the many-node cluster tests."""

from __future__ import annotations

import pytest

from tests.helpers.sweeps import Sweep


@pytest.fixture
def sweep(tmp_path) -> Sweep:
    """A `Sweep` in this test's own folder."""
    return Sweep(tmp_path)
