#!/usr/bin/env bash
# Smoke test of the container images on a machine WITHOUT a container registry.
#
# mcr.microsoft.com/dotnet/{sdk,runtime,aspnet}:10.0 cannot be pulled there, so this script makes stand-ins:
#   worker-dotnet-base:local  Debian bookworm minbase (debootstrap) + ca-certificates/libssl3/tzdata + the host's
#                             .NET shared runtimes (/usr/share/dotnet/{dotnet,host,shared}) + user app (UID 1654)
#                             and ENV APP_UID=1654, like the official runtime/aspnet images;
#   worker-dotnet-sdk:local   the same plus the host's whole SDK (stand-in for the sdk image; the SDK runs
#                             in invariant globalization mode as this rootfs has no libicu).
# It then builds the REAL deploy/docker/*.Dockerfile with --build-arg SDK_IMAGE/RUNTIME_IMAGE/ASPNET_IMAGE
# pointing at the stand-ins (restore inside the build needs NuGet access), tags them with the names
# docker-compose.yml uses, and runs them:
#   1. simulator: read-only root, cap_drop ALL, as UID 1654 -> Docker health "healthy" + GET /health from here;
#   2. runtime: read-only root, named socket volume -> "healthy", socket srw-rw---- 1654:1654 in the volume;
#      docker stop -> exit code 0 (SIGTERM drain) and the socket removed;
#   3. docker-compose (1.29) with docker-compose.yml: rabbitmq (RABBITMQ_IMAGE, default: the local build from
#      deploy/docker/rabbitmq-local/build.sh) + runtime + simulator healthy, then `--scale worker=3` --no-deps
#      (otel-collector and jaeger images cannot be pulled here) and each worker's health.
# Usage: deploy/docker/local-smoke.sh [--rebuild-base] [--no-compose] [--keep]
# Needs root (debootstrap, chroot) and a Docker engine (scripts/lib/ensure-docker.sh starts one).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
suite="${DEBIAN_SUITE:-bookworm}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
dotnet_root="${DOTNET_ROOT:-$(dirname "$(readlink -f "$(command -v dotnet)")")}"
prefix="worker-smoke-$$"
tag="${WORKER_IMAGE_TAG:-dev}"

rebuild_base=0 run_compose=1 keep=0
for arg in "$@"; do
  case "$arg" in
    --rebuild-base) rebuild_base=1 ;;
    --no-compose) run_compose=0 ;;
    --keep) keep=1 ;;
    -h | --help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done

log() { printf '[local-smoke] %s\n' "$*" >&2; }
die() { printf '[local-smoke] FAIL: %s\n' "$*" >&2; exit 1; }
ok() { printf '[local-smoke] OK: %s\n' "$*" >&2; }
now_s() { date +%s; }

[[ $EUID -eq 0 ]] || die "needs root (debootstrap, chroot)"
if ! timeout 10 docker info >/dev/null 2>&1; then
  log "no Docker engine answers: starting one with scripts/lib/ensure-docker.sh"
  bash scripts/lib/ensure-docker.sh
fi
[[ -x "$dotnet_root/dotnet" && -d "$dotnet_root/shared/Microsoft.NETCore.App" ]] || die "no .NET install at $dotnet_root"

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

rootfs="" env_file="/tmp/$prefix.env"
cleanup() {
  if [[ -n "$rootfs" ]]; then
    umount -l "$rootfs/proc" 2>/dev/null || true
    rm -rf --one-file-system "$rootfs" "$rootfs.log"
  fi
  ((keep)) && return 0
  docker rm -f "$prefix-sim" "$prefix-rt" >/dev/null 2>&1 || true
  docker volume rm "$prefix-sock" >/dev/null 2>&1 || true
  if [[ -f "$env_file" ]]; then
    docker-compose -p "$prefix" --env-file "$env_file" down -v --remove-orphans >/dev/null 2>&1 || true
    rm -f "$env_file"
  fi
}
trap cleanup EXIT

