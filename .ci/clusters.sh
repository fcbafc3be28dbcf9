#!/usr/bin/env bash
# A one-node Slurm for the cluster tests (tests/test_clusters.py), as root:
#   apt-get install -y slurmctld slurmd slurm-client munge   # Debian 12: Slurm 22.05
#   .ci/clusters.sh slurm                                    # writes slurm.conf, starts munged, slurmctld, slurmd
# Idempotent: does nothing when `sinfo` already answers. The tests call it themselves when the
# packages are installed and they run as root; Ray needs nothing here (the tests start a head
# and a worker on 127.0.0.2/127.0.0.3 from the venv's `ray`).
set -euo pipefail

start_slurm() {
  if sinfo -h >/dev/null 2>&1; then return 0; fi
  local host cpus mem
  host=$(hostname -s)
  cpus=$(nproc)
  mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
  # more CPUs than the machine has, so a build's tasks queue in Slurm only as much as locally
  cpus=$(( cpus < 4 ? 4 : cpus ))
  mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/munge
  cat > /etc/slurm/slurm.conf <<CONF
ClusterName=factoryci
SlurmctldHost=${host}
AuthType=auth/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerParameters=sched_interval=1
SlurmdParameters=config_overrides
ReturnToService=2
MinJobAge=30
MessageTimeout=30
NodeName=${host} CPUs=${cpus} RealMemory=${mem} State=UNKNOWN
PartitionName=cpu Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
  chown munge:munge /run/munge 2>/dev/null || true
  pgrep -x munged >/dev/null || munged --force
  pgrep -x slurmctld >/dev/null || slurmctld
  pgrep -x slurmd >/dev/null || slurmd
  for _ in $(seq 1 60); do
    if sinfo -h -o '%T' 2>/dev/null | grep -qE 'idle|mixed|alloc'; then return 0; fi
    scontrol update nodename="${host}" state=resume >/dev/null 2>&1 || true
    sleep 0.5
  done
  echo "slurm did not come up; see /var/log/slurm/" >&2
  return 1
}

case "${1:-}" in
  slurm) start_slurm ;;
  *) echo "usage: $0 slurm" >&2; exit 2 ;;
esac
