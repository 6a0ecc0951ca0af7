# shellcheck shell=bash
# Scenarios of the fallback store and registry aliases (issue 14, parts 1 and
# 2). Each t_* runs in its own subshell with base_env applied and $T a fresh
# directory. ALIAS_HOST (lib/common.sh) resolves to the registry of account
# 123456789012 and is in the server certificate; install_file_store puts a
# real, minimal credential store (one file per registry, recording the
# environment of every call) on PATH.
#
# t_fallback_docker_login_other_registry asserts, with "credsStore": "ecr-login"
# and fallback = "e2efile" in ~/.ecr/config.toml:
#  1. `docker login` to the suite's second, non-ECR registry succeeds and the
#     credentials land in the fallback's store (not in config.json);
#  2. `get` for that registry returns exactly what the fallback stored, and a
#     push then pull of an image there through ecr-login (skopeo with
#     credential-helpers = ["ecr-login"]) authenticates with them (a wrong
#     password in the store makes the push fail: the credentials are used);
#  3. ECR still works under the same credsStore (push/pull to $HOST_A), and
#     neither the ECR host, its token nor any AWS_* variable ever reached the
#     fallback (its store and its recorded environments are searched);
#  4. `list` shows both registries; `docker logout` erases through the
#     fallback (its file is gone) and a later `get` is "not found".
#
# t_alias_pull_push asserts, with [[alias]] host = ALIAS_HOST -> $HOST_A and
# credHelpers {ALIAS_HOST: ecr-login}:
#  1. skopeo pushes and pulls ALIAS_HOST/e2e/alias:v1 (the registry behind the
#     alias only accepts the ECR token of account 123456789012);
#  2. `get ALIAS_HOST` answers ServerURL = ALIAS_HOST with that token, and
#     `get-login-password ALIAS_HOST` prints the same password;
#  3. `doctor ALIAS_HOST` starts with the alias line and ends "token ok";
#  4. kubelet mode answers an image on ALIAS_HOST with auth key ALIAS_HOST;
#  5. without the alias, the same host is "not found" (never implicit).

SCENARIOS+=(fallback_docker_login_other_registry alias_pull_push)

