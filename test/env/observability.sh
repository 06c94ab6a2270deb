#!/usr/bin/env bash
# Test backends for the metrics and inspection toolsets, from Debian's packages: Prometheus (2.42,
# with promtool), Alertmanager (0.25), node_exporter, PostgreSQL 15 with postgres_exporter (0.11),
# and Chromium (headless, to open HTML reports). Tests start their own instances on free loopback
# ports (test/env/prometheus.ts, test/env/postgres.ts); the packaged services must not run, so none
# holds the default ports.
#   bash test/env/observability.sh install   # idempotent; needs root (apt-get)
#   bash test/env/observability.sh check     # prints the binaries' versions, exits 1 when one is missing
set -euo pipefail

PACKAGES=(prometheus prometheus-alertmanager prometheus-node-exporter prometheus-postgres-exporter postgresql-15 chromium)
BINARIES=(prometheus promtool prometheus-alertmanager prometheus-node-exporter prometheus-postgres-exporter
  /usr/lib/postgresql/15/bin/postgres chromium)
SERVICES=(prometheus prometheus-alertmanager prometheus-node-exporter prometheus-postgres-exporter)

log() { printf '[observability] %s\n' "$*" >&2; }

missing() {
  local b
  for b in "${BINARIES[@]}"; do command -v "$b" >/dev/null 2>&1 || return 0; done
  return 1
}

# Keep the packaged daemons from starting during the install: a policy-rc.d that refuses every
# start, put back as it was afterwards. deb-systemd-invoke and invoke-rc.d both honour it.
with_services_blocked() {
  local policy=/usr/sbin/policy-rc.d saved=''
  if [[ -e $policy ]]; then saved="$(mktemp)"; cp -p "$policy" "$saved"; fi
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy"
  local rc=0
  "$@" || rc=$?
  if [[ -n $saved ]]; then mv "$saved" "$policy"; else rm -f "$policy"; fi
  return "$rc"
}

# In case a daemon started anyway (another installer, an earlier run): stop and disable it.
stop_services() {
  local s
  for s in "${SERVICES[@]}"; do
    if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
      systemctl disable --now "$s" >/dev/null 2>&1 || true
    elif [[ -x /etc/init.d/$s ]]; then
      /etc/init.d/"$s" stop >/dev/null 2>&1 || true
    fi
  done
}

install() {
  if ! missing; then
    log "already installed"
  else
    if [[ $(id -u) -ne 0 ]]; then log "run as root (apt-get install ${PACKAGES[*]})"; exit 1; fi
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-cache show "${PACKAGES[@]}" >/dev/null 2>&1; then
      log "apt-get update"
      apt-get update -qq
    fi
    log "apt-get install ${PACKAGES[*]}"
    # A stale package list names files the mirror no longer has: refresh it once and try again.
    with_services_blocked apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null ||
      { log "install failed; apt-get update and retry"; apt-get update -qq &&
        with_services_blocked apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null; }
  fi
  stop_services
  check
}

check() {
  local b ok=0
  for b in "${BINARIES[@]}"; do
    if command -v "$b" >/dev/null 2>&1; then
      # Most print their version on stdout; postgres_exporter on stderr (Chromium's wrapper warns there).
      local v
      v="$("$b" --version 2>/dev/null | head -n 1)"
      [[ -n $v ]] || v="$("$b" --version 2>&1 | head -n 1)"
      log "$b: $v"
    else
      log "$b: missing (run: bash test/env/observability.sh install)"; ok=1
    fi
  done
  return "$ok"
}

case ${1:-} in
  install) install ;;
  check) check ;;
  *) echo "usage: $0 install|check" >&2; exit 2 ;;
esac
