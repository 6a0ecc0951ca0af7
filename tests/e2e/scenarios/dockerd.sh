# shellcheck shell=bash
# Scenarios: a real Docker daemon (Debian docker.io, lib/daemons.sh) pulling,
# pushing and building through the helper, driven by Debian's docker CLI of the
# same version (DOCKER_DEB) with the helper on PATH.
# Each t_NAME runs in its own subshell with base_env applied and $T a fresh
# directory; a failing assertion exits the subshell.
#
# dockerd 20.10 treats every registry that resolves into 127.0.0.0/8 as insecure:
# it still tries HTTPS first, but without checking the certificate, and falls back
# to plain HTTP. So the daemon's ECR registry here is account A's dual-stack name on
# [::1]:443 (TLS only, no plain-HTTP listener), which dockerd 20.10 treats as secure:
# it checks the certificate against the suite CA (the namespace's system bundle and
# /etc/docker/certs.d), which dockerd_tls_verified proves by refusing a name the
# certificate does not cover.

SCENARIOS+=(dockerd_credhelpers dockerd_credsstore dockerd_tls_verified
  dockerd_login_other_registry dockerd_no_credentials dockerd_other_account_refused
  dockerd_legacy_build_credsstore_cold)

DOCKER_LOG6="registry-ecr/registry-ipv6.log"   # under $WORK: account A's registry on [::1]:443

dockerd_env() { # point the CLI at the suite's daemon, whose image store and build cache
  # are emptied so that every pull and every FROM goes to the registry
  [[ -n "$DOCKERD_SOCK" && -S "$DOCKERD_SOCK" ]] || fail "dockerd is not running"
  export DOCKER_HOST="unix://$DOCKERD_SOCK"
  D=("$DOCKER_DEB")
  ok "${D[@]}" system prune -af
  [[ -z "$("${D[@]}" images -aq)" ]] || fail "the daemon's image store is not empty"
  ok "${D[@]}" version --format 'client {{.Client.Version}}, daemon {{.Server.Version}}'
}

docker_image_has() { # docker_image_has REF FILE TEXT : a layer of REF (docker save) holds FILE = TEXT
  local d="$T/save.$RANDOM" f found=""
  mkdir -p "$d"
  "${D[@]}" save "$1" | tar -xf - -C "$d" || fail "docker save $1 failed"
  while IFS= read -r f; do
    if [[ "$(tar -xOf "$f" "$2" 2>/dev/null)" == "$3" ]]; then found=1; fi
  done < <(find "$d" -name layer.tar)
  [[ -n "$found" ]] || fail "no layer of $1 holds $2 = '$3'"
}

drop_local_image() { # drop_local_image REF : remove REF from the daemon's store (the next
  # use must fetch it from the registry)
  run "${D[@]}" rmi "$1"
  fails "${D[@]}" image inspect "$1"
}

daemon_requests() { # daemon_requests LOG URI-REGEX : how many requests from dockerd for
  # that URI a registry process (log under $WORK) let through its htpasswd. User agents:
  # docker/20.10... (pull, push, legacy builder), containerd/... (BuildKit's resolver).
  grep -F 'msg="authorized request"' "$WORK/$1" | grep -E 'http.request.useragent="?(docker|containerd)/' \
    | grep -cE "http.request.uri=\"?$2\"? " || true
}

