#!/usr/bin/env bash
# shellcheck disable=SC2016 # single-quoted scripts run inside the container, where they expand.
# Runs the systemd units for real on a machine whose PID 1 is not systemd: systemd 252 as PID 1 of a
# container (Debian bookworm + systemd), the apps published here and installed there by install.sh.
# Checks: both services reach "active" as Type=notify with all the hardening on; socket ownership and modes;
# 5 jobs through RabbitMQ -> worker -> runtime socket -> simulator; kill -9 of the runtime -> restarted, the
# worker stays up and jobs still complete; a clean stop of both (Result=success); and the documented trap:
# ProtectProc=invisible makes the runtime's notify start time out (dotnet/runtime#125368).
#
# Usage: deploy/systemd/container-smoke.sh [BASE_IMAGE]
#   BASE_IMAGE  a Debian image with the .NET 10 runtime at /usr/bin/dotnet; default: the newest
#               worker-dotnet-base:local-* made by deploy/docker/local-smoke.sh (run that first).
# Environment: RABBITMQ_IMAGE (default: deploy/docker/rabbitmq-local/build.sh's image). Needs root, Docker,
# and a daemon that allows --cap-add SYS_ADMIN (for systemd's mount namespaces).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
prefix="worker-sd-smoke-$$"
log() { printf '[systemd-smoke] %s\n' "$*" >&2; }
ok() { printf '[systemd-smoke] OK: %s\n' "$*" >&2; }
die() { printf '[systemd-smoke] FAIL: %s\n' "$*" >&2; exit 1; }

base="${1:-$(docker images --format '{{.Repository}}:{{.Tag}}' worker-dotnet-base | head -n1)}"
[[ -n "$base" ]] || die "no worker-dotnet-base:local-* image: run deploy/docker/local-smoke.sh first, or pass an image"
rabbit_image="${RABBITMQ_IMAGE:-$(bash deploy/docker/rabbitmq-local/build.sh)}"

stage="$(mktemp -d)"
ctx="$(mktemp -d)"
cleanup() {
  docker rm -f "$prefix" "$prefix-rabbit" >/dev/null 2>&1 || true
  docker network rm "$prefix" >/dev/null 2>&1 || true
  rm -rf "$stage" "$ctx"
}
trap cleanup EXIT

log "publishing with install.sh --root (staging only)"
bash deploy/systemd/install.sh --root "$stage" >/dev/null

