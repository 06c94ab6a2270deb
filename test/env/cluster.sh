#!/usr/bin/env bash
# A real Kubernetes control plane for integration tests, on loopback only, with kwok fake nodes.
# kwok also serves the container logs in kwok/logs/ for every pod on its nodes (kubectl logs works).
#
#   cluster.sh up       start etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok,
#                       then create fake nodes and wait for them to be Ready
#   cluster.sh status   report the processes and the apiserver's /readyz
#   cluster.sh down     stop every process recorded in the state dir and remove the state dir
#
# State dir: $KUBEMATE_TESTENV_DIR (for down/status it may also be given as the second argument);
# `up` uses a fresh temp dir when it is unset. `up` prints the state dir on its last stdout line.
# It holds kubeconfig (contexts admin [current], kubemate, alice), env (KUBECONFIG, pids, ...),
# pids, logs/ and the generated keys.
#
# Environment:
#   KUBEMATE_TESTENV_NODES   number of fake nodes kwok-node-0..N-1 to create (default 3)
#   KUBEMATE_TESTENV_BINDIR  directory with the binaries (default: what test/env/build.sh prints)
#   KUBEMATE_TESTENV_KEEP_ON_FAILURE=1  leave processes and state dir behind when `up` fails
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

MARKER=.kubemate-testenv
log() { printf '[testenv] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
now_ms() { date +%s%3N; }
fmt_ms() { printf '%d.%01ds' $(($1 / 1000)) $(($1 % 1000 / 100)); }

# step LABEL CMD... runs CMD and prints how long it took.
step() {
  local label=$1; shift
  local t0; t0=$(now_ms)
  "$@"
  log "$(printf '%-34s %8s' "$label" "$(fmt_ms $(($(now_ms) - t0)))")"
}

# wait_for DESCRIPTION TIMEOUT_S CMD... polls CMD every 0.2s until it succeeds.
wait_for() {
  local what=$1 timeout=$2; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then die "timed out after ${timeout}s waiting for $what"; fi
    check_alive
    sleep 0.2
  done
}

state_from_args() {
  STATE="${2:-${KUBEMATE_TESTENV_DIR:-}}"
  [[ -n "$STATE" ]] || die "give the state dir as KUBEMATE_TESTENV_DIR or as an argument"
}

# --- process bookkeeping -------------------------------------------------------------------------
# $STATE/pids has one "name pid" line per started process.

# alive PID: the process exists and is not a zombie (exited children may be reaped late here).
alive() {
  local stat
  stat=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n "$stat" && "$stat" != Z ]]
}

# is_ours PID: the process exists and its command line mentions our state dir (guards pid reuse).
is_ours() {
  local pid=$1
  [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' </proc/"$pid"/cmdline | grep -qF -- "$STATE"
}

# start NAME CMD...: runs CMD detached (own session, stdin closed), logging to logs/NAME.log.
start() {
  local name=$1; shift
  local pidfile="$STATE/run/$name.pid"
  rm -f "$pidfile"
  # The inner shell records its own pid and then execs CMD, so the pid is exactly CMD's.
  # shellcheck disable=SC2016
  setsid bash -c 'echo $$ >"$0.tmp" && mv "$0.tmp" "$0" && exec "$@"' "$pidfile" "$@" \
    </dev/null >"$STATE/logs/$name.log" 2>&1 &
  local i
  for ((i = 0; i < 100; i++)); do [[ -s "$pidfile" ]] && break; sleep 0.05; done
  [[ -s "$pidfile" ]] || die "$name did not start (see $STATE/logs/$name.log)"
  echo "$name $(cat "$pidfile")" >>"$STATE/pids"
}

check_alive() {
  [[ -f "$STATE/pids" ]] || return 0
  local name pid
  while read -r name pid; do
    alive "$pid" && continue
    log "$name (pid $pid) exited; last lines of $STATE/logs/$name.log:"
    tail -n 25 "$STATE/logs/$name.log" >&2 || true
    die "$name exited during startup"
  done <"$STATE/pids"
}

stop_all() {
  [[ -f "$STATE/pids" ]] || return 0
  local -a names=() pids=()
  local name pid i
  while read -r name pid; do names+=("$name"); pids+=("$pid"); done <"$STATE/pids"
  # Reverse start order: kwok and the controllers first, etcd last.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    pid=${pids[i]}
    is_ours "$pid" || continue
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 10))
    while alive "$pid" && ((SECONDS < deadline)); do sleep 0.05; done
    if alive "$pid"; then
      log "${names[i]} (pid $pid) ignored SIGTERM; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  rm -f "$STATE/pids"
}

