# shellcheck shell=bash
# Helpers shared by scripts/services/{dockerd,slurm,test-images}.sh. Sourced,
# not run; each script names itself first (the name prefixes its messages):
#
#   SELF=slurm.sh
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# fd 9 carries the script's lock (take_lock); start_detached closes it in every
# daemon it starts, so that a daemon does not hold the lock for its whole life.

: "${SELF:?set SELF (the script name) before sourcing lib.sh}"

# Fail with the script's name in front, so a test log says which service broke.
die() {
    echo "$SELF: ERROR: $*" >&2
    exit 1
}

# Daemons, pid files and /run/lock need root: say so up front, not halfway.
require_root() {
    [[ $(id -u) -eq 0 ]] || die "must be run as root"
}

# A missing command means the Debian packages are missing: say which script installs them.
require_cmds() {
    local cmd
    for cmd in "$@"; do
        command -v "$cmd" >/dev/null 2>&1 || die "$cmd not found (run scripts/install-system.sh)"
    done
}

# One run at a time (parallel test workers may call a script together): hold lock file $1 on fd 9 until exit, waiting at most $2 s.
take_lock() {
    LOCK=$1
    mkdir -p "$(dirname "$LOCK")"
    exec 9>>"$LOCK"
    if ! flock -w "$2" 9; then
        die "another $SELF run still holds $LOCK after $2 s"
    fi
}

# Is $1 a live (not zombie) process named $2? Killed daemons linger as zombies and pids get reused, so /proc/$1 alone proves nothing.
# A thread id is no process: /proc/<tid> exists too, and once ids wrap, a stale pid file can name a thread of another daemon.
is_live() {
    local pid=$1 name=$2 stat
    [[ -n $pid && -d /proc/$pid ]] || return 1
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$name" ]] || return 1
    [[ $(awk '$1 == "Tgid:" {print $2}' "/proc/$pid/status" 2>/dev/null) == "$pid" ]] || return 1
    # State is the field after the parenthesised command name.
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat%% *} != Z ]]
}

# Pid in pid file $1 if that process is a live $2, else nothing: tells a running daemon from a pid file left by one killed hard.
# With $3, the process must also be a SLURM daemon reading that slurm.conf (two clusters run the same daemons side
# by side), and with $4 the emulated node it serves (`slurmd -N <node>`: a hundred of them share one conf).
live_pid_from() {
    local pid
    [[ -f $1 ]] || return 0
    pid=$(tr -dc '0-9' 2>/dev/null <"$1" || true)
    is_live "$pid" "$2" || return 0
    [[ -z ${3:-} || $(slurm_option_of "$pid" -f) == "$3" ]] || return 0
    [[ -z ${4:-} || $(slurm_option_of "$pid" -N) == "$4" ]] || return 0
    echo "$pid"
}

# The value of option $2 (-f: the slurm.conf, -N: the node name) in the command line of SLURM daemon $1.
# Without -f a daemon reads its SLURM_CONF, else SLURM's default; without -N, nothing.
slurm_option_of() {
    local arg prev="" value=""
    if [[ -r /proc/$1/cmdline ]]; then
        while IFS= read -r -d '' arg; do
            [[ $prev == "$2" ]] && value=$arg
            prev=$arg
        done 2>/dev/null <"/proc/$1/cmdline"
    fi
    if [[ $2 == -f && -z $value ]]; then
        value=$(tr '\0' '\n' <"/proc/$1/environ" 2>/dev/null | sed -n 's/^SLURM_CONF=//p' | head -n1)
        value=${value:-/etc/slurm/slurm.conf}
    fi
    echo "$value"
}

# Is pid file $1 stale (present, but its pid is no live process named $2, $3, ...)? Daemons refuse to start, or wait for a dead peer, while one is left.
stale_pidfile() {
    local file=$1 pid name
    shift
    [[ -f $file ]] || return 1
    pid=$(tr -dc '0-9' 2>/dev/null <"$file" || true)
    for name in "$@"; do
        is_live "$pid" "$name" && return 1
    done
    return 0
}

# Stop process $1 (named $2): SIGTERM, up to 30 s to exit, then SIGKILL; returns 1 when SIGKILL was needed. A stuck daemon must not block a restart.
terminate() {
    local pid=$1 name=$2
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 30); do
        is_live "$pid" "$name" || break
        sleep 1
    done
    if is_live "$pid" "$name"; then
        kill -KILL "$pid" 2>/dev/null || true
        return 1
    fi
    return 0
}

# Daemons answer a while after they start: poll "$@" (quietly) once a second for up to $1 s; 0 = it succeeded, 2 = timed out, 1 = with `--while-live PID NAME` first, that process died.
wait_for() {
    local limit=$1 pid="" name="" start=$SECONDS
    shift
    if [[ ${1:-} == --while-live ]]; then
        pid=$2 name=$3
        shift 3
    fi
    until "$@" >/dev/null 2>&1; do
        ((SECONDS - start < limit)) || return 2
        if [[ -n $name ]] && ! is_live "$pid" "$name"; then
            # It may have answered just before exiting (e.g. it daemonized).
            "$@" >/dev/null 2>&1 && return 0
            return 1
        fi
        sleep 1
    done
}

# Start "$@" fully detached (own session, no stdin, immune to the caller's hangup) with output appended to $1 and the lock fd 9 closed; $! is its pid.
start_detached() {
    local log=$1
    shift
    setsid nohup "$@" >>"$log" 2>&1 </dev/null 9>&- &
}

# Append a timestamped line about this run to daemon log $1, so its output can be told apart per start attempt.
note() {
    local log=$1
    shift
    echo "=== $(date -Is) rompy $SELF: $*" >>"$log"
}

# Print the last $2 (default 20) lines of log $1 to stderr, if it exists: the failure message alone rarely says why a daemon did not come up.
show_log() {
    if [[ -f $1 ]]; then
        echo "--- last lines of $1:" >&2
        tail -n "${2:-20}" "$1" >&2
    fi
}

# Is /bin/busybox the static one (package busybox-static)? Only that one runs in an empty (FROM scratch) image; the dynamically linked `busybox` would not.
busybox_is_static() {
    [[ $(dpkg-query -W -f='${Status}' busybox-static 2>/dev/null || true) == "install ok installed" ]]
}
