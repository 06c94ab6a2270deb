#!/usr/bin/env bash
# helm, for the chart tests (helm lint, helm template).
#
#   helm.sh build   build helm from the Go module proxy into the cache (instant when cached) and
#                   print the binary's path on the last stdout line
#   helm.sh path    print the cached binary's path; fail when it has not been built
#
# helm is not a Debian package. It is built from the committed module test/env/gomod/helm (see
# gomod.sh), which requires helm.sh/helm/v4 at the version versions.env pins, and cached outside the
# repo, keyed by version:
#   ${KUBEMATE_TESTENV_CACHE:-~/.cache/kubemate-testenv}/helm-<version without v>/helm
# A binary in $KUBEMATE_TESTENV_BIN/helm is used instead of building, but only when it reports
# exactly the pinned version.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck disable=SC1091
source "$here/versions.env"
LOG_TAG=testenv-build
# shellcheck disable=SC1091
source "$here/lib.sh"
HELM_MAIN=helm.sh/helm/v4/cmd/helm

cache_root="$(testenv_cache_root)"
out_dir="$cache_root/helm-${HELM_VERSION#v}"
binary="$out_dir/helm"
go_pinned_env

reports_pinned() { "$1" version --template '{{.Version}}' 2>/dev/null | grep -qx "$HELM_VERSION"; }

prebuilt() {
  local p="${KUBEMATE_TESTENV_BIN:-}/helm"
  [[ -n "${KUBEMATE_TESTENV_BIN:-}" && -x $p ]] && reports_pinned "$p" && echo "$p"
}

build() {
  if p=$(prebuilt); then log "helm: using $p"; echo "$p"; return 0; fi
  if [[ -x "$binary" ]]; then log "helm $HELM_VERSION: cached"; echo "$binary"; return 0; fi
  mkdir -p "$cache_root"
  # One build at a time per cache; a lock of its own so the other builds do not wait on this one.
  if command -v flock >/dev/null; then
    exec 7>"$cache_root/.build-helm.lock"
    flock -n 7 || { log "helm: waiting for another build to finish"; flock 7; }
    if [[ -x "$binary" ]]; then log "helm $HELM_VERSION: cached"; echo "$binary"; return 0; fi
  fi
  log "helm $HELM_VERSION: building $HELM_MAIN (a few minutes on 2 cores when cold)"
  local t0=$SECONDS t1 tmp="$out_dir.tmp.$$"
  rm -rf "$tmp" && mkdir -p "$tmp"
  quiet go -C "$here/gomod/helm" mod download
  log "helm $HELM_VERSION: modules downloaded in $(elapsed "$t0")"
  t1=$SECONDS
  go build -C "$here/gomod/helm" -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" \
    -o "$tmp/helm" "$HELM_MAIN"
  log "helm $HELM_VERSION: compiled in $(elapsed "$t1")"
  reports_pinned "$tmp/helm" || {
    log "helm: the built binary reports '$("$tmp/helm" version --template '{{.Version}}' 2>&1)', not $HELM_VERSION"
    return 1
  }
  rm -rf "$out_dir" && mv "$tmp" "$out_dir"
  log "helm $HELM_VERSION: built in $(elapsed "$t0")"
  echo "$binary"
}

case "${1:-}" in
  build) build ;;
  path)
    if p=$(prebuilt); then echo "$p"; elif [[ -x "$binary" ]]; then echo "$binary"; else
      log "helm $HELM_VERSION is not built; run: bash test/env/helm.sh build"; exit 1
    fi
    ;;
  *) echo "usage: $0 build|path" >&2; exit 2 ;;
esac
