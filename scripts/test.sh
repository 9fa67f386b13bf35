#!/usr/bin/env bash
# The project's test command (CI runs it through .ci/run on a fresh machine, as root).
#   1. broker: RABBITMQ_URI if it answers, else Docker (docker.io installed and dockerd started if
#      needed) and a RabbitMQ image (official, or the local debootstrap build when no registry);
#   2. dotnet restore / build (warnings are errors) / format --verify-no-changes (SKIP_FORMAT=1 skips);
#   3. dotnet test, then one closing line "N passed, N failed[, N skipped]" summed from the TRX files.
# Exits non-zero when a step fails, a test fails or no test ran. Safe to re-run; the second run
# reuses the installed engine and the built image.
# Environment: RABBITMQ_URI, RABBITMQ_IMAGE, SKIP_FORMAT, SOLUTION (default Worker.sln, else Worker.slnx),
# BUILD_JOBS (default: number of cores, at most 4), TEST_RESULTS_DIR (default TestResults/test.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

LOG_PREFIX=test.sh
# shellcheck source=scripts/lib/ensure-broker.sh
source scripts/lib/ensure-broker.sh

solution="${SOLUTION:-}"
if [[ -z "$solution" ]]; then
  solution=Worker.sln
  [[ -f "$solution" || ! -f Worker.slnx ]] || solution=Worker.slnx
fi
results="${TEST_RESULTS_DIR:-TestResults/test.sh}"
cores=$(nproc 2>/dev/null || echo 2)
jobs="${BUILD_JOBS:-$((cores < 4 ? cores : 4))}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

t_all=$(now_s)
t_step=
step() {
  local now; now=$(now_s)
  [[ -z "$t_step" ]] || log "   (took $((now - t_step))s)"
  t_step=$now
  log "== $*"
}
# MSBuild worker nodes and the compiler server would outlive the script otherwise.
trap 'dotnet build-server shutdown >/dev/null 2>&1 || true' EXIT

command -v dotnet >/dev/null || die "dotnet (SDK 10) is not on PATH"
[[ -f "$solution" ]] || die "$solution not found in $(pwd)"

step "tools the deployment tests use (docker-compose, systemd-analyze)"
# Debian's docker-compose 1.29 parses docker-compose.yml; systemd-analyze verifies the units.
apt_ensure docker-compose systemd

step "broker set-up"
ensure_broker
for var in RABBITMQ_URI RABBITMQ_IMAGE DOCKER_API_VERSION TESTCONTAINERS_RYUK_DISABLED; do
  if [[ -n "${!var:-}" ]]; then
    value="${!var}"
    [[ "$var" == RABBITMQ_URI ]] && value=$(redact_uri "$value")
    log "   $var=$value"
  fi
done

step "dotnet restore $solution"
dotnet restore "$solution" -v quiet

step "dotnet build $solution -c Release (-m:$jobs)"
dotnet build "$solution" -c Release --no-restore -m:"$jobs" -nodeReuse:false -v minimal

if [[ "${SKIP_FORMAT:-0}" == 1 ]]; then
  step "dotnet format: skipped (SKIP_FORMAT=1)"
else
  step "dotnet format $solution --verify-no-changes"
  dotnet format "$solution" --verify-no-changes --no-restore \
    || die "dotnet format found changes to make: run \`dotnet format $solution\` and commit the result"
fi

step "dotnet test $solution -c Release"
rm -rf "$results"
mkdir -p "$results"
set +e
dotnet test "$solution" -c Release --no-build -m:"$jobs" \
  --logger "console;verbosity=normal" --logger trx --results-directory "$results" 2>&1 |
  tee "$results/dotnet-test.log"
test_rc=${PIPESTATUS[0]}
summary=$(bash scripts/lib/summarize-trx.sh "$results" "$results/dotnet-test.log")
summary_rc=$?
set -e

step "done in $(($(now_s) - t_all))s (dotnet test exit code $test_rc; TRX files in $results)"
echo "$summary"
if ((test_rc != 0 || summary_rc != 0)); then
  exit 1
fi
