#!/usr/bin/env bash
# Stop exactly the daemons tests/cluster/slurm-up.sh started (listed in $VFI_SLURM_STARTED,
# default $VFI_SLURM_DIR/started); daemons it found already running are left alone. Safe to run
# twice. The SLURM daemons stop first, then munged and MariaDB, which they use; each group gets
# SIGTERM and 30 s to exit, then SIGKILL.
set -uo pipefail

STATE=${VFI_SLURM_DIR:-/run/vfi-slurm}
LIST=${VFI_SLURM_STARTED:-$STATE/started}
[ -s "$LIST" ] || { echo "slurm-down: nothing to stop"; exit 0; }
status=0

# stop NAME...: stop the listed daemons of these names, together.
stop() {
  local name pid pids=() names=" $* "
  while read -r name pid; do
    # Still the daemon that was started? (PIDs get reused.)
    [[ $names == *" $name "* && "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$name" ]] || continue
    kill -TERM "$pid" 2>/dev/null && pids+=("$pid") && echo "slurm-down: stopping $name ($pid)"
  done <"$LIST"
  for _ in $(seq 60); do
    alive=()
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive+=("$pid"); done
    ((${#alive[@]})) || return 0
    sleep 0.5
  done
  echo "slurm-down: ${alive[*]} ignored SIGTERM for 30 s; killing" >&2
  kill -KILL "${alive[@]}" 2>/dev/null
  status=1
}

stop slurmd slurmctld slurmdbd
stop munged mariadbd
# slurmd links its configuration here for SLURM commands inside jobs; the link is ours.
[ "$(readlink /run/slurm/conf 2>/dev/null)" = "$STATE/spool/d/conf-cache" ] && rm -f /run/slurm/conf
rm -f "$LIST"
exit "$status"
