#!/usr/bin/env bash
# Makes sure a Docker engine answers `docker info`:
#   - an engine that already answers (DOCKER_HOST or the default socket) is used as is;
#   - otherwise Debian's docker.io is installed if needed and dockerd is started in the
#     background (log: $DOCKERD_LOG, default /var/log/worker-dockerd.log), waiting up to 60 s.
# Also exports DOCKER_API_VERSION when the daemon is older than what Testcontainers' client
# asks for by default (Debian 12's dockerd 20.10 speaks API 1.41).
# Source it and call `ensure_docker [extra apt packages...]` (installed in the same apt run when
# docker.io has to be installed), or run it directly.

# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# Minimum API version the Docker.DotNet client in Testcontainers 4.x requests by default.
: "${WORKER_TC_DOCKER_API_VERSION:=1.44}"

docker_answers() { command -v docker >/dev/null && timeout 10 docker info >/dev/null 2>&1; }

# version_lt A B: true when dotted version A < B.
version_lt() { [[ "$1" != "$2" && "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1)" == "$1" ]]; }

start_dockerd() {
  local log_file="${DOCKERD_LOG:-/var/log/worker-dockerd.log}"
  [[ $EUID -eq 0 ]] || die "no Docker engine answers and starting dockerd needs root"
  if pgrep -x dockerd >/dev/null; then
    log "dockerd is already running (pid $(pgrep -x dockerd | head -n1)); waiting for it to answer"
  else
    log "starting dockerd in the background (log: $log_file)"
    # setsid: dockerd outlives this script and its process group (CI kills groups, not sessions).
    setsid dockerd >>"$log_file" 2>&1 </dev/null &
  fi
  local i
  for ((i = 0; i < 60; i++)); do
    docker_answers && return 0
    sleep 1
  done
  tail -n 40 "$log_file" >&2 || true
  die "dockerd did not answer \`docker info\` within 60 s (log: $log_file)"
}

ensure_docker() {
  local t0; t0=$(now_s)
  if docker_answers; then
    log "Docker engine answers (${DOCKER_HOST:-unix:///var/run/docker.sock})"
  else
    if [[ -n "${DOCKER_HOST:-}" ]]; then
      die "DOCKER_HOST=$DOCKER_HOST is set but \`docker info\` fails; unset it to use a local dockerd"
    fi
    # A stand-alone client (e.g. /usr/local/bin/docker) may exist without an engine: dockerd is what matters.
    if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null; then
      apt_ensure docker.io "$@"
    fi
    start_dockerd
    log "Docker engine is up (took $(($(now_s) - t0))s)"
  fi
  local api
  api=$(docker version --format '{{.Server.APIVersion}}' 2>/dev/null || true)
  if [[ -n "$api" ]] && version_lt "$api" "$WORKER_TC_DOCKER_API_VERSION"; then
    export DOCKER_API_VERSION="$api"
    log "daemon API $api < $WORKER_TC_DOCKER_API_VERSION: exporting DOCKER_API_VERSION=$api"
  fi
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  ensure_docker "$@"
fi
