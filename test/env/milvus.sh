#!/usr/bin/env bash
# A real Milvus for tests: the milvus-lite gRPC server (PyPI), in a venv cached outside the repo.
#
#   milvus.sh install          create the venv (or reuse the cached one); prints its directory on the
#                              last stdout line. Idempotent; about a second when cached.
#   milvus.sh serve ARGS...    install, then run `milvus-lite server ARGS...` in the foreground
#                              (e.g. --data-dir /tmp/m --host 127.0.0.1 --port 19530). Stop with ^C.
#   milvus.sh freeze           re-pin milvus/requirements.txt from milvus/requirements.in (maintainers)
#
# The venv lives in $KUBEMATE_TESTENV_CACHE (default ~/.cache/kubemate-testenv)/milvus-lite-<version>
# and is rebuilt when milvus/requirements.txt changes. Needs Python >= 3.11 ($PYTHON, default python3)
# and a reachable PyPI; only wheels are installed, so nothing is compiled, and only the pinned
# tree (--no-deps), so nothing is resolved.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
reqs="$here/milvus/requirements.txt"
python="${PYTHON:-python3}"
cache_root="${KUBEMATE_TESTENV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubemate-testenv}"

log() { printf '[testenv-milvus] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

version="$(sed -n 's/^milvus-lite==//p' "$reqs")"
[[ -n "$version" ]] || die "no milvus-lite pin in $reqs"
venv="$cache_root/milvus-lite-$version"
stamp_name=.kubemate-requirements.sha256
want_stamp="$(sha256sum "$reqs" | cut -d' ' -f1)"

cached() {
  [[ -x "$venv/bin/python" && "$(cat "$venv/$stamp_name" 2>/dev/null)" == "$want_stamp" ]]
}

check_python() {
  command -v "$python" >/dev/null 2>&1 || die "$python not found (set PYTHON to a Python >= 3.11)"
  "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
    die "$python is $("$python" -V 2>&1); the pinned wheels need Python >= 3.11"
}

install() {
  if cached; then log "milvus-lite $version: cached"; echo "$venv"; return 0; fi
  mkdir -p "$cache_root"
  # Two test runs installing at once would trample each other's venv.
  exec 9>"$cache_root/.milvus-lite.lock"
  flock 9
  if cached; then log "milvus-lite $version: cached"; echo "$venv"; return 0; fi
  check_python
  local t0=$SECONDS
  log "milvus-lite $version: installing into $venv"
  # Build beside the target and rename at the end, so an interrupted install never looks cached.
  # A venv survives the rename because we only ever run its bin/python (console scripts would not).
  local tmp="$venv.tmp.$$"
  rm -rf "$tmp"
  "$python" -m venv "$tmp"
  # requirements.txt is the whole tree, pinned: --no-deps installs exactly it, so a new release of a
  # transitive dependency can never change a fresh venv; pip check proves the tree is complete.
  if ! "$tmp/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    --only-binary=:all: --no-deps -r "$reqs" >&2; then
    rm -rf "$tmp"
    die "pip install failed"
  fi
  if ! "$tmp/bin/python" -m pip check --disable-pip-version-check >&2; then
    rm -rf "$tmp"
    die "requirements.txt is not a complete tree; regenerate it: bash test/env/milvus.sh freeze"
  fi
  "$tmp/bin/python" -c 'import milvus_lite.cmdline' || { rm -rf "$tmp"; die "milvus-lite does not import"; }
  echo "$want_stamp" >"$tmp/$stamp_name"
  rm -rf "$venv"
  mv "$tmp" "$venv"
  log "milvus-lite $version: installed in $((SECONDS - t0))s"
  echo "$venv"
}

case "${1:-}" in
  install) install ;;
  serve)
    shift
    install >/dev/null
    exec "$venv/bin/python" -B -u "$here/milvus/serve.py" server "$@"
    ;;
  freeze)
    check_python
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    "$python" -m venv "$tmp/venv"
    "$tmp/venv/bin/python" -m pip install --quiet --only-binary=:all: -r "$here/milvus/requirements.in" >&2
    {
      echo "# The whole dependency tree of requirements.in, pinned (pip freeze in a fresh Python 3.11 venv)."
      echo "# Regenerate after changing requirements.in: see test/env/milvus.sh."
      "$tmp/venv/bin/python" -m pip freeze
    } >"$reqs"
    log "wrote $reqs"
    ;;
  *)
    sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
