#!/usr/bin/env bash
# Makes sure a RabbitMQ image for the tests is present and exports RABBITMQ_IMAGE:
#   1. RABBITMQ_IMAGE already set: that image, pulled if missing (error if it cannot be had);
#   2. the official image (rabbitmq:3.13-management) if present;
#   3. the local build worker-rabbitmq:local-<recipe hash> if present (no registry round-trip);
#   4. the official image if `docker pull` works (unless RABBITMQ_SKIP_PULL=1);
#   5. otherwise builds the local image with deploy/docker/rabbitmq-local/build.sh (~1 min).
# Also exports TESTCONTAINERS_RYUK_DISABLED=true when the Ryuk (resource reaper) image is absent
# and cannot be pulled, unless the caller set it. Needs a running engine (ensure-docker.sh).
# Source it and call ensure_rabbitmq_image, or run it directly.

# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

WORKER_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
: "${RABBITMQ_OFFICIAL_IMAGE:=rabbitmq:3.13-management}"
# The Ryuk image Testcontainers.RabbitMq 4.16 starts (keep in step with the package version).
: "${WORKER_RYUK_IMAGE:=testcontainers/ryuk:0.14.0}"
: "${RABBITMQ_PULL_TIMEOUT:=300}"

_image_present() { docker image inspect "$1" >/dev/null 2>&1; }

# Pulls an image; fails fast when no registry is reachable (DNS error), bounded by RABBITMQ_PULL_TIMEOUT.
_try_pull() {
  local out
  if out=$(timeout "$RABBITMQ_PULL_TIMEOUT" docker pull -q "$1" 2>&1); then
    return 0
  fi
  log "cannot pull $1: $(tail -n1 <<<"$out")"
  return 1
}

ensure_rabbitmq_image() {
  local t0 registry_ok=0
  t0=$(now_s)
  if [[ -n "${RABBITMQ_IMAGE:-}" ]]; then
    _image_present "$RABBITMQ_IMAGE" || _try_pull "$RABBITMQ_IMAGE" \
      || die "RABBITMQ_IMAGE=$RABBITMQ_IMAGE is neither present nor pullable (unset it to use the local build)"
    log "using RABBITMQ_IMAGE=$RABBITMQ_IMAGE (set by the caller)"
  else
    local build="$WORKER_REPO_ROOT/deploy/docker/rabbitmq-local/build.sh" local_tag
    local_tag=$(bash "$build" --print-tag)
    if _image_present "$RABBITMQ_OFFICIAL_IMAGE"; then
      RABBITMQ_IMAGE="$RABBITMQ_OFFICIAL_IMAGE"
    elif _image_present "$local_tag"; then
      RABBITMQ_IMAGE="$local_tag"
    elif [[ "${RABBITMQ_SKIP_PULL:-0}" != 1 ]] && _try_pull "$RABBITMQ_OFFICIAL_IMAGE"; then
      RABBITMQ_IMAGE="$RABBITMQ_OFFICIAL_IMAGE"
      registry_ok=1
    else
      log "no registry: building the local RabbitMQ image $local_tag"
      bash "$build" >/dev/null
      RABBITMQ_IMAGE="$local_tag"
    fi
    log "RabbitMQ image: $RABBITMQ_IMAGE (took $(($(now_s) - t0))s)"
  fi
  export RABBITMQ_IMAGE

  if [[ -z "${TESTCONTAINERS_RYUK_DISABLED:-}" ]]; then
    if _image_present "$WORKER_RYUK_IMAGE" || { ((registry_ok)) && _try_pull "$WORKER_RYUK_IMAGE"; }; then
      log "Ryuk image present: Testcontainers' resource reaper stays on"
    else
      export TESTCONTAINERS_RYUK_DISABLED=true
      log "no Ryuk image ($WORKER_RYUK_IMAGE): exporting TESTCONTAINERS_RYUK_DISABLED=true (fixtures remove their containers)"
    fi
  fi
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  ensure_rabbitmq_image
fi