# --- setup steps ---------------------------------------------------------------------------------

free_ports() { # free_ports N -> N distinct free loopback ports, one per line
  node -e '
    const net = require("node:net");
    const n = Number(process.argv[1]);
    const servers = [];
    const next = () => {
      if (servers.length === n) {
        for (const s of servers) console.log(s.address().port);
        for (const s of servers) s.close();
        return;
      }
      const s = net.createServer();
      s.listen(0, "127.0.0.1", () => { servers.push(s); next(); });
    };
    next();' "$1"
}

gen_certs() {
  local pki="$STATE/pki"
  mkdir -p "$pki"
  (
    cd "$pki"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=kubemate-testenv-ca" \
      -keyout ca.key -out ca.crt \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
    openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" -keyout apiserver.key -out apiserver.csr
    cat >apiserver.ext <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:10.96.0.1
EOF
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile apiserver.ext -out apiserver.crt
    openssl genrsa -out sa.key 2048
    openssl rsa -in sa.key -pubout -out sa.pub
  ) >"$STATE/logs/openssl.log" 2>&1 || { cat "$STATE/logs/openssl.log" >&2; die "openssl failed"; }
}

gen_tokens() {
  ADMIN_TOKEN=$(openssl rand -hex 24)
  KUBEMATE_TOKEN=$(openssl rand -hex 24)
  ALICE_TOKEN=$(openssl rand -hex 24)
  # token,user,uid,"group1,group2"
  cat >"$STATE/pki/tokens.csv" <<EOF
$ADMIN_TOKEN,admin,admin,"system:masters"
$KUBEMATE_TOKEN,kubemate,kubemate
$ALICE_TOKEN,alice,alice
EOF
  chmod 600 "$STATE/pki/tokens.csv"
}

write_kubeconfigs() {
  local ca; ca=$(base64 -w0 <"$STATE/pki/ca.crt")
  cat >"$STATE/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: kubemate-testenv
  cluster:
    server: $SERVER
    certificate-authority-data: $ca
users:
- name: admin
  user:
    token: $ADMIN_TOKEN
- name: kubemate
  user:
    token: $KUBEMATE_TOKEN
- name: alice
  user:
    token: $ALICE_TOKEN
contexts:
- name: admin
  context: {cluster: kubemate-testenv, user: admin}
- name: kubemate
  context: {cluster: kubemate-testenv, user: kubemate}
- name: alice
  context: {cluster: kubemate-testenv, user: alice}
current-context: admin
EOF
  # The control-plane components get their own copy, so tests may edit the main kubeconfig.
  cp "$STATE/kubeconfig" "$STATE/admin.kubeconfig"
  chmod 600 "$STATE/kubeconfig" "$STATE/admin.kubeconfig"
}

start_etcd() {
  start etcd "$BIN/etcd" \
    --name default --data-dir "$STATE/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "default=http://127.0.0.1:$ETCD_PEER_PORT" \
    --unsafe-no-fsync --quota-backend-bytes 4294967296 --log-level warn
  wait_for "etcd /health" 60 curl -fsS "http://127.0.0.1:$ETCD_PORT/health"
}

