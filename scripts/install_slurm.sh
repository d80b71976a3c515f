#!/usr/bin/env bash
# Install the Debian packages of the local single-node Slurm (scripts/slurm_local.sh) that the
# integration tests start: slurmctld, slurmd, slurm-client and munge. Idempotent: does nothing
# when slurmctld and munged are already installed. Needs root and apt-get (Debian/Ubuntu): .ci/run
# calls it, and CI must not skip the Slurm tests silently, so it fails (exit 1) when it cannot.
set -euo pipefail

installed() {
    command -v slurmctld >/dev/null 2>&1 || [[ -x /usr/sbin/slurmctld ]] || return 1
    command -v munged >/dev/null 2>&1 || [[ -x /usr/sbin/munged ]] || return 1
}

if installed; then
    echo "install_slurm: slurmctld and munged are installed"
    exit 0
fi
if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install_slurm: installing slurmctld, slurmd, slurm-client and munge needs root and apt-get" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
installed
echo "install_slurm: installed $(slurmctld -V)"
