# shellcheck shell=bash
# Scenarios: the token cache, refresh policy, API errors and deadlines.
# Each t_NAME runs in its own subshell with base_env applied and $T a fresh
# directory; a failing assertion exits the subshell.

SCENARIOS+=(cache_hit_second_pull disable_cache refresh_after_half_life stale_token_fallback concurrent_cold_gets api_error_not_cached timeout)

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
