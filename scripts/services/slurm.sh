#!/usr/bin/env bash
# Ensure a real one-node SLURM cluster ("local", partition "debug") with
# accounting (slurmdbd + MariaDB) is up on this machine.
#
# Usage:
#   scripts/services/slurm.sh             start, or reuse a cluster that answers
#   scripts/services/slurm.sh --selftest  start/reuse, then check that a
#                                         cancelled batch job is recorded as
#                                         CANCELLED by sacct
#   scripts/services/slurm.sh --stop      stop slurmd, slurmctld and slurmdbd
#                                         (munged and MariaDB keep running)
#
# Daemons run detached (setsid/nohup), without systemd; logs are under
# /var/log/slurm/ (and /var/log/rompy-mariadb.log, /var/log/munge/).
# Environment: ROMPY_SLURM_TIMEOUT (seconds to wait for each step, default 60).
set -euo pipefail

SELF=slurm.sh
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TIMEOUT=${ROMPY_SLURM_TIMEOUT:-60}
CLUSTER=local
PARTITION=debug
ETC=/etc/slurm
SLURM_CONF=$ETC/slurm.conf
DBD_CONF=$ETC/slurmdbd.conf
LOGDIR=/var/log/slurm
STATEDIR=/var/lib/slurm/slurmctld
SPOOLDIR=/var/lib/slurm/slurmd
RUNDIR=/run/slurm
MYSQL_LOG=/var/log/rompy-mariadb.log
DB_NAME=slurm_acct_db
DB_USER=slurm
NODE=$(hostname -s)

# Poll "$@" once a second until it succeeds or $TIMEOUT seconds pass.
wait_until() { wait_for "$TIMEOUT" "$@"; }

# Is any live (not zombie) process named $1 running? (Killed daemons linger
# as zombies until init reaps them, and pgrep lists those too.)
any_live() {
    local pid
    for pid in $(pgrep -x "$1" 2>/dev/null || true); do
        is_live "$pid" "$1" && return 0
    done
    return 1
}

# ----------------------------------------------------------------- checks ---

node_state() { timeout 10 sinfo -h -n "$NODE" -o %t 2>/dev/null | head -n1; }

node_usable() {
    case $(node_state) in
        idle | mix | alloc | comp) return 0 ;;
        *) return 1 ;;
    esac
}

cluster_answers() {
    # Cheap first: with no daemons at all, sinfo/sacct would spend ~10 s
    # retrying before failing.
    any_live slurmctld && any_live slurmdbd &&
        timeout 10 sinfo >/dev/null 2>&1 &&
        timeout 10 sacct -n -X -S now >/dev/null 2>&1 &&
        node_usable
}

# ------------------------------------------------------------------ munge ---

munge_ok() { timeout 10 bash -c 'munge -n | unmunge' >/dev/null 2>&1; }

start_munge() {
    munge_ok && return 0
    mkdir -p /etc/munge /var/lib/munge /var/log/munge /run/munge
    if [[ ! -s /etc/munge/munge.key ]]; then
        if command -v mungekey >/dev/null 2>&1; then
            mungekey --create --keyfile=/etc/munge/munge.key --force >/dev/null
        else
            dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
        fi
    fi
    chown -R munge:munge /etc/munge /var/lib/munge /var/log/munge /run/munge
    chmod 0700 /etc/munge /var/log/munge
    chmod 0755 /run/munge
    chmod 0400 /etc/munge/munge.key
    # A munged killed hard leaves its pid file and socket lock: --force
    # removes a stale socket. Kill a live but broken munged first.
    local pid
    pid=$(live_pid_from /run/munge/munged.pid munged)
    if [[ -n $pid ]]; then
        kill "$pid" 2>/dev/null || true
        sleep 1
    fi
    rm -f /run/munge/munged.pid
    # munged daemonizes itself (it forks and detaches from this shell).
    runuser -u munge -- /usr/sbin/munged --force >/dev/null 2>&1 9>&- ||
        { show_log /var/log/munge/munged.log; die "munged failed to start"; }
    wait_until munge_ok ||
        { show_log /var/log/munge/munged.log; die "munge -n | unmunge still fails after ${TIMEOUT}s"; }
}

# ---------------------------------------------------------------- mariadb ---

mysql_ok() { timeout 10 mysqladmin --no-defaults -uroot --protocol=socket -S /run/mysqld/mysqld.sock ping >/dev/null 2>&1; }

