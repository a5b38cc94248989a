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

LOG=/var/log/rompy-dockerd.log
PIDFILE=/var/run/docker.pid
TIMEOUT=${ROMPY_DOCKERD_TIMEOUT:-60}
# overlay2 first (a container start costs ~0.6 s instead of ~5 s), vfs when
# overlay2 cannot work (e.g. /var/lib/docker itself on overlayfs).
DRIVERS=${ROMPY_DOCKER_STORAGE_DRIVER:-overlay2 vfs}

die() { echo "dockerd.sh: ERROR: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must be run as root"
command -v docker >/dev/null 2>&1 || die "docker CLI not found (run scripts/install-system.sh)"
command -v dockerd >/dev/null 2>&1 || die "dockerd not found (run scripts/install-system.sh)"

docker_ok() { timeout 10 docker info >/dev/null 2>&1; }

# One run at a time (parallel test workers may call this script together).
# The lock is on fd 9, which every daemon started here gets closed (9>&-) so
# that it does not keep the lock for its whole life.
LOCK=/run/lock/rompy-dockerd.lock
mkdir -p /run/lock
exec 9>>"$LOCK"
if ! flock -w 300 9; then
    die "another dockerd.sh run still holds $LOCK after 300 s"
fi

# Is $1 a live (not zombie) process whose command name is $2?
is_live() {
    local pid=$1 name=$2 stat
    [[ -n $pid && -d /proc/$pid ]] || return 1
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$name" ]] || return 1
    # State is the field after the parenthesised command name.
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat%% *} != Z ]]
}
is_dockerd() { is_live "$1" dockerd; }

# Wait until docker answers, or until the process $1 dies, or until $2 seconds.
# Returns 0 (answers), 1 (process died), 2 (timed out).
wait_for_docker() {
    local pid=$1 limit=$2 start=$SECONDS
    while ((SECONDS - start < limit)); do
        docker_ok && return 0
        is_dockerd "$pid" || { docker_ok && return 0; return 1; }
        sleep 1
    done
    docker_ok && return 0
    return 2
}

docker_ok && exit 0

# A dockerd may already be starting up (e.g. started by a concurrent run):
# wait for it instead of starting a second one.
if [[ -f $PIDFILE ]]; then
    oldpid=$(tr -dc '0-9' <"$PIDFILE" || true)
    if is_dockerd "$oldpid"; then
        if wait_for_docker "$oldpid" "$TIMEOUT"; then
            exit 0
        fi
        if is_dockerd "$oldpid"; then
            die "dockerd (pid $oldpid) is running but 'docker info' does not answer after ${TIMEOUT}s; see $LOG"
        fi
    fi
    # Stale pid file: its process is gone (dockerd refuses to start otherwise).
    rm -f "$PIDFILE"
fi

# dockerd runs its own containerd and records it in this pid file. After a
# dockerd was killed hard, dockerd reuses a live containerd, but if that pid is
# now a zombie (or another process) it waits 15 s for a socket that never
# answers and gives up ("timeout waiting for containerd to start").
CTRD_PID=/var/run/docker/containerd/containerd.pid
if [[ -f $CTRD_PID ]]; then
    cpid=$(tr -dc '0-9' <"$CTRD_PID" || true)
    if ! is_live "$cpid" containerd; then
        rm -f "$CTRD_PID"
    fi
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

# /bin/busybox is static (runnable in an empty image) when busybox-static
# provides it; the dynamically linked `busybox` package would not be.
busybox_is_static() {
    [[ $(dpkg-query -W -f='${Status}' busybox-static 2>/dev/null || true) == "install ok installed" ]]
}

stop_dockerd() {
    local pid=$1
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 30); do
        is_dockerd "$pid" || break
        sleep 1
    done
    if is_dockerd "$pid"; then
        kill -KILL "$pid" 2>/dev/null || true
        sleep 1
    fi
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
    {
        echo "=== $(date -Is) rompy dockerd.sh: starting dockerd $flags"
    } >>"$LOG"
    # shellcheck disable=SC2086  # word splitting of $flags is intended
    setsid nohup dockerd $flags >>"$LOG" 2>&1 </dev/null 9>&- &
    pid=$!
    rc=0
    wait_for_docker "$pid" "$TIMEOUT" || rc=$?
    case $rc in
        0)
            # The daemon answers; containers must also be able to start with
            # these flags (bridge/iptables problems only show up at `run`).
            if probe_container; then
                echo "=== $(date -Is) rompy dockerd.sh: dockerd (pid $pid) answers and runs containers with: $flags" >>"$LOG"
                exit 0
            fi
            echo "=== $(date -Is) rompy dockerd.sh: containers fail to run with '$flags'; stopping dockerd, trying next flags" >>"$LOG"
            stop_dockerd "$pid"
            ;;
        1)
            echo "=== $(date -Is) rompy dockerd.sh: dockerd with '$flags' exited; trying next flags" >>"$LOG"
            rm -f "$PIDFILE"
            ;;
        *)
            echo "dockerd.sh: ERROR: dockerd (pid $pid, flags: $flags) still not answering after ${TIMEOUT}s" >&2
            echo "--- last lines of $LOG:" >&2
            tail -n 30 "$LOG" >&2
            exit 1
            ;;
    esac
done

echo "dockerd.sh: ERROR: dockerd failed to start with every flag set tried" >&2
echo "--- last lines of $LOG:" >&2
tail -n 40 "$LOG" >&2
exit 1
