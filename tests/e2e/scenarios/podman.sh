# shellcheck shell=bash
# Scenarios: podman and buildah (Debian 4.3 / 1.28, containers/image) pulling and
# pushing through the helper (credHelpers in $DOCKER_CONFIG/config.json), each with
# private vfs storage under $T. containers/image checks TLS for every registry not
# listed as insecure in registries.conf, loopback included, so these use account A's
# 127.42.0.2:443 directly (certificate checked against the namespace's CA bundle).
# Each t_NAME runs in its own subshell with base_env applied and $T a fresh
# directory; a failing assertion exits the subshell.

SCENARIOS+=(podman_buildah_push_pull podman_buildah_other_account_refused podman_no_credentials)

podman_env() { # PODMAN and BUILDAH: the clients with storage of their own under $T (the
  # run roots must be under 50 characters: a short directory directly in $WORK)
  local rr; rr="$(mktemp -d "$WORK/rr.XXXXXX")"
  PODMAN=(podman --root "$T/podman/root" --runroot "$rr/p" --tmpdir "$T/podman/tmp"
    --storage-driver vfs --cgroup-manager cgroupfs --events-backend file)
  BUILDAH=(buildah --root "$T/buildah/root" --runroot "$rr/b" --storage-driver vfs)
  mkdir -p "$T/podman/tmp"
}

oci_image_has() { # oci_image_has CLIENT... -- REF FILE TEXT : a layer of REF, saved by the
  # client as an OCI layout, holds FILE = TEXT
  local client=() d="$T/saved.$RANDOM" f found=""
  while [[ "$1" != -- ]]; do client+=("$1"); shift; done
  shift
  ok "${client[@]}" push "$1" "oci:$d:saved"
  for f in "$d"/blobs/sha256/*; do
    if [[ "$(tar -xOf "$f" "$2" 2>/dev/null)" == "$3" ]]; then found=1; fi
  done
  [[ -n "$found" ]] || fail "no layer of $1 holds $2 = '$3'"
}

client_requests() { # client_requests LOG UA-REGEX URI-REGEX : requests from that user agent
  # for that URI that registry process (log under $WORK) let through its htpasswd
  grep -F 'msg="authorized request"' "$WORK/$1" | grep -E "http.request.useragent=\"?$2" \
    | grep -cE "http.request.uri=\"?$3\"? " || true
}

t_podman_buildah_push_pull() {
  # podman pull + push, then buildah pull + push, on a cold cache: one
  # GetAuthorizationToken for all of it; TLS all the way (never the plain-HTTP twin)
  cred_helpers_config "$HOST_A"
  podman_env
  [[ -z "$(ls -A "$AWS_ECR_CACHE_DIR")" ]] || fail "the token cache is not cold at the start"
  emu_reset
  local http0
  http0=$(grep -c 'authorized request' "$WORK/registry-ecr/registry-http.log" || true)

  ok "${PODMAN[@]}" pull "$HOST_A/e2e/hello:v1"
  oci_image_has "${PODMAN[@]}" -- "$HOST_A/e2e/hello:v1" hello.txt "hello from ecr-login e2e"
  ok "${PODMAN[@]}" tag "$HOST_A/e2e/hello:v1" "$HOST_A/e2e/podman:pushed"
  ok "${PODMAN[@]}" push "$HOST_A/e2e/podman:pushed"
  registry_has_tag e2e/podman pushed

  ok "${BUILDAH[@]}" pull "$HOST_A/e2e/hello:v1"
  oci_image_has "${BUILDAH[@]}" -- "$HOST_A/e2e/hello:v1" hello.txt "hello from ecr-login e2e"
  ok "${BUILDAH[@]}" tag "$HOST_A/e2e/hello:v1" "$HOST_A/e2e/buildah:pushed"
  ok "${BUILDAH[@]}" push "$HOST_A/e2e/buildah:pushed"
  registry_has_tag e2e/buildah pushed

  helper_calls
  emu_hosts
  local n; n=$(emu_count "$ECR_TARGET")
  ((n == 1)) || fail "the sequence made $n GetAuthorizationToken calls (expected exactly 1)"
  (($(helper_gets) >= 4)) || fail "expected podman and buildah to ask the helper for each pull and push"
  not_contains "$(helper_calls)" '^get .*rc=[^0]'
  (($(client_requests registry-ecr/registry.log '[^ ]*(libpod|[Bb]uildah|containers)' '/v2/e2e/(podman|buildah)/manifests/pushed') >= 2)) \
    || fail "expected the pushes in the TLS registry's log"
  (($(grep -c 'authorized request' "$WORK/registry-ecr/registry-http.log" || true) == http0)) \
    || fail "something used the plain-HTTP twin"
}

t_podman_buildah_other_account_refused() {
  # a principal of account B gets B's token; account A's registry accepts only A's
  # principals: each client fails with the registry's refusal
  cred_helpers_config "$HOST_A" "$HOST_B"
  podman_env
  emu_reset
  local c
  for c in podman buildah; do
    if [[ "$c" == podman ]]; then set -- "${PODMAN[@]}"; else set -- "${BUILDAH[@]}"; fi
    export AWS_ACCESS_KEY_ID=AKIDEXAMPLE
    ok "$@" pull "$HOST_A/e2e/hello:v1"
    ok "$@" tag "$HOST_A/e2e/hello:v1" "$HOST_B/e2e/$c:v1"
    export AWS_ACCESS_KEY_ID="AKIA${ACCT_B}E2E"
    fails "$@" pull "$HOST_B/e2e/hello:v1"
    contains "$ERR" 'unauthorized|authentication required'
    fails "$@" push "$HOST_B/e2e/$c:v1"
    contains "$ERR" 'unauthorized|authentication required'
  done
  helper_calls
  grep -qE "^get stdin=$HOST_B rc=0 " <<<"$(helper_calls)" || fail "the helper should hand out B's token"
  emu /__calls | jq -e --arg b "$ACCT_B" '[.calls[] | select(.registryIds == null and (.accessKeyId | contains($b)))] | length == 1' >/dev/null \
    || fail "expected one GetAuthorizationToken signed by B's key, without registryIds"
}

t_podman_no_credentials() {
  # no AWS credentials: podman and buildah fail, saying why
  unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
  via_http
  cred_helpers_config "$HOST_A"
  podman_env
  emu_reset
  local c cause denied
  for c in podman buildah; do
    if [[ "$c" == podman ]]; then set -- "${PODMAN[@]}"; else set -- "${BUILDAH[@]}"; fi
    fails "$@" pull "$HOST_A/e2e/hello:v1"
    contains "$ERR" 'no AWS credentials'
    contains "$ERR" 'unauthorized|authentication required'
    cause=$(grep -niE 'no AWS credentials' <<<"$ERR" | head -1 | cut -d: -f1)
    denied=$(grep -niE '^Error: .*(unauthorized|authentication required)' <<<"$ERR" | head -1 | cut -d: -f1)
    ((cause < denied)) || fail "$c: the helper's cause should come before the registry's refusal"
  done
  (($(emu_count "$ECR_TARGET") == 0)) || fail "the API was called without credentials"
}