# ---------------------------------------------------------------- base images
# Keyed on this script's base recipe and the host's .NET versions.
base_key=$( (sed -n '/^build_bases()/,/^}/p' "$0"; ls "$dotnet_root/shared/"*/ "$dotnet_root/sdk/"; echo "$suite") | sha256sum | cut -c1-12)
base_image="worker-dotnet-base:local-$base_key"
sdk_image="worker-dotnet-sdk:local-$base_key"

build_bases() {
  command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap >/dev/null
  local t0
  t0=$(now_s)
  rootfs="$(mktemp -d /var/tmp/worker-dotnet-rootfs.XXXXXX)"
  log "debootstrap $suite minbase into $rootfs"
  debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || { tail -n 20 "$rootfs.log" >&2; die "debootstrap failed"; }
  printf 'deb %s %s main\ndeb %s %s-updates main\n' "$mirror" "$suite" "$mirror" "$suite" >"$rootfs/etc/apt/sources.list"
  printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
  chmod +x "$rootfs/usr/sbin/policy-rc.d"
  cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
  mount -t proc proc "$rootfs/proc"
  # The host's own CAs (e.g. a TLS-inspecting egress proxy): without them no NuGet restore in the build.
  if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
    mkdir -p "$rootfs/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
  fi
  # What the official runtime-deps images add (no libicu: the projects use InvariantGlobalization), and the
  # built-in non-root user "app" (UID/GID 1654).
  chroot "$rootfs" /bin/sh -euc '
    export DEBIAN_FRONTEND=noninteractive LC_ALL=C
    apt-get update -q
    apt-get install -y -q --no-install-recommends ca-certificates libssl3 tzdata
    update-ca-certificates
    apt-get clean
    groupadd --system --gid 1654 app
    useradd --system --uid 1654 --gid 1654 --create-home --home-dir /home/app --shell /bin/false app
  ' >>"$rootfs.log" 2>&1 || { tail -n 20 "$rootfs.log" >&2; die "chroot set-up failed"; }
  umount "$rootfs/proc"
  rm -f "$rootfs.log" "$rootfs/usr/sbin/policy-rc.d" "$rootfs/etc/resolv.conf" "$rootfs/etc/hostname"
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/*

  mkdir -p "$rootfs/usr/share/dotnet"
  cp -a "$dotnet_root/dotnet" "$dotnet_root/host" "$dotnet_root/shared" "$dotnet_root/LICENSE.txt" "$rootfs/usr/share/dotnet/"
  ln -sf /usr/share/dotnet/dotnet "$rootfs/usr/bin/dotnet"
  local changes=(
    --change 'ENV APP_UID=1654 DOTNET_RUNNING_IN_CONTAINER=true DOTNET_ROOT=/usr/share/dotnet LANG=C.UTF-8'
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
    --change "LABEL worker.smoke-base=$base_key"
    --change 'CMD ["bash"]'
  )
  tar --numeric-owner -C "$rootfs" -c . | docker import "${changes[@]}" - "$base_image" >/dev/null
  log "imported $base_image ($(($(now_s) - t0))s)"

  cp -a "$dotnet_root/sdk" "$dotnet_root/packs" "$dotnet_root/sdk-manifests" "$dotnet_root/templates" "$rootfs/usr/share/dotnet/"
  [[ -d "$dotnet_root/metadata" ]] && cp -a "$dotnet_root/metadata" "$rootfs/usr/share/dotnet/"
  tar --numeric-owner -C "$rootfs" -c . | docker import "${changes[@]}" \
    --change 'ENV DOTNET_NOLOGO=true DOTNET_CLI_TELEMETRY_OPTOUT=1 NUGET_XMLDOC_MODE=skip' \
    --change 'ENV DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1' \
    --change "ENV NUGET_CERT_REVOCATION_MODE=${NUGET_CERT_REVOCATION_MODE:-online}" - "$sdk_image" >/dev/null
  log "imported $sdk_image ($(($(now_s) - t0))s)"
  rm -rf --one-file-system "$rootfs"
  rootfs=""
}

exec 9>/tmp/worker-dotnet-base.lock
flock 9
if ((rebuild_base)) || ! image_exists "$base_image" || ! image_exists "$sdk_image"; then
  build_bases
else
  log "reusing $base_image and $sdk_image"
fi
flock -u 9

# ---------------------------------------------------------------- the real Dockerfiles
declare -A built=([runtime]="llm-worker-runtime:$tag" [simulator]="llm-worker-simulator:$tag" [worker]="llm-worker:$tag")
for app in runtime simulator worker; do
  t0=$(now_s)
  log "docker build -f deploy/docker/$app.Dockerfile (bases: $sdk_image / $base_image)"
  if docker build --force-rm -f "deploy/docker/$app.Dockerfile" \
    --build-arg "SDK_IMAGE=$sdk_image" --build-arg "RUNTIME_IMAGE=$base_image" --build-arg "ASPNET_IMAGE=$base_image" \
    -t "${built[$app]}" . >"/tmp/$prefix-build-$app.log" 2>&1; then
    ok "built ${built[$app]} from deploy/docker/$app.Dockerfile in $(($(now_s) - t0))s"
    rm -f "/tmp/$prefix-build-$app.log"
  else
    tail -n 30 "/tmp/$prefix-build-$app.log" >&2
    die "docker build of deploy/docker/$app.Dockerfile failed (log /tmp/$prefix-build-$app.log)"
  fi
  [[ "$(docker image inspect -f '{{.Config.User}}' "${built[$app]}")" == 1654 ]] || die "${built[$app]} does not run as UID 1654"
done

# ---------------------------------------------------------------- run them
wait_healthy() { # container timeout_s
  local i status
  for ((i = 0; i < $2; i++)); do
    status=$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} {{.State.Status}}' "$1" 2>/dev/null || echo "gone")
    case "$status" in
      "healthy "*) return 0 ;;
      *" exited" | *" dead" | gone) break ;;
    esac
    sleep 1
  done
  log "$1 is '$status'; last log lines:"
  docker logs --tail 20 "$1" >&2 2>&1 || true
  return 1
}
hardened=(--read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges:true)

docker run -d --name "$prefix-sim" "${hardened[@]}" -p 127.0.0.1::4545 "${built[simulator]}" >/dev/null
wait_healthy "$prefix-sim" 60 || die "simulator container did not become healthy"
port=$(docker port "$prefix-sim" 4545/tcp | head -n1 | sed 's/.*://')
body=$(curl -fsS "http://127.0.0.1:$port/health") || die "GET /health on the simulator failed"
ok "simulator healthy (HEALTHCHECK via bash /dev/tcp); GET http://127.0.0.1:$port/health -> $body"

docker volume create "$prefix-sock" >/dev/null
docker run -d --name "$prefix-rt" "${hardened[@]}" -v "$prefix-sock:/run/worker-runtime" "${built[runtime]}" >/dev/null
wait_healthy "$prefix-rt" 60 || die "runtime container did not become healthy"
listing=$(docker run --rm --entrypoint ls -v "$prefix-sock:/run/worker-runtime" "$base_image" -ln /run/worker-runtime | tail -n +2)
dir_listing=$(docker run --rm --entrypoint ls -v "$prefix-sock:/run/worker-runtime" "$base_image" -lnd /run/worker-runtime)
[[ "$listing" == srw-rw----*" 1654 1654 "*runtime.sock ]] || die "unexpected socket: $listing"
ok "runtime healthy; volume: $dir_listing; socket: $listing"
t0=$(now_s)
docker stop -t 45 "$prefix-rt" >/dev/null
rc=$(docker inspect -f '{{.State.ExitCode}}' "$prefix-rt")
left=$(docker run --rm --entrypoint ls -v "$prefix-sock:/run/worker-runtime" "$base_image" -A /run/worker-runtime)
[[ "$rc" == 0 ]] || { docker logs --tail 20 "$prefix-rt" >&2; die "runtime exited $rc on SIGTERM"; }
[[ -z "$left" ]] || die "socket left behind after stop: $left"
ok "runtime stopped on SIGTERM in $(($(now_s) - t0))s with exit code 0 and removed its socket"

((run_compose)) || { ok "done (compose skipped)"; exit 0; }

# ---------------------------------------------------------------- docker-compose.yml
command -v docker-compose >/dev/null || die "docker-compose missing (apt-get install docker-compose)"
rabbit_image="${RABBITMQ_IMAGE:-}"
if [[ -z "$rabbit_image" ]]; then
  rabbit_image=$(bash deploy/docker/rabbitmq-local/build.sh)
fi
{
  echo "RABBITMQ_DEFAULT_USER=smoke"
  echo "RABBITMQ_DEFAULT_PASS=smoke-$$"
  echo "RABBITMQ_IMAGE=$rabbit_image"
  echo "WORKER_IMAGE_TAG=$tag"
  echo "USE_SIMULATOR=true"
  # Ephemeral host ports: this machine may already use 5672/15672/4545.
  echo "RABBITMQ_AMQP_PORT=0"
  echo "RABBITMQ_UI_PORT=0"
  echo "SIMULATOR_PORT=0"
} >"$env_file"
dc=(docker-compose -p "$prefix" --env-file "$env_file")
t0=$(now_s)
"${dc[@]}" up -d --no-build rabbitmq runtime simulator >"/tmp/$prefix-compose.log" 2>&1 || { cat "/tmp/$prefix-compose.log" >&2; die "compose up failed"; }
for svc in rabbitmq runtime simulator; do
  wait_healthy "$("${dc[@]}" ps -q "$svc")" 150 || die "compose service $svc not healthy"
done
ok "compose: rabbitmq ($rabbit_image), runtime, simulator healthy in $(($(now_s) - t0))s"
"${dc[@]}" up -d --no-build --no-deps --scale worker=3 worker >>"/tmp/$prefix-compose.log" 2>&1 || { cat "/tmp/$prefix-compose.log" >&2; die "compose up --scale worker=3 failed"; }
workers=$("${dc[@]}" ps -q worker)
[[ $(wc -w <<<"$workers") == 3 ]] || die "expected 3 worker containers, got: $workers"
healthy=0
for c in $workers; do
  if wait_healthy "$c" 90; then healthy=$((healthy + 1)); fi
done
"${dc[@]}" ps >&2 || true
((healthy == 3)) || die "$healthy of 3 worker replicas healthy (see the logs above)"
ok "compose: --scale worker=3: 3 replicas healthy (AMQP connection established)"
rm -f "/tmp/$prefix-compose.log"

rabbit=$("${dc[@]}" ps -q rabbitmq)
consumers=""
for ((i = 0; i < 30; i++)); do
  consumers=$(docker exec "$rabbit" rabbitmqctl -q list_queues --no-table-headers name consumers 2>/dev/null | awk '$1 == "llm.jobs" { print $2 }')
  [[ "$consumers" == 3 ]] && break
  sleep 1
done
[[ "$consumers" == 3 ]] || die "llm.jobs has '${consumers:-no}' consumers, expected 3"
ok "compose: llm.jobs has 3 consumers (competing consumers)"

# End to end: jobs through the broker, the 3 workers, the runtime socket and the simulator, results back.
t0=$(now_s)
if ! "${dc[@]}" run --rm --no-deps -T worker enqueue "Say hello" --count 12 --wait --output /tmp/results.jsonl \
  --timeout 00:02:00 >"/tmp/$prefix-enqueue.log" 2>&1; then
  cat "/tmp/$prefix-enqueue.log" >&2
  "${dc[@]}" logs --tail 30 worker runtime >&2 || true
  die "enqueue --wait: not every job came back completed"
fi
ok "compose: enqueue --count 12 --wait: all 12 results completed in $(($(now_s) - t0))s ($(tail -n 1 "/tmp/$prefix-enqueue.log"))"
rm -f "/tmp/$prefix-enqueue.log"

t0=$(now_s)
"${dc[@]}" stop -t 45 worker >/dev/null 2>&1
for c in $workers; do
  rc=$(docker inspect -f '{{.State.ExitCode}}' "$c")
  [[ "$rc" == 0 ]] || { docker logs --tail 20 "$c" >&2; die "worker $c exited $rc on SIGTERM"; }
done
ok "compose: 3 workers stopped on SIGTERM with exit code 0 in $(($(now_s) - t0))s"
