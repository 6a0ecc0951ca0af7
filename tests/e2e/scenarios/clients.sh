# shellcheck shell=bash
# Scenarios: skopeo and the docker CLI without a daemon (credHelpers, credsStore, login).
# Each t_NAME runs in its own subshell with base_env applied and $T a fresh
# directory; a failing assertion exits the subshell.

SCENARIOS+=(credhelpers_push_pull_http credhelpers_push_pull_real_endpoint credsstore_push_pull docker_credhelpers second_account_refused docker_login_other_registry)

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
  # A token names a principal, not a registry: a principal of account B (its access
  # key names 210987654321) gets B's token, and account A's registry (serving
  # HOST_A and HOST_B's names alike), which accepts only A's principals, says 401.
  # The registry refuses, not the helper.
  via_http
  cred_helpers_config "$HOST_A" "$HOST_B"
  emu_reset
  export AWS_ACCESS_KEY_ID="AKIA${ACCT_B}E2E"
  run docker-credential-ecr-login get <<<"$HOST_B"
  secret_is "$ACCT_B-auth-token"
  fails "${SKOPEO[@]}" inspect --retry-times 0 "docker://$HOST_B/e2e/hello:v1"
  contains "$ALL" 'unauthorized|authentication required|401'
  fails "${SKOPEO[@]}" copy --retry-times 0 "oci:$WORK/image:v1" "docker://$HOST_A/e2e/b:v1"
  contains "$ALL" 'unauthorized|authentication required|401'
  emu /__calls | jq -e --arg b "$ACCT_B" '[.calls[] | select(.registryIds == null and (.accessKeyId | contains($b)))] | length == 1' >/dev/null \
    || fail "expected one GetAuthorizationToken, signed by B's key, without registryIds"
  helper_calls
  # the same registry still works for account A's principal
  export AWS_ACCESS_KEY_ID=AKIDEXAMPLE
  ok "${SKOPEO[@]}" inspect --retry-times 0 "docker://$HOST_A/e2e/hello:v1"
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
