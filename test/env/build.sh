#!/usr/bin/env bash
# Builds the test cluster's binaries from the Go module proxy and caches them outside the repo,
# keyed by version. Binaries in $KUBEMATE_TESTENV_BIN are used instead; so are binaries on PATH,
# but only when they report exactly the pinned version (a kubectl wrapper or distro etcd of another
# version would make the tests depend on the machine).
# Prints the directory holding the binaries on its last line; progress and timings go to stderr.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck disable=SC1091
source "$here/versions.env"

cache_root="${KUBEMATE_TESTENV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubemate-testenv}"
export CGO_ENABLED=0 GOFLAGS=-mod=mod

log() { printf '[testenv-build] %s\n' "$*" >&2; }

# quiet CMD...: runs CMD, showing its output only if it fails.
quiet() {
  local out rc=0
  out="$("$@" 2>&1)" || rc=$?
  if ((rc != 0)); then printf '%s\n' "$out" >&2; log "failed ($rc): $*"; fi
  return "$rc"
}

# version_of NAME PATH -> prints what the binary says its version is
version_of() {
  case $1 in
    kubectl) "$2" version --client 2>&1 | head -n 1 ;;
    *) "$2" --version 2>&1 | head -n 1 ;;
  esac
}

want_version() { # want_version NAME -> pinned version for that binary
  case $1 in
    etcd) echo "${ETCD_VERSION#v}" ;;
    kwok) echo "$KWOK_VERSION" ;;
    *) echo "$KUBERNETES_VERSION" ;;
  esac
}

have() { # have NAME -> prints path when a usable binary exists outside our cache
  local name=$1 p want
  if [[ -n "${KUBEMATE_TESTENV_BIN:-}" && -x "$KUBEMATE_TESTENV_BIN/$name" ]]; then
    echo "$KUBEMATE_TESTENV_BIN/$name"; return 0
  fi
  p="$(command -v "$name" 2>/dev/null)" || return 1
  case $p in "$cache_root"/*) return 1 ;; esac
  want="$(want_version "$name")"
  if version_of "$name" "$p" | grep -qE "(^|[^0-9.])${want//./\\.}([^0-9.-]|$)"; then
    echo "$p"; return 0
  fi
  return 1
}

elapsed() { echo "$((SECONDS - $1))s"; }

build_etcd() {
  local out="$cache_root/etcd-$ETCD_VERSION"
  if [[ -x "$out/etcd" ]]; then log "etcd $ETCD_VERSION: cached"; return 0; fi
  log "etcd $ETCD_VERSION: building"
  local mod t0=$SECONDS t1; mod="$(mktemp -d)"
  (
    cd "$mod"
    quiet go mod init kubemate.local/etcd-build
    quiet go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
    t1=$SECONDS
    log "etcd $ETCD_VERSION: modules resolved in $(elapsed "$t0")"
    go build -trimpath -ldflags "-s -w" -o "$mod/etcd" go.etcd.io/etcd/server/v3
    log "etcd $ETCD_VERSION: compiled in $(elapsed "$t1")"
  )
  mkdir -p "$out" && mv "$mod/etcd" "$out/etcd" && rm -rf "$mod"
  log "etcd $ETCD_VERSION: built in $(elapsed "$t0")"
}

build_kubernetes() {
  local out="$cache_root/kubernetes-$KUBERNETES_VERSION"
  local bins=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
  local missing=0
  for b in "${bins[@]}"; do [[ -x "$out/$b" ]] || missing=1; done
  if [[ $missing == 0 ]]; then log "kubernetes $KUBERNETES_VERSION: cached"; return 0; fi
  log "kubernetes $KUBERNETES_VERSION: building ${bins[*]} (15-25 minutes on 2 cores when cold)"
  local mod t0=$SECONDS; mod="$(mktemp -d)"
  local staging="v0.${KUBERNETES_VERSION#v1.}"
  (
    cd "$mod"
    quiet go mod init kubemate.local/k8s-build
    local gomod
    gomod="$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
    # k8s.io/kubernetes replaces its staging modules with local paths; point them at the published tags.
    local gover; gover="$(sed -n 's/^go \(.*\)/\1/p' "$gomod")"
    {
      echo "module kubemate.local/k8s-build"
      echo "go $gover"
      echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
      grep -oE '^\s*k8s\.io/[a-z0-9-]+ => \./staging' "$gomod" | awk '{print $1}' | sort -u |
        while read -r m; do echo "replace $m => $m $staging"; done
    } >go.mod
    local ld="-s -w -X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION -X k8s.io/client-go/pkg/version.gitVersion=$KUBERNETES_VERSION"
    go mod tidy >/dev/null 2>&1 || true
    local pkgs=()
    for b in "${bins[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
    cat >tools.go <<GO
//go:build tools
package tools
import (
$(for p in "${pkgs[@]}"; do echo "  _ \"$p\""; done)
)
GO
    quiet go mod tidy
    log "kubernetes $KUBERNETES_VERSION: modules resolved in $(elapsed "$t0")"
    local t1=$SECONDS
    mkdir -p bin
    go build -trimpath -ldflags "$ld" -o bin/ "${pkgs[@]}"
    log "kubernetes $KUBERNETES_VERSION: compiled in $(elapsed "$t1")"
  )
  mkdir -p "$out"
  for b in "${bins[@]}"; do mv "$mod/bin/$b" "$out/$b"; done
  rm -rf "$mod"
  log "kubernetes $KUBERNETES_VERSION: built in $(elapsed "$t0")"
}

build_kwok() {
  local out="$cache_root/kwok-$KWOK_VERSION"
  if [[ -x "$out/kwok" ]]; then log "kwok $KWOK_VERSION: cached"; return 0; fi
  log "kwok $KWOK_VERSION: building"
  local t0=$SECONDS tmp; tmp="$(mktemp -d)"
  GOBIN="$tmp" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  mkdir -p "$out" && mv "$tmp/kwok" "$out/kwok" && rm -rf "$tmp"
  log "kwok $KWOK_VERSION: built in $(elapsed "$t0")"
}

start=$SECONDS
bindir="$cache_root/bin"
mkdir -p "$bindir"
# One build at a time per cache (parallel test runs, CI steps).
if command -v flock >/dev/null; then
  exec 9>"$cache_root/.build.lock"
  flock -n 9 || { log "waiting for another build to finish"; flock 9; }
fi
link() { ln -sfn "$1" "$bindir/$2"; }

if p=$(have etcd); then link "$p" etcd; log "etcd: using $p"; else
  build_etcd; link "$cache_root/etcd-$ETCD_VERSION/etcd" etcd
fi
if p=$(have kwok); then link "$p" kwok; log "kwok: using $p"; else
  build_kwok; link "$cache_root/kwok-$KWOK_VERSION/kwok" kwok
fi
need_k8s=0
for b in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
  if p=$(have "$b"); then link "$p" "$b"; log "$b: using $p"; else need_k8s=1; fi
done
if [[ $need_k8s == 1 ]]; then
  build_kubernetes
  for b in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    have "$b" >/dev/null || link "$cache_root/kubernetes-$KUBERNETES_VERSION/$b" "$b"
  done
fi
log "binaries ready in $bindir ($(elapsed "$start"))"
echo "$bindir"
