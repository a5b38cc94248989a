#!/usr/bin/env bash
# Run rompy's whole test suite. Brings up what the tests need first: a Docker
# engine (reused if one answers), the locally built test images, a one-node
# SLURM cluster with accounting and, beside it, an emulated 100-node one (each
# reused if it answers). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
for service in dockerd test-images slurm slurm-multinode; do
    started=$(date +%s)
    bash "scripts/services/${service}.sh"
    echo "test.sh: ${service} ready in $(( $(date +%s) - started )) s"
done
rm -rf build/reliability
status=0
python3 -m pytest -n 4 --timeout=900 "$@" || status=$?
python3 scripts/reliability_report.py || true
exit "$status"
