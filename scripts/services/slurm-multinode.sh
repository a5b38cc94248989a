#!/usr/bin/env bash
# Ensure an emulated many-node SLURM cluster ("multinode", partition "compute",
# 100 nodes n1..n100 by default) is up on this machine, beside the one-node test
# cluster of slurm.sh, so that scheduling across nodes is tested for real.
#
# Usage:
#   scripts/services/slurm-multinode.sh          start, or reuse a cluster whose
#                                                nodes are all up
#   scripts/services/slurm-multinode.sh --stop   cancel its jobs, stop its slurmd
#                                                daemons and its slurmctld
#   scripts/services/slurm-multinode.sh --env    print the SLURM_CONF=... line that
#                                                points SLURM's commands at it
#
# Every node is one `slurmd -N n<i>` on this machine, with its own port and spool
# directory; all share this machine's hostname (a job learns its emulated node from
# SLURMD_NODENAME). munged and slurmdbd are the one-node cluster's (started through
# slurm.sh if they do not answer); slurm.sh's own daemons are never touched.
# Clients reach this cluster with SLURM_CONF=/etc/slurm-multinode/slurm.conf.
#
# Environment: ROMPY_SLURM_NODES (emulated nodes, default 100), ROMPY_SLURM_NODE_CPUS
# (CPUs each declares, default 2), ROMPY_SLURM_TIMEOUT (seconds per step, default 60).
set -euo pipefail

SELF=slurm-multinode.sh
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"

TIMEOUT=${ROMPY_SLURM_TIMEOUT:-60}
NODES=${ROMPY_SLURM_NODES:-100}
NODE_CPUS=${ROMPY_SLURM_NODE_CPUS:-2}
NODE_MEM_MB=1000
CLUSTER=multinode
PARTITION=compute
ETC=/etc/slurm-multinode
CONF=$ETC/slurm.conf
LOGDIR=/var/log/slurm-multinode
STATEDIR=/var/lib/slurm-multinode/slurmctld
SPOOLDIR=/var/lib/slurm-multinode/slurmd
RUNDIR=/run/slurm-multinode
# Ports of its own, clear of the one-node cluster's 6817-6819 and of the
# ephemeral range (32768-60999) that clients such as srun listen on.
CTLD_PORT=16817
FIRST_NODE_PORT=17001
HOST=$(hostname -s)

# Every SLURM command below talks to this cluster, never to the one-node one.
export SLURM_CONF=$CONF

# ----------------------------------------------------------------- checks ---

check_settings() {
    [[ $NODES =~ ^[0-9]+$ ]] && ((NODES >= 1 && NODES <= 1000)) ||
        die "ROMPY_SLURM_NODES must be a whole number from 1 to 1000, got '$NODES'"
    [[ $NODE_CPUS =~ ^[0-9]+$ ]] && ((NODE_CPUS >= 1 && NODE_CPUS <= 256)) ||
        die "ROMPY_SLURM_NODE_CPUS must be a whole number from 1 to 256, got '$NODE_CPUS'"
    [[ $TIMEOUT =~ ^[0-9]+$ ]] && ((TIMEOUT >= 1)) ||
        die "ROMPY_SLURM_TIMEOUT must be a whole number of seconds, got '$TIMEOUT'"
}

ctld_ok() { timeout 10 scontrol ping 2>/dev/null | grep -q 'is UP'; }

# Nodes the controller counts as usable (idle, mixed, allocated, completing).
usable_nodes() {
    timeout 10 sinfo -h -N -p "$PARTITION" -o '%N %t' 2>/dev/null |
        awk '$2 ~ /^(idle|mix|alloc|comp)$/ {n++} END {print n + 0}'
}

# A cluster whose configuration is current, whose controller answers and whose
# nodes all have a live slurmd and are usable: reused as it is.
cluster_answers() {
    [[ -n $(live_pid_from "$RUNDIR/slurmctld.pid" slurmctld "$CONF") ]] || return 1
    conf_current || return 1
    local i
    for ((i = 1; i <= NODES; i++)); do
        [[ -n $(live_pid_from "$RUNDIR/slurmd-n$i.pid" slurmd "$CONF" "n$i") ]] || return 1
    done
    ctld_ok && [[ $(usable_nodes) == "$NODES" ]] &&
        timeout 10 sacct -n -X -S now >/dev/null 2>&1
}

# ------------------------------------------------------------------- conf ---

