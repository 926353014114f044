#!/usr/bin/env bash
# Start a real one-node SLURM cluster on this machine, for the cluster test (tests/cluster/).
#
#   tests/cluster/slurm-up.sh      start (idempotent: what already runs is left as it is)
#   tests/cluster/slurm-down.sh    stop exactly the daemons this script started
#
# Needs root and a Debian-like system (apt-get); installs slurm-wlm, slurmdbd, munge and
# mariadb-server when missing. Everything of the cluster lives in $VFI_SLURM_DIR (default
# /run/vfi-slurm): its own slurm.conf (use it with `export SLURM_CONF=$VFI_SLURM_DIR/slurm.conf`,
# or source $VFI_SLURM_DIR/env), PID files, spool and logs. /etc/slurm is not touched and the
# daemons listen on their own ports, so a SLURM installation already on the machine is unaffected.
# munged and MariaDB are shared: one that already answers is used, not restarted.
#
# Exit status: 0 up, 77 cannot run here (the reason is the last line of stderr), other: failure.
# Every wait has a deadline. Settings: FAKE_GPUS (default 2: gres "gpu" backed by char devices),
# VFI_SLURM_PORT_BASE (default 16817: slurmctld, +1 slurmd, +2 slurmdbd), VFI_SLURM_STARTED (the
# file that lists the daemons started, for slurm-down.sh; default $VFI_SLURM_DIR/started: a
# caller that wants to stop only what its own call started passes its own file to both).
set -euo pipefail

STATE=${VFI_SLURM_DIR:-/run/vfi-slurm}
FAKE_GPUS=${FAKE_GPUS:-2}
PORT=${VFI_SLURM_PORT_BASE:-16817}
CLUSTER=vfi-ci
ACCOUNT=vfi-ci
STARTED=${VFI_SLURM_STARTED:-$STATE/started}
PACKAGES=(slurm-wlm slurmdbd munge mariadb-server)
START=$(date +%s)

say() { echo "[slurm-up $(($(date +%s) - START))s] $*"; }
skip() { echo "cannot start SLURM here: $*" >&2; exit 77; }
fail() { echo "slurm-up failed: $*" >&2; exit 1; }

# wait_for SECONDS WHAT COMMAND...: run COMMAND every 0.5 s until it succeeds, or fail.
wait_for() {
  local deadline=$(($(date +%s) + $1)) what=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    (($(date +%s) < deadline)) || fail "timed out waiting for $what"
    sleep 0.5
  done
}

alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# record NAME PIDFILE: note a daemon this script started, for slurm-down.sh
record() { echo "$1 $(cat "$2")" >>"$STARTED"; }

install_packages() {
  local missing=() pkg
  for pkg in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
      missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  command -v apt-get >/dev/null || skip "apt-get not found (needs ${missing[*]})"
  say "installing ${missing[*]}"
  # Package scripts must not start daemons: this script starts its own.
  local policy=/usr/sbin/policy-rc.d made_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made_policy=1
  fi
  local ok=1
  export DEBIAN_FRONTEND=noninteractive
  timeout 180 apt-get update -qq >/dev/null || ok=0
  if ((ok)); then
    timeout 420 apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || ok=0
  fi
  ((made_policy)) && rm -f "$policy"
  ((ok)) || skip "apt-get could not install ${missing[*]}"
  say "installed $(dpkg-query -W -f='slurm ${Version}' slurmctld)"
}

start_munge() {
  if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then return; fi
  mkdir -p /etc/munge /run/munge /var/log/munge /var/lib/munge
  [ -s /etc/munge/munge.key ] ||
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  chown -R munge:munge /etc/munge /run/munge /var/log/munge /var/lib/munge
  chmod 0700 /etc/munge && chmod 0400 /etc/munge/munge.key && chmod 0755 /run/munge
  runuser -u munge -- /usr/sbin/munged
  wait_for 15 munged sh -c 'munge -n | unmunge'
  record munged /run/munge/munged.pid
  say "munged up"
}

# Accounting (sacct) is what the snakemake plugin polls, so slurmdbd is not optional.
start_mariadb() {
  if ! mariadb-admin ping >/dev/null 2>&1; then
    mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
    # Unix socket only: nothing listens on the network.
    setsid /usr/sbin/mariadbd --user=mysql --skip-networking --pid-file=/run/mysqld/vfi-slurm.pid \
      </dev/null >"$STATE/log/mariadbd.log" 2>&1 &
    wait_for 60 mariadb mariadb-admin ping
    wait_for 10 "mariadb PID file" test -s /run/mysqld/vfi-slurm.pid
    record mariadbd /run/mysqld/vfi-slurm.pid
    say "mariadb up"
  fi
  mariadb -e "CREATE DATABASE IF NOT EXISTS vfi_slurm_acct;
    CREATE USER IF NOT EXISTS 'vfi_slurm'@'localhost' IDENTIFIED BY 'vfi-slurm-ci';
    GRANT ALL ON vfi_slurm_acct.* TO 'vfi_slurm'@'localhost'; FLUSH PRIVILEGES;"
}

