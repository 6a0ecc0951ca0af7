# shellcheck shell=bash
# Outer phase (as root, outside the namespaces): install what the suite needs,
# build the helper, then re-exec run.sh inside private mount/net/pid namespaces.

outer() {
  [[ "$(id -u)" == 0 ]] || die "must run as root (unshare, bind mounts, loopback port 443)"

  local -A need=([docker-registry]=docker-registry [skopeo]=skopeo [openssl]=openssl
    [htpasswd]=apache2-utils [unshare]=util-linux [ip]=iproute2 [curl]=curl [jq]=jq
    [python3]=python3 [timeout]=coreutils
    [update-ca-certificates]=ca-certificates
    [dockerd]=docker.io [containerd]=containerd [runc]=runc [podman]=podman [buildah]=buildah)
  local missing=() cmd
  for cmd in "${!need[@]}"; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}")
  done
  # the daemon scenarios use Debian's CLI (another `docker` may come first on PATH)
  [[ -x "$DOCKER_DEB" ]] || missing+=(docker.io)
  if ((${#missing[@]})); then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    install_packages "${missing[@]}"
    for cmd in "${!need[@]}"; do
      command -v "$cmd" >/dev/null 2>&1 || die "'$cmd' still missing after installing ${need[$cmd]}"
    done
    [[ -x "$DOCKER_DEB" ]] || die "$DOCKER_DEB still missing after installing docker.io"
  fi
  [[ -s /etc/ssl/certs/ca-certificates.crt ]] || die "/etc/ssl/certs/ca-certificates.crt missing (ca-certificates)"

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

install_packages() { # install_packages PKG... : apt-get, without starting any service
  # docker.io, containerd and docker-registry start services on machines with an init
  # system; the suite starts its own, privately, so a policy-rc.d keeps apt from
  # starting those (removed afterwards; a machine's own policy-rc.d is left alone).
  local t0=$SECONDS policy="" rc=0 lock=(-o DPkg::Lock::Timeout=300)
  note "installing Debian packages: $*"
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\n# ecr-login e2e: no service starts during its apt-get install\nexit 101\n' >"$policy"
    chmod 755 "$policy"
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! timeout 600 apt-get "${lock[@]}" update -q >/dev/null; then
    rc=1; note "apt-get update failed"
  elif ! timeout 900 apt-get "${lock[@]}" install -y -q --no-install-recommends "$@" >/dev/null; then
    rc=1; note "apt-get install $* failed"
  fi
  [[ -z "$policy" ]] || rm -f "$policy"
  ((rc == 0)) || die "could not install the suite's Debian packages"
  note "apt-get update + install: $((SECONDS - t0))s"
}