install_file_store() { # docker-credential-e2efile: a file-per-registry store in $T/store
  mkdir -p "$T/store" "$T/store-env"
  cat >"$WORK/bin/docker-credential-e2efile" <<STORE
#!/bin/sh
d="$T/store"
env >"$T/store-env/\$1.\$\$"
key() { printf '%s' "\$1" | sed 's#^https\?://##; s#/.*##' | tr -c 'a-zA-Z0-9.:-' _; }
case "\$1" in
  store) in=\$(cat); host=\$(printf '%s' "\$in" | jq -r .ServerURL); printf '%s' "\$in" >"\$d/\$(key "\$host")" ;;
  get) host=\$(cat); f="\$d/\$(key "\$host")"
       if [ -f "\$f" ]; then cat "\$f"; else echo "credentials not found in native keychain"; exit 1; fi ;;
  erase) host=\$(cat); rm -f "\$d/\$(key "\$host")" ;;
  list) printf '{'; sep=''; for f in "\$d"/*; do [ -f "\$f" ] || continue
          printf '%s"%s":"%s"' "\$sep" "\$(jq -r .ServerURL "\$f")" "\$(jq -r .Username "\$f")"; sep=,; done; printf '}' ;;
  *) exit 1 ;;
esac
STORE
  chmod +x "$WORK/bin/docker-credential-e2efile"
}

t_fallback_docker_login_other_registry() {
  via_http
  install_file_store
  docker_config '{"credsStore": "ecr-login"}'
  mkdir -p "$HOME/.ecr" && printf 'fallback = "e2efile"\n' >"$HOME/.ecr/config.toml"
  # 1. docker login to the non-ECR registry, stored by the fallback
  run docker login "$OTHER_HOST" -u "$OTHER_USER" --password-stdin <<<"$OTHER_PW"
  ((RC == 0)) || fail "docker login through the fallback failed"
  contains "$ALL" 'Login Succeeded'
  contains "$(cat "$T"/store/*)" "\"Secret\":\"$OTHER_PW\""
  not_contains "$(cat "$DOCKER_CONFIG/config.json")" "$OTHER_PW"
  # 2. get returns it; a client authenticates with it
  ok docker-credential-ecr-login get <<<"$OTHER_HOST"
  jq -e --arg u "$OTHER_USER" --arg p "$OTHER_PW" '.Username == $u and .Secret == $p' <<<"$OUT" >/dev/null \
    || fail "get did not return the fallback's credentials: $OUT"
  with_registries_conf 'credential-helpers = ["ecr-login"]' push_image "$OTHER_HOST/e2e/fb:v1"
  with_registries_conf 'credential-helpers = ["ecr-login"]' pull_image "$OTHER_HOST/e2e/fb:v1"
  sed -i "s/$OTHER_PW/not-the-password/" "$T"/store/*
  with_registries_conf 'credential-helpers = ["ecr-login"]' \
    run "${SKOPEO[@]}" copy --retry-times 0 "oci:$WORK/image:v1" "docker://$OTHER_HOST/e2e/fb:v2"
  ((RC != 0)) || fail "a wrong password in the fallback's store must make the push fail"
  sed -i "s/not-the-password/$OTHER_PW/" "$T"/store/*
  # 3. ECR under the same credsStore; nothing of it reached the fallback
  with_registries_conf 'credential-helpers = ["ecr-login"]' push_image "$HOST_A/e2e/fb:v1"
  with_registries_conf 'credential-helpers = ["ecr-login"]' pull_image "$HOST_A/e2e/fb:v1"
  not_contains "$(cat "$T"/store/* "$T"/store-env/*)" "$HOST_A|$PW_A|AWS_|$AWS_SECRET_ACCESS_KEY"
  # 4. list merges; logout erases through the fallback
  ok docker-credential-ecr-login list </dev/null
  jq -e --arg o "$OTHER_HOST" --arg a "https://$HOST_A" 'has($o) and has($a)' <<<"$OUT" >/dev/null \
    || fail "list should show both registries: $OUT"
  ok docker logout "$OTHER_HOST"
  [[ -z "$(ls -A "$T/store")" ]] || fail "docker logout did not erase through the fallback"
  fails docker-credential-ecr-login get <<<"$OTHER_HOST"
  contains "$OUT" 'credentials not found'
}

t_alias_pull_push() {
  via_http
  mkdir -p "$HOME/.ecr"
  printf '[[alias]]\nhost = "%s"\nregistry = "%s"\n' "$ALIAS_HOST" "$HOST_A" >"$HOME/.ecr/config.toml"
  cred_helpers_config "$ALIAS_HOST"
  # 1. a real client through the alias
  push_image "$ALIAS_HOST/e2e/alias:v1"
  pull_image "$ALIAS_HOST/e2e/alias:v1"
  # 2. get / get-login-password
  ok docker-credential-ecr-login get <<<"$ALIAS_HOST"
  secret_is "$PW_A"
  jq -e --arg h "$ALIAS_HOST" '.ServerURL == $h' <<<"$OUT" >/dev/null || fail "ServerURL not as given: $OUT"
  ok docker-credential-ecr-login get-login-password "$ALIAS_HOST"
  [[ "$OUT" == "$PW_A" ]] || fail "get-login-password through the alias: $OUT"
  # 3. doctor
  ok docker-credential-ecr-login doctor "$ALIAS_HOST"
  contains "$(head -1 <<<"$OUT")" "^alias +$ALIAS_HOST -> $HOST_A"
  contains "$OUT" 'token +ok'
  # 4. kubelet
  run docker-credential-ecr-login kubelet <<<"{\"kind\":\"CredentialProviderRequest\",\"apiVersion\":\"credentialprovider.kubelet.k8s.io/v1\",\"image\":\"$ALIAS_HOST/e2e/alias:v1\"}"
  ((RC == 0)) || fail "kubelet through the alias failed"
  jq -e --arg h "$ALIAS_HOST" --arg p "$PW_A" '.auth[$h].password == $p' <<<"$OUT" >/dev/null \
    || fail "kubelet auth key should be $ALIAS_HOST: $OUT"
  # 5. never implicit
  rm "$HOME/.ecr/config.toml"
  fails docker-credential-ecr-login get <<<"$ALIAS_HOST"
  contains "$OUT" 'credentials not found'
}