conf_text() {
    local ctld_host=$HOST
    getent hosts "$HOST" >/dev/null 2>&1 || ctld_host="$HOST(127.0.0.1)"
    cat <<EOF
# Written by rompy scripts/services/slurm-multinode.sh: $NODES emulated nodes,
# each one slurmd on this machine (slurmd -N n<i>). Reach it with SLURM_CONF=$CONF.
ClusterName=$CLUSTER
SlurmctldHost=$ctld_host
SlurmctldPort=$CTLD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
# The nodes declare CPUs and memory this machine does not have.
SlurmdParameters=config_overrides
SlurmctldPidFile=$RUNDIR/slurmctld.pid
SlurmctldLogFile=$LOGDIR/slurmctld.log
SlurmdPidFile=$RUNDIR/slurmd-%n.pid
SlurmdLogFile=$LOGDIR/slurmd-%n.log
SlurmdSpoolDir=$SPOOLDIR/%n
StateSaveLocation=$STATEDIR
InactiveLimit=30
KillWait=5
MinJobAge=300
SlurmctldTimeout=60
SlurmdTimeout=60
Waittime=0
SchedulerType=sched/backfill
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$((NODE_MEM_MB / NODE_CPUS))
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
JobCompType=jobcomp/none
NodeName=n[1-$NODES] NodeHostname=$HOST NodeAddr=127.0.0.1 Port=[$FIRST_NODE_PORT-$((FIRST_NODE_PORT + NODES - 1))] CPUs=$NODE_CPUS RealMemory=$NODE_MEM_MB State=UNKNOWN
PartitionName=$PARTITION Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

# (FirstJobId is left out of the comparison: it only counts when the controller starts without saved state.)
conf_current() { [[ -f $CONF ]] && cmp -s <(grep -v '^FirstJobId=' "$CONF") <(conf_text); }

# The job id after the highest that accounting knows of this cluster (nothing if it knows none).
# A controller whose saved state was removed would count from 1 again, and a job id that
# accounting already holds could then show the old job's final state to a new job's watcher.
next_job_id() {
    local conf=$1
    SLURM_CONF=$conf timeout 60 sacct -n -X -a -P -M "$CLUSTER" -S 1970-01-01T00:00:00 -E now -o JobIDRaw 2>/dev/null |
        awk -F_ '$1 ~ /^[0-9]+$/ && $1 > max {max = $1} END {if (max) print max + 1}'
}

# Write the configuration; 0 if it changed other than in FirstJobId (the daemons must restart to
# see other nodes). Without saved controller state, FirstJobId follows what accounting knows.
write_conf() {
    mkdir -p "$ETC" "$LOGDIR" "$STATEDIR" "$SPOOLDIR" "$RUNDIR"
    local changed=1 tmp first
    conf_current || changed=0
    tmp=$(mktemp)
    conf_text >"$tmp"
    if [[ ! -f $STATEDIR/job_state ]]; then
        first=$(next_job_id "$tmp" || true)
    else
        first=$(sed -n 's/^FirstJobId=//p' "$CONF" 2>/dev/null || true)
    fi
    [[ -z $first ]] || echo "FirstJobId=$first" >>"$tmp"
    if [[ -f $CONF ]] && cmp -s "$tmp" "$CONF"; then
        rm -f "$tmp"
    else
        install -m 0644 -o root -g root "$tmp" "$CONF"
        rm -f "$tmp"
    fi
    return "$changed"
}

# ------------------------------------------------------ munge / slurmdbd ---

shared_daemons_ok() {
    timeout 10 bash -c 'munge -n | unmunge' >/dev/null 2>&1 &&
        timeout 10 sacctmgr -n -P list cluster format=cluster >/dev/null 2>&1
}

# munged and slurmdbd are the one-node cluster's: slurm.sh starts (or reuses) them.
ensure_shared_daemons() {
    shared_daemons_ok && return 0
    bash "$HERE/slurm.sh" 9>&- || die "slurm.sh failed: the one-node cluster's munged and slurmdbd are needed"
    shared_daemons_ok || die "munge or slurmdbd still do not answer after slurm.sh"
}

add_cluster() {
    local out
    timeout 10 sacctmgr -n -P list cluster format=cluster 2>/dev/null | grep -qx "$CLUSTER" && return 0
    out=$(timeout 30 sacctmgr -i add cluster "$CLUSTER" 2>&1) || {
        grep -qi 'already exists' <<<"$out" || die "sacctmgr add cluster $CLUSTER failed: $out"
    }
}

# ------------------------------------------------------ slurmctld / slurmd ---

start_slurmctld() {
    if [[ -z $(live_pid_from "$RUNDIR/slurmctld.pid" slurmctld "$CONF") ]]; then
        rm -f "$RUNDIR/slurmctld.pid"
        note "$LOGDIR/slurmctld.stdout.log" "starting slurmctld"
        start_detached "$LOGDIR/slurmctld.stdout.log" slurmctld -D -f "$CONF"
    fi
    wait_for "$TIMEOUT" ctld_ok ||
        { show_log "$LOGDIR/slurmctld.log"; show_log "$LOGDIR/slurmctld.stdout.log" 5; die "slurmctld of cluster $CLUSTER does not answer on port $CTLD_PORT after ${TIMEOUT}s"; }
}

# One slurmd per node that has none running; each needs its spool directory first.
start_slurmds() {
    local i node started=0
    for ((i = 1; i <= NODES; i++)); do
        node=n$i
        [[ -n $(live_pid_from "$RUNDIR/slurmd-$node.pid" slurmd "$CONF" "$node") ]] && continue
        rm -f "$RUNDIR/slurmd-$node.pid"
        mkdir -p "$SPOOLDIR/$node"
        start_detached "$LOGDIR/slurmd.stdout.log" slurmd -D -N "$node" -f "$CONF"
        started=$((started + 1))
    done
    ((started == 0)) || note "$LOGDIR/slurmd.stdout.log" "started $started slurmd"
}

# Wait until every node is usable, resuming those that came up down or drained.
wait_for_nodes() {
    local start=$SECONDS usable bad
    while :; do
        usable=$(usable_nodes)
        [[ $usable == "$NODES" ]] && break
        bad=$(timeout 10 sinfo -h -N -p "$PARTITION" -o '%N %t' 2>/dev/null |
            awk '$2 ~ /^(down|drain|drng|fail|failg|inval)/ {print $1}' | paste -sd, -)
        if [[ -n $bad ]]; then
            timeout 10 scontrol update nodename="$bad" state=resume >/dev/null 2>&1 || true
        fi
        if ((SECONDS - start >= TIMEOUT)); then
            local first=${bad%%,*}
            show_log "$LOGDIR/slurmctld.log"
            [[ -z $first ]] || show_log "$LOGDIR/slurmd-$first.log" 10
            die "only ${usable:-0} of $NODES nodes are usable after ${TIMEOUT}s${first:+ (e.g. $first: $(timeout 10 scontrol show node "$first" 2>/dev/null | grep -o 'State=[^ ]*\|Reason=.*' | paste -sd' ' -))}"
        fi
        sleep 0.5
    done
}

# ------------------------------------------------------------------ stop ---

# Cancel the cluster's jobs (their slurmstepd outlive slurmd), then stop every
# slurmd and the controller: all signalled at once, each waited for.
stop_all() {
    local pidfile pid node pids=() names=()
    if [[ -n $(live_pid_from "$RUNDIR/slurmctld.pid" slurmctld "$CONF") ]] && ctld_ok; then
        local jobs
        jobs=$(timeout 10 squeue -h -o %A 2>/dev/null | sort -u | paste -sd' ' -)
        if [[ -n $jobs ]]; then
            # shellcheck disable=SC2086
            timeout 30 scancel $jobs >/dev/null 2>&1 || true
            wait_for "$TIMEOUT" bash -c '[[ -z $(squeue -h -o %A 2>/dev/null) ]]' ||
                echo "$SELF: warning: jobs still listed ${TIMEOUT}s after scancel" >&2
        fi
    fi
    for pidfile in "$RUNDIR"/slurmd-*.pid; do
        [[ -e $pidfile ]] || continue
        node=${pidfile##*/slurmd-}
        pid=$(live_pid_from "$pidfile" slurmd "$CONF" "${node%.pid}")
        if [[ -n $pid ]]; then
            kill -TERM "$pid" 2>/dev/null || true
            pids+=("$pid")
        fi
        rm -f "$pidfile"
    done
    for pid in "${pids[@]}"; do
        terminate "$pid" slurmd || names+=("$pid")
    done
    pid=$(live_pid_from "$RUNDIR/slurmctld.pid" slurmctld "$CONF")
    if [[ -n $pid ]]; then
        terminate "$pid" slurmctld || names+=("$pid")
    fi
    rm -f "$RUNDIR/slurmctld.pid"
    ((${#names[@]} == 0)) || echo "$SELF: warning: killed ${#names[@]} daemon(s) that ignored SIGTERM" >&2
}

# ------------------------------------------------------------------ main ---

main() {
    local mode=start
    case ${1:-} in
        "") ;;
        --stop) mode=stop ;;
        --env)
            echo "SLURM_CONF=$CONF"
            return 0
            ;;
        -h | --help)
            sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'
            return 0
            ;;
        *) die "unknown argument '$1' (use --stop, --env or nothing)" ;;
    esac
    require_root
    require_cmds slurmctld slurmd sacctmgr sinfo sacct squeue scontrol scancel munge
    check_settings

    # One run at a time; daemons started here get fd 9 (the lock) closed.
    take_lock /run/lock/rompy-slurm-multinode.lock 600

    if [[ $mode == stop ]]; then
        stop_all
        return 0
    fi

    cluster_answers && return 0
    # Accounting first (the configuration asks it for the next job id); SLURM's commands reach it
    # through a configuration, so a first machine gets one at once.
    if [[ ! -f $CONF ]]; then
        mkdir -p "$ETC"
        conf_text >"$CONF"
    fi
    ensure_shared_daemons
    if write_conf; then
        # Other nodes or settings: the running daemons would not pick them up.
        stop_all
    fi
    add_cluster
    start_slurmctld
    start_slurmds
    wait_for_nodes
}

main "$@"
