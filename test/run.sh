#!/usr/bin/env bash
# Runs df's tests: C unit binaries, fuzz-corpus replays, and (with "all") the shell integration tests.
# Prints one line per test and ends with "N passed, N failed"; exits non-zero on any failure.
set -u
cd "$(dirname "$0")/.."
B=${B:-build/musl}
mode=${1:-all}
only=${TESTS:-}   # e.g. TESTS=store to run only matching names
passed=0 failed=0 skipped=0 failures=()
logdir=$B/testlogs; mkdir -p "$logdir"

record() { # name rc log
  if [ "$2" -eq 0 ]; then passed=$((passed+1)); echo "ok    $1"
  elif [ "$2" -eq 77 ]; then skipped=$((skipped+1)); echo "skip  $1 ($(tail -n1 "$3"))"
  else failed=$((failed+1)); failures+=("$1"); echo "FAIL  $1 (log: $3)"; tail -n 30 "$3" | sed 's/^/      /'; fi
}

for t in "$B"/test/test_*; do
  [ -x "$t" ] || continue
  n=$(basename "$t"); [ -n "$only" ] && [[ $n != *$only* ]] && continue
  log=$logdir/$n.log
  "$t" >"$log" 2>&1; rc=$?
  sum=$(grep -E '^[a-z_]+: [0-9]+ passed, [0-9]+ failed$' "$log" | tail -n1)
  [ -z "$sum" ] && [ $rc -eq 0 ] && rc=1   # a unit binary that printed no summary ran nothing
  record "unit/$n${sum:+ — ${sum#*: }}" $rc "$log"
done
for t in "$B"/replay/fuzz_*; do
  [ -x "$t" ] || continue
  n=$(basename "$t"); [ -n "$only" ] && [[ $n != *$only* ]] && continue
  corpus=test/fuzz/corpus/${n#fuzz_}
  log=$logdir/$n.log
  "$t" "$corpus" >"$log" 2>&1
  record "replay/$n ($(tail -n1 "$log"))" $? "$log"
done
if [ "$mode" = all ]; then
  for t in test/integration/*.sh; do
    [ -f "$t" ] || continue
    n=$(basename "$t" .sh); [ -n "$only" ] && [[ $n != *$only* ]] && continue
    log=$logdir/it_$n.log
    start=$(date +%s)
    B=$B timeout 300 bash "$t" >"$log" 2>&1; rc=$?
    record "integration/$n ($(( $(date +%s) - start ))s)" $rc "$log"
  done
fi
echo
[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
