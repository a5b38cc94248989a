"""Hardening tests record figures with the `figures` fixture from tests/conftest.py."""
