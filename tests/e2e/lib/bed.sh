# shellcheck shell=bash
# The bed (inside the namespaces): test CA and certificates, /etc/hosts and CA
# bundle bind mounts, the ECR API emulator, the registries, the seeded images
# and the logging wrapper in front of the helper.

make_certs() {
  local d="$WORK/pki" san="" h
  mkdir -p "$d"
  # every name the suite serves, except HOST_WRONG_NAME (a client that checks
  # certificates must refuse it)
  for h in "${REGISTRY_HOSTS_A[@]}" "${REGISTRY_HOSTS_A6[@]}" "$HOST_PUBLIC" "$HOST_PUBLIC_ALT" \
    "$OTHER_HOST" "$OTHER_HOST6" "$ALIAS_HOST" "${API_HOSTS[@]}"; do
    san+="DNS:$h,"
  done
  san+="IP:$IP_ECR,IP:$IP_PUBLIC,IP:$IP_OTHER,IP:$IP_API,IP:127.0.0.1,IP:$IP6_ECR"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$d/ca.key" -out "$d/ca.pem" -days 2 -subj "/CN=ecr-login e2e test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>"$d/openssl.log" || die "openssl: CA generation failed ($(cat "$d/openssl.log"))"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$d/server.key" -out "$d/server.csr" -subj "/CN=ecr-login e2e server" \
    2>>"$d/openssl.log" || die "openssl: server key generation failed"
  cat >"$d/server.ext" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=$san
EOF
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
    -out "$d/server.pem" -days 2 -extfile "$d/server.ext" 2>>"$d/openssl.log" \
    || die "openssl: signing the server certificate failed"
  cat /etc/ssl/certs/ca-certificates.crt "$d/ca.pem" >"$d/ca-bundle.crt"
}

setup_namespace_files() {
  local h
  {
    echo "127.0.0.1 localhost"
    echo "::1 localhost"
    for h in "${REGISTRY_HOSTS_A[@]}" "$ALIAS_HOST"; do echo "$IP_ECR $h"; done
    for h in "${REGISTRY_HOSTS_A6[@]}" "$HOST_WRONG_NAME" "$OTHER_HOST6"; do echo "$IP6_ECR $h"; done
    echo "$IP_PUBLIC $HOST_PUBLIC $HOST_PUBLIC_ALT"
    echo "$IP_OTHER $OTHER_HOST"
    for h in "${API_HOSTS[@]}"; do echo "$IP_API $h"; done
  } >"$WORK/hosts"
  mount --bind "$WORK/hosts" /etc/hosts || die "bind-mounting /etc/hosts failed"
  mount --bind "$WORK/pki/ca-bundle.crt" /etc/ssl/certs/ca-certificates.crt \
    || die "bind-mounting the CA bundle failed"
  # dockerd and the docker CLI also look in per-host cert dirs (/etc/docker/certs.d/HOST/
  # ca.crt): the suite's copy of /etc/docker holds only those, with our CA.
  mkdir -p "$WORK/etc-docker"
  for h in "${REGISTRY_HOSTS_A[@]}" "${REGISTRY_HOSTS_A6[@]}" "$HOST_WRONG_NAME" "$HOST_PUBLIC" \
    "$HOST_PUBLIC_ALT" "$OTHER_HOST" "$OTHER_REG6"; do
    mkdir -p "$WORK/etc-docker/certs.d/$h"
    cp "$WORK/pki/ca.pem" "$WORK/etc-docker/certs.d/$h/ca.crt"
  done
  if [[ -d /etc/docker ]]; then
    mount --bind "$WORK/etc-docker" /etc/docker || die "bind-mounting /etc/docker failed"
  fi
  if [[ -d /etc/containers ]]; then
    mkdir -p "$WORK/etc-containers"
    cp -a /etc/containers/. "$WORK/etc-containers/"
    mount --bind "$WORK/etc-containers" /etc/containers || die "bind-mounting /etc/containers failed"
  else
    mkdir -p "$WORK/etc-containers" /etc/containers
    mount --bind "$WORK/etc-containers" /etc/containers || die "bind-mounting /etc/containers failed"
  fi
  touch /etc/containers/registries.conf
  # What the daemons and clients write outside their own directories stays in the
  # namespace: dockerd makes /run/docker/plugins whatever its exec root; podman, buildah
  # and skopeo keep a blob-info cache in /var/lib/containers/cache whatever --root.
  mount -t tmpfs -o mode=0755 ecr-login-e2e-run /run || die "mounting a tmpfs on /run failed"
  if [[ ! -d /var/lib/containers ]]; then
    # shellcheck disable=SC2034  # read by cleanup (lib/common.sh)
    mkdir /var/lib/containers && CREATED_VAR_LIB_CONTAINERS=1
  fi
  mkdir -p "$WORK/var-lib-containers"
  mount --bind "$WORK/var-lib-containers" /var/lib/containers \
    || die "bind-mounting /var/lib/containers failed"
  cp /etc/containers/registries.conf "$WORK/registries.conf.orig"
  cat >"$WORK/policy.json" <<'EOF'
{"default": [{"type": "insecureAcceptAnything"}]}
EOF
  cp "$WORK/policy.json" /etc/containers/policy.json   # what podman and buildah read
}

