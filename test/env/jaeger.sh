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
# binary is cmd/jaeger). It is built from the committed module test/env/gomod/jaeger (see gomod.sh),
# which requires jaeger at the version versions.env pins and repeats its replace directives.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck disable=SC1091
source "$here/versions.env"
LOG_TAG=testenv-build
# shellcheck disable=SC1091
source "$here/lib.sh"
JAEGER_MAIN=github.com/jaegertracing/jaeger/cmd/all-in-one

cache_root="$(testenv_cache_root)"
out_dir="$cache_root/jaeger-${JAEGER_VERSION#v}"
binary="$out_dir/jaeger-all-in-one"
go_pinned_env

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
  local t0=$SECONDS t1 tmp="$out_dir.tmp.$$"
  rm -rf "$tmp" && mkdir -p "$tmp"
  quiet go -C "$here/gomod/jaeger" mod download
  log "jaeger $JAEGER_VERSION: modules downloaded in $(elapsed "$t0")"
  t1=$SECONDS
  local pkg=github.com/jaegertracing/jaeger/internal/version
  go build -C "$here/gomod/jaeger" -trimpath -ldflags "-s -w -X $pkg.latestVersion=$JAEGER_VERSION" \
    -o "$tmp/jaeger-all-in-one" "$JAEGER_MAIN"
  log "jaeger $JAEGER_VERSION: compiled in $(elapsed "$t1")"
  rm -rf "$out_dir" && mv "$tmp" "$out_dir"
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
