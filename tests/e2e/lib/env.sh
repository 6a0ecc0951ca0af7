# shellcheck shell=bash
# Per-scenario environment: base_env (run in each scenario's subshell) and the
# small switches scenarios combine (endpoint mode, Docker config, registries.conf).

# Environment shared by every scenario (each scenario runs in its own subshell
# and adjusts from here).
base_env() {
  local v
  for v in $(compgen -e); do
    case "$v" in
      AWS_*|DOCKER_*|REGISTRY_AUTH_FILE|CONTAINERS_*|XDG_*) unset "$v" ;;
    esac
  done
  export PATH="$WORK/bin:$PATH"
  export HOME="$T/home"
  mkdir -p "$HOME" "$T/docker" "$T/cache" "$T/xdg-run"
  export DOCKER_CONFIG="$T/docker"
  export DOCKER_HOST="unix://$WORK/no-docker-daemon.sock"   # no daemon, ever
  export XDG_RUNTIME_DIR="$T/xdg-run" XDG_CONFIG_HOME="$HOME/.config"
  export AWS_ACCESS_KEY_ID=AKIDEXAMPLE
  export AWS_SECRET_ACCESS_KEY=e2e-dummy-secret-key
  export AWS_REGION=us-west-2            # deliberately not the registries' region
  export AWS_EC2_METADATA_DISABLED=true
  export AWS_CONFIG_FILE="$HOME/.aws/config" AWS_SHARED_CREDENTIALS_FILE="$HOME/.aws/credentials"
  export AWS_ECR_CACHE_DIR="$T/cache"
  export AWS_ECR_TIMEOUT=10
  export AWS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
  export SSL_CERT_DIR=/etc/ssl/certs
  rm -rf "$WORK/helper-calls" && mkdir -p "$WORK/helper-calls"
  cp "$WORK/registries.conf.orig" /etc/containers/registries.conf
  # shellcheck disable=SC2034  # SKOPEO: used by lib/assert.sh and scenarios
  SKOPEO=(skopeo --policy "$WORK/policy.json" --command-timeout 60s)
  emu_config '{"token_lifetime": 43200, "delay": 0, "fail": null}'
}

via_http() { # mode (a): SDK endpoint override to the emulator's plain-HTTP listener
  export AWS_ENDPOINT_URL_ECR="$EMU_HTTP" AWS_ENDPOINT_URL_ECR_PUBLIC="$EMU_HTTP"
}
# mode (b) is the default: no endpoint override, the SDK resolves the real endpoint
# names, which our /etc/hosts sends to the emulator's TLS listener.

with_registries_conf() { # with_registries_conf TOML-LINE CMD... : run CMD with that extra
  # line in the namespace's /etc/containers/registries.conf, then restore it
  local line="$1"; shift
  # top-level keys must precede any [table] in TOML: put the line first
  { printf '%s\n' "$line"; cat "$WORK/registries.conf.orig"; } >/etc/containers/registries.conf
  "$@"
  cp "$WORK/registries.conf.orig" /etc/containers/registries.conf
}
docker_config() { printf '%s\n' "$1" >"$DOCKER_CONFIG/config.json"; }
cred_helpers_config() { # credHelpers for the given hosts
  local h json="" sep=""
  for h in "$@"; do json+="$sep\"$h\": \"ecr-login\""; sep=", "; done
  docker_config "{\"credHelpers\": {$json}}"
}
