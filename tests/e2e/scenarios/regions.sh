# shellcheck shell=bash
# Scenarios: partitions, FIPS, dual-stack and ECR Public: the right API endpoint and region.
# Each t_NAME runs in its own subshell with base_env applied and $T a fresh
# directory; a failing assertion exits the subshell.

SCENARIOS+=(china china_http govcloud fips dual_stack ecr_public ecr_public_http)

region_scenario() { # region_scenario HOST REGION API_HOST
  local host="$1" region="$2" api="$3"
  cred_helpers_config "$host"
  emu_reset
  push_image "$host/e2e/region:v1"
  pull_image "$host/e2e/region:v1"
  emu_hosts
  # no registryIds (deprecated): a token names the principal, not a registry
  emu /__calls | jq -e --arg h "$api" --arg r "$region" \
    '[.calls[] | select(.host == $h and .region == $r and .registryIds == null)] | length >= 1' >/dev/null \
    || fail "expected GetAuthorizationToken at https://$api with region $region, without registryIds"
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

t_dual_stack() { region_scenario "$HOST_DUAL" us-east-1 ecr.us-east-1.api.aws; }