registry_config() { # registry_config DIR ADDR TLS(yes|no) NAME
  local d="$1" addr="$2" tls="$3" name="$4"
  cat <<EOF
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $d/data
  delete:
    enabled: true
http:
  addr: "$addr"
  secret: e2e-$name-secret
EOF
  if [[ "$tls" == yes ]]; then
    cat <<EOF
  tls:
    certificate: $WORK/pki/server.pem
    key: $WORK/pki/server.key
EOF
  fi
  cat <<EOF
auth:
  htpasswd:
    realm: ecr-login-e2e-$name
    path: $d/htpasswd
EOF
}

start_registry() { # start_registry NAME IP USER PASSWORD [http-twin]
  # TLS on IP:443. With "http-twin", a second process serves the same storage and
  # htpasswd over plain HTTP on IP:80: the docker CLI treats every registry whose
  # name resolves to a loopback address as "insecure", and `docker manifest push`
  # then talks plain HTTP to it (docker/cli cli/registry/client/endpoint.go,
  # getDefaultEndpoint). Credentials still come from the helper either way.
  local name="$1" ip="$2" user="$3" pw="$4" twin="${5:-}" d="$WORK/registry-$1"
  mkdir -p "$d/data"
  htpasswd -Bbn "$user" "$pw" >"$d/htpasswd" || die "htpasswd failed"
  registry_config "$d" "$ip:443" yes "$name" >"$d/config.yml"
  start_bg "registry-$name" "$d/registry.log" docker-registry serve "$d/config.yml"
  if [[ "$twin" == http-twin ]]; then add_listener "$name" "$ip:80" no http; fi
}

add_listener() { # add_listener NAME ADDR TLS(yes|no) SUFFIX : one more process serving
  # registry NAME's storage and htpasswd on ADDR; its log is registry-SUFFIX.log
  local name="$1" addr="$2" tls="$3" suffix="$4" d="$WORK/registry-$1"
  registry_config "$d" "$addr" "$tls" "$name" >"$d/config-$suffix.yml"
  start_bg "registry-$name-$suffix" "$d/registry-$suffix.log" docker-registry serve "$d/config-$suffix.yml"
}

registry_ready() { # registry_ready HOST[:PORT] ADDR : 401 on /v2/ means up with auth
  local hp="$1"
  [[ "$hp" == *:* ]] || hp="$hp:443"
  [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 --cacert "$WORK/pki/ca.pem" \
    --resolve "$hp:$2" "https://$hp/v2/")" == 401 ]]
}

http_registry_ready() {
  [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$1/v2/")" == 401 ]]
}

