#!/usr/bin/env bash
# The benchmarks, one command: makes sure a RabbitMQ broker is there (RABBITMQ_URI if it answers, else a throw-away
# container from the local image, like the tests), builds Release, runs the micro benchmarks (BenchmarkDotNet) and the
# macro ones (runtime hop, drain of preloaded jobs: worker vs raw broker cycle, latency-bound scaling, memory), writes
# bench/results/latest.{md,json} plus a dated copy, prints the table, and stops what it started.
#
# Knobs (environment):
#   BENCH_QUICK=1            short rounds, 3 rounds, smaller job counts, 15 s drain warm-up, micro as a dry run
#   BENCH_ROUNDS=N           rounds per figure (default 5, quick 3)
#   BENCH_SCENARIOS=a,b      subset of hop,pipeline,scaling,memory,ttft,admission (default all)
#   BENCH_SKIP_MICRO=1       skip the BenchmarkDotNet suite
#   BENCH_WORKER_ENV="K=V;..." extra environment for the worker processes (diagnosis: runtime knobs)
#   BENCH_RUNTIME_ENV="K=V;..." the same for the hop's standalone runtime daemon
#   BENCH_BROKER_ERL_ARGS="..."  extra Erlang VM flags for the broker container (diagnosis; default none), e.g.
#                            "+sbwt none +sbwtdcpu none +sbwtdio none" (scheduler busy-waiting off)
#   BENCH_DRAIN_JOBS=N       jobs preloaded per drain round (default 20000, quick 6000); BENCH_RAW_MODE=batched|tracked
#   BENCH_DRAIN_CONCURRENCY=64  the drain's worker concurrencies (default 16,64)
#   BENCH_HOP_PATH=whole     runtime hop side (b) through the JSON envelope instead of stream frames
#   BENCH_RUNTIME=inproc     runtime hop with RuntimeServer inside the bench process (default: separate process)
#   BENCH_MEM_JOBS=N1,N2     RSS checkpoints (default 10000,50000; quick 2000,10000)
#   BENCH_HOP_SECONDS, BENCH_PIPELINE_SECONDS, BENCH_LATENCY_MS, BENCH_WAVES   round sizes (see BenchSettings.cs)
#   BENCH_OUT=DIR            where results go (default bench/results)
#   RABBITMQ_URI             use this broker instead of starting one
# Exit status: 0 when every scenario ran (targets missed or not), non-zero on errors.
set -euo pipefail
cd "$(dirname "$0")/.."
export LOG_PREFIX=bench.sh
# shellcheck source=lib/common.sh
source scripts/lib/common.sh
# shellcheck source=lib/ensure-broker.sh
source scripts/lib/ensure-broker.sh

export BENCH_STARTED_AT
BENCH_STARTED_AT=$(now_s)
WORK=$(mktemp -d /tmp/worker-bench.XXXXXX)
export BENCH_WORK="$WORK/logs"
container=""
bench_pid=""
export BENCH_BROKER_ERL_ARGS="${BENCH_BROKER_ERL_ARGS:-}"