daemon_sequence() { # daemon_sequence TAG : pull, push, build FROM (BuildKit, then legacy)
  # and push the builds, all against account A's registry on [::1]:443
  local tag="$1" reg="$HOST_DUAL" base="$HOST_DUAL/e2e/hello:v1" ctx="$T/build" n
  dockerd_env
  [[ -z "$(ls -A "$AWS_ECR_CACHE_DIR")" ]] || fail "the token cache is not cold at the start"
  emu_reset

  ok "${D[@]}" pull "$base"
  contains "$ALL" 'Downloaded newer image'
  docker_image_has "$base" hello.txt "hello from ecr-login e2e"
  ok "${D[@]}" tag "$base" "$reg/e2e/$tag:pushed"
  ok "${D[@]}" push "$reg/e2e/$tag:pushed"
  contains "$ALL" 'digest: sha256:'
  registry_has_tag "e2e/$tag" pushed

  mkdir -p "$ctx"
  echo "built by $tag" >"$ctx/built.txt"
  printf 'FROM %s\nCOPY built.txt /built.txt\nLABEL org.example.e2e=%s\n' "$base" "$tag" >"$ctx/Dockerfile"
  local builder before
  for builder in buildkit legacy; do
    drop_local_image "$base"
    before=$(daemon_requests "$DOCKER_LOG6" '/v2/e2e/hello/manifests/v1')
    if [[ "$builder" == buildkit ]]; then
      DOCKER_BUILDKIT=1 ok "${D[@]}" build --progress plain -t "$reg/e2e/$tag:$builder" "$ctx"
    else
      DOCKER_BUILDKIT=0 ok "${D[@]}" build --pull -t "$reg/e2e/$tag:$builder" "$ctx"
    fi
    (($(daemon_requests "$DOCKER_LOG6" '/v2/e2e/hello/manifests/v1') > before)) \
      || fail "the $builder build did not fetch its base image's manifest from the registry"
    docker_image_has "$reg/e2e/$tag:$builder" built.txt "built by $tag"
    docker_image_has "$reg/e2e/$tag:$builder" hello.txt "hello from ecr-login e2e"
    ok "${D[@]}" push "$reg/e2e/$tag:$builder"
    contains "$ALL" 'digest: sha256:'
    registry_has_tag "e2e/$tag" "$builder"
  done

  helper_calls
  emu_hosts
  n=$(emu_count "$ECR_TARGET")
  ((n == 1)) || fail "the sequence made $n GetAuthorizationToken calls (expected exactly 1)"
  emu /__calls | jq -e '.calls[0].registryIds == null and .calls[0].region == "us-east-1"' \
    >/dev/null || fail "expected the one call in us-east-1, without registryIds"
  (($(helper_gets) >= 5)) || fail "expected the CLI to ask the helper at each step"
  not_contains "$(helper_calls)" '^get .*rc=[^0]'
  # all of it went over TLS to [::1]:443 (there is no plain-HTTP listener there)
  (($(daemon_requests "$DOCKER_LOG6" "/v2/e2e/$tag/manifests/.*") >= 3)) \
    || fail "expected dockerd's pushes in the TLS registry's log"
}

t_dockerd_credhelpers() {
  # credHelpers: pull, push, BuildKit and legacy builds FROM the ECR image, pushes
  cred_helpers_config "$HOST_DUAL"
  daemon_sequence credhelpers
}

t_dockerd_credsstore() {
  # the same with "credsStore": "ecr-login"
  docker_config '{"credsStore": "ecr-login"}'
  daemon_sequence credsstore
}

t_dockerd_tls_verified() {
  # dockerd checks the certificate of a registry on [::1] (not insecure for 20.10): a name
  # the certificate does not cover fails at TLS, before any credential is involved. On
  # 127.x it skips the check but still speaks TLS first: a pull from account A's
  # 127.42.0.2 goes to its TLS listener, never to its plain-HTTP twin.
  via_http
  cred_helpers_config "$HOST_A" "$HOST_DUAL"
  dockerd_env
  ok "${D[@]}" info --format '{{json .RegistryConfig.InsecureRegistryCIDRs}}'
  [[ "$OUT" == '["127.0.0.0/8"]' ]] || fail "expected only 127.0.0.0/8 as insecure, got $OUT"
  fails "${D[@]}" pull "$HOST_WRONG_NAME/e2e/hello:v1"
  contains "$ERR" "x509: certificate is valid for .*, not $HOST_WRONG_NAME"
  ok "${D[@]}" pull "$HOST_DUAL/e2e/hello:v1"
  local tls0 http0
  tls0=$(daemon_requests registry-ecr/registry.log '/v2/e2e/hello/manifests/v1')
  http0=$(daemon_requests registry-ecr/registry-http.log '/v2/e2e/hello/manifests/v1')
  ok "${D[@]}" pull "$HOST_A/e2e/hello:v1"
  (($(daemon_requests registry-ecr/registry.log '/v2/e2e/hello/manifests/v1') > tls0)) \
    || fail "dockerd's pull from $HOST_A did not reach the TLS listener"
  (($(daemon_requests registry-ecr/registry-http.log '/v2/e2e/hello/manifests/v1') == http0)) \
    || fail "dockerd fell back to plain HTTP for $HOST_A"
  docker_image_has "$HOST_A/e2e/hello:v1" hello.txt "hello from ecr-login e2e"
}

