# Shared by the test/env build scripts (sourced, never run). Callers set LOG_TAG before sourcing.
# shellcheck shell=bash

log() { printf '[%s] %s\n' "${LOG_TAG:-testenv}" "$*" >&2; }
elapsed() { echo "$((SECONDS - $1))s"; }

# quiet CMD...: runs CMD, showing its output only if it fails.
quiet() {
  local out rc=0
  out="$("$@" 2>&1)" || rc=$?
  if ((rc != 0)); then printf '%s\n' "$out" >&2; log "failed ($rc): $*"; fi
  return "$rc"
}

# Where built binaries and venvs are cached, keyed by version (outside the repo).
testenv_cache_root() { echo "${KUBEMATE_TESTENV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubemate-testenv}"; }

# Go builds never resolve anything: every module comes from a committed go.mod/go.sum under
# test/env/gomod/, a go.sum mismatch is an error, and Go never fetches another toolchain.
go_pinned_env() {
  export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS='-mod=readonly -buildvcs=false'
}
