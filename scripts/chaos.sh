#!/usr/bin/env bash
# The chaos run (fault-tolerance proof) and the IPC fuzz run, with real processes.
#
#   scripts/chaos.sh                 full size: 10,000 jobs, C=32, 10% upstream faults (429 + Retry-After, 500,
#                                    dropped stream), 3 worker SIGKILLs, 1 broker restart, 1 runtime restart
#                                    (Runtime:Embedded=false), 50 poison messages; checks every figure, prints them,
#                                    writes docs/reliability.md; exits non-zero on any violation
#   scripts/chaos.sh --ci            the CI size (500 jobs, C=8, 1 of each event, 10 poison), no report
#   scripts/chaos.sh --fuzz          100,000 random and mutated IPC frames against a runtime process
#   scripts/chaos.sh --cluster       a 3-node RabbitMQ cluster (quorum queues) and two worker processes with
#                                    RabbitMq:Hosts = all nodes, 9,000 jobs, C=16 each: kill the jobs queue's leader,
#                                    kill a worker's node, pause a worker's node (20 s each); checks every job has one
#                                    succeeded result, no failure, each worker's longest stall <= 10 s; writes the
#                                    figures into the "Cluster run" section of docs/reliability.md (kept by the
#                                    chaos run's report)
#
# Options (chaos): --jobs N --concurrency C --fault-rate F --kills K --broker-restarts B --runtime-restarts R
#                  --poison P --seed S --max-retries N --deadline-minutes M --work-dir DIR --report PATH | --no-report
# Options (fuzz):  --frames N --seed S --budget-minutes M --work-dir DIR
# Options (cluster): --jobs N --concurrency C --outage-seconds S --deadline-minutes M --work-dir DIR
# Environment: CONFIGURATION (default Release). The broker is a Testcontainers container (Docker and the RabbitMQ
# image are set up by scripts/lib/ensure-broker.sh); RABBITMQ_URI is ignored: a broker restart needs a container.
# The driver is tools/Worker.Chaos (the same code the tests in tests/Worker.Chaos.Tests run at the CI size).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
LOG_PREFIX=chaos.sh
# shellcheck source=scripts/lib/ensure-broker.sh
source scripts/lib/ensure-broker.sh

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

mode=chaos
report=docs/reliability.md
args=()
original_args="$*"
while (($#)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --fuzz) mode=fuzz ;;
    --cluster) mode=cluster ;;
    --ci) args+=(--jobs 500 --concurrency 8 --kills 1 --broker-restarts 1 --runtime-restarts 1 --poison 10 --deadline-minutes 5); report= ;;
    --no-report) report= ;;
    --report) report="${2:?--report needs a path}"; shift ;;
    --jobs | --concurrency | --fault-rate | --kills | --broker-restarts | --runtime-restarts | --poison | --seed | --max-retries | \
      --deadline-minutes | --work-dir | --frames | --budget-minutes | --outage-seconds)
      args+=("$1" "${2:?$1 needs a value}"); shift ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
  shift
done

configuration="${CONFIGURATION:-Release}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
command -v dotnet >/dev/null || die "dotnet (SDK 10) is not on PATH"

if [[ "$mode" == chaos || "$mode" == cluster ]]; then
  if [[ -n "${RABBITMQ_URI:-}" ]]; then
    log "ignoring RABBITMQ_URI=$(redact_uri "$RABBITMQ_URI"): the chaos run restarts the broker, which needs a container"
    unset RABBITMQ_URI
  fi
  ensure_broker
fi

t0=$(now_s)
log "building tools/Worker.Chaos (-c $configuration; builds Worker.Host, Worker.Runtime, Worker.Simulator)"
dotnet build tools/Worker.Chaos -c "$configuration" -nodeReuse:false -v quiet -nologo >/tmp/worker-chaos-build.log 2>&1 ||
  { tail -n 30 /tmp/worker-chaos-build.log >&2; die "build failed (log: /tmp/worker-chaos-build.log)"; }
log "built (took $(($(now_s) - t0))s)"
driver="tools/Worker.Chaos/bin/$configuration/net10.0/Worker.Chaos.dll"

set +e
if [[ "$mode" == fuzz ]]; then
  dotnet "$driver" fuzz "${args[@]}"
  rc=$?
elif [[ "$mode" == cluster ]]; then
  load="$(cut -d' ' -f1-3 /proc/loadavg)"
  log "load before the run: $load (2 shared cores)"
  if [[ -n "$report" ]]; then
    args+=(--report "$report" --commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" --command "scripts/chaos.sh${original_args:+ $original_args}" --load "$load")
  fi
  WORKER_HOST_DLL="src/Worker.Host/bin/$configuration/net10.0/Worker.Host.dll" \
    dotnet "$driver" cluster "${args[@]}"
  rc=$?
  log "load after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
else
  if [[ -n "$report" ]]; then
    commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    if [[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
      commit+=" (with uncommitted changes)"
    fi
    args+=(--report "$report" --commit "$commit" --command "scripts/chaos.sh${original_args:+ $original_args}")
  fi
  WORKER_HOST_DLL="src/Worker.Host/bin/$configuration/net10.0/Worker.Host.dll" \
    WORKER_RUNTIME_DLL="src/Worker.Runtime/bin/$configuration/net10.0/Worker.Runtime.dll" \
    dotnet "$driver" chaos "${args[@]}"
  rc=$?
fi
set -e
log "done in $(($(now_s) - t0))s (exit code $rc)"
exit "$rc"
