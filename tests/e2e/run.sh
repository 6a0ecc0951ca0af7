#!/usr/bin/env bash
# End-to-end suite for docker-credential-ecr-login.
#
#   tests/e2e/run.sh                 build the helper (scripts/build-release) and run every scenario
#   ECR_LOGIN_BIN=/path/to/docker-credential-ecr-login tests/e2e/run.sh    use that binary instead
#   tests/e2e/run.sh NAME...         run only the scenarios whose names contain one of NAME
#   E2E_KEEP=1                       keep the work dir (certs, logs, registries' data) afterwards
#   E2E_VERBOSE=1                    print every scenario's log, not only failing ones'
#
# Needs root (unshare, bind mounts, port 443 on loopback). Installs what it needs
# (Debian: docker-registry skopeo openssl apache2-utils util-linux iproute2 curl jq;
# PyPI: moto, into .venv-e2e) and fails loudly if it cannot. The `docker` CLI must
# already be installed (no daemon is needed or used).
#
# The scenarios run inside private mount, network and PID namespaces: the network
# namespace has only its own loopback interface, so nothing can leave the
# machine; /etc/hosts and the system CA bundle are bind-mounted over with the
# suite's own (ECR hostnames -> 127.42.0.x, test CA trusted); when the suite
# ends, every process it started is stopped by PID, and the PID namespace
# guarantees nothing outlives it.
#
# The bed: a moto-based ECR/ECR Public API emulator (scripts/emulator) on
# http://127.0.0.1:PORT (reached with AWS_ENDPOINT_URL_ECR[_PUBLIC]) and on
# https://127.42.0.10:443 under the real endpoint names (api.ecr.<region>...,
# api.ecr-fips..., ecr.<region>.api.aws, api.ecr-public.us-east-1...); Debian's
# docker-registry (htpasswd + TLS) for account 123456789012's hostnames (all
# partitions, FIPS, dual-stack; 210987654321's name points there too and is
# refused), for public.ecr.aws, and an unrelated registry for `docker login`.
# Clients: skopeo (credHelpers; registries.conf credential-helpers, since
# skopeo ignores "credsStore") and the docker CLI without a daemon (manifest
# inspect/create/push, login). Two client behaviours shape the bed:
#  * the docker CLI treats any registry whose name resolves to a loopback
#    address as insecure, and `docker manifest push` then uses plain HTTP, so
#    the ECR-side registries also have a plain-HTTP twin on port 80;
#  * skopeo 1.9 reads $DOCKER_CONFIG/config.json credHelpers but not credsStore.
# Helper behaviour checked beyond the clients: the get/store/erase/list protocol,
# cache hits and half-life refresh (cache entries aged in place), stale-token fallback, single-flight
# refresh under 8 concurrent gets, API errors and AWS_ECR_TIMEOUT, missing
# credentials failing fast, instance-metadata and profile credentials, and that
# AWS_ECR_LOG=debug leaks no secret.
#
# Last line: "N passed, M failed"; exit status 0 only when M is 0.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
SUITE_TIMEOUT="${E2E_TIMEOUT:-900}"

die() { echo "e2e: FATAL: $*" >&2; exit 1; }
note() { echo "e2e: $*" >&2; }

