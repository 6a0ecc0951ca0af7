# shellcheck shell=bash disable=SC2034  # constants and state used by the files sourced after this one
# Shared by both phases: constants (addresses, hostnames, passwords), logging, and
# the process bookkeeping that lets the suite stop everything it started by PID.

die() { echo "e2e: FATAL: $*" >&2; exit 1; }
note() { echo "e2e: $*" >&2; }

# Addresses (all on the namespace's own lo; Linux routes 127/8 there).
IP_ECR=127.42.0.2      # registry of account 123456789012 (all its ECR hostnames)
IP_PUBLIC=127.42.0.3   # registry for public.ecr.aws
IP_OTHER=127.42.0.4    # an unrelated htpasswd registry (docker login)
IP_API=127.42.0.10     # emulator's TLS listener (the real API endpoint names)
IP6_ECR=::1            # account 123456789012's registry again, for its dual-stack names:
                       # dockerd 20.10 treats 127.0.0.0/8 (but not ::1) as insecure and
                       # then skips certificate checks, so the daemon's scenarios use ::1
ACCT_A=123456789012
ACCT_B=210987654321
PW_A="$ACCT_A-auth-token"
PW_PUBLIC=public-auth-token
OTHER_HOST=registry.e2e.test
ALIAS_HOST=mirror.e2e.test            # a non-ECR name for the registry of account 123456789012 (an [[alias]])
OTHER_USER=alice
OTHER_PW=wonderland-e2e
OTHER_HOST6=other6.e2e.test           # the same registry on [::1]:5443 (for dockerd, see IP6_ECR)
OTHER_REG6="$OTHER_HOST6:5443"

HOST_A="$ACCT_A.dkr.ecr.us-east-1.amazonaws.com"
HOST_B="$ACCT_B.dkr.ecr.us-east-1.amazonaws.com"   # served by account A's registry (which refuses B's principals)
HOST_FIPS="$ACCT_A.dkr.ecr-fips.us-east-1.amazonaws.com"
HOST_CN="$ACCT_A.dkr.ecr.cn-north-1.amazonaws.com.cn"
HOST_GOV="$ACCT_A.dkr.ecr.us-gov-west-1.amazonaws.com"
HOST_DUAL="$ACCT_A.dkr-ecr.us-east-1.on.aws"              # dual-stack registry name (on ::1)
HOST_DUAL_B="$ACCT_B.dkr-ecr.us-east-1.on.aws"            # account B's, on A's registry (::1)
HOST_WRONG_NAME=wrong-name.e2e.test   # on ::1 too, but not in the server certificate
HOST_PUBLIC=public.ecr.aws
HOST_PUBLIC_ALT=ecr-public.aws.com
REGISTRY_HOSTS_A=("$HOST_A" "$HOST_B" "$HOST_FIPS" "$HOST_CN" "$HOST_GOV")   # on IP_ECR
REGISTRY_HOSTS_A6=("$HOST_DUAL" "$HOST_DUAL_B")                                 # on IP6_ECR
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
CREATED_VAR_LIB_CONTAINERS=""
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
  if [[ -n "$CREATED_VAR_LIB_CONTAINERS" ]]; then
    umount /var/lib/containers && rmdir /var/lib/containers
  fi
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