start_apiserver() {
  local pki="$STATE/pki"
  start kube-apiserver "$BIN/kube-apiserver" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$APISERVER_PORT" \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --client-ca-file "$pki/ca.crt" \
    --token-auth-file "$pki/tokens.csv" \
    --authorization-mode Node,RBAC \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-cluster-ip-range 10.96.0.0/16 \
    --endpoint-reconciler-type none \
    --allow-privileged \
    --profiling=false
  wait_for "kube-apiserver /readyz" 120 \
    curl -fsS --cacert "$pki/ca.crt" -H "Authorization: Bearer $ADMIN_TOKEN" "$SERVER/readyz"
}

start_controllers() {
  local pki="$STATE/pki"
  start kube-controller-manager "$BIN/kube-controller-manager" \
    --kubeconfig "$STATE/admin.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$KCM_PORT" \
    --leader-elect=false \
    --controllers '*' \
    --use-service-account-credentials \
    --service-account-private-key-file "$pki/sa.key" \
    --root-ca-file "$pki/ca.crt" \
    --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
    --service-cluster-ip-range 10.96.0.0/16 \
    --profiling=false
  start kube-scheduler "$BIN/kube-scheduler" \
    --kubeconfig "$STATE/admin.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$SCHEDULER_PORT" \
    --leader-elect=false \
    --profiling=false
  wait_for "kube-controller-manager /healthz" 60 curl -fsSk "https://127.0.0.1:$KCM_PORT/healthz"
  wait_for "kube-scheduler /healthz" 60 curl -fsSk "https://127.0.0.1:$SCHEDULER_PORT/healthz"
}

# kwok serves container logs from the CRI-format files in kwok/logs/ (kwok wants absolute paths,
# hence a generated config). Every pod on a kwok node gets them: container 'proxy' an envoy access
# log, container 'injected' prompt-injection payloads (agent tests), every other container
# checkout-api's log, and with previous=true the log of an instance that panicked.
# (kwok v0.7 selects pods by name and namespace only, not by label.)
write_kwok_logs_config() {
  local logs="$here/kwok/logs"
  cat >"$STATE/kwok-logs.yaml" <<EOF
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata:
  name: kubemate-testenv
spec:
  selector: {}
  logs:
  - containers: [proxy]
    logsFile: "$logs/proxy.log"
    follow: false
  - containers: [injected]
    logsFile: "$logs/injection.log"
    follow: false
  - logsFile: "$logs/checkout-api.log"
    previousLogsFile: "$logs/checkout-api-previous.log"
    follow: false
EOF
}

