#!/usr/bin/env bash
# Build rompy-veros:latest without a registry: this machine's pip installs Veros into a folder
# that is copied onto a local Python image of the same minor version (no base image is pulled;
# PyPI, or pip's cache, is the only source). The test set-up runs it (scripts/services/test-images.sh).
#
#   bash plugins/rompy-veros/docker/build-offline.sh [BASE_IMAGE] [TAG]
#   (defaults: rompy-test-python:latest rompy-veros:latest)
set -euo pipefail
BASE=${1:-rompy-test-python:latest}
TAG=${2:-rompy-veros:latest}
VEROS=${ROMPY_VEROS_REQUIREMENT:-veros>=1.5,<2}
VERSION='import sys; print("%d.%d" % sys.version_info[:2])'

theirs=$(docker run --rm "$BASE" python3 -c "$VERSION")
ours=$(python3 -c "$VERSION")
if [[ $theirs != "$ours" ]]; then
    echo "build-offline.sh: $BASE has Python $theirs, this machine $ours: the packages pip installs here" \
        "would not load there (use the Dockerfile beside this script on a machine with network)" >&2
    exit 1
fi

WORK=$(mktemp -d /tmp/rompy-veros-image.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
LOG=$WORK/build.log
logged() {  # run "$@" into the log; on failure show its end
    if ! "$@" >>"$LOG" 2>&1; then
        echo "build-offline.sh: $1 failed; last lines of its output:" >&2
        tail -n 30 "$LOG" >&2
        exit 1
    fi
}
# Compiled (.pyc) as pip installs them: containers start from ready bytecode, never compiling.
logged python3 -m pip install --disable-pip-version-check --no-warn-script-location --target "$WORK/site" "$VEROS"
rm -rf "$WORK/site/bin"   # console scripts point at this machine's Python: run python3 -m / -c instead
cat >"$WORK/Dockerfile" <<DOCKERFILE
FROM $BASE
COPY site /opt/veros
ENV PYTHONPATH=/opt/veros
DOCKERFILE
DOCKER_BUILDKIT=0 logged docker build -q -t "$TAG" "$WORK"
if ! out=$(docker run --rm "$TAG" python3 -c 'import veros.cli.veros_run, h5py, scipy; print("ok")' 2>&1) \
        || [[ $out != ok ]]; then
    docker rmi -f "$TAG" >/dev/null 2>&1 || true
    echo "build-offline.sh: $TAG built, but Veros does not import in it: $out (image removed)" >&2
    exit 1
fi
echo "build-offline.sh: built $TAG (Veros on Python $ours, from $BASE)"
