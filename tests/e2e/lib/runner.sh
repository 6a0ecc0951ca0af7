# shellcheck shell=bash
# Runs the selected scenarios, each in its own subshell, and prints the summary.

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
  ip -6 addr show dev lo 2>/dev/null | grep -q 'inet6 ::1/128' \
    || die "no IPv6 loopback (::1) in the network namespace: the dockerd scenarios need it (is IPv6 disabled on this kernel?)"
  WORK="$(mktemp -d /tmp/ecr-login-e2e.XXXXXX)"
  mkdir -p "$WORK/logs" "$WORK/t"
  local t0=$SECONDS
  start_bed
  echo "e2e: bed up in $((SECONDS - t0))s: emulator $EMU_HTTP + https://$IP_API:443;" \
    "registries $IP_ECR (acct $ACCT_A), $IP_PUBLIC (public.ecr.aws), $IP_OTHER ($OTHER_HOST)" >&2
  echo "e2e: helper: $ECR_LOGIN_BIN" >&2
  client_versions | sed 's/^/e2e: /' >&2

  local name sel filtered=()
  for name in "${SCENARIOS[@]}"; do
    if (($#)); then
      for sel in "$@"; do [[ "$name" == *"$sel"* ]] && { filtered+=("$name"); break; }; done
    else
      filtered+=("$name")
    fi
  done
  ((${#filtered[@]})) || die "no scenario matches: $*"
  if [[ " ${filtered[*]}" == *" dockerd_"* ]]; then
    t0=$SECONDS
    start_dockerd
    echo "e2e: dockerd up in $((SECONDS - t0))s on $DOCKERD_SOCK" >&2
  fi
  for name in "${filtered[@]}"; do run_scenario "$name"; done
  echo
  ((FAILED == 0)) || echo "failed: ${FAILED_NAMES[*]}"
  echo "$PASSED passed, $FAILED failed"
  ((FAILED == 0))
}