start_kwok() {
  local -a configs=(--config "$here/kwok/kwok.yaml")
  local f
  for f in "$here"/kwok/stages/*.yaml; do configs+=(--config "$f"); done
  write_kwok_logs_config
  configs+=(--config "$STATE/kwok-logs.yaml")
  # The API server reaches kwok's kubelet API (logs) at the address and port kwok gives its nodes,
  # over TLS; it does not verify the kubelet's certificate, so the apiserver's own one does.
  start kwok "$BIN/kwok" "${configs[@]}" \
    --kubeconfig "$STATE/admin.kubeconfig" \
    --server-address "127.0.0.1:$KWOK_PORT" \
    --tls-cert-file "$STATE/pki/apiserver.crt" --tls-private-key-file "$STATE/pki/apiserver.key" \
    --node-ip 127.0.0.1 --node-port "$KWOK_PORT"
  wait_for "kwok /healthz" 60 curl -fsSk "https://127.0.0.1:$KWOK_PORT/healthz"
}

kubectl() { "$BIN/kubectl" --kubeconfig "$STATE/admin.kubeconfig" "$@"; }

apply_rbac() {
  kubectl apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: Namespace
metadata: {name: team-a}
---
# Kubemate's own identity: read everything, and act for the chat user by impersonation.
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: kubemate}
rules:
- apiGroups: [""]
  resources: [users, groups, serviceaccounts]
  verbs: [impersonate]
- apiGroups: ["*"]
  resources: ["*"]
  verbs: [get, list, watch]
- nonResourceURLs: ["*"]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: kubemate}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: kubemate}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: kubemate}
---
# alice may view namespace team-a, nothing else.
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: alice-view, namespace: team-a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}
EOF
}

# fake_nodes COUNT PREFIX -> Node manifests kwok manages (no taints, so plain workloads schedule).
fake_nodes() {
  local count=$1 prefix=$2 i name
  for ((i = 0; i < count; i++)); do
    name="$prefix$i"
    cat <<EOF
---
apiVersion: v1
kind: Node
metadata:
  name: $name
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/hostname: $name
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    type: kwok
status:
  allocatable: {cpu: "32", memory: 256Gi, pods: "110"}
  capacity: {cpu: "32", memory: 256Gi, pods: "110"}
EOF
  done
}

create_nodes() {
  ((NODES > 0)) || return 0
  fake_nodes "$NODES" kwok-node- | kubectl apply -f - >/dev/null
  kubectl wait --for=condition=Ready node -l type=kwok --timeout=120s >/dev/null
  # The node lifecycle controller lifts the not-ready taint shortly after Ready; wait for that too.
  wait_for "fake nodes untainted" 60 no_tainted_nodes
}

no_tainted_nodes() {
  [[ -z "$(kubectl get nodes -l type=kwok -o jsonpath='{.items[*].spec.taints}')" ]]
}

wait_default_sa() {
  wait_for "ServiceAccount default/default" 60 kubectl get serviceaccount default -n default
}

write_env() {
  {
    printf 'KUBEMATE_TESTENV_DIR=%q\n' "$STATE"
    printf 'KUBECONFIG=%q\n' "$STATE/kubeconfig"
    printf 'KUBEMATE_TESTENV_SERVER=%q\n' "$SERVER"
    printf 'KUBEMATE_TESTENV_BINDIR=%q\n' "$BIN"
    local name pid
    while read -r name pid; do
      name=${name//-/_}
      printf '%s_PID=%s\n' "${name^^}" "$pid"
    done <"$STATE/pids"
  } >"$STATE/env"
}

on_up_exit() {
  (($1 != 0)) || return 0
  local f
  for f in "$STATE"/logs/*.log; do
    [[ -s "$f" && "$f" != */openssl.log ]] || continue
    log "--- last lines of $f"
    tail -n 15 "$f" >&2
  done
  log "startup failed; stopping and removing $STATE (KUBEMATE_TESTENV_KEEP_ON_FAILURE=1 keeps it)"
  stop_all
  rm -rf "$STATE"
}

# --- commands ------------------------------------------------------------------------------------

