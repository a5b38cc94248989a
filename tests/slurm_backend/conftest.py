"""Fixtures of the SLURM backend tests."""

from __future__ import annotations

import pytest

from tests.helpers.slurm import Run


@pytest.fixture
def slurm_run(tmp_path) -> Run:
    """A `backend=slurm` run in this test's own folder."""
    return Run(tmp_path)
