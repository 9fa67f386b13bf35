#!/usr/bin/env bash
# Everything a RabbitMQ-backed test/demo/bench run needs, in one call:
#   - RABBITMQ_URI set and its host:port answers: use that broker, no Docker set-up at all;
#     set but not answering: warn, unset it and fall back to a container broker;
#   - otherwise: ensure a Docker engine (installing docker.io + debootstrap if needed, starting
#     dockerd), a RabbitMQ image (official, or the local debootstrap build) and export
#     RABBITMQ_IMAGE, DOCKER_API_VERSION (old daemons) and TESTCONTAINERS_RYUK_DISABLED (no Ryuk image).
# Source it and call ensure_broker (the exports then reach child processes), or run
#   eval "$(scripts/lib/ensure-broker.sh --print-env)"
# from another script (progress goes to stderr, the export lines to stdout).

_ensure_broker_dir="$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=scripts/lib/common.sh
source "$_ensure_broker_dir/common.sh"
# shellcheck source=scripts/lib/ensure-docker.sh
source "$_ensure_broker_dir/ensure-docker.sh"
# shellcheck source=scripts/lib/ensure-rabbitmq-image.sh
source "$_ensure_broker_dir/ensure-rabbitmq-image.sh"

# redact_uri URI: the URI with its password replaced by ***.
redact_uri() { sed -E 's#^([a-z]+://[^:/@]*):[^@]*@#\1:***@#' <<<"$1"; }

# Succeeds when RABBITMQ_URI's host:port accepts a TCP connection.
_external_broker_answers() {
  local uri="$1" rest hostport host port
  [[ "$uri" =~ ^(amqps?):// ]] || return 1
  rest="${uri#*://}"
  rest="${rest##*@}"    # drop user:pass@
  hostport="${rest%%/*}"
  hostport="${hostport%%\?*}"
  if [[ "$hostport" =~ ^\[(.*)\](:([0-9]+))?$ ]]; then # [ipv6]:port
    host="${BASH_REMATCH[1]}" port="${BASH_REMATCH[3]}"
  elif [[ "$hostport" == *:* ]]; then
    host="${hostport%:*}" port="${hostport##*:}"
  else
    host="$hostport" port=""
  fi
  [[ -n "$port" ]] || { [[ "$uri" == amqps://* ]] && port=5671 || port=5672; }
  tcp_open "$host" "$port" 5
}

ensure_broker() {
  if [[ -n "${RABBITMQ_URI:-}" ]]; then
    if _external_broker_answers "$RABBITMQ_URI"; then
      log "using the existing broker RABBITMQ_URI=$(redact_uri "$RABBITMQ_URI"): no Docker set-up"
      export RABBITMQ_URI
      return 0
    fi
    log "WARNING: RABBITMQ_URI=$(redact_uri "$RABBITMQ_URI") does not answer: ignoring it, starting a container broker instead"
    unset RABBITMQ_URI
  fi
  ensure_docker debootstrap
  ensure_rabbitmq_image
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  ensure_broker
  if [[ "${1:-}" == --print-env ]]; then
    for var in RABBITMQ_URI RABBITMQ_IMAGE DOCKER_API_VERSION TESTCONTAINERS_RYUK_DISABLED; do
      if [[ -n "${!var:-}" ]]; then printf 'export %s=%q\n' "$var" "${!var}"; fi
    done
  fi
fi