cat >"$ctx/Dockerfile" <<EOF
FROM $base
RUN apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends systemd systemd-sysv dbus passwd \
    && apt-get clean && rm -rf /var/lib/apt/lists/*
STOPSIGNAL SIGRTMIN+3
CMD ["/lib/systemd/systemd"]
EOF
docker build --force-rm -q -t worker-systemd-smoke:local "$ctx" >/dev/null 2>&1 || die "building the systemd image from $base failed"

docker network create "$prefix" >/dev/null
docker run -d --name "$prefix-rabbit" --network "$prefix" -e RABBITMQ_DEFAULT_USER=sd -e RABBITMQ_DEFAULT_PASS="sd$$" "$rabbit_image" >/dev/null
docker run -d --name "$prefix" --network "$prefix" --cap-add SYS_ADMIN --cgroupns=host -v /sys/fs/cgroup:/sys/fs/cgroup:rw \
  --tmpfs /run --tmpfs /run/lock -v "$stage/opt/llm-worker:/pub:ro" -v "$repo/deploy/systemd:/deploy/systemd:ro" \
  worker-systemd-smoke:local >/dev/null
in_c() { docker exec -e "AMQP=amqp://sd:sd$$@$prefix-rabbit:5672/" "$prefix" bash -euo pipefail -c "$1"; }
for ((i = 0; i < 30; i++)); do
  state=$(docker exec "$prefix" systemctl is-system-running 2>/dev/null || true)
  [[ "$state" == running || "$state" == degraded ]] && break
  sleep 1
done
ok "systemd in the container: ${state:-not answering}"

in_c 'bash /deploy/systemd/install.sh --no-publish --publish-dir /pub >/dev/null 2>&1
      printf "RabbitMq__Uri=%s\nUSE_SIMULATOR=true\nOPENAI_API_KEY=\n" "$AMQP" > /etc/llm-worker/worker.env'
ok "install.sh (users, units, env files, daemon-reload) inside the container"

# The broker may still be starting: the worker retries its connection, the start itself does not wait.
in_c 'systemctl start llm-worker-simulator.service worker-runtime.service llm-worker.service' \
  || { in_c 'journalctl --no-pager -n 40' >&2; die "systemctl start failed"; }
states=$(in_c 'systemctl show -p Type -p ActiveState -p SubState --value worker-runtime llm-worker | paste -sd" "')
[[ "$states" == "notify active running  notify active running" ]] || die "unexpected unit states: $states"
ok "worker-runtime and llm-worker: Type=notify, active (running) with the hardening of the units"
listing=$(in_c 'stat -c "%A %U:%G %n" /run/worker-runtime /run/worker-runtime/runtime.sock | paste -sd";"')
[[ "$listing" == "drwxr-x--- worker-runtime:llm-worker /run/worker-runtime;srw-rw---- worker-runtime:llm-worker /run/worker-runtime/runtime.sock" ]] \
  || die "socket directory/file: $listing"
ok "$listing"

enqueue() { # count: prints the CLI's summary line, fails unless every job succeeded
  in_c "cd /tmp && RabbitMq__Uri=\"\$AMQP\" timeout 150 dotnet /opt/llm-worker/worker/Worker.Host.dll enqueue 'Say hello' \
        --count $1 --wait --output /tmp/results.jsonl --timeout 00:02:00 >/tmp/enqueue.log 2>&1 || { cat /tmp/enqueue.log; exit 1; }
        grep '^results:' /tmp/enqueue.log"
}
for ((i = 0; i < 90; i++)); do
  in_c 'journalctl -u llm-worker --no-pager | grep -q "Consuming llm.jobs"' && break
  sleep 1
done
summary=$(enqueue 5) || { in_c 'journalctl --no-pager -u llm-worker -u worker-runtime -n 40' >&2; die "jobs did not complete: $summary"; }
ok "5 jobs end to end: $summary"

in_c 'kill -9 "$(systemctl show -p MainPID --value worker-runtime)"'
sleep 5
states=$(in_c 'echo "$(systemctl is-active worker-runtime) restarts=$(systemctl show -p NRestarts --value worker-runtime) worker=$(systemctl is-active llm-worker)"')
[[ "$states" == "active restarts=1 worker=active" ]] || die "after kill -9 of the runtime: $states"
summary=$(enqueue 3) || die "jobs after the runtime restart did not complete: $summary"
ok "runtime killed (SIGKILL): restarted by systemd, worker stayed up, 3 more jobs: $summary"

in_c 'systemctl stop llm-worker worker-runtime'
results=$(in_c 'systemctl show -p Result --value llm-worker worker-runtime | paste -sd" "')
[[ "$results" == "success  success" || "$results" == "success success" ]] || die "stop results: $results"
ok "clean stop of both (Result=success)"

in_c 'mkdir -p /run/systemd/system/worker-runtime.service.d
      printf "[Service]\nProtectProc=invisible\nTimeoutStartSec=10s\n" >/run/systemd/system/worker-runtime.service.d/protectproc.conf
      systemctl daemon-reload'
if in_c 'systemctl start worker-runtime' >/dev/null 2>&1; then
  die "with ProtectProc=invisible the runtime started: the comment in the units is out of date"
fi
ok "ProtectProc=invisible: notify start times out ($(in_c 'systemctl show -p Result --value worker-runtime')), as documented in the units"
