#!/usr/bin/env bash
# Build the local Docker images rompy's tests use (no registry is reachable, so
# nothing is pulled). Images that already exist are kept as they are.
#
#   rompy-test-busybox:latest  FROM scratch + Debian's static busybox, /tmp 1777
#   rompy-test-python:latest   debootstrap minbase bookworm + python3
#   rompy-test-mpich:latest    the same + Debian's mpich (mpiexec as root works)
#   rompy-veros:latest         rompy-test-python + Veros from PyPI (plugins/rompy-veros/docker)
#
# The debootstrapped root filesystems are cached as tarballs under
# /var/cache/rompy-test-images/ (and the .debs they were made from under
# .../debs), so rebuilding an image after `docker rmi` only re-imports it.
#
# Environment:
#   ROMPY_DEBIAN_MIRROR   Debian mirror for debootstrap (default: the first
#                         bookworm mirror in the apt sources, else
#                         http://deb.debian.org/debian)
#   ROMPY_IMAGES_REBUILD=1  rebuild images (and root filesystems) even if present
set -euo pipefail

SELF=test-images.sh
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=/var/cache/rompy-test-images
SUITE=bookworm
IMAGE_PATH='/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
REBUILD=${ROMPY_IMAGES_REBUILD:-0}
# The classic builder is enough for a FROM scratch image (and needs no buildx).
export DOCKER_BUILDKIT=0

BUSYBOX_IMAGE=rompy-test-busybox:latest
PYTHON_IMAGE=rompy-test-python:latest
MPICH_IMAGE=rompy-test-mpich:latest
VEROS_IMAGE=rompy-veros:latest

# python3-minimal alone lacks much of the standard library (json, csv, ...),
# which rompy's model scripts use; libpython3-stdlib brings it (no pip, no
# dev tools, nothing else).
PYTHON_PACKAGES=python3-minimal,libpython3-stdlib
MPICH_PACKAGES=$PYTHON_PACKAGES,mpich

require_root
require_cmds docker debootstrap tar

# One run at a time. The lock is on fd 9; dockerd.sh reuses fd 9 for its own
# lock, so a dockerd it starts does not inherit this one.
take_lock /run/lock/rompy-test-images.lock 1800

# A Docker engine must answer (reuses a running one).
bash "$HERE/dockerd.sh"