cleanup() {
  local code=$?
  if [[ -n "$bench_pid" ]] && kill -0 "$bench_pid" 2>/dev/null; then
    # Interrupted: the bench kills its children (simulator, workers, daemon) on SIGTERM before it exits.
    kill -TERM "$bench_pid" 2>/dev/null || true
    wait "$bench_pid" 2>/dev/null || true
  fi
  if [[ -n "$container" ]]; then
    docker rm -f "$container" >/dev/null 2>&1 || true
  fi
  if [[ $code -eq 0 ]]; then
    rm -rf "$WORK"
  else
    log "logs kept in $WORK"
  fi
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- broker -------------------------------------------------------------------------------------------------------
start_broker() {
  ensure_broker
  if [[ -n "${RABBITMQ_URI:-}" ]]; then
    export BENCH_BROKER_ERL_ARGS="" # not ours to set: the report must not claim them
    return
  fi
  log "starting a RabbitMQ container ($RABBITMQ_IMAGE)"
  container=$(docker run -d --rm --name "worker-bench-$$" -p 127.0.0.1::5672 \
    -e RABBITMQ_DEFAULT_USER=guest -e RABBITMQ_DEFAULT_PASS=guest \
    ${BENCH_BROKER_ERL_ARGS:+-e "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=$BENCH_BROKER_ERL_ARGS"} "$RABBITMQ_IMAGE")
  local port="" i
  for ((i = 0; i < 120; i++)); do
    if docker logs "$container" 2>&1 | grep -q "Server startup complete"; then
      port=$(docker port "$container" 5672/tcp | head -n1 | sed 's/.*://')
      break
    fi
    docker inspect -f '{{.State.Running}}' "$container" 2>/dev/null | grep -q true \
      || { docker logs "$container" 2>&1 | tail -n 20 >&2; die "the broker container exited"; }
    sleep 1
  done
  [[ -n "$port" ]] || die "the broker did not finish starting within 120 s"
  export RABBITMQ_URI="amqp://guest:guest@127.0.0.1:$port/"
  # The container's CPU is the bench's own, not noise (see CpuAccounting.cs): cgroup v1 or v2 path.
  local id cg
  id=$(docker inspect -f '{{.Id}}' "$container")
  for cg in "/sys/fs/cgroup/cpuacct/docker/$id" "/sys/fs/cgroup/system.slice/docker-$id.scope" "/sys/fs/cgroup/docker/$id"; do
    if [[ -e "$cg/cpuacct.usage" || -e "$cg/cpu.stat" ]]; then
      export BENCH_BROKER_CGROUP="$cg"
      break
    fi
  done
  log "broker up on 127.0.0.1:$port"
}

# --- build --------------------------------------------------------------------------------------------------------
build() {
  local t0 project
  t0=$(now_s)
  log "building Release (worker, runtime, simulator, benchmarks)"
  for project in src/Worker.Host/Worker.Host.csproj src/Worker.Runtime/Worker.Runtime.csproj \
    src/Worker.Simulator/Worker.Simulator.csproj bench/Worker.Bench/Worker.Bench.csproj \
    bench/Worker.Bench.Micro/Worker.Bench.Micro.csproj; do
    dotnet build "$project" -c Release -v q -nologo >>"$WORK/build.log" 2>&1 \
      || { tail -n 30 "$WORK/build.log" >&2; die "build of $project failed (log: $WORK/build.log)"; }
  done
  log "built (took $(($(now_s) - t0))s)"
}

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ "$commit" != unknown ]] && ! git diff --quiet HEAD -- src 2>/dev/null; then
  commit="$commit-dirty"
fi
export BENCH_COMMIT="$commit"
mode=full
[[ "${BENCH_QUICK:-0}" == 1 ]] && mode=quick
log "commit $commit, $(nproc) cores, $mode mode, work dir $WORK"

mkdir -p "$BENCH_WORK"
build

micro_args=()
if [[ "${BENCH_SKIP_MICRO:-0}" != 1 ]]; then
  t0=$(now_s)
  log "micro benchmarks (BenchmarkDotNet, $([[ $mode == quick ]] && echo 'dry run' || echo 'ShortRun'))"
  dotnet bench/Worker.Bench.Micro/bin/Release/net10.0/Worker.Bench.Micro.dll --filter '*' --artifacts "$WORK/micro" \
    >"$WORK/micro.log" 2>&1 || { tail -n 40 "$WORK/micro.log" >&2; die "micro benchmarks failed (log: $WORK/micro.log)"; }
  log "micro benchmarks done (took $(($(now_s) - t0))s)"
  micro_args=(--micro "$WORK/micro")
fi

if [[ "${BENCH_SCENARIOS:-hop,pipeline,scaling,memory,ttft,admission}" =~ pipeline|scaling|memory|ttft|admission ]]; then
  start_broker
fi

log "macro benchmarks"
# In the background and waited for, so that a TERM/INT to this script runs cleanup at once (not after the bench).
dotnet bench/Worker.Bench/bin/Release/net10.0/Worker.Bench.dll --repo "$PWD" "${micro_args[@]}" \
  ${RABBITMQ_URI:+--rabbit "$RABBITMQ_URI"} &
bench_pid=$!
wait "$bench_pid"
bench_pid=""
log "done in $(($(now_s) - BENCH_STARTED_AT))s"
