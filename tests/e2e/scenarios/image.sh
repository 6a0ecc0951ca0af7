# shellcheck shell=bash
# Scenario: the image to copy the helper from (image/Dockerfile, scripts/build-image),
# built by the suite's real dockerd from the binary under test; run as a container;
# copied out by a multi-stage Dockerfile (COPY --from), and the copy then serves a
# `docker pull` from ECR as the CLI's credential helper.

SCENARIOS+=(dockerd_image_copy_from)

t_dockerd_image_copy_from() {
  via_http
  cred_helpers_config "$HOST_DUAL"
  dockerd_env
  emu_reset
  local ref=ecr-login:e2e ctx="$T/ctx" copied="$T/copied" d="$T/save" version
  DOCKER="$DOCKER_DEB" ok "$REPO/scripts/build-image" "$ECR_LOGIN_BIN" "$ref"
  [[ "$OUT" == "$ref" ]] || fail "build-image printed '$OUT', not $ref"

  # only the binary and its licence, with the OCI labels
  mkdir -p "$d"
  "${D[@]}" save "$ref" | tar -xf - -C "$d" || fail "docker save $ref failed"
  local files
  files=$(find "$d" -name layer.tar -exec tar -tf {} \; | grep -v '/$' | sort | tr '\n' ' ')
  [[ "$files" == "LICENSE docker-credential-ecr-login " ]] || fail "the image holds: $files"
  ok "${D[@]}" image inspect --format '{{json .Config.Labels}}' "$ref"
  version=$("$ECR_LOGIN_BIN" version | cut -d" " -f3)
  jq -e --arg v "$version" '."org.opencontainers.image.version" == $v
      and (."org.opencontainers.image.revision" | test("^[0-9a-f]{40}$"))
      and (."org.opencontainers.image.source" | length > 0)
      and ."org.opencontainers.image.licenses" == "Apache-2.0"' <<<"$OUT" >/dev/null \
    || fail "labels: $OUT (version $version)"

  # run it: the entry point is the helper
  ok "${D[@]}" run --rm -i --network none "$ref" version
  contains "$OUT" "^docker-credential-ecr-login \\(ecr-login\\) $version "

  # COPY --from in a multi-stage build, then copy the result out of the built image
  mkdir -p "$ctx" "$copied"
  printf 'FROM %s AS helper\nFROM scratch\nCOPY --from=helper /docker-credential-ecr-login /usr/local/bin/\n' \
    "$ref" >"$ctx/Dockerfile"
  DOCKER_BUILDKIT=1 ok "${D[@]}" build --progress plain -t ecr-login-consumer:e2e "$ctx"
  ok "${D[@]}" create --name consumer ecr-login-consumer:e2e /usr/local/bin/docker-credential-ecr-login
  ok "${D[@]}" cp consumer:/usr/local/bin/docker-credential-ecr-login "$copied/"
  ok "${D[@]}" rm consumer
  cmp -s "$copied/docker-credential-ecr-login" "$ECR_LOGIN_BIN" \
    || fail "the binary copied through the image differs from the one under test"

  # the copy, first on PATH, logs the CLI in for a pull (the suite's call-logging
  # wrapper is not asked)
  local gets0
  gets0=$(helper_gets)
  PATH="$copied:$PATH" ok "${D[@]}" pull "$HOST_DUAL/e2e/hello:v1"
  docker_image_has "$HOST_DUAL/e2e/hello:v1" hello.txt "hello from ecr-login e2e"
  (($(helper_gets) == gets0)) || fail "the pull went through the suite's wrapper, not the copied binary"
  (($(emu_count "$ECR_TARGET") == 1)) || fail "expected one GetAuthorizationToken (by the copied binary)"
}
