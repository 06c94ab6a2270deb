#!/usr/bin/env bash
# Dev convenience: builds the binaries (cached) and starts a long-lived test cluster in a fixed dir,
# or reuses the one already running there. Then point test runs at it:
#   eval "$(bash test/env/up.sh)"      # or copy the printed export line
#   npm test                           # global setup uses KUBEMATE_TEST_KUBECONFIG instead of starting one
# Stop it with: bash test/env/cluster.sh down "${KUBEMATE_TESTENV_DIR:-$HOME/.cache/kubemate-testenv/run}"
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export KUBEMATE_TESTENV_DIR="${KUBEMATE_TESTENV_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kubemate-testenv/run}"

if bash "$here/cluster.sh" status >/dev/null 2>&1; then
  echo "[testenv] reusing the cluster running in $KUBEMATE_TESTENV_DIR" >&2
else
  bash "$here/cluster.sh" down >/dev/null 2>&1 || true # clear a stale or half-dead one
  KUBEMATE_TESTENV_BINDIR="$(bash "$here/build.sh" | tail -n 1)" bash "$here/cluster.sh" up >/dev/null
fi
echo "export KUBEMATE_TEST_KUBECONFIG=$KUBEMATE_TESTENV_DIR/kubeconfig"
