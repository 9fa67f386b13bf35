#!/usr/bin/env bash
# Sums the <Counters .../> of every TRX file under a directory and prints one closing line:
#   "N passed, N failed" (+ ", N skipped" when some were skipped)
# Usage: summarize-trx.sh RESULTS_DIR [DOTNET_TEST_LOG]
#   DOTNET_TEST_LOG: the console output of `dotnet test`. Its per-assembly summaries are the
#   cross-check: when their count differs from the TRX count (two assemblies finishing in the
#   same second can race for the same TRX name), the console numbers are used instead.
# Exit status: 0 when tests ran and none failed; 1 when a test failed or none ran; 2 on usage errors.
# Failed counts failed + error + timeout + aborted; skipped is total - executed.
set -euo pipefail

dir="${1:?usage: summarize-trx.sh RESULTS_DIR [DOTNET_TEST_LOG]}"
console_log="${2:-}"
[[ -d "$dir" ]] || { echo "summarize-trx: no directory $dir" >&2; exit 2; }

mapfile -t trx_files < <(find "$dir" -type f -name '*.trx' | sort)

# Prints "passed failed skipped" from the TRX files.
from_trx() {
  local f
  for f in "${trx_files[@]}"; do
    grep -o '<Counters [^>]*>' "$f" | head -n1
  done | awk '
    function attr(name,   m) {
      if (match($0, " " name "=\"[0-9]+\"")) { m = substr($0, RSTART, RLENGTH); gsub(/[^0-9]/, "", m); return m + 0 }
      return 0
    }
    { total += attr("total"); executed += attr("executed"); passed += attr("passed")
      failed += attr("failed") + attr("error") + attr("timeout") + attr("aborted") }
    END { print passed + 0, failed + 0, (total - executed > 0 ? total - executed : 0) }'
}

# Prints "assemblies passed failed skipped" from the per-assembly console summaries: the
# minimal-verbosity line ("Passed!  - Failed: 0, Passed: 2, Skipped: 0, Total: 2, ...") or the
# normal-verbosity block ("Total tests: 3" then "Passed: 1", "Failed: 1", "Skipped: 1", "Total time: ...").
from_console() {
  awk '
    /^(Passed|Failed|Skipped)! +- Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+, Total: +[0-9]+/ {
      gsub(/,/, ""); n++; f += $4; p += $6; s += $8; next
    }
    /^Total tests: [0-9]+/ { n++; block = 1; next }
    block && /^ +Passed: [0-9]+/  { p += $2 }
    block && /^ +Failed: [0-9]+/  { f += $2 }
    block && /^ +Skipped: [0-9]+/ { s += $2 }
    block && /^ +Total time:/     { block = 0 }
    END { print n + 0, p + 0, f + 0, s + 0 }' "$1"
}

read -r passed failed skipped < <(from_trx)
if [[ -n "$console_log" && -f "$console_log" ]]; then
  read -r assemblies c_passed c_failed c_skipped < <(from_console "$console_log")
  if ((assemblies != ${#trx_files[@]})); then
    echo "summarize-trx: ${#trx_files[@]} TRX file(s) for $assemblies test assembly run(s): using the console summaries" >&2
    passed=$c_passed failed=$c_failed skipped=$c_skipped
  fi
fi

line="$passed passed, $failed failed"
((skipped > 0)) && line+=", $skipped skipped"
echo "$line"

((failed == 0 && passed + failed > 0))
