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
  dockerd_login_other_registry dockerd_no_credentials dockerd_other_account_refused)

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

registry_has_tag() { # registry_has_tag REPO TAG : account A's registry stores REPO:TAG
  [[ -s "$WORK/registry-ecr/data/docker/registry/v2/repositories/$1/_manifests/tags/$2/current/link" ]] \
    || fail "account A's registry has no $1:$2"
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
  emu /__calls | jq -e --arg a "$ACCT_A" '.calls[0].registryIds == [$a] and .calls[0].region == "us-east-1"' \
    >/dev/null || fail "expected the one call for account $ACCT_A in us-east-1"
  (($(helper_gets) >= 5)) || fail "expected the CLI to ask the helper at each step"
  grep -q '^get .*rc=[^0]' <<<"$(helper_calls)" && fail "a helper get failed during the sequence"
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