# --------------------------------------------------------------------------
# Outer phase: install, build, then re-exec inside the namespaces.
# --------------------------------------------------------------------------
outer() {
  [[ "$(id -u)" == 0 ]] || die "must run as root (unshare, bind mounts, loopback port 443)"

  local -A need=([docker-registry]=docker-registry [skopeo]=skopeo [openssl]=openssl
    [htpasswd]=apache2-utils [unshare]=util-linux [ip]=iproute2 [curl]=curl [jq]=jq
    [python3]=python3 [timeout]=coreutils
    [update-ca-certificates]=ca-certificates)
  local missing=() cmd
  for cmd in "${!need[@]}"; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}")
  done
  if ((${#missing[@]})); then
    note "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    timeout 600 apt-get update -q >/dev/null || die "apt-get update failed"
    timeout 900 apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
      || die "apt-get install ${missing[*]} failed"
    for cmd in "${!need[@]}"; do
      command -v "$cmd" >/dev/null 2>&1 || die "'$cmd' still missing after installing ${need[$cmd]}"
    done
  fi
  [[ -s /etc/ssl/certs/ca-certificates.crt ]] || die "/etc/ssl/certs/ca-certificates.crt missing (ca-certificates)"
  command -v docker >/dev/null 2>&1 \
    || die "the docker CLI is required (no daemon needed) and is not on PATH"
  # Debian's docker-registry package may start a service on :5000 on machines with
  # an init system; the suite never uses it (its registries live in the namespace).

  "$REPO/scripts/emulator/install" || die "could not install the emulator venv (scripts/emulator/install)"

  local bin="${ECR_LOGIN_BIN:-}"
  if [[ -z "$bin" ]]; then
    note "building the helper: scripts/build-release"
    bin=$(cd "$REPO" && timeout 3600 scripts/build-release) || die "scripts/build-release failed"
  fi
  [[ -x "$bin" ]] || die "helper binary not found or not executable: $bin"
  bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"

  note "running scenarios in private mount/net/pid namespaces (timeout ${SUITE_TIMEOUT}s)"
  local status; status="$(mktemp /tmp/ecr-login-e2e-status.XXXXXX)"
  # --kill-child=SIGTERM: if unshare dies, the suite (PID 1 of its PID namespace)
  # gets SIGTERM, runs its cleanup, and the kernel then reaps anything left.
  ECR_E2E_INNER=1 ECR_LOGIN_BIN="$bin" E2E_STATUS_FILE="$status" \
    timeout --kill-after=20 "$SUITE_TIMEOUT" \
    unshare --mount --net --pid --fork --kill-child=SIGTERM --mount-proc --propagation private \
    bash "$HERE/run.sh" "$@" &
  local child=$! rc
  trap 'kill -TERM "$child" 2>/dev/null' TERM INT
  wait "$child"; rc=$?
  while kill -0 "$child" 2>/dev/null; do wait "$child"; rc=$?; done
  trap - TERM INT
  if ((rc == 124 || rc == 137 || rc == 143)); then
    local passed=0 failed=0
    read -r passed failed <"$status" 2>/dev/null || true
    echo "e2e: suite stopped (exit $rc: timeout ${SUITE_TIMEOUT}s or signal) before finishing"
    echo "${passed:-0} passed, $((${failed:-0} + 1)) failed"
  fi
  rm -f "$status"
  return "$rc"
}

# --------------------------------------------------------------------------
# Inner phase (inside the namespaces).
# --------------------------------------------------------------------------
# Addresses (all on the namespace's own lo; Linux routes 127/8 there).
IP_ECR=127.42.0.2      # registry of account 123456789012 (all its ECR hostnames)
IP_PUBLIC=127.42.0.3   # registry for public.ecr.aws
IP_OTHER=127.42.0.4    # an unrelated htpasswd registry (docker login)
IP_API=127.42.0.10     # emulator's TLS listener (the real API endpoint names)
ACCT_A=123456789012
ACCT_B=210987654321
PW_A="$ACCT_A-auth-token"
PW_PUBLIC=public-auth-token
OTHER_HOST=registry.e2e.test
OTHER_USER=alice
OTHER_PW=wonderland-e2e

HOST_A="$ACCT_A.dkr.ecr.us-east-1.amazonaws.com"
HOST_B="$ACCT_B.dkr.ecr.us-east-1.amazonaws.com"   # served by account A's registry
HOST_FIPS="$ACCT_A.dkr.ecr-fips.us-east-1.amazonaws.com"
HOST_CN="$ACCT_A.dkr.ecr.cn-north-1.amazonaws.com.cn"
HOST_GOV="$ACCT_A.dkr.ecr.us-gov-west-1.amazonaws.com"
HOST_DUAL="$ACCT_A.dkr-ecr.us-east-1.on.aws"              # dual-stack registry name
HOST_PUBLIC=public.ecr.aws
HOST_PUBLIC_ALT=ecr-public.aws.com
REGISTRY_HOSTS_A=("$HOST_A" "$HOST_B" "$HOST_FIPS" "$HOST_CN" "$HOST_GOV" "$HOST_DUAL")
API_HOSTS=(
  api.ecr.us-east-1.amazonaws.com api.ecr-fips.us-east-1.amazonaws.com
  ecr.us-east-1.api.aws ecr-fips.us-east-1.api.aws
  api.ecr.us-west-2.amazonaws.com
  api.ecr.cn-north-1.amazonaws.com.cn ecr.cn-north-1.api.amazonwebservices.com.cn
  api.ecr.us-gov-west-1.amazonaws.com ecr.us-gov-west-1.api.aws
  api.ecr-fips.us-gov-west-1.amazonaws.com
  api.ecr-public.us-east-1.amazonaws.com ecr-public.us-east-1.api.aws
)
ECR_TARGET=AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken
PUBLIC_TARGET=SpencerFrontendService.GetAuthorizationToken

PIDS=()        # "name:pid" of every background process we started
WORK=""
PASSED=0
FAILED=0
FAILED_NAMES=()

cleanup() {
  local entry name pid
  for entry in "${PIDS[@]}"; do
    name="${entry%%:*}" pid="${entry##*:}"
    kill -TERM "$pid" 2>/dev/null || continue
  done
  for entry in "${PIDS[@]}"; do
    pid="${entry##*:}"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [[ -n "$WORK" && -d "$WORK" ]]; then
    if [[ "${E2E_KEEP:-}" == 1 ]]; then
      echo "e2e: work dir kept: $WORK" >&2
    else
      rm -rf "$WORK"
    fi
  fi
}

start_bg() { # start_bg NAME LOGFILE CMD... : start CMD in the background, remember its PID
  local name="$1" log="$2"; shift 2
  "$@" >"$log" 2>&1 </dev/null &
  PIDS+=("$name:$!")
}

wait_for() { # wait_for SECONDS DESCRIPTION CMD... : poll CMD until it succeeds
  local secs="$1" what="$2"; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "timed out after ${secs}s waiting for $what"
    sleep 0.1
  done
}

# --------------------------------------------------------------------------
make_certs() {
  local d="$WORK/pki" san="" h
  mkdir -p "$d"
  for h in "${REGISTRY_HOSTS_A[@]}" "$HOST_PUBLIC" "$HOST_PUBLIC_ALT" "$OTHER_HOST" "${API_HOSTS[@]}"; do
    san+="DNS:$h,"
  done
  san+="IP:$IP_ECR,IP:$IP_PUBLIC,IP:$IP_OTHER,IP:$IP_API,IP:127.0.0.1"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$d/ca.key" -out "$d/ca.pem" -days 2 -subj "/CN=ecr-login e2e test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>"$d/openssl.log" || die "openssl: CA generation failed ($(cat "$d/openssl.log"))"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$d/server.key" -out "$d/server.csr" -subj "/CN=ecr-login e2e server" \
    2>>"$d/openssl.log" || die "openssl: server key generation failed"
  cat >"$d/server.ext" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=$san
EOF
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
    -out "$d/server.pem" -days 2 -extfile "$d/server.ext" 2>>"$d/openssl.log" \
    || die "openssl: signing the server certificate failed"
  cat /etc/ssl/certs/ca-certificates.crt "$d/ca.pem" >"$d/ca-bundle.crt"
}

setup_namespace_files() {
  local h
  {
    echo "127.0.0.1 localhost"
    echo "::1 localhost"
    for h in "${REGISTRY_HOSTS_A[@]}"; do echo "$IP_ECR $h"; done
    echo "$IP_PUBLIC $HOST_PUBLIC $HOST_PUBLIC_ALT"
    echo "$IP_OTHER $OTHER_HOST"
    for h in "${API_HOSTS[@]}"; do echo "$IP_API $h"; done
  } >"$WORK/hosts"
  mount --bind "$WORK/hosts" /etc/hosts || die "bind-mounting /etc/hosts failed"
  mount --bind "$WORK/pki/ca-bundle.crt" /etc/ssl/certs/ca-certificates.crt \
    || die "bind-mounting the CA bundle failed"
  # docker CLI and containers/image also look in per-host cert dirs; give them our CA too.
  mkdir -p "$WORK/empty"
  if [[ -d /etc/docker ]]; then mount --bind "$WORK/empty" /etc/docker || true; fi
  if [[ -d /etc/containers ]]; then
    mkdir -p "$WORK/etc-containers"
    cp -a /etc/containers/. "$WORK/etc-containers/"
    mount --bind "$WORK/etc-containers" /etc/containers || die "bind-mounting /etc/containers failed"
  else
    mkdir -p "$WORK/etc-containers" /etc/containers
    mount --bind "$WORK/etc-containers" /etc/containers || die "bind-mounting /etc/containers failed"
  fi
  touch /etc/containers/registries.conf
  cp /etc/containers/registries.conf "$WORK/registries.conf.orig"
  cat >"$WORK/policy.json" <<'EOF'
{"default": [{"type": "insecureAcceptAnything"}]}
EOF
}

registry_config() { # registry_config DIR ADDR TLS(yes|no) NAME
  local d="$1" addr="$2" tls="$3" name="$4"
  cat <<EOF
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $d/data
  delete:
    enabled: true
http:
  addr: $addr
  secret: e2e-$name-secret
EOF
  if [[ "$tls" == yes ]]; then
    cat <<EOF
  tls:
    certificate: $WORK/pki/server.pem
    key: $WORK/pki/server.key
EOF
  fi
  cat <<EOF
auth:
  htpasswd:
    realm: ecr-login-e2e-$name
    path: $d/htpasswd
EOF
}

start_registry() { # start_registry NAME IP USER PASSWORD [http-twin]
  # TLS on IP:443. With "http-twin", a second process serves the same storage and
  # htpasswd over plain HTTP on IP:80: the docker CLI treats every registry whose
  # name resolves to a loopback address as "insecure", and `docker manifest push`
  # then talks plain HTTP to it (docker/cli cli/registry/client/endpoint.go,
  # getDefaultEndpoint). Credentials still come from the helper either way.
  local name="$1" ip="$2" user="$3" pw="$4" twin="${5:-}" d="$WORK/registry-$1"
  mkdir -p "$d/data"
  htpasswd -Bbn "$user" "$pw" >"$d/htpasswd" || die "htpasswd failed"
  registry_config "$d" "$ip:443" yes "$name" >"$d/config.yml"
  start_bg "registry-$name" "$d/registry.log" docker-registry serve "$d/config.yml"
  if [[ "$twin" == http-twin ]]; then
    registry_config "$d" "$ip:80" no "$name" >"$d/config-http.yml"
    start_bg "registry-$name-http" "$d/registry-http.log" docker-registry serve "$d/config-http.yml"
  fi
}

registry_ready() { # 401 on /v2/ means up with auth
  [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 --cacert "$WORK/pki/ca.pem" \
    --resolve "$1:443:$2" "https://$1/v2/")" == 401 ]]
}

http_registry_ready() {
  [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$1/v2/")" == 401 ]]
}

start_bed() {
  make_certs
  setup_namespace_files

  local emu_dir="$WORK/emulator"
  EMU_HTTP="$("$REPO/scripts/emulator/start" --dir "$emu_dir" --timeout 60 \
    --tls "$IP_API:443" --cert "$WORK/pki/server.pem" --key "$WORK/pki/server.key")" \
    || die "emulator failed to start (log: $emu_dir/emulator.log)"
  PIDS+=("emulator:$(cat "$emu_dir/emulator.pid")")

  start_registry ecr "$IP_ECR" AWS "$PW_A" http-twin
  start_registry public "$IP_PUBLIC" AWS "$PW_PUBLIC" http-twin
  start_registry other "$IP_OTHER" "$OTHER_USER" "$OTHER_PW"
  wait_for 30 "registry $HOST_A" registry_ready "$HOST_A" "$IP_ECR"
  wait_for 30 "registry $HOST_PUBLIC" registry_ready "$HOST_PUBLIC" "$IP_PUBLIC"
  wait_for 30 "registry $OTHER_HOST" registry_ready "$OTHER_HOST" "$IP_OTHER"
  wait_for 30 "plain-HTTP twin of $HOST_A" http_registry_ready "$IP_ECR"
  wait_for 30 "plain-HTTP twin of $HOST_PUBLIC" http_registry_ready "$IP_PUBLIC"
  # the emulator's TLS listener, reached by name through our /etc/hosts and CA bundle
  wait_for 10 "emulator TLS listener" curl -sf --max-time 2 https://api.ecr.us-east-1.amazonaws.com/__health

  python3 "$HERE/make_oci_image.py" "$WORK/image" v1 "hello from ecr-login e2e" >/dev/null \
    || die "could not build the test OCI image"
  python3 "$HERE/make_oci_image.py" "$WORK/image2" v2 "second image" >/dev/null \
    || die "could not build the second test OCI image"

  # Seed the registries (static credentials, no helper) so that every scenario
  # can pull e2e/hello:v1 whatever ran before it.
  local ref
  for ref in "$HOST_A:$PW_A" "$HOST_PUBLIC:$PW_PUBLIC"; do
    timeout 60 skopeo --policy "$WORK/policy.json" copy --retry-times 0 --quiet \
      --dest-creds "AWS:${ref#*:}" "oci:$WORK/image:v1" "docker://${ref%%:*}/e2e/hello:v1" \
      >"$WORK/logs/seed.log" 2>&1 || { cat "$WORK/logs/seed.log" >&2; die "seeding ${ref%%:*} failed"; }
  done

  # PATH: a logging wrapper named docker-credential-ecr-login in front of the real binary.
  mkdir -p "$WORK/bin" "$WORK/helper-calls"
  cat >"$WORK/bin/docker-credential-ecr-login" <<EOF
#!/usr/bin/env bash
# e2e wrapper: records each invocation (action, stdin, exit status, stderr, ms), then
# passes stdout/stderr/exit status through unchanged.
d="$WORK/helper-calls/call.\$(date +%s%N).\$\$"   # names sort chronologically
mkdir -p "\$d"
cat >"\$d/stdin"
echo "\${1:-}" >"\$d/action"
t0=\$(date +%s%N)
"$ECR_LOGIN_BIN" "\$@" <"\$d/stdin" >"\$d/stdout" 2>"\$d/stderr"
rc=\$?
echo \$(( (\$(date +%s%N) - t0) / 1000000 )) >"\$d/ms"
echo \$rc >"\$d/rc"
cat "\$d/stdout"; cat "\$d/stderr" >&2
exit \$rc
EOF
  chmod +x "$WORK/bin/docker-credential-ecr-login"
}

# Environment shared by every scenario (each scenario runs in its own subshell
# and adjusts from here).
base_env() {
  local v
  for v in $(compgen -e); do
    case "$v" in
      AWS_*|DOCKER_*|REGISTRY_AUTH_FILE|CONTAINERS_*|XDG_*) unset "$v" ;;
    esac
  done
  export PATH="$WORK/bin:$PATH"
  export HOME="$T/home"
  mkdir -p "$HOME" "$T/docker" "$T/cache" "$T/xdg-run"
  export DOCKER_CONFIG="$T/docker"
  export DOCKER_HOST="unix://$WORK/no-docker-daemon.sock"   # no daemon, ever
  export XDG_RUNTIME_DIR="$T/xdg-run" XDG_CONFIG_HOME="$HOME/.config"
  export AWS_ACCESS_KEY_ID=AKIDEXAMPLE
  export AWS_SECRET_ACCESS_KEY=e2e-dummy-secret-key
  export AWS_REGION=us-west-2            # deliberately not the registries' region
  export AWS_EC2_METADATA_DISABLED=true
  export AWS_CONFIG_FILE="$HOME/.aws/config" AWS_SHARED_CREDENTIALS_FILE="$HOME/.aws/credentials"
  export AWS_ECR_CACHE_DIR="$T/cache"
  export AWS_ECR_TIMEOUT=10
  export AWS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
  export SSL_CERT_DIR=/etc/ssl/certs
  rm -rf "$WORK/helper-calls" && mkdir -p "$WORK/helper-calls"
  cp "$WORK/registries.conf.orig" /etc/containers/registries.conf
  SKOPEO=(skopeo --policy "$WORK/policy.json" --command-timeout 60s)
  emu_config '{"token_lifetime": 43200, "delay": 0, "fail": null}'
}

