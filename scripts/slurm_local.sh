#!/usr/bin/env bash
# A real single-node Slurm on this machine, for the integration tests and for trying
# `launcher=slurm` without a cluster (recipe: ENVIRONMENT.md, "A real Slurm on one machine").
#
#   scripts/slurm_local.sh start    start munged (unless munge already works), slurmctld, slurmd
#   scripts/slurm_local.sh stop     stop the daemons this script started, by their pid files
#   scripts/slurm_local.sh status   say what runs; exit 0 when slurmctld and slurmd both run
#   scripts/slurm_local.sh env      print the `export` lines: eval "$(scripts/slurm_local.sh env)"
#
# Everything (slurm.conf, state, spool, logs, pid files) lives in $OPTREPRO_SLURM_DIR, by default
# ${TMPDIR:-/tmp}/optrepro-slurm. `start` is idempotent and starts from an empty job queue. Needs
# root and Debian's slurmctld, slurmd, slurm-client and munge (scripts/install_slurm.sh).
# The node offers this machine's cores and memory and no GPUs (no gres.conf): leave
# hydra.launcher.gpus_per_node null when submitting to it. Partition: `local` (the default).
set -euo pipefail

ROOT="${OPTREPRO_SLURM_DIR:-${TMPDIR:-/tmp}/optrepro-slurm}"
CONF="$ROOT/slurm.conf"
PORT="${OPTREPRO_SLURM_PORT:-6817}"
PARTITION=local

die() {
    echo "slurm_local: $*" >&2
    exit 2
}

# The pid recorded in $ROOT/<name>.pid when that process is alive and is <name>.
live_pid() {
    local name=$1 file="$ROOT/$1.pid" pid
    [[ -f $file ]] || return 1
    pid=$(tr -dc '0-9' <"$file")
    [[ -n $pid && -r /proc/$pid/comm && $(cat "/proc/$pid/comm") == "$name" ]] || return 1
    echo "$pid"
}

munge_works() {
    munge -n 2>/dev/null | unmunge >/dev/null 2>&1
}

require_installed() {
    local program
    for program in slurmctld slurmd munged munge sinfo sbatch scontrol; do
        command -v "$program" >/dev/null 2>&1 || [[ -x /usr/sbin/$program ]] ||
            die "$program is not installed (run scripts/install_slurm.sh as root)"
    done
    [[ $(id -u) -eq 0 ]] || die "starting the daemons needs root (SlurmUser=root, munged as munge)"
}

start_munge() {
    munge_works && return 0
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge
    chmod 0755 /run/munge
    runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid
    local _
    for _ in $(seq 50); do
        munge_works && break
        sleep 0.1
    done
    munge_works || die "munged started but munge -n | unmunge fails (see /var/log/munge/munged.log)"
    cp /run/munge/munged.pid "$ROOT/munged.pid"
}

write_conf() {
    local host cpus memory
    host=$(hostname -s)
    cpus=$(nproc --all)  # --all: OMP_NUM_THREADS (set by make test) would lower plain nproc
    memory=$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
    cat >"$CONF" <<EOF
# Written by scripts/slurm_local.sh: a single-node Slurm for tests. Not for production.
ClusterName=optrepro
SlurmctldHost=$host
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
AuthType=auth/munge
# A requeued job waits cred_expire seconds (default 120) before it may start again.
AuthInfo=cred_expire=10
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$ROOT/state
SlurmdSpoolDir=$ROOT/spool
SlurmctldPidFile=$ROOT/slurmctld.pid
SlurmdPidFile=$ROOT/slurmd.pid
SlurmctldLogFile=$ROOT/slurmctld.log
SlurmdLogFile=$ROOT/slurmd.log
SlurmdParameters=config_overrides
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
# Look at pending (e.g. requeued) jobs every 2 s instead of every 30-60 s.
SchedulerParameters=sched_interval=2,bf_interval=2
ReturnToService=2
JobRequeue=1
KillWait=10
MinJobAge=600
NodeName=$host CPUs=$cpus RealMemory=${memory:-1024} State=UNKNOWN
PartitionName=$PARTITION Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
}

node_idle() {
    [[ $(SLURM_CONF=$CONF sinfo -h -N -o %T 2>/dev/null) =~ ^(idle|mixed|allocated) ]]
}

start() {
    require_installed
    if live_pid slurmctld >/dev/null && live_pid slurmd >/dev/null; then
        echo "slurm_local: already running (SLURM_CONF=$CONF)"
        return 0
    fi
    stop >/dev/null
    mkdir -p "$ROOT/state" "$ROOT/spool"
    start_munge
    write_conf
    slurmctld -c -f "$CONF" || die "slurmctld did not start (see $ROOT/slurmctld.log)"
    slurmd -f "$CONF" || die "slurmd did not start (see $ROOT/slurmd.log)"
    local _
    for _ in $(seq 150); do
        node_idle && break
        sleep 0.2
    done
    if ! node_idle; then
        tail -n 20 "$ROOT/slurmctld.log" "$ROOT/slurmd.log" >&2 || true
        die "the node did not come up idle within 30 s"
    fi
    echo "slurm_local: running; partition $PARTITION; run: eval \"\$($0 env)\""
}

stop() {
    local name pid _
    for name in slurmd slurmctld munged; do
        pid=$(live_pid "$name") || {
            rm -f "$ROOT/$name.pid"
            continue
        }
        kill -TERM "$pid"
        for _ in $(seq 100); do
            [[ -e /proc/$pid ]] || break
            sleep 0.1
        done
        [[ -e /proc/$pid ]] && kill -KILL "$pid"
        rm -f "$ROOT/$name.pid"
        echo "slurm_local: stopped $name ($pid)"
    done
}

status() {
    local name pid running=0
    for name in munged slurmctld slurmd; do
        if pid=$(live_pid "$name"); then
            echo "$name: running ($pid)"
        elif [[ $name == munged ]] && munge_works; then
            echo "munged: running (not started by this script)"
        else
            echo "$name: stopped"
            [[ $name == munged ]] || running=3
        fi
    done
    [[ $running -eq 0 ]] && SLURM_CONF=$CONF sinfo
    return $running
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) status ;;
env) echo "export SLURM_CONF=$CONF" ;;
*)
    echo "usage: $0 start|stop|status|env" >&2
    exit 2
    ;;
esac
