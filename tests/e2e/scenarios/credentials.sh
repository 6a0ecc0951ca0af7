# shellcheck shell=bash
# Scenarios: where AWS credentials come from, and failing fast without any.
# Each t_NAME runs in its own subshell with base_env applied and $T a fresh
# directory; a failing assertion exits the subshell.

SCENARIOS+=(no_credentials_imds_disabled no_credentials_imds_closed_port no_credentials_imds_forced_closed_port imds_credentials profile_credentials)

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
