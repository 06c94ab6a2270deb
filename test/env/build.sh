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

LOG_TAG=testenv-build
# shellcheck disable=SC1091
source "$here/lib.sh"
cache_root="$(testenv_cache_root)"
go_pinned_env

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

# go_build NAME OUT LDFLAGS PKG...: compiles PKG... from the committed build module
# test/env/gomod/NAME (see gomod.sh) to OUT (a directory ending in /, or a file for one package).
# Modules are downloaded as go.sum lists them, never resolved.
go_build() {
  local name=$1 out=$2 ld=$3; shift 3
  local t0=$SECONDS
  quiet go -C "$here/gomod/$name" mod download
  log "$name: modules downloaded in $(elapsed "$t0")"
  local t1=$SECONDS
  go build -C "$here/gomod/$name" -trimpath -ldflags "$ld" -o "$out" "$@"
  log "$name: compiled in $(elapsed "$t1")"
}

# build_into_cache DIR FN: runs FN TMPDIR and then puts TMPDIR in DIR's place, so that an
# interrupted build never looks cached.
build_into_cache() {
  local dir=$1; shift
  local tmp="$dir.tmp.$$"
  rm -rf "$tmp" && mkdir -p "$tmp"
  "$@" "$tmp"
  rm -rf "$dir" && mv "$tmp" "$dir"
}

build_etcd() {
  local out="$cache_root/etcd-$ETCD_VERSION"
  if [[ -x "$out/etcd" ]]; then log "etcd $ETCD_VERSION: cached"; return 0; fi
  log "etcd $ETCD_VERSION: building"
  local t0=$SECONDS
  etcd_into() { go_build etcd "$1/etcd" "-s -w" go.etcd.io/etcd/server/v3; }
  build_into_cache "$out" etcd_into
  log "etcd $ETCD_VERSION: built in $(elapsed "$t0")"
}

build_kubernetes() {
  local out="$cache_root/kubernetes-$KUBERNETES_VERSION"
  local bins=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
  local missing=0
  for b in "${bins[@]}"; do [[ -x "$out/$b" ]] || missing=1; done
  if [[ $missing == 0 ]]; then log "kubernetes $KUBERNETES_VERSION: cached"; return 0; fi
  log "kubernetes $KUBERNETES_VERSION: building ${bins[*]} (15-25 minutes on 2 cores when cold)"
  local t0=$SECONDS
  k8s_into() {
    local ld="-s -w -X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION -X k8s.io/client-go/pkg/version.gitVersion=$KUBERNETES_VERSION"
    local pkgs=() b
    for b in "${bins[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
    go_build kubernetes "$1/" "$ld" "${pkgs[@]}"
  }
  build_into_cache "$out" k8s_into
  log "kubernetes $KUBERNETES_VERSION: built in $(elapsed "$t0")"
}

build_kwok() {
  local out="$cache_root/kwok-$KWOK_VERSION"
  if [[ -x "$out/kwok" ]]; then log "kwok $KWOK_VERSION: cached"; return 0; fi
  log "kwok $KWOK_VERSION: building"
  local t0=$SECONDS
  kwok_into() { go_build kwok "$1/kwok" "-s -w" sigs.k8s.io/kwok/cmd/kwok; }
  build_into_cache "$out" kwok_into
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
