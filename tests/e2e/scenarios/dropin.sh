# shellcheck shell=bash
# Scenarios: the Go helper's workflows with ecr-login as a drop-in: one token per
# identity and region, ECR Public's two names, `docker login` / `docker logout`
# of an ECR registry under credsStore, and a registry (not the helper) refusing a
# principal that may not read it.
# Each t_NAME runs in its own subshell with base_env applied and $T a fresh
# directory; a failing assertion exits the subshell.

SCENARIOS+=(dropin_one_token_per_region dropin_public_two_names dropin_login_logout dropin_principal_refused)

t_dropin_one_token_per_region() {
  # three accounts in one region: one GetAuthorizationToken, without registryIds
  via_http
  cred_helpers_config "$HOST_A" "$HOST_B"
  emu_reset
  local h
  for h in "$HOST_A" "$HOST_B" "333333333333.dkr.ecr.us-east-1.amazonaws.com"; do
    ok docker-credential-ecr-login get <<<"$h"
    secret_is "$PW_A"
  done
  pull_image "$HOST_A/e2e/hello:v1"
  emu_hosts
  (($(emu_count "$ECR_TARGET") == 1)) || fail "expected one GetAuthorizationToken for three accounts"
  emu /__calls | jq -e '.calls[0].registryIds == null' >/dev/null || fail "registryIds was sent"
}

t_dropin_public_two_names() {
  via_http
  emu_reset
  ok docker-credential-ecr-login get <<<"$HOST_PUBLIC"
  secret_is "$PW_PUBLIC"
  ok docker-credential-ecr-login get <<<"$HOST_PUBLIC_ALT"
  secret_is "$PW_PUBLIC"
  (($(emu_count "$PUBLIC_TARGET") == 1)) || { emu_hosts; fail "expected one ECR Public call for both names"; }
}

t_dropin_login_logout() {
  # aws ecr get-login-password | docker login under credsStore: stored, used, forgotten
  via_http
  docker_config '{"credsStore": "ecr-login"}'
  push_image "$HOST_A/e2e/hello:v1"
  emu_reset
  rm -rf "$T/cache"
  docker-credential-ecr-login get-login-password "$HOST_A" >"$T/pw" || fail "get-login-password failed"
  run docker login "$HOST_A" -u AWS --password-stdin <"$T/pw"
  ((RC == 0)) || fail "docker login to ECR failed"
  contains "$ALL" 'Login Succeeded'
  grep -qE '^store .*rc=0' <<<"$(helper_calls)" || fail "docker login did not call the helper's store"
  [[ -s "$T/cache/v1/stored/$HOST_A.json" ]] || fail "the login was not kept"
  not_contains "$(cat "$DOCKER_CONFIG/config.json")" "$PW_A"
  ok docker manifest inspect "$HOST_A/e2e/hello:v1"
  ok docker logout "$HOST_A"
  grep -qE '^erase .*rc=0' <<<"$(helper_calls)" || fail "docker logout did not call the helper's erase"
  [[ ! -e "$T/cache/v1/stored/$HOST_A.json" ]] || fail "docker logout did not forget the login"
  # the helper's own token still serves the registry
  ok docker manifest inspect "$HOST_A/e2e/hello:v1"
}

t_dropin_principal_refused() {
  # A principal of account B (its access key names 210987654321) gets a token from
  # the helper; account A's registry accepts only A's principals and refuses it.
  via_http
  cred_helpers_config "$HOST_A"
  push_image "$HOST_A/e2e/hello:v1"
  emu_reset
  export AWS_ACCESS_KEY_ID="AKIA${ACCT_B}E2E"
  ok docker-credential-ecr-login get <<<"$HOST_A"
  secret_is "$ACCT_B-auth-token"
  fails "${SKOPEO[@]}" inspect --retry-times 0 "docker://$HOST_A/e2e/hello:v1"
  contains "$ALL" 'unauthorized|authentication required|401'
  export AWS_ACCESS_KEY_ID=AKIDEXAMPLE
  inspect_image "$HOST_A/e2e/hello:v1"
}
