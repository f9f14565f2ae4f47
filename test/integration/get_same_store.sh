#!/usr/bin/env bash
# Two df gets of one URL into one store at once (two jobs on a host, no df proxy): the second finds
# the task held by the first (its writer) and waits for it, then takes the file from the store;
# before, every piece it was assigned failed ("cannot write piece") until the stall timeout sent it
# to the source, which failed too ("11 of 12 pieces missing"). A writer killed mid-way is taken over
# (resumed from its pieces); a writer that stops getting bytes is given up on after --stall-timeout.
# Straight from the source (no supernode) the same.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../proxy/lib.sh"
cd "$T"
file_and_supernode 3 --piece-size 256k
get() { timeout -k 5 60 "$DF" get "$url" --supernode "127.0.0.1:$SP" --seed-idle 0 --limit-rate 1M "$@"; }
# writer OUT DATA RATE: a df get in the background (no timeout wrapper: its pid is df's, for kill)
writer() {
  "$DF" get "$url" --supernode "127.0.0.1:$SP" --seed-idle 0 --limit-rate "$3" -O "$1" --data "$T/$2" > "$1.log" 2>&1 &
  first=$!
  track "$first"
}

# the second starts together with the first, then while it runs
for delay in 0 0.7; do
  d=same$delay
  get -O "a$delay" --data "$T/$d" > "a$delay.log" 2>&1 &
  first=$!
  sleep "$delay"
  t0=$(date +%s.%N)
  get -O "b$delay" --data "$T/$d" > "b$delay.log" 2>&1 || fail "the second get (after $delay s) failed: $(tail -3 "b$delay.log")"
  took=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  wait "$first" || fail "the first get (other after $delay s) failed: $(tail -3 "a$delay.log")"
  cmp -s www/f "a$delay" && cmp -s www/f "b$delay" || fail "a copy differs (second after $delay s)"
  grep -q "source 0 B" "b$delay.log" || fail "the second get went to the source: $(tail -2 "b$delay.log")"
  awk -v t="$took" 'BEGIN { exit !(t < 10) }' || fail "the second get took $took s (the first takes ~3 s)"
done
grep -q "waiting for it" b0.7.log || fail "the second get did not say it waits: $(cat b0.7.log)"

# the same straight from the source (no supernode): the second crashed (a use after free: its
# source was freed inside its own callback when the task turned out held) or, started together,
# could fail; now it waits alike
for delay in 0 0.7; do
  d=direct$delay
  timeout -k 5 60 "$DF" get "$url" --seed-idle 0 --limit-rate 1M -O "da$delay" --data "$T/$d" > "da$delay.log" 2>&1 &
  first=$!
  sleep "$delay"
  timeout -k 5 60 "$DF" get "$url" --seed-idle 0 --limit-rate 1M -O "db$delay" --data "$T/$d" > "db$delay.log" 2>&1 ||
    fail "the second direct get (after $delay s) failed ($?): $(tail -3 "db$delay.log")"
  wait "$first" || fail "the first direct get (other after $delay s) failed: $(tail -3 "da$delay.log")"
  cmp -s www/f "da$delay" && cmp -s www/f "db$delay" || fail "a direct copy differs (second after $delay s)"
done
grep -q "waiting for it" db0.7.log || fail "the second direct get did not say it waits: $(cat db0.7.log)"

# the writer killed mid-way: the waiting get goes on as the writer, from the pieces there
writer k1 kill 256k
sleep 0.5
get -O k2 --data "$T/kill" > k2.log 2>&1 &
second=$!
sleep 0.7
kill -9 "$first"; wait "$first" 2>/dev/null
wait "$second" || fail "the get left waiting for a killed one failed: $(tail -3 k2.log)"
cmp -s www/f k2 || fail "k2 differs"
grep -q "let go of" k2.log || fail "k2 does not say the other let go: $(cat k2.log)"
grep -q "supernode [1-9]" k2.log || fail "k2 fetched nothing itself: $(tail -1 k2.log)"

# the writer stopped (SIGSTOP): given up on after --stall-timeout, with the cause
writer s1 stop 1M
sleep 0.5
kill -STOP "$first"
expect_rc 1 get -O s2 --data "$T/stop" --stall-timeout 2
expect_in "another df process"
expect_in "got no byte"
kill -CONT "$first"
wait "$first" || fail "the stopped get failed after SIGCONT: $(tail -3 s1.log)"
# df proxy started on a store while a df get downloads into it: two hand-offs of that file both wait
# for the get (two watchers of one waiting download), then both get the file; the proxy keeps no
# extra handle of the task (the second watcher began the download again over the first's handle,
# which leaked: a descriptor and a shared lock that kept the task from ever being removed)
HANDOFF=$top/$B/tools/handoff
[ -x "$HANDOFF" ] || fail "no $HANDOFF (make tools)"
writer w1 share 512k
sleep 0.5
start_proxy share --supernode "127.0.0.1:$SP"
"$HANDOFF" "$T/share/proxy.sock" "$url" "$T/h1.out" > h1.log 2>&1 &
h1=$!
sleep 0.3
"$HANDOFF" "$T/share/proxy.sock" "$url" "$T/h2.out" > h2.log 2>&1 || fail "the second hand-off failed: $(cat h2.log)"
wait "$h1" || fail "the first hand-off failed: $(cat h1.log)"
wait "$first" || fail "the get both waited for failed: $(tail -3 w1.log)"
cmp -s www/f h1.out && cmp -s www/f h2.out || fail "a hand-off's copy differs"
grep -q "waiting for it" share.log || fail "the proxy did not wait for the get: $(grep -i 'another\|wait' share.log)"
n=$(ls -l "/proc/$PX/fd" 2>/dev/null | grep -c '\.data$')
[ "$n" -le 1 ] || fail "df proxy holds $n descriptors of the task's data file: $(ls -l "/proc/$PX/fd" | grep '\.data$')"
echo "ok"
