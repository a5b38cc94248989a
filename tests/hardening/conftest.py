"""Hardening tests: figures via `figures` (tests/conftest.py); the Docker engine fixture is shared."""

from tests.docker.conftest import docker_client  # noqa: F401 - re-exported fixture