t_dockerd_login_other_registry() {
  # credsStore ecr-login + AWS_ECR_IGNORE_CREDS_STORAGE=true (what the README advises):
  # `docker login` to the non-ECR registry (on [::1]:5443, where dockerd checks TLS and
  # never falls back to plain HTTP) succeeds (the daemon checks the password, the
  # helper's store is a no-op), the password is kept nowhere, so pulls from that
  # registry fail clearly; no ECR credential ever reaches it, not even through a legacy
  # build, to which the CLI sends every credential the store lists.
  via_http
  docker_config '{"credsStore": "ecr-login"}'
  export AWS_ECR_IGNORE_CREDS_STORAGE=true
  dockerd_env
  emu_reset
  ok "${D[@]}" pull "$HOST_DUAL/e2e/hello:v1"          # the helper now holds account A's token
  local other_log="$WORK/registry-other/registry-ipv6.log" logins0
  logins0=$(daemon_requests registry-other/registry-ipv6.log '/v2/')
  run "${D[@]}" login "$OTHER_REG6" -u "$OTHER_USER" --password-stdin <<<"$OTHER_PW"
  ((RC == 0)) || fail "docker login failed"
  contains "$ALL" 'Login Succeeded'
  (($(daemon_requests registry-other/registry-ipv6.log '/v2/') > logins0)) \
    || fail "the daemon did not log in to $OTHER_REG6 over TLS"
  grep -qE '^store .*rc=0' <<<"$(helper_calls)" || fail "docker login did not call the helper's store"
  not_contains "$(cat "$DOCKER_CONFIG/config.json")" "$OTHER_PW|$(printf '%s:%s' "$OTHER_USER" "$OTHER_PW" | base64)"
  # the credentials live nowhere: the pull goes anonymous and the registry refuses it
  fails "${D[@]}" pull "$OTHER_REG6/e2e/hello:v1"
  contains "$ERR" 'no basic auth credentials'
  grep -qE "^get stdin=$OTHER_REG6 rc=1 " <<<"$(helper_calls)" \
    || fail "expected the helper to answer 'not found' for $OTHER_REG6"
  # builds FROM the other registry: same, with either builder
  mkdir -p "$T/build"
  printf 'FROM %s\nLABEL org.example.e2e=other\n' "$OTHER_REG6/e2e/hello:v1" >"$T/build/Dockerfile"
  DOCKER_BUILDKIT=0 fails "${D[@]}" build --pull "$T/build"
  contains "$ALL" 'no basic auth credentials|unauthorized|authentication required'
  grep -qE '^list .*rc=0' <<<"$(helper_calls)" || fail "the legacy build did not list the store"
  DOCKER_BUILDKIT=1 fails "${D[@]}" build --progress plain "$T/build"
  contains "$ALL" 'no basic auth credentials|unauthorized|authentication required|401'
  # a wrong password is refused (the login really is checked by the registry)
  fails "${D[@]}" login "$OTHER_REG6" -u "$OTHER_USER" --password-stdin <<<"not-the-password"
  contains "$ALL" 'unauthorized|401'
  # without AWS_ECR_IGNORE_CREDS_STORAGE the helper refuses to store, and docker says so
  unset AWS_ECR_IGNORE_CREDS_STORAGE
  fails "${D[@]}" login "$OTHER_REG6" -u "$OTHER_USER" --password-stdin <<<"$OTHER_PW"
  contains "$ALL" 'not implemented'
  # the other registry saw alice (right and wrong passwords) and anonymous requests, never
  # account A's user or token
  grep 'error authenticating user' "$other_log" || true
  grep -qE 'error authenticating user \\?"alice' "$other_log" || fail "the wrong password never reached $OTHER_REG6"
  not_contains "$(cat "$other_log")" 'error authenticating user \\?"AWS|'"$PW_A"
  local strangers
  strangers="$(grep 'error authenticating user' "$other_log" | grep -vE 'user \\?"alice\\?"' || true)"
  [[ -z "$strangers" ]] || fail "users other than $OTHER_USER tried $OTHER_REG6: $strangers"
  (($(emu_count "$ECR_TARGET") == 1)) || fail "expected one GetAuthorizationToken"
}