cmd_up() {
  local t_all; t_all=$(now_ms)
  if [[ -n "${KUBEMATE_TESTENV_DIR:-}" ]]; then
    STATE="$KUBEMATE_TESTENV_DIR"
    mkdir -p "$STATE"
    # Never take over (and later delete) a directory that is not ours.
    if [[ ! -f "$STATE/$MARKER" && -n "$(ls -A "$STATE")" ]]; then
      die "$STATE is not empty and not a kubemate test env dir"
    fi
  else
    STATE="$(mktemp -d "${TMPDIR:-/tmp}/kubemate-testenv.XXXXXX")"
  fi
  STATE="$(cd "$STATE" && pwd)"
  touch "$STATE/$MARKER"
  if [[ -f "$STATE/pids" ]]; then
    local name pid
    while read -r name pid; do
      if is_ours "$pid"; then die "a cluster is already running in $STATE ($name pid $pid); run down first"; fi
    done <"$STATE/pids"
    rm -f "$STATE/pids"
  fi
  rm -rf "$STATE/etcd" "$STATE/logs" "$STATE/run" "$STATE/pki"
  mkdir -p "$STATE/logs" "$STATE/run"
  NODES="${KUBEMATE_TESTENV_NODES:-3}"
  [[ "$NODES" =~ ^[0-9]+$ ]] || die "KUBEMATE_TESTENV_NODES must be a number"

  if [[ "${KUBEMATE_TESTENV_KEEP_ON_FAILURE:-}" != 1 ]]; then
    trap 'on_up_exit $?' EXIT
    trap 'exit 130' INT TERM HUP
  fi

  if [[ -n "${KUBEMATE_TESTENV_BINDIR:-}" ]]; then
    BIN="$KUBEMATE_TESTENV_BINDIR"
  else
    BIN="$(bash "$here/build.sh" | tail -n 1)"
  fi
  local b
  for b in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok; do
    [[ -x "$BIN/$b" ]] || die "$BIN/$b missing; run test/env/build.sh"
  done
  command -v openssl >/dev/null || die "openssl is required"
  command -v curl >/dev/null || die "curl is required"

  log "state dir $STATE"
  local ports
  mapfile -t ports < <(free_ports 6)
  ETCD_PORT=${ports[0]} ETCD_PEER_PORT=${ports[1]} APISERVER_PORT=${ports[2]}
  KCM_PORT=${ports[3]} SCHEDULER_PORT=${ports[4]} KWOK_PORT=${ports[5]}
  SERVER="https://127.0.0.1:$APISERVER_PORT"

  step "certificates and keys (openssl)" gen_certs
  gen_tokens
  write_kubeconfigs
  step "etcd" start_etcd
  step "kube-apiserver (until /readyz)" start_apiserver
  step "controller-manager, scheduler" start_controllers
  step "kwok" start_kwok
  step "RBAC (kubemate, alice, team-a)" apply_rbac
  step "default ServiceAccount" wait_default_sa
  step "$NODES fake nodes Ready" create_nodes
  write_env
  trap - EXIT INT TERM HUP
  log "$(printf '%-34s %8s' "cluster up (total)" "$(fmt_ms $(($(now_ms) - t_all)))")"
  log "server $SERVER; KUBECONFIG=$STATE/kubeconfig (contexts admin, kubemate, alice)"
  echo "$STATE"
}

cmd_down() {
  state_from_args "$@"
  [[ -d "$STATE" ]] || { log "no state dir $STATE; nothing to do"; return 0; }
  STATE="$(cd "$STATE" && pwd)"
  local t0; t0=$(now_ms)
  stop_all
  if [[ -f "$STATE/$MARKER" ]]; then rm -rf "$STATE"; else log "$STATE is not a test env dir; not removing it"; fi
  log "$(printf '%-34s %8s' "cluster down" "$(fmt_ms $(($(now_ms) - t0)))")"
}

cmd_status() {
  state_from_args "$@"
  [[ -f "$STATE/pids" ]] || { echo "no cluster in $STATE"; return 1; }
  STATE="$(cd "$STATE" && pwd)"
  local name pid rc=0
  while read -r name pid; do
    if is_ours "$pid"; then echo "$name: running (pid $pid)"; else echo "$name: not running (pid $pid)"; rc=1; fi
  done <"$STATE/pids"
  local server bindir
  server=$(sed -n 's/^KUBEMATE_TESTENV_SERVER=//p' "$STATE/env")
  bindir=$(sed -n 's/^KUBEMATE_TESTENV_BINDIR=//p' "$STATE/env")
  if "$bindir/kubectl" --kubeconfig "$STATE/kubeconfig" get --raw /readyz >/dev/null 2>&1; then
    echo "apiserver: ready ($server)"
  else
    echo "apiserver: not ready ($server)"; rc=1
  fi
  echo "KUBECONFIG=$STATE/kubeconfig"
  return $rc
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down "$@" ;;
  status) cmd_status "$@" ;;
  *) echo "usage: $0 up|down|status [STATE_DIR]" >&2; exit 2 ;;
esac
