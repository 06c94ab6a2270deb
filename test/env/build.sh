#!/usr/bin/env bash
# Builds the test cluster's binaries from the Go module proxy and caches them outside the repo,
# keyed by version. Binaries already on PATH, or in $KUBEMATE_TESTENV_BIN, are used instead.
# Prints the directory holding the binaries on its last line.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"

cache_root="${KUBEMATE_TESTENV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubemate-testenv}"
export CGO_ENABLED=0 GOFLAGS=-mod=mod

log() { printf '[testenv-build] %s\n' "$*" >&2; }

have() { # have NAME -> prints path when a usable binary exists outside our cache
  local name=$1
  if [[ -n "${KUBEMATE_TESTENV_BIN:-}" && -x "$KUBEMATE_TESTENV_BIN/$name" ]]; then
    echo "$KUBEMATE_TESTENV_BIN/$name"; return 0
  fi
  command -v "$name" 2>/dev/null || return 1
}

timed() { # timed LABEL CMD... -> runs CMD and reports its duration
  local label=$1; shift
  local start=$SECONDS
  "$@"
  log "$label took $((SECONDS - start))s"
}

build_etcd() {
  local out="$cache_root/etcd-$ETCD_VERSION"
  [[ -x "$out/etcd" ]] && return 0
  local mod; mod="$(mktemp -d)"
  (
    cd "$mod"
    go mod init kubemate.local/etcd-build >/dev/null 2>&1
    go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >/dev/null 2>&1
    go build -trimpath -ldflags "-s -w" -o "$mod/etcd" go.etcd.io/etcd/server/v3
  )
  mkdir -p "$out" && mv "$mod/etcd" "$out/etcd" && rm -rf "$mod"
}

build_kubernetes() {
  local out="$cache_root/kubernetes-$KUBERNETES_VERSION"
  local bins=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
  local missing=0
  for b in "${bins[@]}"; do [[ -x "$out/$b" ]] || missing=1; done
  [[ $missing == 0 ]] && return 0
  local mod; mod="$(mktemp -d)"
  local staging="v0.${KUBERNETES_VERSION#v1.}"
  (
    cd "$mod"
    go mod init kubemate.local/k8s-build >/dev/null 2>&1
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
    local pkgs=()
    for b in "${bins[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
    cat >tools.go <<GO
//go:build tools
package tools
import (
$(for p in "${pkgs[@]}"; do echo "  _ \"$p\""; done)
)
GO
    go mod tidy >/dev/null
    mkdir -p bin
    go build -trimpath -ldflags "$ld" -o bin/ "${pkgs[@]}"
  )
  mkdir -p "$out"
  for b in "${bins[@]}"; do mv "$mod/bin/$b" "$out/$b"; done
  rm -rf "$mod"
}

build_kwok() {
  local out="$cache_root/kwok-$KWOK_VERSION"
  [[ -x "$out/kwok" ]] && return 0
  mkdir -p "$out"
  GOBIN="$out" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
}

bindir="$cache_root/bin"
mkdir -p "$bindir"
link() { ln -sf "$1" "$bindir/$2"; }

if p=$(have etcd); then link "$p" etcd; else timed "etcd $ETCD_VERSION" build_etcd; link "$cache_root/etcd-$ETCD_VERSION/etcd" etcd; fi
if p=$(have kwok); then link "$p" kwok; else timed "kwok $KWOK_VERSION" build_kwok; link "$cache_root/kwok-$KWOK_VERSION/kwok" kwok; fi
need_k8s=0
for b in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
  if p=$(have "$b"); then link "$p" "$b"; else need_k8s=1; fi
done
if [[ $need_k8s == 1 ]]; then
  timed "kubernetes $KUBERNETES_VERSION" build_kubernetes
  for b in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    have "$b" >/dev/null || link "$cache_root/kubernetes-$KUBERNETES_VERSION/$b" "$b"
  done
fi
echo "$bindir"
