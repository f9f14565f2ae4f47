#!/usr/bin/env bash
# The gate must be able to fail: runs test/run.sh over a fake build tree whose unit binaries,
# fuzz-corpus replays and integration scripts pass, fail, abort and skip, and checks that each is
# recorded as it ended (an aborting replay is FAIL, a skipped test is SKIP and not counted as
# passed) and that run.sh's own exit status says "failed". The fakes are shell scripts standing in
# for the C binaries (what run.sh sees of those is only their exit status and output; the unit
# runner's side of it is test/unit/test_unit.c).
. "$(dirname "$0")/../lib.sh"

fb=$T/build            # the fake B
mkdir -p "$fb/test" "$fb/replay" "$T/it" "$T/corpus/ok" "$T/corpus/abort" "$T/corpus/fail"
mk() { # PATH BODY: an executable script
  printf '#!/usr/bin/env bash\n%s\n' "$2" > "$1"; chmod +x "$1"
}
mk "$fb/test/test_good" 'echo "  ok   good.a"; echo "good: 1 passed, 0 failed, 0 skipped"'
mk "$fb/test/test_bad" 'echo "  FAIL bad.a"; echo "bad: 0 passed, 1 failed, 0 skipped"; exit 1'
mk "$fb/test/test_part" 'echo "  ok   part.a"; echo "  skip part.b (no widget here)"; echo "part: 1 passed, 0 failed, 1 skipped"'
mk "$fb/test/test_allskip" 'echo "  skip allskip.a (no widget here)"; echo "allskip: 0 passed, 0 failed, 1 skipped"; exit 77'
mk "$fb/test/test_silent" 'exit 0'     # ran nothing: no summary line
mk "$fb/test/test_crash" 'echo "  ok   crash.a"; kill -SEGV $$'
for c in ok abort fail; do echo x > "$T/corpus/$c/one"; done
mk "$fb/replay/fuzz_ok" 'echo "replayed 1 corpus files"'
mk "$fb/replay/fuzz_abort" 'echo "replayed 0 corpus files"; kill -ABRT $$'   # like an assert() in a target
mk "$fb/replay/fuzz_fail" 'echo "replayed 0 corpus files"; exit 1'
printf 'exit 0\n' > "$T/it/good.sh"
# run two at a time (JOBS=2): a slow one and a quick one end out of order; an "alone" test runs after
# all the others, with none beside it (it finds no other test's mark)
printf 'sleep 1; touch "%s/slow.done"; exit 1\n' "$T" > "$T/it/slow.sh"
printf 'touch "%s/quick.running"; sleep 0.2; rm "%s/quick.running"\n' "$T" "$T" > "$T/it/quick.sh"
printf '# run.sh: alone (a timing test)\n[ -e "%s/slow.done" ] && [ ! -e "%s/quick.running" ] || exit 1\n' "$T" "$T" > "$T/it/aa_alone.sh"
printf 'echo "FAIL: broken on purpose" >&2; exit 1\n' > "$T/it/bad.sh"
printf 'echo "skip: nothing to test with"; exit 77\n' > "$T/it/skipped.sh"

TESTS= JOBS=2 B=$fb RUN_IT_DIR=$T/it RUN_CORPUS_DIR=$T/corpus bash "$top/test/run.sh" all > "$T/out" 2>&1; rc=$?
cat "$T/out"
[ "$rc" -ne 0 ] || fail "run.sh exited 0 over failing tests"
line() { grep -qE "$1" "$T/out" || fail "run.sh printed no line matching '$1'"; }
noline() { ! grep -qE "$1" "$T/out" || fail "run.sh printed a line matching '$1'"; }
line '^ok    unit/test_good'
line '^FAIL  unit/test_bad'
line '^ok    unit/test_part'
line '^skip  unit/part\.b \(no widget here\)'
line '^skip  unit/test_allskip'
line '^FAIL  unit/test_silent'
line '^FAIL  unit/test_crash .*killed by signal 11'
line '^ok    replay/fuzz_ok'
line '^FAIL  replay/fuzz_abort'
line '^FAIL  replay/fuzz_fail'
line '^ok    integration/good'
line '^FAIL  integration/bad'
line '^skip  integration/skipped'
line '^ok    integration/quick'
line '^FAIL  integration/slow'
line '^ok    integration/aa_alone'
[ "$(grep -n '^ok    integration/aa_alone' "$T/out" | cut -d: -f1)" -gt "$(grep -n '^FAIL  integration/slow' "$T/out" | cut -d: -f1)" ] ||
  fail "the alone test was not run last"
grep -q "^ *[0-9.]* s  integration/slow" "$T/out" || fail "run.sh lists no duration for the slow test"
noline '^ok    (unit/test_(allskip|bad|crash|silent)|replay/fuzz_(abort|fail)|integration/(bad|skipped))'
line '^FAIL  replay/fuzz_abort .*killed by signal 6'
# passed: test_good, test_part, fuzz_ok, good, quick, aa_alone; skipped: part.b, allskip, skipped
line '^6 passed, 7 failed, 3 skipped$'

# and a clean tree passes
rm "$fb/test/test_bad" "$fb/test/test_silent" "$fb/test/test_crash" "$fb/replay/fuzz_abort" "$fb/replay/fuzz_fail" "$T/it/bad.sh" \
  "$T/it/slow.sh" "$T/it/aa_alone.sh"
TESTS= B=$fb RUN_IT_DIR=$T/it RUN_CORPUS_DIR=$T/corpus bash "$top/test/run.sh" all > "$T/out2" 2>&1 ||
  { cat "$T/out2"; fail "run.sh failed over passing and skipped tests only"; }
grep -q '^5 passed, 0 failed, 3 skipped$' "$T/out2" || { cat "$T/out2"; fail "wrong summary for the clean tree"; }
pass "run.sh records FAIL, SKIP and ok by each test's own exit status"
