#!/usr/bin/env bash
# Install the Debian packages that rompy's tests need (Docker, SLURM with
# accounting, MPICH, debootstrap, headless Chromium and its driver for the
# sweep report's browser tests, ...). Idempotent: if every package is already
# installed, apt is not touched at all.
#
# Services are NOT started by the package install (a temporary policy-rc.d
# returning 101 blocks invoke-rc.d); scripts/services/*.sh start them.
set -euo pipefail

PACKAGES=(
    docker.io
    busybox-static
    debootstrap
    mpich
    libmpich-dev
    slurm-wlm
    slurmdbd
    munge
    mariadb-server
    psmisc
    procps
    chromium
    chromium-driver
)

die() { echo "install-system.sh: ERROR: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must be run as root"
command -v apt-get >/dev/null 2>&1 || die "apt-get not found (this script targets Debian 12)"

missing=()
for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || missing+=("$pkg")
done

if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive

# Keep maintainer scripts from starting daemons during the install. If a
# policy-rc.d already exists (common in container images) it is put back
# afterwards, untouched.
POLICY=/usr/sbin/policy-rc.d
BACKUP=""
if [[ -e $POLICY ]]; then
    BACKUP=$(mktemp /usr/sbin/.policy-rc.d.rompy-backup.XXXXXX)
    cp -p "$POLICY" "$BACKUP"
fi
restore_policy() {
    if [[ -n $BACKUP ]]; then
        mv -f "$BACKUP" "$POLICY"
    else
        rm -f "$POLICY"
    fi
}
trap restore_policy EXIT
printf '#!/bin/sh\n# rompy install-system.sh: do not start services during install\nexit 101\n' >"$POLICY"
chmod 755 "$POLICY"

log=$(mktemp /tmp/rompy-install-system.XXXXXX.log)
if ! apt-get update -qq >"$log" 2>&1; then
    cat "$log" >&2
    die "apt-get update failed (log: $log)"
fi
if ! apt-get install -y -qq --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        "${missing[@]}" >>"$log" 2>&1; then
    tail -n 50 "$log" >&2
    die "apt-get install failed for: ${missing[*]} (full log: $log)"
fi

# Verify.
for pkg in "${missing[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || die "package $pkg still not installed (log: $log)"
done
rm -f "$log"