via_http() { # mode (a): SDK endpoint override to the emulator's plain-HTTP listener
  export AWS_ENDPOINT_URL_ECR="$EMU_HTTP" AWS_ENDPOINT_URL_ECR_PUBLIC="$EMU_HTTP"
}
# mode (b) is the default: no endpoint override, the SDK resolves the real endpoint
# names, which our /etc/hosts sends to the emulator's TLS listener.

with_registries_conf() { # with_registries_conf TOML-LINE CMD... : run CMD with that extra
  # line in the namespace's /etc/containers/registries.conf, then restore it
  local line="$1"; shift
  # top-level keys must precede any [table] in TOML: put the line first
  { printf '%s\n' "$line"; cat "$WORK/registries.conf.orig"; } >/etc/containers/registries.conf
  "$@"
  cp "$WORK/registries.conf.orig" /etc/containers/registries.conf
}
docker_config() { printf '%s\n' "$1" >"$DOCKER_CONFIG/config.json"; }
cred_helpers_config() { # credHelpers for the given hosts
  local h json="" sep=""
  for h in "$@"; do json+="$sep\"$h\": \"ecr-login\""; sep=", "; done
  docker_config "{\"credHelpers\": {$json}}"
}

# ---- assertions / utilities used by scenarios ------------------------------
fail() { echo "ASSERTION FAILED: $*"; exit 1; }
run() { # run CMD... : echo, run with a 60 s cap; stdout in $OUT, stderr in $ERR,
         # both in $ALL, exit status in $RC. Never fails by itself.
  echo "+ $*"
  local errf; errf="$(mktemp "$T/stderr.XXXXXX")"
  OUT="$(timeout 60 "$@" 2>"$errf")" && RC=0 || RC=$?
  ERR="$(cat "$errf")"; rm -f "$errf"
  ALL="$OUT${OUT:+${ERR:+$'\n'}}$ERR"
  [[ -z "$OUT" ]] || printf '%s\n' "$OUT" | sed 's/^/  1| /'
  [[ -z "$ERR" ]] || printf '%s\n' "$ERR" | sed 's/^/  2| /'
  echo "  -> exit $RC"
  return 0
}
ok() { run "$@"; ((RC == 0)) || fail "expected success: $*"; }
fails() { run "$@"; ((RC != 0)) || fail "expected failure: $*"; }
contains() { grep -qiE -- "$2" <<<"$1" || fail "expected /$2/ in: $1"; }
secret_is() { # the last `run` printed get-JSON with Username AWS and this Secret
  jq -e --arg p "$1" '.Username == "AWS" and .Secret == $p' <<<"$OUT" >/dev/null \
    || fail "expected {Username: AWS, Secret: $1} on stdout, got: $OUT"
}
not_contains() { ! grep -qiE -- "$2" <<<"$1" || fail "did not expect /$2/ in: $1"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

emu() { curl -sf --max-time 5 "$EMU_HTTP$1" "${@:2}"; }
emu_reset() { emu /__reset -X POST >/dev/null || fail "emulator /__reset failed"; }
emu_count() { # emu_count TARGET [REGION] -> number of recorded calls
  emu /__calls | jq --arg t "$1" --arg r "${2:-}" \
    '[.calls[] | select(.target == $t and ($r == "" or .region == $r))] | length'
}
emu_config() { emu /__config -X POST -H 'Content-Type: application/json' -d "$1" >/dev/null \
  || { echo "emulator /__config $1 failed"; exit 1; }; }
emu_hosts() { emu /__calls | jq -r '.calls[] | "\(.target) \(.region) \(.host) \(.scheme) \(.registryIds)"'; }

helper_calls() { # summary of the wrapper's log: one line per invocation
  local d
  for d in "$WORK"/helper-calls/call.*; do
    [[ -d "$d" ]] || continue
    printf '%s stdin=%s rc=%s ms=%s stderr=%s\n' "$(cat "$d/action")" \
      "$(head -c 200 "$d/stdin" | tr '\n' ' ')" "$(cat "$d/rc" 2>/dev/null)" \
      "$(cat "$d/ms" 2>/dev/null)" "$(tr '\n' ' ' <"$d/stderr")"
  done
}
helper_gets() { local c; c="$(helper_calls)"; grep -c '^get ' <<<"$c" || true; }

push_image() { # push_image REF [IMAGE_DIR TAG]
  ok "${SKOPEO[@]}" copy --retry-times 0 "oci:${2:-$WORK/image}:${3:-v1}" "docker://$1"
}
pull_image() { # pull_image REF [TEXT] : copy to a dir: and check the layer's content
  local out="$T/pull.$RANDOM" want="${2:-hello from ecr-login e2e}" f found=""
  ok "${SKOPEO[@]}" copy --retry-times 0 "docker://$1" "dir:$out"
  [[ -s "$out/manifest.json" ]] || fail "pulled image has no manifest.json"
  for f in "$out"/*; do
    [[ "$(tar -xzOf "$f" hello.txt 2>/dev/null)" == "$want" ]] && found=1
  done
  [[ -n "$found" ]] || fail "no pulled layer holds hello.txt = '$want'"
}
inspect_image() { ok "${SKOPEO[@]}" inspect --retry-times 0 "docker://$1"; contains "$ALL" '"Digest"'; }

# ---- scenarios --------------------------------------------------------------
# Each t_* function runs in its own subshell with base_env applied and $T a
# fresh directory; any failing assertion exits the subshell.

t_helper_protocol() {
  # The helper's own interface, called directly (no client in between).
  via_http
  run docker-credential-ecr-login get <<<"$HOST_A"
  ((RC == 0)) || fail "get exited $RC"
  json="$(echo "$HOST_A" | docker-credential-ecr-login get 2>/dev/null)" || fail "get failed"
  jq -e --arg h "$HOST_A" --arg pw "$PW_A" \
    '.ServerURL == $h and .Username == "AWS" and .Secret == $pw' <<<"$json" >/dev/null \
    || fail "unexpected get output: $json"
  run docker-credential-ecr-login list </dev/null
  ((RC == 0)) || fail "list exited $RC"
  jq -e 'type == "object"' <<<"$(docker-credential-ecr-login list </dev/null 2>/dev/null)" >/dev/null \
    || fail "list did not print a JSON object"
  local store='{"ServerURL":"https://example.invalid","Username":"u","Secret":"s"}'
  run docker-credential-ecr-login store <<<"$store"
  ((RC == 1)) || fail "store should exit 1 without AWS_ECR_IGNORE_CREDS_STORAGE (got $RC)"
  contains "$ALL" 'not implemented'
  run docker-credential-ecr-login erase <<<"https://example.invalid"
  ((RC == 1)) || fail "erase should exit 1 (got $RC)"
  contains "$ALL" 'not implemented'
  AWS_ECR_IGNORE_CREDS_STORAGE=true run docker-credential-ecr-login store <<<"$store"
  { ((RC == 0)) && [[ -z "$ALL" ]]; } || fail "store with AWS_ECR_IGNORE_CREDS_STORAGE=true should be a silent no-op"
  AWS_ECR_IGNORE_CREDS_STORAGE=true run docker-credential-ecr-login erase <<<"https://example.invalid"
  { ((RC == 0)) && [[ -z "$ALL" ]]; } || fail "erase with AWS_ECR_IGNORE_CREDS_STORAGE=true should be a silent no-op"
  # a host that is not ECR: not found, exit 1
  run docker-credential-ecr-login get <<<"$OTHER_HOST"
  ((RC == 1)) || fail "get for a non-ECR host should exit 1"
  contains "$ALL" 'credentials not found in native keychain'
}

t_credhelpers_push_pull_http() {
  # skopeo, credHelpers in $DOCKER_CONFIG/config.json, API via AWS_ENDPOINT_URL_ECR (HTTP)
  via_http
  cred_helpers_config "$HOST_A"
  emu_reset
  push_image "$HOST_A/e2e/hello:v1"
  inspect_image "$HOST_A/e2e/hello:v1"
  pull_image "$HOST_A/e2e/hello:v1"
  helper_calls
  (($(helper_gets) >= 1)) || fail "the client never ran the helper"
  emu_hosts
  (($(emu_count "$ECR_TARGET" us-east-1) >= 1)) || fail "no GetAuthorizationToken for us-east-1 reached the emulator"
  emu /__calls | jq -e --arg h "${EMU_HTTP#http://}" '.calls | all(.host == $h and .scheme == "http")' >/dev/null \
    || fail "calls did not go to the HTTP endpoint override"
  # and without the helper the registry refuses: proves the credentials came from it
  docker_config '{}'
  fails "${SKOPEO[@]}" inspect --retry-times 0 "docker://$HOST_A/e2e/hello:v1"
  contains "$ALL" 'unauthorized|authentication required'
}

t_credhelpers_push_pull_real_endpoint() {
  # no endpoint override: the SDK resolves api.ecr.us-east-1.amazonaws.com (TLS, port 443)
  cred_helpers_config "$HOST_A"
  emu_reset
  push_image "$HOST_A/e2e/real-endpoint:v1"
  pull_image "$HOST_A/e2e/real-endpoint:v1"
  emu_hosts
  emu /__calls | jq -e '[.calls[] | select(.host == "api.ecr.us-east-1.amazonaws.com" and .scheme == "https"
      and .region == "us-east-1" and .target == "'"$ECR_TARGET"'")] | length >= 1' >/dev/null \
    || fail "expected a GetAuthorizationToken to https://api.ecr.us-east-1.amazonaws.com, region us-east-1"
}

t_credsstore_push_pull() {
  # "credsStore": "ecr-login" — docker CLI (manifest create/push/inspect) and skopeo
  via_http
  docker_config '{"credsStore": "ecr-login"}'
  emu_reset
  # skopeo 1.9 (containers/image 5.23) ignores "credsStore" in config.json; its
  # equivalent is registries.conf's credential-helpers list (/etc/containers is
  # the suite's private copy inside the namespace).
  with_registries_conf 'credential-helpers = ["ecr-login"]' push_image "$HOST_A/e2e/store:v1"
  with_registries_conf 'credential-helpers = ["ecr-login"]' push_image "$HOST_A/e2e/store:v2" "$WORK/image2" v2
  with_registries_conf 'credential-helpers = ["ecr-login"]' pull_image "$HOST_A/e2e/store:v1"
  # docker CLI: read a manifest, then create and push a manifest list (a write)
  ok docker manifest inspect "$HOST_A/e2e/store:v1"
  contains "$ALL" '"schemaVersion": 2'
  ok docker manifest create "$HOST_A/e2e/store:list" "$HOST_A/e2e/store:v1"
  ok docker manifest push --purge "$HOST_A/e2e/store:list"
  contains "$ALL" 'sha256:'
  ok docker manifest inspect "$HOST_A/e2e/store:list"
  contains "$ALL" 'manifests'
  helper_calls
  (($(helper_gets) >= 3)) || fail "expected the clients to call the helper through credsStore"
}

t_docker_credhelpers() {
  # docker CLI through credHelpers (pull-side: manifest inspect) on the real endpoint
  cred_helpers_config "$HOST_A"
  push_image "$HOST_A/e2e/docker:v1"
  ok docker manifest inspect "$HOST_A/e2e/docker:v1"
  contains "$ALL" 'application/vnd.oci.image.manifest.v1\+json|schemaVersion'
}

t_second_account_refused() {
  # HOST_B (account 210987654321) is served by account A's registry, which only
  # accepts A's password: the helper hands out B's token and the registry says 401.
  via_http
  cred_helpers_config "$HOST_A" "$HOST_B"
  emu_reset
  run docker-credential-ecr-login get <<<"$HOST_B"
  secret_is "$ACCT_B-auth-token"
  fails "${SKOPEO[@]}" inspect --retry-times 0 "docker://$HOST_B/e2e/hello:v1"
  contains "$ALL" 'unauthorized|authentication required|401'
  fails "${SKOPEO[@]}" copy --retry-times 0 "oci:$WORK/image:v1" "docker://$HOST_B/e2e/b:v1"
  contains "$ALL" 'unauthorized|authentication required|401'
  emu /__calls | jq -e --arg b "$ACCT_B" '[.calls[] | select(.registryIds == [$b])] | length >= 1' >/dev/null \
    || fail "expected GetAuthorizationToken with registryIds [$ACCT_B]"
  helper_calls
  # the same registry still works for account A
  ok "${SKOPEO[@]}" inspect --retry-times 0 "docker://$HOST_A/e2e/hello:v1"
}

region_scenario() { # region_scenario HOST REGION API_HOST
  local host="$1" region="$2" api="$3"
  cred_helpers_config "$host"
  emu_reset
  push_image "$host/e2e/region:v1"
  pull_image "$host/e2e/region:v1"
  emu_hosts
  emu /__calls | jq -e --arg h "$api" --arg r "$region" --arg a "$ACCT_A" \
    '[.calls[] | select(.host == $h and .region == $r and .registryIds == [$a])] | length >= 1' >/dev/null \
    || fail "expected GetAuthorizationToken at https://$api with region $region, registryIds [$ACCT_A]"
  emu /__calls | jq -e --arg r "$region" '.calls | all(.region == $r)' >/dev/null \
    || fail "some call was signed for another region than $region"
}
t_china() { region_scenario "$HOST_CN" cn-north-1 api.ecr.cn-north-1.amazonaws.com.cn; }
t_govcloud() { region_scenario "$HOST_GOV" us-gov-west-1 api.ecr.us-gov-west-1.amazonaws.com; }
t_fips() { region_scenario "$HOST_FIPS" us-east-1 api.ecr-fips.us-east-1.amazonaws.com; }
t_china_http() {
  via_http
  cred_helpers_config "$HOST_CN"
  emu_reset
  pull_image "$HOST_CN/e2e/hello:v1"
  (($(emu_count "$ECR_TARGET" cn-north-1) >= 1)) || { emu_hosts; fail "no cn-north-1 call"; }
}

t_ecr_public() {
  # public.ecr.aws: ECR Public API (us-east-1), its registry accepts only the public password
  cred_helpers_config "$HOST_PUBLIC"
  emu_reset
  run docker-credential-ecr-login get <<<"$HOST_PUBLIC"
  secret_is "$PW_PUBLIC"
  push_image "$HOST_PUBLIC/e2e/public:v1"
  pull_image "$HOST_PUBLIC/e2e/public:v1"
  ok docker manifest inspect "$HOST_PUBLIC/e2e/public:v1"
  emu_hosts
  emu /__calls | jq -e '[.calls[] | select(.target == "'"$PUBLIC_TARGET"'" and .region == "us-east-1"
      and .host == "api.ecr-public.us-east-1.amazonaws.com")] | length >= 1' >/dev/null \
    || fail "expected ECR Public GetAuthorizationToken at https://api.ecr-public.us-east-1.amazonaws.com"
}
t_ecr_public_http() {
  via_http
  cred_helpers_config "$HOST_PUBLIC"
  emu_reset
  pull_image "$HOST_PUBLIC/e2e/hello:v1"
  (($(emu_count "$PUBLIC_TARGET" us-east-1) >= 1)) || { emu_hosts; fail "no ECR Public call via AWS_ENDPOINT_URL_ECR_PUBLIC"; }
}

no_creds_scenario() {
  unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
  via_http
  cred_helpers_config "$HOST_A"
  emu_reset
  local t0 ms
  t0=$(now_ms)
  run docker-credential-ecr-login get <<<"$HOST_A"
  ms=$(($(now_ms) - t0))
  echo "helper get without credentials: ${ms} ms"
  ((RC == 1)) || fail "expected exit 1, got $RC"
  contains "$ALL" 'credentials not found in native keychain'
  contains "$ALL" 'no AWS credentials'
  ((ms < 1500)) || fail "helper took ${ms} ms to report missing credentials (limit 1500 ms)"
  t0=$(now_ms)
  fails "${SKOPEO[@]}" copy --retry-times 0 "docker://$HOST_A/e2e/hello:v1" "dir:$T/pull"
  ms=$(($(now_ms) - t0))
  echo "skopeo pull without credentials: ${ms} ms"
  contains "$ALL" 'unauthorized|authentication required'
  helper_calls
  grep -qiE '^get .*rc=1 .*no AWS credentials' <<<"$(helper_calls)" \
    || fail "the helper's stderr during the pull did not explain 'no AWS credentials'"
  ((ms < 3000)) || fail "the pull took ${ms} ms to fail (limit 3000 ms)"
  (($(emu_count "$ECR_TARGET") == 0)) || fail "the API was called without credentials"
}
t_no_credentials_imds_disabled() { no_creds_scenario; }
t_no_credentials_imds_closed_port() {
  unset AWS_EC2_METADATA_DISABLED
  export AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:9/   # nothing listens there
  no_creds_scenario
}

t_no_credentials_imds_forced_closed_port() {
  # IMDS forced on (AWS_ECR_IMDS=on) but nothing listens there: still fails fast
  unset AWS_EC2_METADATA_DISABLED
  export AWS_ECR_IMDS=on AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:9/
  no_creds_scenario
}

t_imds_credentials() {
  # no keys; IMDS forced on and served by the emulator (moto's instance metadata,
  # role credentials with AccessKeyId "test-key"): the helper signs with those
  unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_EC2_METADATA_DISABLED
  export AWS_ECR_IMDS=on AWS_EC2_METADATA_SERVICE_ENDPOINT="$EMU_HTTP"
  via_http
  cred_helpers_config "$HOST_A"
  emu_reset
  run docker-credential-ecr-login get <<<"$HOST_A"
  ((RC == 0)) || fail "get with IMDS credentials failed"
  secret_is "$PW_A"
  pull_image "$HOST_A/e2e/hello:v1"
  emu /__calls | jq -c '.imds[]'
  emu_hosts
  emu /__calls | jq -e '.calls | length >= 1 and all(.accessKeyId == "test-key")' >/dev/null \
    || fail "expected the API call to be signed with the instance role's key test-key"
  emu /__calls | jq -e '[.imds[] | select(.path | startswith("/latest/meta-data/iam/security-credentials"))] | length >= 1' >/dev/null \
    || fail "expected the helper to read role credentials from instance metadata"
}

t_cache_hit_second_pull() {
  via_http
  cred_helpers_config "$HOST_A"
  emu_reset
  local c0 c1 c2
  c0=$(emu_count "$ECR_TARGET")
  pull_image "$HOST_A/e2e/hello:v1"
  c1=$(emu_count "$ECR_TARGET")
  pull_image "$HOST_A/e2e/hello:v1"
  c2=$(emu_count "$ECR_TARGET")
  helper_calls
  echo "GetAuthorizationToken calls: before=$c0 after-first-pull=$c1 after-second-pull=$c2"
  ((c1 >= c0 + 1)) || fail "first pull should call the API"
  ((c2 == c1)) || fail "second pull called the API again ($c1 -> $c2): cache miss"
  ls -la "$AWS_ECR_CACHE_DIR"
  [[ -n "$(ls -A "$AWS_ECR_CACHE_DIR")" ]] || fail "cache dir $AWS_ECR_CACHE_DIR is empty"
  local loose; loose="$(find "$AWS_ECR_CACHE_DIR" -mindepth 1 -perm /077)"
  [[ -z "$loose" ]] || fail "cache entries readable by group/others: $loose"
  # direct, warm: the helper answers from cache without the API
  local t0 ms; t0=$(now_ms)
  ok docker-credential-ecr-login get <<<"$HOST_A"
  ms=$(($(now_ms) - t0))
  echo "warm get: ${ms} ms"
  (($(emu_count "$ECR_TARGET") == c2)) || fail "warm get called the API"
}

t_disable_cache() {
  via_http
  export AWS_ECR_DISABLE_CACHE=true
  emu_reset
  ok docker-credential-ecr-login get <<<"$HOST_A"
  ok docker-credential-ecr-login get <<<"$HOST_A"
  (($(emu_count "$ECR_TARGET") == 2)) || fail "with AWS_ECR_DISABLE_CACHE=true each get must call the API"
}

t_docker_login_other_registry() {
  # credsStore ecr-login + AWS_ECR_IGNORE_CREDS_STORAGE=true: docker login to a
  # non-ECR registry succeeds (store is a silent no-op)
  docker_config '{"credsStore": "ecr-login"}'
  export AWS_ECR_IGNORE_CREDS_STORAGE=true
  run docker login "$OTHER_HOST" -u "$OTHER_USER" --password-stdin <<<"$OTHER_PW"
  ((RC == 0)) || fail "docker login failed"
  contains "$ALL" 'Login Succeeded'
  helper_calls
  grep -qE '^store .*rc=0' <<<"$(helper_calls)" || fail "docker login did not call the helper's store"
  not_contains "$(cat "$DOCKER_CONFIG/config.json")" "$OTHER_PW|$(printf '%s:%s' "$OTHER_USER" "$OTHER_PW" | base64)"
  # wrong password still refused by the registry (login really talked to it)
  fails docker login "$OTHER_HOST" -u "$OTHER_USER" --password-stdin <<<"not-the-password"
  contains "$ALL" "401 Unauthorized"
  # without AWS_ECR_IGNORE_CREDS_STORAGE, store is refused and docker says so
  unset AWS_ECR_IGNORE_CREDS_STORAGE
  fails docker login "$OTHER_HOST" -u "$OTHER_USER" --password-stdin <<<"$OTHER_PW"
  contains "$ALL" 'not implemented'
}

t_dual_stack() { region_scenario "$HOST_DUAL" us-east-1 ecr.us-east-1.api.aws; }

t_server_url_forms() {
  # the helper answers for the forms clients pass, echoing ServerURL as given
  via_http
  local in
  for in in "https://$HOST_A" "$HOST_A" "https://$HOST_PUBLIC" "$HOST_PUBLIC_ALT"; do
    run docker-credential-ecr-login get <<<"$in"
    ((RC == 0)) || fail "get $in exited $RC"
    jq -e --arg in "$in" '.ServerURL == $in' <<<"$OUT" >/dev/null || fail "ServerURL is not the input $in"
  done
}

t_api_error_not_cached() {
  # GetAuthorizationToken refused (AccessDenied): exit 1, a line saying why; nothing cached
  via_http
  emu_reset
  emu_config '{"fail": {"status": 400, "type": "AccessDeniedException", "message": "User: arn:aws:iam::123456789012:user/e2e is not authorized to perform: ecr:GetAuthorizationToken"}}'
  run docker-credential-ecr-login get <<<"$HOST_A"
  ((RC == 1)) || fail "expected exit 1, got $RC"
  [[ "$OUT" == "credentials not found in native keychain" ]] || fail "stdout should be exactly 'credentials not found in native keychain'"
  contains "$ERR" 'AccessDenied|not authorized'
  emu_config '{"fail": null}'
  run docker-credential-ecr-login get <<<"$HOST_A"
  secret_is "$PW_A"
  (($(emu_count "$ECR_TARGET") == 2)) || fail "the failure must not be cached (expected 2 API calls)"
}

t_timeout() {
  # the API hangs for 8 s; AWS_ECR_TIMEOUT=1 bounds the helper
  via_http
  export AWS_ECR_TIMEOUT=1
  emu_config '{"delay": 8}'
  local t0 ms; t0=$(now_ms)
  run docker-credential-ecr-login get <<<"$HOST_A"
  ms=$(($(now_ms) - t0))
  echo "get against a hanging API with AWS_ECR_TIMEOUT=1: ${ms} ms"
  ((RC == 1)) || fail "expected exit 1, got $RC"
  contains "$OUT" 'credentials not found in native keychain'
  contains "$ERR" 'time.?out|timed out|deadline'
  ((ms < 3000)) || fail "took ${ms} ms with AWS_ECR_TIMEOUT=1"
}

t_concurrent_cold_gets() {
  # 8 clients at once on an empty cache, slow API: one refresh, all served
  via_http
  emu_reset
  emu_config '{"delay": 0.5}'
  local i pids=() bad=0
  for i in 1 2 3 4 5 6 7 8; do
    (echo "$HOST_A" | timeout 30 docker-credential-ecr-login get >"$T/out.$i" 2>"$T/err.$i") &
    pids+=($!)
  done
  for i in "${!pids[@]}"; do wait "${pids[$i]}" || bad=$((bad + 1)); done
  for i in 1 2 3 4 5 6 7 8; do
    jq -e --arg p "$PW_A" '.Secret == $p' "$T/out.$i" >/dev/null || { echo "client $i: $(cat "$T/out.$i" "$T/err.$i")"; bad=$((bad + 1)); }
  done
  local n; n=$(emu_count "$ECR_TARGET")
  echo "failed clients: $bad; GetAuthorizationToken calls: $n"
  ((bad == 0)) || fail "$bad of 8 concurrent gets failed"
  ((n == 1)) || fail "8 concurrent cold gets made $n API calls (expected 1: single-flight refresh)"
}

t_debug_log_redacted() {
  # AWS_ECR_LOG=debug explains what happens on stderr without leaking secrets
  via_http
  export AWS_ECR_LOG=debug
  run docker-credential-ecr-login get <<<"$HOST_A"
  secret_is "$PW_A"
  [[ -n "$ERR" ]] || fail "AWS_ECR_LOG=debug printed nothing on stderr"
  local token; token="$(printf 'AWS:%s' "$PW_A" | base64)"
  not_contains "$ERR" "$PW_A"
  not_contains "$ERR" "$token"
  not_contains "$ERR" "$AWS_SECRET_ACCESS_KEY"
}

t_profile_credentials() {
  # credentials from a named profile, and from a credential_process profile
  unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
  via_http
  mkdir -p "$HOME/.aws"
  cat >"$HOME/.aws/credentials" <<EOF
[e2e]
aws_access_key_id = AKIDPROFILE
aws_secret_access_key = profile-secret
EOF
  cat >"$T/cred-process" <<'EOF'
#!/bin/sh
echo '{"Version": 1, "AccessKeyId": "AKIDPROCESS", "SecretAccessKey": "process-secret", "SessionToken": "process-token"}'
EOF
  chmod +x "$T/cred-process"
  cat >"$HOME/.aws/config" <<EOF
[profile e2e]
region = eu-west-1
[profile e2e-process]
credential_process = $T/cred-process
EOF
  emu_reset
  AWS_PROFILE=e2e run docker-credential-ecr-login get <<<"$HOST_A"
  secret_is "$PW_A"
  AWS_PROFILE=e2e-process run docker-credential-ecr-login get <<<"$HOST_A"
  secret_is "$PW_A"
  emu /__calls | jq -c '[.calls[] | {accessKeyId, region}]'
  emu /__calls | jq -e '[.calls[].accessKeyId] == ["AKIDPROFILE", "AKIDPROCESS"]' >/dev/null \
    || fail "expected one call signed by AKIDPROFILE then one by AKIDPROCESS (one cache entry per identity)"
  emu /__calls | jq -e '.calls | all(.region == "us-east-1")' >/dev/null \
    || fail "the registry's region (us-east-1) must win over the profile's region"
}

later_get() { # later_get SECONDS : move every cached token SECONDS into the past (as if
  # the clock had moved on; the shipped binary is static, so libfaketime's LD_PRELOAD
  # cannot reach it), then `get` HOST_A
  local f tmp
  while IFS= read -r f; do
    tmp="$f.aging"
    jq --argjson s "$1" '.requested_at -= $s | .expires_at -= $s' "$f" >"$tmp" || fail "cannot age $f"
    cat "$tmp" >"$f" && rm -f "$tmp"
  done < <(find "$AWS_ECR_CACHE_DIR/v1" -name '*.json' ! -name '.*')
  run docker-credential-ecr-login get <<<"$HOST_A"
}

t_refresh_after_half_life() {
  # 1 h token: served from cache at +1000 s, refreshed at +2000 s (past half its life)
  via_http
  emu_reset
  emu_config '{"token_lifetime": 3600}'
  ok docker-credential-ecr-login get <<<"$HOST_A"
  later_get 1000
  secret_is "$PW_A"
  (($(emu_count "$ECR_TARGET") == 1)) || fail "at +1000 s of 3600 s the cached token should be used"
  later_get 1000
  secret_is "$PW_A"
  (($(emu_count "$ECR_TARGET") == 2)) || fail "at +2000 s of 3600 s the token should be refreshed"
}

t_stale_token_fallback() {
  # past half-life the API fails: a cached token with >= 5 min left is still served;
  # one with less is not
  via_http
  emu_reset
  emu_config '{"token_lifetime": 3600}'
  ok docker-credential-ecr-login get <<<"$HOST_A"
  emu_config '{"fail": {"status": 500, "type": "ServerException", "message": "emulated outage"}}'
  later_get 2000
  ((RC == 0)) || fail "a token valid for 1600 s more should be served when the refresh fails"
  secret_is "$PW_A"
  contains "$ERR" 'emulated outage|ServerException|cached'
  later_get 1400
  ((RC == 1)) || fail "a token valid for only 200 s more must not be served when the refresh fails"
  contains "$OUT" 'credentials not found in native keychain'
  later_get 300
  ((RC == 1)) || fail "an expired token must never be served"
}

SCENARIOS=(
  helper_protocol
  credhelpers_push_pull_http
  credhelpers_push_pull_real_endpoint
  credsstore_push_pull
  docker_credhelpers
  second_account_refused
  china
  china_http
  govcloud
  fips
  dual_stack
  ecr_public
  ecr_public_http
  no_credentials_imds_disabled
  no_credentials_imds_closed_port
  no_credentials_imds_forced_closed_port
  imds_credentials
  cache_hit_second_pull
  disable_cache
  refresh_after_half_life
  stale_token_fallback
  concurrent_cold_gets
  api_error_not_cached
  timeout
  debug_log_redacted
  profile_credentials
  server_url_forms
  docker_login_other_registry
)

run_scenario() {
  local name="$1" log="$WORK/logs/$1.log" t0 rc
  t0=$(now_ms)
  (
    T="$WORK/t/$name"
    mkdir -p "$T"
    base_env
    set -e
    "t_$name"
  ) >"$log" 2>&1 </dev/null
  rc=$?
  local secs; secs=$(awk -v ms="$(($(now_ms) - t0))" 'BEGIN { printf "%.1f", ms / 1000 }')
  if ((rc == 0)); then
    PASSED=$((PASSED + 1))
    echo "$PASSED $FAILED" >"${E2E_STATUS_FILE:-/dev/null}"
    echo "PASS  $name (${secs}s)"
    [[ "${E2E_VERBOSE:-}" == 1 ]] && sed 's/^/      /' "$log"
  else
    FAILED=$((FAILED + 1))
    FAILED_NAMES+=("$name")
    echo "$PASSED $FAILED" >"${E2E_STATUS_FILE:-/dev/null}"
    echo "FAIL  $name (${secs}s)"
    tail -n 60 "$log" | sed 's/^/      /'
  fi
  return 0
}

inner() {
  trap cleanup EXIT
  trap 'exit 143' TERM INT
  ip link set lo up || die "cannot bring up lo in the network namespace"
  WORK="$(mktemp -d /tmp/ecr-login-e2e.XXXXXX)"
  mkdir -p "$WORK/logs" "$WORK/t"
  local t0=$SECONDS
  start_bed
  echo "e2e: bed up in $((SECONDS - t0))s: emulator $EMU_HTTP + https://$IP_API:443;" \
    "registries $IP_ECR (acct $ACCT_A), $IP_PUBLIC (public.ecr.aws), $IP_OTHER ($OTHER_HOST)" >&2
  echo "e2e: helper: $ECR_LOGIN_BIN" >&2

  local name sel filtered=()
  for name in "${SCENARIOS[@]}"; do
    if (($#)); then
      for sel in "$@"; do [[ "$name" == *"$sel"* ]] && { filtered+=("$name"); break; }; done
    else
      filtered+=("$name")
    fi
  done
  ((${#filtered[@]})) || die "no scenario matches: $*"
  for name in "${filtered[@]}"; do run_scenario "$name"; done
  echo
  ((FAILED == 0)) || echo "failed: ${FAILED_NAMES[*]}"
  echo "$PASSED passed, $FAILED failed"
  ((FAILED == 0))
}

if [[ "${ECR_E2E_INNER:-}" == 1 ]]; then
  inner "$@"
else
  outer "$@"
fi
