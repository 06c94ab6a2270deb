#!/usr/bin/env bash
# Jaeger all-in-one (collector + query + in-memory storage) for the traces integration tests.
#
#   jaeger.sh build   build jaeger-all-in-one from the Go module proxy into the cache (instant when
#                     cached) and print the binary's path on the last stdout line
#   jaeger.sh path    print the cached binary's path; fail when it has not been built
#
# The binary is cached outside the repo, keyed by version:
#   ${KUBEMATE_TESTENV_CACHE:-~/.cache/kubemate-testenv}/jaeger-<version without v>/jaeger-all-in-one
# A binary in $KUBEMATE_TESTENV_BIN/jaeger-all-in-one is used instead of building.
# test/env/jaeger.ts starts it on free loopback ports.
set -euo pipefail

# github.com/jaegertracing/jaeger v1.76.0 still ships the v1 all-in-one at cmd/all-in-one (the v2
# binary is cmd/jaeger). Its go.mod carries a replace directive, so `go install pkg@version` refuses
# it: we build from a scratch module that requires jaeger and repeats its replace directives.
JAEGER_VERSION="${JAEGER_VERSION:-v1.76.0}"
JAEGER_MODULE=github.com/jaegertracing/jaeger
JAEGER_MAIN="$JAEGER_MODULE/cmd/all-in-one"

cache_root="${KUBEMATE_TESTENV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubemate-testenv}"
out_dir="$cache_root/jaeger-${JAEGER_VERSION#v}"
binary="$out_dir/jaeger-all-in-one"
export CGO_ENABLED=0 GOFLAGS=-mod=mod

log() { printf '[testenv-build] %s\n' "$*" >&2; }
elapsed() { echo "$((SECONDS - $1))s"; }

# quiet CMD...: runs CMD, showing its output only if it fails.
quiet() {
  local out rc=0
  out="$("$@" 2>&1)" || rc=$?
  if ((rc != 0)); then printf '%s\n' "$out" >&2; log "failed ($rc): $*"; fi
  return "$rc"
}

prebuilt() {
  [[ -n "${KUBEMATE_TESTENV_BIN:-}" && -x "$KUBEMATE_TESTENV_BIN/jaeger-all-in-one" ]] &&
    echo "$KUBEMATE_TESTENV_BIN/jaeger-all-in-one"
}

build() {
  if p=$(prebuilt); then log "jaeger: using $p"; echo "$p"; return 0; fi
  if [[ -x "$binary" ]]; then log "jaeger $JAEGER_VERSION: cached"; echo "$binary"; return 0; fi
  mkdir -p "$cache_root"
  # One build at a time per cache (parallel test runs, CI steps); a separate lock from build.sh's
  # so the cluster build and this one do not wait on each other.
  if command -v flock >/dev/null; then
    exec 8>"$cache_root/.build-jaeger.lock"
    flock -n 8 || { log "jaeger: waiting for another build to finish"; flock 8; }
    if [[ -x "$binary" ]]; then log "jaeger $JAEGER_VERSION: cached"; echo "$binary"; return 0; fi
  fi
  log "jaeger $JAEGER_VERSION: building $JAEGER_MAIN (several minutes on 2 cores when cold)"
  local mod t0=$SECONDS t1
  mod="$(mktemp -d)"
  (
    cd "$mod"
    quiet go mod init kubemate.local/jaeger-build
    local gomod gover
    gomod="$(go mod download -json "$JAEGER_MODULE@$JAEGER_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
    [[ -n "$gomod" ]] || { log "jaeger: cannot download $JAEGER_MODULE@$JAEGER_VERSION"; exit 1; }
    gover="$(sed -n 's/^go \(.*\)/\1/p' "$gomod")"
    {
      echo "module kubemate.local/jaeger-build"
      echo "go $gover"
      echo "require $JAEGER_MODULE $JAEGER_VERSION"
      # Single-line replace directives (`replace a => b vX`), repeated as they are upstream.
      grep -E '^replace [^ ]+ => [^ ]+ v[^ ]+' "$gomod" || true
    } >go.mod
    printf '//go:build tools\npackage tools\nimport _ "%s"\n' "$JAEGER_MAIN" >tools.go
    quiet go mod tidy
    log "jaeger $JAEGER_VERSION: modules resolved in $(elapsed "$t0")"
    t1=$SECONDS
    local pkg=github.com/jaegertracing/jaeger/internal/version
    go build -trimpath -ldflags "-s -w -X $pkg.latestVersion=$JAEGER_VERSION" -o "$mod/jaeger-all-in-one" "$JAEGER_MAIN"
    log "jaeger $JAEGER_VERSION: compiled in $(elapsed "$t1")"
  )
  mkdir -p "$out_dir" && mv "$mod/jaeger-all-in-one" "$binary" && rm -rf "$mod"
  log "jaeger $JAEGER_VERSION: built in $(elapsed "$t0")"
  echo "$binary"
}

case "${1:-}" in
  build) build ;;
  path)
    if p=$(prebuilt); then echo "$p"; elif [[ -x "$binary" ]]; then echo "$binary"; else
      log "jaeger $JAEGER_VERSION is not built; run: bash test/env/jaeger.sh build"; exit 1
    fi
    ;;
  *) echo "usage: $0 build|path" >&2; exit 2 ;;
esac
