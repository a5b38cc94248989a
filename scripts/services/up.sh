#!/usr/bin/env bash
# Bring up every service rompy's tests use, reusing whatever already runs:
# the Docker engine, the local test images, the one-node SLURM cluster and the
# emulated many-node one beside it.
# Prints one line per service with the time it took; stops at the first
# failure (that script's own error message says what went wrong).
#
# The Debian packages must be installed first: scripts/install-system.sh.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

now() { date +%s.%N; }

step() {
    local name=$1 script=$2 t0 rc=0
    shift 2
    t0=$(now)
    bash "$HERE/$script" "$@" || rc=$?
    local took
    took=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
    if [[ $rc -ne 0 ]]; then
        echo "up.sh: $name: FAILED (exit $rc) after ${took} s" >&2
        exit "$rc"
    fi
    echo "$name: ready (${took} s)"
}

step dockerd dockerd.sh
step test-images test-images.sh
step slurm slurm.sh
step slurm-multinode slurm-multinode.sh
