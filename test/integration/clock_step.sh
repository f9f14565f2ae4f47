#!/usr/bin/env bash
# The wall clock steps (NTP, an admin's date -s, a VM resuming) while df runs: every duration df
# measures (stall, idle, expiry, a peer's silence, elapsed time shown) must not move with it. Before,
# they were taken from ev_now(), the wall clock: stepped back an hour, a get whose uploaders stopped
# never gave up on them and a silent connection outlived its 10 s head timeout by an hour; stepped
# forward, the supernode dropped every registered peer as silent at once and the get reported
# "saved in 3607 s".
# The step comes from libfaketime (LD_PRELOAD, a Debian package), shifting CLOCK_REALTIME and
# gettimeofday of the processes started here by the offset in $T/clock, read on every call; the
# monotonic clock stays true. LD_PRELOAD cannot reach into the static binary, so this test runs
# build/dyn/df (`make dyn`: the same sources linked against glibc). It cannot run under ASan
# (libfaketime deadlocks ASan's start), so the sanitizer pass skips it.
# run.sh: alone (duration bounds)
. "$(dirname "$0")/../lib.sh"
[[ $B == *asan* ]] && skip "libfaketime cannot run under ASan; the release pass runs this test"
FT=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
[ -f "$FT" ] || skip "libfaketime not installed"
DF=$top/build/dyn/df
[ -x "$DF" ] || fail "$DF missing (make dyn)"
cd "$T"
echo +0 > clock
export LD_PRELOAD=$FT FAKETIME_TIMESTAMP_FILE=$T/clock FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1
step() { echo "$1" > clock.new && mv clock.new clock; }   # atomic: a reader never sees it empty
secs_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

file_and_supernode 16
SUM=$(sha www/f)
"$DF" get "$url" -O first --supernode "127.0.0.1:$SP" --data "$T/d1" --seed-idle 600 -q || fail "the first get failed"
track_seeder "$T/d1"
[ -s d1/seeder.pid ] || fail "the first get left no seeder"

# 1. Stepped forward an hour during a swarm download: nothing is silent, stalled or expired.
"$DF" get "$url" -O second --supernode "127.0.0.1:$SP" --data "$T/d2" --limit-rate 2M --seed-idle 0 --log-level info > g2.log 2>&1 &
g2=$!
track $g2
sleep 2
step +1h
await "$g2" 60 "the get across a forward step"
[ "$RC" -eq 0 ] || fail "the get across a forward step exited $RC: $(tail -n 5 g2.log)"
[ "$(sha second)" = "$SUM" ] || fail "the get across a forward step saved a corrupt file"
! grep -q "went silent" sn.log || fail "a forward step made the supernode drop a live peer: $(grep 'went silent' sn.log)"
! grep -q "straight from the source" g2.log || fail "a forward step was taken for a stall: $(grep 'from the source' g2.log)"
took=$(sed -n 's/.* in \([-0-9.]*\)s: fetched.*/\1/p' g2.log)
awk -v t="$took" 'BEGIN { exit !(t != "" && t >= 0 && t < 60) }' || fail "the get says it took '$took' s: $(grep saved g2.log)"
up=$("$DF" status --supernode "127.0.0.1:$SP" | sed -n 's/.* up \([-0-9]*\) s,.*/\1/p')
[ -n "$up" ] && [ "$up" -ge 0 ] && [ "$up" -lt 600 ] || fail "the supernode says it is up '$up' s"
[ "$(nginx_bytes "$NP" /f)" -eq $((16 << 20)) ] || fail "the source sent $(nginx_bytes "$NP" /f) bytes, not the file once"
echo "forward step: the get took $took s, the supernode is up $up s, no peer dropped"

# 2. Stepped back an hour after the uploaders stopped: the get still gives up on them after its
# stall timeout (3 s) and finishes from the source.
step +0
t0=$EPOCHREALTIME
"$DF" get "$url" -O third --supernode "127.0.0.1:$SP" --data "$T/d3" --limit-rate 2M --stall-timeout 3 --seed-idle 0 --log-level info > g3.log 2>&1 &
g3=$!
track $g3
sleep 2
kill -STOP "$(cat sn.pid)" "$(cat d1/seeder.pid)"
CLEANUPS+=("kill -CONT $(cat sn.pid) $(cat d1/seeder.pid)")
sleep 1.5   # what was on its way has landed: the last progress is before the step
step -1h
await "$g3" 40 "the get whose uploaders stopped before a step back"
kill -CONT "$(cat sn.pid)" "$(cat d1/seeder.pid)"
[ "$RC" -eq 0 ] || fail "the get across a backward step exited $RC: $(tail -n 5 g3.log)"
[ "$(sha third)" = "$SUM" ] || fail "the get across a backward step saved a corrupt file"
grep -q "no piece arrived from the swarm for 3 s" g3.log || fail "the get did not give up on the stopped swarm: $(tail -n 5 g3.log)"
echo "backward step: the get gave up on the stopped swarm and finished in $(secs_since "$t0") s"

# 3. A connection that never sends a head, opened before another step back: the supernode closes
# it at its head timeout (10 s) as ever.
( exec 3<>"/dev/tcp/127.0.0.1/$SP" && echo "$EPOCHREALTIME" > conn.opened && cat <&3 > /dev/null; echo "$EPOCHREALTIME" > conn.closed ) &
track $!
wait_for 5 "the silent connection is open" test -s conn.opened
sleep 1
step -2h
wait_for 20 "the silent connection closed" test -s conn.closed
held=$(awk -v a="$(cat conn.opened)" -v b="$(cat conn.closed)" 'BEGIN { printf "%.1f", b - a }')
awk -v h="$held" 'BEGIN { exit !(h >= 9 && h < 16) }' || fail "the silent connection was held $held s (head timeout 10 s)"
echo "the silent connection was closed after $held s"
sn_alive sn "the clock steps"
pass "clock_step: durations follow the monotonic clock across steps of an hour both ways"
