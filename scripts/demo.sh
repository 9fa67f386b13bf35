#!/usr/bin/env bash
# The demo: makes sure a RabbitMQ broker is there, builds, starts the simulator (or uses OpenAI when OPENAI_API_KEY
# is set) and the worker with its embedded runtime, enqueues the seed's five prompts, prints each completion as it
# arrives and a summary, stops what it started. Exits 0 only if every result arrived and succeeded.
#
# Broker, in order: RABBITMQ_URI if it answers; else the compose stack's broker where a Docker engine with registry
# access exists; else Debian's rabbitmq-server (installed once, started for the demo, stopped after).
set -euo pipefail
cd "$(dirname "$0")/.."
LOG_PREFIX=demo.sh
# shellcheck source=lib/common.sh
source scripts/lib/common.sh

SIM_PORT=${DEMO_SIMULATOR_PORT:-4545}
SOCKET=${DEMO_SOCKET:-/tmp/worker-demo-$$.sock}
WORK=$(mktemp -d /tmp/worker-demo.XXXXXX)
started_broker=""
pids=()

cleanup() {
  local code=$?
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  case "$started_broker" in
    debian) rabbitmqctl stop >/dev/null 2>&1 || true ;;
    compose) docker compose stop rabbitmq >/dev/null 2>&1 || docker-compose stop rabbitmq >/dev/null 2>&1 || true ;;
  esac
  rm -f "$SOCKET"
  rm -rf "$WORK"
  exit "$code"
}
trap cleanup EXIT INT TERM

ensure_broker() {
  if [[ -n "${RABBITMQ_URI:-}" ]]; then
    local hostport host port
    hostport=$(sed -E 's#^amqps?://([^@/]*@)?([^/]+).*#\2#' <<<"$RABBITMQ_URI")
    host=${hostport%:*}; port=${hostport##*:}; [[ "$port" == "$host" ]] && port=5672
    if tcp_open "$host" "$port" 3; then
      log "using the broker at RABBITMQ_URI ($host:$port)"
      return
    fi
    log "RABBITMQ_URI does not answer; looking for another broker"
  fi
  export RABBITMQ_URI=amqp://guest:guest@127.0.0.1:5672/
  if tcp_open 127.0.0.1 5672 2; then
    log "using the broker already listening on 127.0.0.1:5672"
    return
  fi
  if command -v docker >/dev/null && docker info >/dev/null 2>&1 && timeout 60 docker pull -q rabbitmq:3.13-management >/dev/null 2>&1; then
    log "starting the compose stack's broker (docker compose up -d rabbitmq)"
    docker compose up -d rabbitmq >/dev/null 2>&1 || docker-compose up -d rabbitmq >/dev/null
    started_broker=compose
  else
    apt_ensure rabbitmq-server
    log "starting Debian's rabbitmq-server"
    # No init system is assumed (containers): start the server detached, as the package's rabbitmq user.
    rabbitmq-server -detached >/dev/null 2>&1 || true
    started_broker=debian
  fi
  for _ in $(seq 1 60); do
    tcp_open 127.0.0.1 5672 1 && { log "broker is up"; return; }
    sleep 1
  done
  die "RabbitMQ did not come up on 127.0.0.1:5672"
}

wait_http() {
  for _ in $(seq 1 100); do
    curl -fsS "$1" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  return 1
}

ensure_broker
t0=$(now_s)
log "building (Release)"
dotnet build src/Worker.Host/Worker.Host.csproj -c Release -v q -nologo >"$WORK/build.log" 2>&1 \
  && dotnet build src/Worker.Simulator/Worker.Simulator.csproj -c Release -v q -nologo >>"$WORK/build.log" 2>&1 \
  || { tail -n 30 "$WORK/build.log" >&2; die "build failed"; }
log "built (took $(($(now_s) - t0))s)"
HOST_DLL=src/Worker.Host/bin/Release/net10.0/Worker.Host.dll
SIM_DLL=src/Worker.Simulator/bin/Release/net10.0/Worker.Simulator.dll

export RabbitMq__Uri="$RABBITMQ_URI"
export Runtime__Embedded=true Runtime__SocketPath="$SOCKET" Worker__Concurrency=${DEMO_CONCURRENCY:-4}
if [[ -n "${OPENAI_API_KEY:-}" ]]; then
  log "OPENAI_API_KEY is set: using the OpenAI API"
  export Llm__UseSimulator=false USE_SIMULATOR=false
else
  tcp_open 127.0.0.1 "$SIM_PORT" 1 && die "port $SIM_PORT is taken: set DEMO_SIMULATOR_PORT"
  log "starting the simulator on 127.0.0.1:$SIM_PORT"
  dotnet "$SIM_DLL" --urls "http://127.0.0.1:$SIM_PORT" >"$WORK/simulator.log" 2>&1 &
  pids+=($!)
  wait_http "http://127.0.0.1:$SIM_PORT/health" || { cat "$WORK/simulator.log" >&2; die "simulator did not start"; }
  export Llm__UseSimulator=true Llm__SimulatorUrl="http://127.0.0.1:$SIM_PORT/v1"
fi

log "starting the worker (embedded runtime on $SOCKET)"
dotnet "$HOST_DLL" run >"$WORK/worker.log" 2>&1 &
pids+=($!)

cat >"$WORK/jobs.jsonl" <<JOBS
{"id":"demo-1","prompt":"Explain quantum computing in simple terms."}
{"id":"demo-2","prompt":"What is the capital of France?"}
{"id":"demo-3","prompt":"What is Python?"}
{"id":"demo-4","prompt":"What is asyncio?"}
{"id":"demo-5","prompt":"What is a decorator?"}
JOBS
# Fresh ids per run so results from an earlier run are never mistaken for this one's.
run_id=$(date +%s)
sed -i "s/\"demo-\([0-9]\)\"/\"demo-$run_id-\1\"/" "$WORK/jobs.jsonl"

log "enqueueing 5 prompts and waiting for their completions"
set +e
dotnet "$HOST_DLL" enqueue --file "$WORK/jobs.jsonl" --wait --show --timeout 00:02:00 --output "$WORK/results.jsonl"
status=$?
set -e
if [[ $status -ne 0 ]]; then
  log "worker log (last 40 lines):"
  tail -n 40 "$WORK/worker.log" >&2
  die "not every result arrived and succeeded"
fi
log "all 5 completions arrived; stopping what the demo started"
