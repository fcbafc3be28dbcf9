#!/usr/bin/env bash
# What the test suite's real servers need beyond the venv, installed when missing:
#   Debian packages (as root): a one-node Slurm (slurmctld, slurmd, slurm-client, munge),
#   redis-server, chromium + chromium-driver (Argilla's web UI in a real browser);
#   argilla-server 2.8 + osmem-server in their own venv (.ci/argilla-setup.sh).
# Idempotent. Without root or apt the packages are left alone and those tests skip, saying why.
# The tests start and stop every server themselves, on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
for pair in slurmctld:slurmctld slurmd:slurmd sinfo:slurm-client munged:munge \
            redis-server:redis-server chromium:chromium chromedriver:chromium-driver; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "services: not installing ${need[*]} (needs root and apt-get); their tests will skip" >&2
  fi
fi
bash .ci/argilla-setup.sh >/dev/null
