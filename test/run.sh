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
# Integration tests run JOBS at a time (default 2): each has its own scratch directory and reserves
# its ports (test/lib.sh free_port), and most of their time is spent waiting on loopback transfers,
# timers and sleeps, not on the CPU. A test whose assertions measure time or load (a duration bound,
# a CPU or RSS series) says "# run.sh: alone" in its header: those run afterwards, one at a time,
# with nothing else of the suite beside them. JOBS=1 runs everything one by one.
#
# The ASan pass (make asan: B=build/asan) runs every test. Three pure-load tests run shorter there,
# where each repeat walks the same code again at the sanitizer's 2-3x cost, and the first rounds
# already show any memory error on their paths: sn_tasks (fewer tasks; descriptors asserted, RSS is
# the allocator's quarantine under ASan), soak_short (fewer files) and the musl pass's req_fuzz is
# the shorter of the two (the ASan pass keeps its 20 s of fuzzed requests: memory errors are what
# request fuzzing finds). Each script says what it does under ASan.
it_start() { # SCRIPT: runs it in the background; its pid in $!
  local n; n=$(basename "$1" .sh)
  B=$B timeout 300 bash "$1" >"$logdir/it_$n.log" 2>&1 &
}
it_done() { # PID RC: the record of the test that pid ran
  local n=${it_name[$1]} d; d=$(since "${it_t0[$1]}")
  echo "$d integration/$n" >> "$logdir/durations"
  record "integration/$n (${d%.*}s)" "$2" "$logdir/it_$n.log"
  unset "it_name[$1]" "it_t0[$1]"
}
if [ "$mode" = all ]; then
  declare -A it_name=() it_t0=()
  alone=()
  for t in "$it_dir"/*.sh; do
    [ -f "$t" ] || continue
    n=$(basename "$t" .sh); [ -n "$only" ] && [[ $n != *$only* ]] && continue
    if grep -q '^# run.sh: alone' "$t"; then alone+=("$t"); continue; fi
    while [ "${#it_name[@]}" -ge "${JOBS:-2}" ]; do wait -n -p pid; rc=$?; it_done "$pid" $rc; done
    t0=$EPOCHREALTIME; it_start "$t"; it_name[$!]=$n; it_t0[$!]=$t0
  done
  while [ "${#it_name[@]}" -gt 0 ]; do wait -n -p pid; rc=$?; it_done "$pid" $rc; done
  for t in "${alone[@]+"${alone[@]}"}"; do
    t0=$EPOCHREALTIME; it_start "$t"; pid=$!; it_name[$pid]=$(basename "$t" .sh); it_t0[$pid]=$t0
    wait "$pid"; rc=$?; it_done "$pid" $rc
  done
fi
echo
echo "slowest (of $(wc -l < "$logdir/durations"); all in $logdir/durations):"
sort -rn "$logdir/durations" | head -n "${SLOWEST:-10}" | awk '{ printf "  %6.1f s  %s\n", $1, $2 }'
echo "total $(since "$t_all") s"
[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