start_mariadb() {
    mysql_ok && return 0
    command -v mysqld_safe >/dev/null 2>&1 || die "mysqld_safe not found (run scripts/install-system.sh)"
    # Settings slurmdbd checks for (it warns otherwise).
    mkdir -p /etc/mysql/mariadb.conf.d
    cat >/etc/mysql/mariadb.conf.d/99-rompy-slurmdbd.cnf <<'EOF'
# Written by rompy scripts/services/slurm.sh.
# No syslog daemon runs here: log to a file instead.
[mysqld_safe]
skip_syslog
log_error = /var/log/mysql/error.log
# Values slurmdbd checks for (it logs an error otherwise).
[mysqld]
bind-address = 127.0.0.1
innodb_buffer_pool_size = 1G
innodb_lock_wait_timeout = 900
EOF
    mkdir -p /run/mysqld /var/log/mysql
    chown mysql:mysql /run/mysqld /var/log/mysql
    if [[ ! -d /var/lib/mysql/mysql ]]; then
        mariadb-install-db --user=mysql --datadir=/var/lib/mysql >>"$MYSQL_LOG" 2>&1 9>&- ||
            { show_log "$MYSQL_LOG"; die "mariadb-install-db failed"; }
    fi
    # Stale pid file of a server that was killed hard.
    if stale_pidfile /run/mysqld/mysqld.pid mariadbd mysqld; then
        rm -f /run/mysqld/mysqld.pid /run/mysqld/mysqld.sock
    fi
    note "$MYSQL_LOG" "starting mysqld_safe"
    start_detached "$MYSQL_LOG" mysqld_safe
    wait_until mysql_ok ||
        { show_log "$MYSQL_LOG"; show_log /var/log/mysql/error.log 30; die "MariaDB does not answer after ${TIMEOUT}s"; }
}

# ------------------------------------------------------------------- conf ---

# Replace file $1 with the contents of $2 (a temp file) only if they differ;
# then set CONF_CHANGED=1.
CONF_CHANGED=0
install_if_changed() {
    local dest=$1 tmp=$2 mode=$3
    if [[ -f $dest ]] && cmp -s "$dest" "$tmp"; then
        rm -f "$tmp"
    else
        install -m "$mode" -o root -g root "$tmp" "$dest"
        rm -f "$tmp"
        CONF_CHANGED=1
    fi
}

write_slurm_conf() {
    local mem_mb real_mem cpus tmp
    mem_mb=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
    # A bit below the physical memory: slurmd drains a node that reports less
    # memory than configured.
    real_mem=$((mem_mb * 95 / 100))
    cpus=$(nproc)
    # Daemons and clients reach this host by its name; where the name does not
    # resolve, give them the loopback address explicitly.
    local ctld_host=$NODE node_addr=""
    if ! getent hosts "$NODE" >/dev/null 2>&1; then
        ctld_host="$NODE(127.0.0.1)"
        node_addr=" NodeAddr=127.0.0.1"
    fi
    mkdir -p "$ETC" "$LOGDIR" "$STATEDIR" "$SPOOLDIR" "$RUNDIR"
    tmp=$(mktemp)
    cat >"$tmp" <<EOF
# Written by rompy scripts/services/slurm.sh: a one-node test cluster.
ClusterName=$CLUSTER
SlurmctldHost=$ctld_host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
SlurmctldPidFile=$RUNDIR/slurmctld.pid
SlurmdPidFile=$RUNDIR/slurmd.pid
SlurmctldLogFile=$LOGDIR/slurmctld.log
SlurmdLogFile=$LOGDIR/slurmd.log
StateSaveLocation=$STATEDIR
SlurmdSpoolDir=$SPOOLDIR
# Short limits so that cancelled/killed jobs end quickly.
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
# Without a default, a job that asks for no memory gets the whole node and
# jobs could never run side by side.
DefMemPerCPU=1024
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
JobCompType=jobcomp/none
NodeName=$NODE${node_addr} CPUs=$cpus RealMemory=$real_mem State=UNKNOWN
PartitionName=$PARTITION Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
    install_if_changed "$SLURM_CONF" "$tmp" 0644
}

write_dbd_conf() {
    local pass tmp
    # Keep the password of an existing slurmdbd.conf (it is set in MariaDB
    # below either way).
    pass=$(sed -n 's/^StoragePass=//p' "$DBD_CONF" 2>/dev/null | head -n1 || true)
    if [[ -z $pass ]]; then
        pass=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
    fi
    tmp=$(mktemp)
    cat >"$tmp" <<EOF
# Written by rompy scripts/services/slurm.sh.
AuthType=auth/munge
DbdHost=localhost
DbdPort=6819
SlurmUser=root
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=$DB_USER
StoragePass=$pass
StorageLoc=$DB_NAME
PidFile=$RUNDIR/slurmdbd.pid
LogFile=$LOGDIR/slurmdbd.log
EOF
    install_if_changed "$DBD_CONF" "$tmp" 0600
    DB_PASS=$pass
}

