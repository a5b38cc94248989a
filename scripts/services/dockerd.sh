#!/usr/bin/env bash
# Ensure a Docker engine answers `docker info`.
#
# - If one already answers, it is reused (exit 0, nothing else done), whatever
#   its flags or storage driver.
# - Otherwise dockerd is started fully detached (setsid + nohup, logging to
#   /var/log/rompy-dockerd.log) with overlay2, falling back to vfs, which works on any
#   backing filesystem (no overlayfs-on-overlayfs problems in sandboxes).
# - If plain `dockerd --storage-driver=vfs` dies (e.g. no iptables/nat support
#   in a sandbox), it retries with iptables disabled, then also without the
#   default bridge. On this project's Debian 12 VM the plain flags work.
#
# Usage: scripts/services/dockerd.sh            (start / reuse)
# Environment:
#   ROMPY_DOCKERD_TIMEOUT=60             seconds to wait for the daemon
#   ROMPY_DOCKER_STORAGE_DRIVER="overlay2 vfs"  storage drivers tried, in order,
#       for a newly started daemon. vfs works everywhere but copies the whole
#       image at every container start (~5 s for the 110 MB python test image
#       on the project VM, vs ~0.6 s with overlay2, which works there as / is ext4).
#       Images are kept per driver: after switching, re-run test-images.sh.
set -euo pipefail

SELF=dockerd.sh
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LOG=/var/log/rompy-dockerd.log
PIDFILE=/var/run/docker.pid
TIMEOUT=${ROMPY_DOCKERD_TIMEOUT:-60}
# overlay2 first (a container start costs ~0.6 s instead of ~5 s), vfs when
# overlay2 cannot work (e.g. /var/lib/docker itself on overlayfs).
DRIVERS=${ROMPY_DOCKER_STORAGE_DRIVER:-overlay2 vfs}

require_root
command -v docker >/dev/null 2>&1 || die "docker CLI not found (run scripts/install-system.sh)"
require_cmds dockerd

docker_ok() { timeout 10 docker info >/dev/null 2>&1; }

# One run at a time; daemons started here get fd 9 (the lock) closed.
take_lock /run/lock/rompy-dockerd.lock 300

# Wait until docker answers, or until the dockerd $1 dies, or until $2 seconds.
# Returns 0 (answers), 1 (process died), 2 (timed out).
wait_for_docker() { wait_for "$2" --while-live "$1" dockerd docker_ok; }

docker_ok && exit 0

# A dockerd may already be starting up (e.g. started by a concurrent run):
# wait for it instead of starting a second one.
oldpid=$(live_pid_from "$PIDFILE" dockerd)
if [[ -n $oldpid ]]; then
    if wait_for_docker "$oldpid" "$TIMEOUT"; then
        exit 0
    fi
    if is_live "$oldpid" dockerd; then
        die "dockerd (pid $oldpid) is running but 'docker info' does not answer after ${TIMEOUT}s; see $LOG"
    fi
fi
# Stale pid file: its process is gone (dockerd refuses to start otherwise).
rm -f "$PIDFILE"

# dockerd runs its own containerd and records it in this pid file. After a
# dockerd was killed hard, dockerd reuses a live containerd, but if that pid is
# now a zombie (or another process) it waits 15 s for a socket that never
# answers and gives up ("timeout waiting for containerd to start").
CTRD_PID=/var/run/docker/containerd/containerd.pid
if stale_pidfile "$CTRD_PID" containerd; then
    rm -f "$CTRD_PID"
fi

mkdir -p "$(dirname "$LOG")"

# Start a throw-away container from a 2 MB image made from the host's static
# busybox. Skipped (success) when busybox-static is not installed.
probe_container() {
    local bb=/bin/busybox img=rompy-dockerd-probe:latest tmp rc=0
    [[ -x $bb ]] && busybox_is_static || return 0
    tmp=$(mktemp -d)
    cp "$bb" "$tmp/busybox"
    if tar -C "$tmp" -c busybox | docker import - "$img" >>"$LOG" 2>&1; then
        timeout 60 docker run --rm "$img" /busybox true >>"$LOG" 2>&1 || rc=$?
    else
        rc=1
    fi
    docker rmi -f "$img" >/dev/null 2>&1 || true
    rm -rf "$tmp"
    return "$rc"
}

stop_dockerd() {
    # After a SIGKILL (terminate returns 1), give it a second to be gone.
    terminate "$1" dockerd || sleep 1
    rm -f "$PIDFILE"
}

# Flag sets to try, in order: each storage driver with the normal network
# flags first, then without iptables, then without the default bridge.
FLAGSETS=()
for DRIVER in $DRIVERS; do
    FLAGSETS+=(
        "--storage-driver=$DRIVER"
        "--storage-driver=$DRIVER --iptables=false --ip6tables=false"
        "--storage-driver=$DRIVER --iptables=false --ip6tables=false --bridge=none"
    )
done

for flags in "${FLAGSETS[@]}"; do
    note "$LOG" "starting dockerd $flags"
    # shellcheck disable=SC2086  # word splitting of $flags is intended
    start_detached "$LOG" dockerd $flags
    pid=$!
    rc=0
    wait_for_docker "$pid" "$TIMEOUT" || rc=$?
    case $rc in
        0)
            # The daemon answers; containers must also be able to start with
            # these flags (bridge/iptables problems only show up at `run`).
            if probe_container; then
                note "$LOG" "dockerd (pid $pid) answers and runs containers with: $flags"
                exit 0
            fi
            note "$LOG" "containers fail to run with '$flags'; stopping dockerd, trying next flags"
            stop_dockerd "$pid"
            ;;
        1)
            note "$LOG" "dockerd with '$flags' exited; trying next flags"
            rm -f "$PIDFILE"
            ;;
        *)
            echo "$SELF: ERROR: dockerd (pid $pid, flags: $flags) still not answering after ${TIMEOUT}s" >&2
            show_log "$LOG" 30
            exit 1
            ;;
    esac
done

echo "$SELF: ERROR: dockerd failed to start with every flag set tried" >&2
show_log "$LOG" 40
exit 1
