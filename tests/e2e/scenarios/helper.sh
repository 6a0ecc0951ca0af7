# shellcheck shell=bash
# Scenarios: the helper's own interface, called directly (no client in between).
# Each t_NAME runs in its own subshell with base_env applied and $T a fresh
# directory; a failing assertion exits the subshell.

SCENARIOS+=(helper_protocol server_url_forms debug_log_redacted)

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
