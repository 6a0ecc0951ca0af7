# shellcheck shell=bash
# The Docker daemon for the daemon scenarios (scenarios/dockerd.sh): Debian's
# docker.io dockerd, started inside the suite's namespaces only when one of those
# scenarios is selected, with everything it owns under $WORK/dockerd: its API
# socket, data root (vfs: no overlay mounts), exec root (its containerd's socket and
# state) and pid file. No bridge, no iptables: it never runs a container's network;
# it only pulls, pushes and builds (Dockerfiles without RUN). Stopped by PID
# (lib/common.sh cleanup); it stops the containerd it started.

DOCKERD_DIR=""     # $WORK/dockerd once started
DOCKERD_SOCK=""    # its API socket
DOCKER_DEB=/usr/bin/docker   # Debian's docker.io CLI: the daemon's own version, BuildKit built in

dockerd_ready() { "$DOCKER_DEB" -H "unix://$DOCKERD_SOCK" version >/dev/null 2>&1; }

start_dockerd() {
  DOCKERD_DIR="$WORK/dockerd"
  DOCKERD_SOCK="$DOCKERD_DIR/docker.sock"
  mkdir -p "$DOCKERD_DIR/data" "$DOCKERD_DIR/exec"
  echo '{}' >"$DOCKERD_DIR/daemon.json"   # not /etc/docker/daemon.json
  start_bg dockerd "$DOCKERD_DIR/dockerd.log" dockerd \
    --config-file "$DOCKERD_DIR/daemon.json" \
    -H "unix://$DOCKERD_SOCK" --data-root "$DOCKERD_DIR/data" \
    --exec-root "$DOCKERD_DIR/exec" --pidfile "$DOCKERD_DIR/dockerd.pid" \
    --storage-driver vfs --bridge=none --iptables=false --ip6tables=false \
    --ip-forward=false --ip-masq=false
  wait_for 60 "dockerd on $DOCKERD_SOCK (log: $DOCKERD_DIR/dockerd.log)" dockerd_ready
}

client_versions() { # one line per client the suite runs, for the log and the README
  local v
  v="$(skopeo --version 2>/dev/null)" && echo "skopeo: ${v#skopeo version }"
  v="$(docker --version 2>/dev/null)" && echo "docker CLI on PATH ($(command -v docker)): ${v#Docker version }"
  v="$("$DOCKER_DEB" --version 2>/dev/null)" && echo "docker CLI $DOCKER_DEB: ${v#Docker version }"
  v="$(dockerd --version 2>/dev/null)" && echo "dockerd: ${v#Docker version }"
  v="$(podman --version 2>/dev/null)" && echo "podman: ${v#podman version }"
  v="$(buildah --version 2>/dev/null)" && echo "buildah: ${v#buildah version }"
  v="$(docker-registry --version 2>/dev/null)" && echo "registry: $v"
  return 0
}