WORK=$(mktemp -d /tmp/rompy-test-images.XXXXXX)
# Unmount whatever an interrupted debootstrap left mounted in its target
# (proc, sys, bind-mounted /dev nodes) before deleting: never delete through
# a mount.
# shellcheck disable=SC2317  # invoked by the trap
cleanup() {
    local m
    for _ in 1 2 3; do
        m=$(awk -v w="$WORK/" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r)
        [[ -n $m ]] || break
        while read -r mp; do umount -l "$mp" 2>/dev/null || true; done <<<"$m"
    done
    rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT

LOG=$WORK/build.log
: >"$LOG"

# Run "$@" with output to $LOG; on failure print the log tail and die.
run_logged() {
    local what=$1
    shift
    if ! "$@" >>"$LOG" 2>&1; then
        echo "$SELF: ERROR: $what failed; last lines of its output:" >&2
        tail -n 40 "$LOG" >&2
        exit 1
    fi
}

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

need_build() {
    if [[ $REBUILD == 1 ]]; then
        docker rmi -f "$1" >/dev/null 2>&1 || true
        return 0
    fi
    ! image_exists "$1"
}

# Check that `docker run --rm IMAGE ARGS...` prints exactly $expected.
check_run() {
    local image=$1 expected=$2 out
    shift 2
    if ! out=$(timeout 120 docker run --rm "$image" "$@" 2>&1); then
        docker rmi -f "$image" >/dev/null 2>&1 || true
        die "image $image built, but 'docker run --rm $image $*' failed: $out (image removed)"
    fi
    if [[ $out != "$expected" ]]; then
        docker rmi -f "$image" >/dev/null 2>&1 || true
        die "image $image: '$*' printed '$out', expected '$expected' (image removed)"
    fi
}

# First http(s) mirror in the apt sources that serves $SUITE (one-line .list
# format and deb822 .sources format), else deb.debian.org.
debian_mirror() {
    if [[ -n ${ROMPY_DEBIAN_MIRROR:-} ]]; then
        echo "$ROMPY_DEBIAN_MIRROR"
        return
    fi
    local files=() f m
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [[ -f $f ]] && files+=("$f")
    done
    m=""
    if [[ ${#files[@]} -gt 0 ]]; then
        m=$(awk -v suite="$SUITE" '
            function flush() {
                if (isdeb && hassuite && uri != "" && found == "") found = uri
                isdeb = 0; hassuite = 0; uri = ""
            }
            FNR == 1 { flush() }
            /^[[:space:]]*#/ { next }
            # one-line format: deb [opts] URI SUITE COMPONENTS...
            $1 == "deb" {
                i = 2
                if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                if ($(i + 1) == suite && found == "") found = $i
                next
            }
            # deb822 format
            /^[[:space:]]*$/ { flush(); next }
            tolower($1) == "types:" { for (j = 2; j <= NF; j++) if ($j == "deb") isdeb = 1 }
            tolower($1) == "uris:" { uri = $2 }
            tolower($1) == "suites:" { for (j = 2; j <= NF; j++) if ($j == suite) hassuite = 1 }
            END { flush(); print found }
        ' "${files[@]}")
    fi
    case $m in
        http://* | https://*) echo "${m%/}" ;;
        *) echo "http://deb.debian.org/debian" ;;
    esac
}

# Make (or reuse from the cache) a root filesystem tarball with the given
# comma-separated package list; print its path.
rootfs_tarball() {
    local name=$1 packages=$2 tarball dir mirror
    tarball=$CACHE/$name-$SUITE-minbase.tar
    # Invalidate the cache when the package list changes.
    if [[ -f $tarball && $REBUILD != 1 && $(cat "$tarball.packages" 2>/dev/null) == "$packages" ]]; then
        echo "$tarball"
        return
    fi
    mkdir -p "$CACHE/debs"
    mirror=$(debian_mirror)
    dir=$WORK/$name-root
    echo "=== debootstrap $name ($packages) from $mirror" >>"$LOG"
    run_logged "debootstrap of $name ($packages, mirror $mirror)" \
        debootstrap --variant=minbase --include="$packages" --cache-dir="$CACHE/debs" \
        "$SUITE" "$dir" "$mirror"
    # Slim the tree: with the vfs storage driver every container start copies
    # the whole image.
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* \
        "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/info/* \
        "$dir"/usr/share/locale/* "$dir"/var/log/*.log "$dir"/var/cache/debconf/*-old
    mkdir -p "$dir/tmp"
    chmod 1777 "$dir/tmp"
    local tmp
    tmp=$(mktemp "$tarball.XXXXXX.tmp")
    run_logged "packing the $name root filesystem" \
        tar --numeric-owner --xattrs -C "$dir" -cf "$tmp" .
    rm -rf --one-file-system "$dir"
    mv -f "$tmp" "$tarball"
    echo "$packages" >"$tarball.packages"
    echo "$tarball"
}

import_rootfs() {
    local tarball=$1 image=$2
    run_logged "docker import of $image" \
        docker import --change "ENV PATH=$IMAGE_PATH" "$tarball" "$image"
}

build_busybox() {
    local dir=$WORK/busybox bb=/bin/busybox
    [[ -x $bb ]] || die "$bb not found (install busybox-static)"
    busybox_is_static ||
        die "busybox-static is not installed ($bb must be statically linked)"
    mkdir -p "$dir"
    cp "$bb" "$dir/busybox"
    cat >"$dir/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN ["/bin/busybox", "sh", "-c", "mkdir -p /tmp /root /etc && chmod 1777 /tmp && echo 'root:x:0:0:root:/root:/bin/sh' > /etc/passwd && echo 'root:x:0:' > /etc/group"]
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
CMD ["sh"]
DOCKERFILE
    run_logged "docker build of $BUSYBOX_IMAGE" \
        docker build -q -t "$BUSYBOX_IMAGE" "$dir"
    # shellcheck disable=SC2016  # expanded inside the container
    check_run "$BUSYBOX_IMAGE" "0 1777 ok" \
        sh -c 'echo "$(id -u) $(stat -c %a /tmp) $(echo ok | head -n1)"'
}

build_python() {
    local tarball
    tarball=$(rootfs_tarball python "$PYTHON_PACKAGES")
    import_rootfs "$tarball" "$PYTHON_IMAGE"
    check_run "$PYTHON_IMAGE" "1" python3 -c 'print(1)'
    check_run "$PYTHON_IMAGE" "ok" python3 -c 'import json, math, csv, argparse; print("ok")'
}

build_mpich() {
    local tarball out
    tarball=$(rootfs_tarball mpich "$MPICH_PACKAGES")
    import_rootfs "$tarball" "$MPICH_IMAGE"
    check_run "$MPICH_IMAGE" "ok" python3 -c 'import json, math, csv, argparse; print("ok")'
    # Two ranks, 0 and 1, launched as root by hydra.
    if ! out=$(timeout 120 docker run --rm "$MPICH_IMAGE" \
            mpiexec -n 2 python3 -c 'import os; print(os.environ.get("PMI_RANK"))' 2>&1); then
        docker rmi -f "$MPICH_IMAGE" >/dev/null 2>&1 || true
        die "image $MPICH_IMAGE: mpiexec -n 2 failed: $out (image removed)"
    fi
    if [[ $(sort <<<"$out" | tr '\n' ' ') != "0 1 " ]]; then
        docker rmi -f "$MPICH_IMAGE" >/dev/null 2>&1 || true
        die "image $MPICH_IMAGE: mpiexec -n 2 printed '$out', expected ranks 0 and 1 (image removed)"
    fi
}

if need_build "$BUSYBOX_IMAGE"; then build_busybox; fi
if need_build "$PYTHON_IMAGE"; then build_python; fi
if need_build "$MPICH_IMAGE"; then build_mpich; fi
# The plugin's own script: Veros installed here with pip, copied onto the Python image.
if need_build "$VEROS_IMAGE"; then
    bash "$HERE/../../plugins/rompy-veros/docker/build-offline.sh" "$PYTHON_IMAGE" "$VEROS_IMAGE" >>"$LOG" 2>&1 ||
        { tail -n 40 "$LOG" >&2; die "building $VEROS_IMAGE failed"; }
fi
exit 0