start_bed() {
  make_certs
  setup_namespace_files

  local emu_dir="$WORK/emulator"
  # shellcheck disable=SC2034  # EMU_HTTP: used by lib/assert.sh and scenarios
  EMU_HTTP="$("$REPO/scripts/emulator/start" --dir "$emu_dir" --timeout 60 \
    --tls "$IP_API:443" --cert "$WORK/pki/server.pem" --key "$WORK/pki/server.key")" \
    || die "emulator failed to start (log: $emu_dir/emulator.log)"
  PIDS+=("emulator:$(cat "$emu_dir/emulator.pid")")

  start_registry ecr "$IP_ECR" AWS "$PW_A" http-twin
  start_registry public "$IP_PUBLIC" AWS "$PW_PUBLIC" http-twin
  start_registry other "$IP_OTHER" "$OTHER_USER" "$OTHER_PW"
  # account A's registry on [::1]:443 as well (TLS), for the dual-stack names
  add_listener ecr "[$IP6_ECR]:443" yes ipv6
  add_listener other "[$IP6_ECR]:5443" yes ipv6
  wait_for 30 "registry $HOST_A" registry_ready "$HOST_A" "$IP_ECR"
  wait_for 30 "registry $HOST_PUBLIC" registry_ready "$HOST_PUBLIC" "$IP_PUBLIC"
  wait_for 30 "registry $OTHER_HOST" registry_ready "$OTHER_HOST" "$IP_OTHER"
  wait_for 30 "plain-HTTP twin of $HOST_A" http_registry_ready "$IP_ECR"
  wait_for 30 "plain-HTTP twin of $HOST_PUBLIC" http_registry_ready "$IP_PUBLIC"
  wait_for 30 "registry $HOST_DUAL on [$IP6_ECR]:443" registry_ready "$HOST_DUAL" "[$IP6_ECR]"
  wait_for 30 "registry $OTHER_REG6" registry_ready "$OTHER_REG6" "[$IP6_ECR]"
  # the emulator's TLS listener, reached by name through our /etc/hosts and CA bundle
  wait_for 10 "emulator TLS listener" curl -sf --max-time 2 https://api.ecr.us-east-1.amazonaws.com/__health

  python3 "$HERE/make_oci_image.py" "$WORK/image" v1 "hello from ecr-login e2e" >/dev/null \
    || die "could not build the test OCI image"
  python3 "$HERE/make_oci_image.py" "$WORK/image2" v2 "second image" >/dev/null \
    || die "could not build the second test OCI image"

  # Seed the registries (static credentials, no helper) so that every scenario
  # can pull e2e/hello:v1 whatever ran before it.
  local ref
  for ref in "$HOST_A:AWS:$PW_A" "$HOST_PUBLIC:AWS:$PW_PUBLIC" "$OTHER_HOST:$OTHER_USER:$OTHER_PW"; do
    timeout 60 skopeo --policy "$WORK/policy.json" copy --retry-times 0 --quiet \
      --dest-creds "${ref#*:}" "oci:$WORK/image:v1" "docker://${ref%%:*}/e2e/hello:v1" \
      >"$WORK/logs/seed.log" 2>&1 || { cat "$WORK/logs/seed.log" >&2; die "seeding ${ref%%:*} failed"; }
  done

  # PATH: a logging wrapper named docker-credential-ecr-login in front of the real binary.
  mkdir -p "$WORK/bin" "$WORK/helper-calls"
  cat >"$WORK/bin/docker-credential-ecr-login" <<EOF
#!/usr/bin/env bash
# e2e wrapper: records each invocation (action, stdin, exit status, stderr, ms), then
# passes stdout/stderr/exit status through unchanged.
d="$WORK/helper-calls/call.\$(date +%s%N).\$\$"   # names sort chronologically
mkdir -p "\$d"
cat >"\$d/stdin"
echo "\${1:-}" >"\$d/action"
t0=\$(date +%s%N)
"$ECR_LOGIN_BIN" "\$@" <"\$d/stdin" >"\$d/stdout" 2>"\$d/stderr"
rc=\$?
echo \$(( (\$(date +%s%N) - t0) / 1000000 )) >"\$d/ms"
echo \$rc >"\$d/rc"
cat "\$d/stdout"; cat "\$d/stderr" >&2
exit \$rc
EOF
  chmod +x "$WORK/bin/docker-credential-ecr-login"
}
