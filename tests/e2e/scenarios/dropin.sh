# shellcheck shell=bash
# Scenarios: the Go helper's workflows with ecr-login as a drop-in: one token per
# identity and region, ECR Public's two names, `docker login` / `docker logout`
# of an ECR registry under credsStore, and a registry (not the helper) refusing a
# principal that may not read it.
# Each t_NAME runs in its own subshell with base_env applied and $T a fresh
# directory; a failing assertion exits the subshell.

SCENARIOS+=(dropin_one_token_per_region dropin_public_two_names dropin_login_logout dropin_principal_refused
  dockerd_dropin_dockerpy_cold dockerd_dropin_login_pull_logout)

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
  emu_reset
  export AWS_ACCESS_KEY_ID="AKIA${ACCT_B}E2E"
  ok docker-credential-ecr-login get <<<"$HOST_A"
  secret_is "$ACCT_B-auth-token"
  fails "${SKOPEO[@]}" inspect --retry-times 0 "docker://$HOST_A/e2e/hello:v1"
  contains "$ALL" 'unauthorized|authentication required|401'
  export AWS_ACCESS_KEY_ID=AKIDEXAMPLE
  inspect_image "$HOST_A/e2e/hello:v1"
}

t_dockerd_dropin_dockerpy_cold() {
  # docker-py (PyPI docker 7.2, the emulator venv's) under credsStore on a cold
  # cache: get_all_credentials() lists the default registry (list, then get), and
  # APIClient.build (the classic builder, credentials from that list) builds FROM
  # an ECR image. One GetAuthorizationToken in all.
  via_http
  export AWS_REGION=us-east-1
  docker_config '{"credsStore": "ecr-login"}'
  dockerd_env
  emu_reset
  mkdir -p "$T/build"
  printf 'FROM %s\nLABEL org.example.e2e=dockerpy\n' "$HOST_A/e2e/hello:v1" >"$T/build/Dockerfile"
  cat >"$T/dockerpy.py" <<'PY'
import json, os, sys
import docker
from docker import auth
creds = auth.load_config().get_all_credentials()
print("CREDS " + json.dumps(sorted(k for k, v in creds.items() if v)))
client = docker.APIClient(base_url=os.environ["DOCKER_HOST"], version="auto")
ok = False
for chunk in client.build(path=sys.argv[1], tag=sys.argv[2], pull=True, rm=True, decode=True):
    print(json.dumps(chunk))
    if "error" in chunk:
        sys.exit(1)
    ok = ok or "Successfully tagged" in chunk.get("stream", "")
sys.exit(0 if ok else 1)
PY
  ok "${ECR_EMULATOR_VENV:-$REPO/.venv-e2e}/bin/python" "$T/dockerpy.py" "$T/build" "$HOST_A/e2e/dockerpy:cold"
  contains "$OUT" "CREDS .*\"$HOST_A\""
  contains "$OUT" 'Successfully tagged'
  helper_calls
  grep -qE '^list .*rc=0' <<<"$(helper_calls)" || fail "docker-py did not list the store"
  (($(emu_count "$ECR_TARGET" us-east-1) == 1)) || { emu_hosts; fail "expected one GetAuthorizationToken"; }
}

t_dockerd_dropin_login_pull_logout() {
  # `aws ecr get-login-password | docker login` under credsStore, then a daemon
  # pull, then docker logout. The helper has no AWS credentials of its own while
  # Docker uses the login: the pull works only because the login is kept and
  # served; after docker logout the same pull fails.
  via_http
  docker_config '{"credsStore": "ecr-login"}'
  dockerd_env
  emu_reset
  docker-credential-ecr-login get-login-password "$HOST_DUAL" >"$T/pw" || fail "get-login-password failed"
  rm -rf "${T:?}/cache/v1"
  unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
  run "${D[@]}" login "$HOST_DUAL" -u AWS --password-stdin <"$T/pw"
  ((RC == 0)) || fail "docker login to ECR failed"
  contains "$ALL" 'Login Succeeded'
  [[ -s "$T/cache/v1/stored/$HOST_DUAL.json" ]] || fail "the login was not kept"
  ok "${D[@]}" pull "$HOST_DUAL/e2e/hello:v1"
  ok "${D[@]}" logout "$HOST_DUAL"
  [[ ! -e "$T/cache/v1/stored/$HOST_DUAL.json" ]] || fail "docker logout did not forget the login"
  ok "${D[@]}" rmi "$HOST_DUAL/e2e/hello:v1"
  fails "${D[@]}" pull "$HOST_DUAL/e2e/hello:v1"
  contains "$ALL" 'no basic auth credentials|unauthorized'
  helper_calls
  grep -qE '^store .*rc=0' <<<"$(helper_calls)" || fail "docker login did not call store"
  grep -qE '^erase .*rc=0' <<<"$(helper_calls)" || fail "docker logout did not call erase"
  (($(emu_count "$ECR_TARGET") == 1)) || { emu_hosts; fail "expected only get-login-password's call"; }
}