t_dockerd_no_credentials() {
  # no AWS credentials: `docker pull` shows the helper's one-line cause, then the
  # daemon's "no basic auth credentials"; the API is never called
  unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
  via_http
  cred_helpers_config "$HOST_DUAL"
  dockerd_env
  emu_reset
  local cli lines cause denied
  for cli in "$DOCKER_DEB" docker; do
    fails "$cli" pull "$HOST_DUAL/e2e/hello:v1"
    contains "$ERR" 'no AWS credentials'
    contains "$ERR" 'no basic auth credentials'
    lines="$(grep -vE '^$' <<<"$ERR")"
    cause=$(grep -niE 'no AWS credentials' <<<"$lines" | head -1 | cut -d: -f1)
    denied=$(grep -niE 'no basic auth credentials' <<<"$lines" | head -1 | cut -d: -f1)
    ((cause < denied)) || fail "$cli: the helper's cause should come before the daemon's error"
    (($(grep -ciE 'no AWS credentials' <<<"$lines") == 1)) || fail "$cli: the cause should be one line"
  done
  (($(emu_count "$ECR_TARGET") == 0)) || fail "the API was called without credentials"
}

t_dockerd_other_account_refused() {
  # a principal of account B gets B's token for the dual-stack names; account A's
  # registry accepts only A's principals: pull, push and a BuildKit build each fail
  # with the registry's refusal
  via_http
  cred_helpers_config "$HOST_DUAL" "$HOST_DUAL_B"
  dockerd_env
  emu_reset
  ok "${D[@]}" pull "$HOST_DUAL/e2e/hello:v1"
  ok "${D[@]}" tag "$HOST_DUAL/e2e/hello:v1" "$HOST_DUAL_B/e2e/b:v1"
  export AWS_ACCESS_KEY_ID="AKIA${ACCT_B}E2E"
  fails "${D[@]}" pull "$HOST_DUAL_B/e2e/hello:v1"
  contains "$ERR" 'unauthorized|authentication required'
  fails "${D[@]}" push "$HOST_DUAL_B/e2e/b:v1"
  contains "$ALL" 'unauthorized|authentication required'
  mkdir -p "$T/build"
  printf 'FROM %s\nLABEL org.example.e2e=b\n' "$HOST_DUAL_B/e2e/hello:v1" >"$T/build/Dockerfile"
  DOCKER_BUILDKIT=1 fails "${D[@]}" build --progress plain "$T/build"
  contains "$ALL" 'unauthorized|authentication required|401'
  helper_calls
  grep -qE "^get stdin=$HOST_DUAL_B rc=0 " <<<"$(helper_calls)" || fail "the helper should hand out B's token"
  emu /__calls | jq -e --arg b "$ACCT_B" '[.calls[] | select(.registryIds == null and (.accessKeyId | contains($b)))] | length == 1' >/dev/null \
    || fail "expected one GetAuthorizationToken signed by B's key, without registryIds"
}

t_dockerd_legacy_build_credsstore_cold() {
  # With credsStore, the legacy builder (DOCKER_BUILDKIT=0) gets only the credentials
  # the store lists. On a cold cache `list` finds the identity's default registry
  # (one GetAuthorizationToken in AWS_REGION, its token cached), so a build FROM an
  # image there works, and the gets that follow cost no further call.
  via_http
  export AWS_REGION=us-east-1
  docker_config '{"credsStore": "ecr-login"}'
  dockerd_env
  emu_reset
  mkdir -p "$T/build"
  printf 'FROM %s\nLABEL org.example.e2e=cold\n' "$HOST_A/e2e/hello:v1" >"$T/build/Dockerfile"
  DOCKER_BUILDKIT=0 ok "${D[@]}" build --pull -t "$HOST_A/e2e/cold:legacy" "$T/build"
  contains "$ALL" 'Successfully tagged'
  helper_calls
  grep -qE '^list .*rc=0' <<<"$(helper_calls)" || fail "the legacy build did not list the store"
  (($(emu_count "$ECR_TARGET" us-east-1) == 1)) || { emu_hosts; fail "expected one GetAuthorizationToken"; }
}
