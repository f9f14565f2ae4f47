#!/usr/bin/env bash
# Runs df's tests: C unit binaries, fuzz-corpus replays, and (with "all") the shell integration tests.
# Prints one line per test and ends with "N passed, N failed, N skipped"; exits non-zero on any
# failure. Every line records the exit status of the thing it ran (test/integration/run_selftest.sh
# proves a failing or aborting one is reported FAIL and a skipped one SKIP).
set -u
cd "$(dirname "$0")/.."
B=${B:-build/musl}
mode=${1:-all}
only=${TESTS:-}   # e.g. TESTS=store to run only matching names
it_dir=${RUN_IT_DIR:-test/integration}      # where the integration scripts are (the self-test points elsewhere)
corpus_dir=${RUN_CORPUS_DIR:-test/fuzz/corpus}
passed=0 failed=0 skipped=0 failures=()
logdir=$B/testlogs; mkdir -p "$logdir"
t_all=$EPOCHREALTIME
: > "$logdir/durations"   # "SECONDS NAME" per test; the slowest are listed at the end
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

record() { # name rc log
  if [ "$2" -eq 0 ]; then passed=$((passed+1)); echo "ok    $1"
  elif [ "$2" -eq 77 ]; then skipped=$((skipped+1)); echo "skip  $1 ($(tail -n1 "$3"))"
  else failed=$((failed+1)); failures+=("$1")
    echo "FAIL  $1 ($([ "$2" -gt 128 ] && echo "killed by signal $(($2 - 128)), ")log: $3)"; tail -n "${FAIL_TAIL:-150}" "$3" | sed 's/^/      /'; fi
}

for t in "$B"/test/test_*; do
  [ -x "$t" ] || continue
  n=$(basename "$t"); [ -n "$only" ] && [[ $n != *$only* ]] && continue
  log=$logdir/$n.log
  t0=$EPOCHREALTIME
  "$t" >"$log" 2>&1; rc=$?
  echo "$(since "$t0") unit/$n" >> "$logdir/durations"
  sum=$(grep -E '^[a-z0-9_]+: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$log" | tail -n1)
  [ -z "$sum" ] && { [ $rc -eq 0 ] || [ $rc -eq 77 ]; } && rc=1   # a unit binary that printed no summary ran nothing
  record "unit/$n${sum:+ — ${sum#*: }}" $rc "$log"
  # a binary that passed but skipped some of its tests: say which, and count them as skipped
  if [ $rc -eq 0 ]; then
    while read -r _ name why; do
      skipped=$((skipped+1)); echo "skip  unit/$name $why"
    done < <(grep -E '^  skip ' "$log")
  fi
done
for t in "$B"/replay/fuzz_*; do
  [ -x "$t" ] || continue
  n=$(basename "$t"); [ -n "$only" ] && [[ $n != *$only* ]] && continue
  corpus=$corpus_dir/${n#fuzz_}
  log=$logdir/$n.log
  t0=$EPOCHREALTIME
  "$t" "$corpus" >"$log" 2>&1; rc=$?   # the replay's status, taken before anything else runs
  echo "$(since "$t0") replay/$n" >> "$logdir/durations"
  record "replay/$n ($(tail -n1 "$log"))" $rc "$log"
done
if [ "$mode" = all ]; then
  for t in "$it_dir"/*.sh; do
    [ -f "$t" ] || continue
    n=$(basename "$t" .sh); [ -n "$only" ] && [[ $n != *$only* ]] && continue
    log=$logdir/it_$n.log
    t0=$EPOCHREALTIME
    B=$B timeout 300 bash "$t" >"$log" 2>&1; rc=$?
    d=$(since "$t0"); echo "$d integration/$n" >> "$logdir/durations"
    record "integration/$n (${d%.*}s)" $rc "$log"
  done
fi
echo
echo "slowest (of $(wc -l < "$logdir/durations"); all in $logdir/durations):"
sort -rn "$logdir/durations" | head -n "${SLOWEST:-10}" | awk '{ printf "  %6.1f s  %s\n", $1, $2 }'
echo "total $(since "$t_all") s"
[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
