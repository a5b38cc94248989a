#!/usr/bin/env bash
# Install rompy from this checkout with its test dependencies, the plugin packages
# under plugins/ (rompy-veros: the Veros ocean model), plus the Debian packages the
# tests need (Docker engine, SLURM, MPICH, debootstrap). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $(id -u) -eq 0 ]]; then
    bash scripts/install-system.sh
else
    echo "install.sh: not root: skipping Debian packages (run 'sudo bash scripts/install-system.sh')" >&2
fi
python3 -m pip install --quiet --disable-pip-version-check -e ".[test]"
# Plugins after rompy: each depends on it, and pip must find it installed, not on PyPI.
python3 -m pip install --quiet --disable-pip-version-check -e plugins/rompy-veros