write_config() {
  local host cpus mem_mb devices=(/dev/null /dev/zero /dev/full /dev/random /dev/urandom) i
  host=$(hostname -s)
  cpus=$(nproc)
  mem_mb=$(($(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024))
  ((FAKE_GPUS <= ${#devices[@]})) || fail "FAKE_GPUS is at most ${#devices[@]}"
  # A gres line per fake GPU; File= must name an existing character device.
  : >"$STATE/gres.conf"
  for ((i = 0; i < FAKE_GPUS; i++)); do
    echo "NodeName=$host Name=gpu File=${devices[$i]}" >>"$STATE/gres.conf"
  done
  local gres_types="" node_gres=""
  ((FAKE_GPUS > 0)) && gres_types="GresTypes=gpu" && node_gres="Gres=gpu:$FAKE_GPUS"
  cat >"$STATE/slurm.conf" <<EOF
# Written by tests/cluster/slurm-up.sh: a one-node cluster for tests.
ClusterName=$CLUSTER
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=slurm
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$STATE/spool/ctld
SlurmdSpoolDir=$STATE/spool/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
# Configless: slurmd fetches this file from slurmctld and caches it in /run/slurm/conf, where
# SLURM commands inside jobs find it (the plugin's job steps run srun without SLURM_CONF).
SlurmctldParameters=enable_configless
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$((PORT + 2))
JobAcctGatherType=jobacct_gather/linux
# Record each job's GPUs and comment (the plugin puts the rule name there) for sacct.
AccountingStorageTRES=gres/gpu
AccountingStoreFlags=job_comment
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
ReturnToService=2
MinJobAge=600
$gres_types
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb $node_gres State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  cat >"$STATE/slurmdbd.conf" <<EOF
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=$((PORT + 2))
SlurmUser=slurm
LogFile=$STATE/log/slurmdbd.log
PidFile=$STATE/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=vfi_slurm
StoragePass=vfi-slurm-ci
StorageLoc=vfi_slurm_acct
EOF
  chown slurm:slurm "$STATE/slurmdbd.conf" && chmod 600 "$STATE/slurmdbd.conf"
  echo "export SLURM_CONF=$STATE/slurm.conf" >"$STATE/env"
}

# start_slurm_daemon NAME [ARGS]: start /usr/sbin/NAME unless its PID file names a live process.
start_slurm_daemon() {
  alive "$STATE/$1.pid" && return
  "/usr/sbin/$1" "${@:2}"
  wait_for 30 "$1 PID file" test -s "$STATE/$1.pid"
  record "$1" "$STATE/$1.pid"
}

# The node takes jobs (it may already run some when this script runs a second time).
node_up() { sinfo -h -o %T | grep -qxE 'idle|mixed|allocated|completing'; }

[ "$(id -u)" = 0 ] || skip "not root (the test installs packages and starts daemons)"
install_packages
mkdir -p "$STATE/spool/ctld" "$STATE/spool/d" "$STATE/log"
chown slurm:slurm "$STATE" "$STATE/spool/ctld" "$STATE/log"
chmod 0755 "$STATE"
export SLURM_CONF=$STATE/slurm.conf
touch "$STARTED"
start_munge
start_mariadb
alive "$STATE/slurmctld.pid" || write_config
# slurmdbd first, so that slurmctld registers the cluster with it.
start_slurm_daemon slurmdbd
wait_for 60 slurmdbd sacctmgr -n list cluster
start_slurm_daemon slurmctld
start_slurm_daemon slurmd --conf-server "127.0.0.1:$PORT"
wait_for 60 "the node to take jobs" node_up
# An account for jobs, as on real clusters (the SLURM profile names one).
sacctmgr -n list account "$ACCOUNT" | grep -q . || sacctmgr -i -Q add account "$ACCOUNT" >/dev/null
sacctmgr -n -P list assoc user=root account="$ACCOUNT" format=user | grep -q . ||
  sacctmgr -i -Q add user root account="$ACCOUNT" >/dev/null
say "up: $(sinfo -h -o 'partition %P, %T, cpus %c, memory %m MB, gres %G'); SLURM_CONF=$SLURM_CONF"
