#!/usr/bin/env bash
# Set up everything mason needs on a fresh Debian 12 machine (run as root):
# system packages, a Docker engine (started if not running), and the
# project's virtualenv. Idempotent: a second run only checks.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

log() { printf '==> %s\n' "$*" >&2; }

need_pkgs=()
# qemu-system-x86, qemu-utils: VM pods (--provider qemu); e2fsprogs makes their disks.
# skopeo: pushes to a pod registry verifying its certificate (docs/registry.md).
for p in docker.io debootstrap python3-venv openssh-client apparmor iptables git \
         qemu-system-x86 qemu-utils e2fsprogs iproute2 skopeo; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need_pkgs+=("$p")
done
if [ "${#need_pkgs[@]}" -gt 0 ]; then
  log "installing system packages: ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

# Debian's docker.io puts its client in /usr/bin; another client earlier on
# PATH is fine as long as it talks to this engine.
if ! docker info >/dev/null 2>&1; then
  log "starting the Docker engine (dockerd in the background, log: /var/log/mason-dockerd.log)"
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl start docker || true
  fi
  if ! docker info >/dev/null 2>&1; then
    nohup /usr/sbin/dockerd >/var/log/mason-dockerd.log 2>&1 &
  fi
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { echo "setup: dockerd did not start; see /var/log/mason-dockerd.log" >&2; exit 1; }
fi

py=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  log "creating the virtualenv .venv"
  "$py" -m venv .venv
fi
extras=${MASON_EXTRAS:-}
stamp=.venv/.mason-installed
want=$(cat pyproject.toml; echo "extras=$extras")
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  log "installing mason${extras:+[$extras]} into .venv"
  # pip's own chatter goes to a log; it is shown only if the install fails.
  if ! { .venv/bin/pip install -q --upgrade pip &&
         .venv/bin/pip install -q -e ".${extras:+[$extras]}"; } >.venv/pip-install.log 2>&1; then
    tail -n 30 .venv/pip-install.log >&2
    echo "setup: pip install failed; full log: $here/.venv/pip-install.log" >&2
    exit 1
  fi
  printf '%s' "$want" >"$stamp"
fi
