#!/usr/bin/env bash
# End-to-end suite for docker-credential-ecr-login.
#
#   tests/e2e/run.sh                 build the helper (scripts/build-release) and run every scenario
#   ECR_LOGIN_BIN=/path/to/docker-credential-ecr-login tests/e2e/run.sh    use that binary instead
#   tests/e2e/run.sh NAME...         run only the scenarios whose names contain one of NAME
#   E2E_KEEP=1                       keep the work dir (certs, logs, registries' data) afterwards
#   E2E_VERBOSE=1                    print every scenario's log, not only failing ones'
#
# Needs root (unshare, bind mounts, port 443 on loopback). Installs what it needs
# (Debian: docker-registry skopeo openssl apache2-utils util-linux iproute2 curl jq
# docker.io podman buildah, with a policy-rc.d so that apt starts no service;
# PyPI: moto, into .venv-e2e) and fails loudly if it cannot.
#
# The scenarios run inside private mount, network and PID namespaces: the network
# namespace has only its own loopback interface, so nothing can leave the
# machine; /etc/hosts, the system CA bundle, /etc/docker and /etc/containers are
# bind-mounted over with the suite's own (ECR hostnames -> 127.42.0.x or ::1, test
# CA trusted), /run is a tmpfs and /var/lib/containers the suite's; when the suite
# ends, every process it started is stopped by PID, and the PID namespace
# guarantees nothing outlives it.
#
# The bed (lib/bed.sh): a moto-based ECR/ECR Public API emulator (scripts/emulator)
# on http://127.0.0.1:PORT (reached with AWS_ENDPOINT_URL_ECR[_PUBLIC]) and on
# https://127.42.0.10:443 under the real endpoint names (api.ecr.<region>...,
# api.ecr-fips..., ecr.<region>.api.aws, api.ecr-public.us-east-1...); Debian's
# docker-registry (htpasswd + TLS) for account 123456789012's hostnames (all
# partitions, FIPS, dual-stack; 210987654321's names point there too), which
# accepts only the token of a principal of 123456789012 (the emulator's token
# names the caller, as ECR's does: a principal of 210987654321, signing with
# AKIA210987654321E2E, is refused by the registry, not by the helper), for
# public.ecr.aws, and an unrelated registry for `docker login`.
# Clients: skopeo (credHelpers; registries.conf credential-helpers, since
# skopeo ignores "credsStore"), the docker CLI without a daemon (manifest
# inspect/create/push, login), a real dockerd with Debian's docker CLI (pull,
# push, BuildKit and legacy builds, login; lib/daemons.sh, started only when a
# dockerd_ scenario is selected), podman and buildah (pull, push). Client
# behaviours that shape the bed:
#  * the docker CLI treats any registry whose name resolves to a loopback
#    address as insecure, and `docker manifest push` then uses plain HTTP, so
#    the ECR-side registries also have a plain-HTTP twin on port 80;
#  * dockerd 20.10 treats 127.0.0.0/8 (not ::1) as insecure: it skips certificate
#    checks there and falls back to plain HTTP, so account A's registry and the
#    unrelated one also listen with TLS on [::1] (the dual-stack names, and
#    other6.e2e.test:5443), where the daemon checks the certificate;
#  * skopeo 1.9 reads $DOCKER_CONFIG/config.json credHelpers but not credsStore.
# Helper behaviour checked beyond the clients: the get/store/erase/list protocol,
# cache hits and half-life refresh (cache entries aged in place), stale-token fallback, single-flight
# refresh under 8 concurrent gets, API errors and AWS_ECR_TIMEOUT, missing
# credentials failing fast, instance-metadata and profile credentials, and that
# AWS_ECR_LOG=debug leaks no secret.
#
# Layout: lib/ holds the machinery (common: constants and process bookkeeping;
# outer: install, build, enter the namespaces; bed; daemons; env: per-scenario
# environment; assert; runner), scenarios/ one file per topic, each defining t_NAME
# functions and appending NAME to SCENARIOS.
#
# Last line: "N passed, M failed"; exit status 0 only when M is 0.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
SUITE_TIMEOUT="${E2E_TIMEOUT:-900}"


HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
SUITE_TIMEOUT="${E2E_TIMEOUT:-900}"

# lib/: the machinery; scenarios/: the t_NAME functions, one file per topic, each
# appending its names to SCENARIOS (the order here is the order they run in).
# shellcheck source=lib/common.sh
source "$HERE/lib/common.sh"
# shellcheck source=lib/outer.sh
source "$HERE/lib/outer.sh"
# shellcheck source=lib/bed.sh
source "$HERE/lib/bed.sh"
# shellcheck source=lib/env.sh
source "$HERE/lib/env.sh"
# shellcheck source=lib/assert.sh
source "$HERE/lib/assert.sh"
# shellcheck source=lib/daemons.sh
source "$HERE/lib/daemons.sh"
# shellcheck source=lib/runner.sh
source "$HERE/lib/runner.sh"

SCENARIOS=()
# shellcheck source=scenarios/helper.sh
source "$HERE/scenarios/helper.sh"
# shellcheck source=scenarios/clients.sh
source "$HERE/scenarios/clients.sh"
# shellcheck source=scenarios/regions.sh
source "$HERE/scenarios/regions.sh"
# shellcheck source=scenarios/dropin.sh
source "$HERE/scenarios/dropin.sh"
# shellcheck source=scenarios/credentials.sh
source "$HERE/scenarios/credentials.sh"
# shellcheck source=scenarios/cache.sh
source "$HERE/scenarios/cache.sh"
# shellcheck source=scenarios/dockerd.sh
source "$HERE/scenarios/dockerd.sh"
# shellcheck source=scenarios/podman.sh
source "$HERE/scenarios/podman.sh"
# shellcheck source=scenarios/features.sh
source "$HERE/scenarios/features.sh"
# shellcheck source=scenarios/image.sh
source "$HERE/scenarios/image.sh"

if [[ "${ECR_E2E_INNER:-}" == 1 ]]; then
  inner "$@"
else
  outer "$@"
fi