setup_database() {
    local sql
    sql="CREATE DATABASE IF NOT EXISTS \`$DB_NAME\`;
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASS';
ALTER USER '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASS';
GRANT ALL PRIVILEGES ON \`$DB_NAME\`.* TO '$DB_USER'@'localhost';
FLUSH PRIVILEGES;"
    local out
    out=$(mysql --no-defaults -uroot --protocol=socket -S /run/mysqld/mysqld.sock -e "$sql" 2>&1) ||
        die "creating the $DB_NAME database / $DB_USER user failed: $out"
}

# ---------------------------------------------------------------- slurmdbd ---

dbd_ok() { timeout 10 sacctmgr -n -P list cluster format=cluster >/dev/null 2>&1; }

start_slurmdbd() {
    if [[ -n $(live_pid_from "$RUNDIR/slurmdbd.pid" slurmdbd) ]]; then
        wait_until dbd_ok && return 0
        die "slurmdbd is running but sacctmgr gets no answer; see $LOGDIR/slurmdbd.log"
    fi
    rm -f "$RUNDIR/slurmdbd.pid"
    start_detached "$LOGDIR/slurmdbd.stdout.log" slurmdbd -D
    wait_until dbd_ok ||
        { show_log "$LOGDIR/slurmdbd.log"; show_log "$LOGDIR/slurmdbd.stdout.log" 5; die "slurmdbd does not answer after ${TIMEOUT}s"; }
}

add_cluster() {
    local out
    if timeout 10 sacctmgr -n -P list cluster format=cluster 2>/dev/null | grep -qx "$CLUSTER"; then
        return 0
    fi
    out=$(timeout 30 sacctmgr -i add cluster "$CLUSTER" 2>&1) || {
        grep -qi 'already exists' <<<"$out" || die "sacctmgr add cluster $CLUSTER failed: $out"
    }
}

# ------------------------------------------------------ slurmctld / slurmd ---

ctld_ok() { timeout 10 scontrol ping 2>/dev/null | grep -q 'is UP'; }

start_slurmctld() {
    if [[ -n $(live_pid_from "$RUNDIR/slurmctld.pid" slurmctld "$SLURM_CONF") ]]; then
        # Pick up a changed slurm.conf.
        if [[ $CONF_CHANGED == 1 ]]; then
            timeout 30 scontrol reconfigure >/dev/null 2>&1 || true
        fi
    else
        rm -f "$RUNDIR/slurmctld.pid"
        start_detached "$LOGDIR/slurmctld.stdout.log" slurmctld -D
    fi
    wait_until ctld_ok ||
        { show_log "$LOGDIR/slurmctld.log"; die "slurmctld does not answer after ${TIMEOUT}s"; }
}

SLURMD_COLD=0
start_slurmd() {
    if [[ -n $(live_pid_from "$RUNDIR/slurmd.pid" slurmd "$SLURM_CONF") ]]; then
        return 0
    fi
    # Nothing of a job can still run when no slurmstepd is left (they outlive
    # slurmd): jobs that slurmctld still lists as running here are leftovers of
    # daemons that were killed (see clear_stale_jobs).
    if ! any_live slurmstepd; then
        SLURMD_COLD=$(date +%s)
    fi
    rm -f "$RUNDIR/slurmd.pid"
    start_detached "$LOGDIR/slurmd.stdout.log" slurmd -D
}

# Wait for the node to be usable, resuming it if it came up down/drained.
wait_for_node() {
    local start=$SECONDS state
    while :; do
        state=$(node_state)
        case $state in
            idle | mix | alloc | comp) break ;;
            down | drain | drng | fail | failg | inval)
                timeout 10 scontrol update nodename="$NODE" state=resume >/dev/null 2>&1 || true
                ;;
        esac
        if ((SECONDS - start >= TIMEOUT)); then
            show_log "$LOGDIR/slurmd.log"
            show_log "$LOGDIR/slurmctld.log"
            die "node $NODE is '${state:-unknown}', not idle, after ${TIMEOUT}s ($(timeout 10 scontrol show node "$NODE" 2>/dev/null | grep -o 'Reason=.*' || true))"
        fi
        sleep 1
    done
    clear_stale_jobs
    local out
    out=$(timeout "$TIMEOUT" srun -N1 -n1 -t 1 hostname 2>&1) ||
        die "'srun -n1 hostname' failed: $out"
}

# After slurmctld/slurmd were killed hard (e.g. at the end of a CI run),
# slurmctld may recover jobs as RUNNING whose processes are long gone; they
# hold CPUs and memory until their time limit. Those are the jobs that started
# before this slurmd while no slurmstepd was left: cancel them. (Jobs that
# slurmctld recovered as pending and starts again are left alone.)
clear_stale_jobs() {
    [[ $SLURMD_COLD != 0 ]] || return 0
    local id start t
    while read -r id start; do
        [[ -n $id ]] || continue
        t=$(date -d "$start" +%s 2>/dev/null) || continue
        if ((t < SLURMD_COLD)); then
            timeout 30 scancel "$id" >/dev/null 2>&1 || true
        fi
    done < <(timeout 10 squeue -h -w "$NODE" -t RUNNING,SUSPENDED -o '%A %S' 2>/dev/null || true)
}

# ------------------------------------------------------------- selftest ---

selftest() {
    local start=$SECONDS id state
    # A command line that can be told apart from anything else running.
    local marker=120.$RANDOM$RANDOM
    id=$(sbatch --parsable -J rompy-selftest -o /dev/null -t 5 --wrap "sleep $marker" 2>&1) ||
        die "selftest: sbatch failed: $id"
    id=${id%%;*}
    # Wait until it runs, so the kill path is exercised.
    local t0=$SECONDS
    while state=$(squeue -h -j "$id" -o %T 2>/dev/null) && [[ $state != RUNNING ]]; do
        if ((SECONDS - t0 >= 30)); then
            scancel "$id" 2>/dev/null || true
            die "selftest: job $id still '$state' after 30 s"
        fi
        sleep 1
    done
    scancel "$id" || die "selftest: scancel $id failed"
    t0=$SECONDS
    while :; do
        state=$(sacct -n -X -P -j "$id" -o state 2>/dev/null | head -n1)
        [[ $state == CANCELLED* ]] && break
        if ((SECONDS - t0 >= 30)); then
            die "selftest: sacct reports job $id as '${state:-nothing}', not CANCELLED, 30 s after scancel"
        fi
        sleep 1
    done
    local cancelled_after=$((SECONDS - t0))
    # The job's processes must be gone and the job out of COMPLETING.
    local qstate
    t0=$SECONDS
    while pgrep -f "^sleep $marker\$" >/dev/null 2>&1 ||
        { qstate=$(squeue -h -j "$id" -t all -o %T 2>/dev/null) && [[ $qstate == COMPLETING ]]; }; do
        if ((SECONDS - t0 >= 30)); then
            die "selftest: 30 s after scancel, job $id's 'sleep $marker' still runs or the job is still ${qstate:-?}"
        fi
        sleep 1
    done
    echo "slurm.sh: selftest passed: job $id RUNNING -> scancel -> sacct '$state' after ${cancelled_after} s, its processes gone after $((SECONDS - t0)) s more ($((SECONDS - start)) s in all)"
}

# ------------------------------------------------------------------ stop ---

stop_daemon() {
    local name=$1 pidfile=$2 conf=${3:-} pid
    pid=$(live_pid_from "$pidfile" "$name" "$conf")
    if [[ -n $pid ]]; then
        terminate "$pid" "$name" || true
    fi
    rm -f "$pidfile"
}

stop_all() {
    stop_daemon slurmd "$RUNDIR/slurmd.pid" "$SLURM_CONF"
    stop_daemon slurmctld "$RUNDIR/slurmctld.pid" "$SLURM_CONF"
    stop_daemon slurmdbd "$RUNDIR/slurmdbd.pid"
}

# ------------------------------------------------------------------ main ---

main() {
    local mode=start
    case ${1:-} in
        "") ;;
        --selftest) mode=selftest ;;
        --stop) mode=stop ;;
        -h | --help)
            sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
            return 0
            ;;
        *) die "unknown argument '$1' (use --selftest, --stop or nothing)" ;;
    esac
    require_root
    require_cmds slurmctld slurmd slurmdbd sacctmgr sinfo sacct munged mysqld_safe

    # One run at a time; daemons started here get fd 9 (the lock) closed.
    take_lock /run/lock/rompy-slurm.lock 600

    if [[ $mode == stop ]]; then
        stop_all
        return 0
    fi

    if ! cluster_answers; then
        write_slurm_conf
        start_munge
        start_mariadb
        write_dbd_conf
        setup_database
        start_slurmdbd
        add_cluster
        start_slurmctld
        start_slurmd
        wait_for_node
    fi

    if [[ $mode == selftest ]]; then
        selftest
    fi
}

main "$@"
