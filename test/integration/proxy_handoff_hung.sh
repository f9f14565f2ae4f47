#!/usr/bin/env bash
# df get hands its download to the host's df proxy and follows its answer lines. A proxy that hangs
# (its process stopped, its loop stuck) held that get for ever: a blocking read with no deadline.
# Now the proxy says a line at least every 5 s while a job runs (its progress again when nothing
# moved), and df get takes 30 s of silence for a hung proxy: it says so and runs the download
# itself. The hung proxy holds the task (its writer lock), so the get downloads into a store of its
# own (DATA/private/PID, removed at the end; before, it waited for the lock and failed after its
# stall timeout naming the way out). And a live proxy whose job is quiet for longer than that (a
# source that never answers: 30 s to its timeout) is not taken for hung: the get ends with the
# source's cause. The silent source is test/tools/silent_listener.py: nginx cannot accept and never answer.
. "$(dirname "$0")/../lib.sh"
cd "$T"
mkdir -p www
make_file www/f 16
NP=$(free_port); start_nginx "$T/www" "$NP"
start_silent_source
proxy() { # NAME: a df proxy with store $T/NAME, no supernode, downloads at 2 MB/s
  "$DF" proxy --listen "127.0.0.1:$(free_port)" --push-listen "" --data "$T/$1" --limit-rate 2M > "$1.log" 2>&1 &
  echo $! > "$1.pid"; track $!
  wait_for 10 "the socket of proxy $1" test -S "$T/$1/proxy.sock"
}
proxy pa
proxy pb

# the private store of a get that was killed (its pid gone, its lock free): the next one removes it
sleep 0 & deadget=$!
wait $deadget
mkdir -p "$T/pa/private/$deadget/tasks"
: > "$T/pa/private/$deadget/owner"
head -c 100000 /dev/zero > "$T/pa/private/$deadget/tasks/data"

# a: the proxy hangs mid-download
t0=$EPOCHREALTIME
"$DF" get "http://127.0.0.1:$NP/f" -O out-a --data "$T/pa" --stall-timeout 5 --seed-idle 0 > get-a.log 2>&1 &
ga=$!; track $ga
# b: a live proxy, its job silent for 30 s (the source never answers)
"$DF" get "http://127.0.0.1:$HP/f" -O out-b --data "$T/pb" --seed-idle 0 > get-b.log 2>&1 &
gb=$!; track $gb
stored() { [ "$(du -s -B1 "$T/pa/tasks" 2>/dev/null | cut -f1)" -ge $((3 << 20)) ]; }
wait_for 30 "proxy pa fetched nothing" stored
kill -0 $ga 2>/dev/null || fail "the get ended before its proxy was stopped: $(cat get-a.log)"
kill -STOP "$(cat pa.pid)"
CLEANUPS+=("kill -CONT $(cat pa.pid)")

await $ga 80 "the get whose proxy hangs"
secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
[ "$RC" -eq 0 ] || fail "the get whose proxy hangs exited $RC: $(cat get-a.log)"
grep -q "said nothing for 30 s (hung?); downloading here" get-a.log || fail "the get did not say its proxy hangs: $(cat get-a.log)"
grep -q "downloading into a store of this get's own, $T/pa/private/" get-a.log || fail "no private store: $(cat get-a.log)"
cmp -s out-a www/f || fail "the get whose proxy hangs saved other bytes"
[ -z "$(ls -A "$T/pa/private")" ] || fail "a private store was left behind: $(ls -A "$T/pa/private")"
grep -q "removed $T/pa/private/$deadget, the store of a df get that was stopped" get-a.log ||
  fail "the killed get's private store: $(cat get-a.log)"
echo "a: the get gave up on the hung proxy and saved the file itself after $secs s: $(tail -n 1 get-a.log)"

await $gb 60 "the get of a silent source through a live proxy"
[ "$RC" -eq 1 ] || fail "the get of a silent source exited $RC: $(cat get-b.log)"
grep -q "timeout after 30 s waiting for first byte from 127.0.0.1:$HP" get-b.log || fail "not the source's cause: $(cat get-b.log)"
! grep -q "said nothing\|downloading here" get-b.log || fail "a live, quiet proxy was taken for hung: $(cat get-b.log)"
echo "b: $(tail -n 1 get-b.log)"
# c: the lines that keep a quiet job alive, seen by a hand-off client (test/tools/handoff): a proxy at
# 16 KB/s takes 16 s for its first 256 KiB piece, and says its progress every 5 s meanwhile
HANDOFF=$top/$B/tools/handoff
[ -x "$HANDOFF" ] || fail "no $HANDOFF (make tools)"
"$DF" proxy --listen "127.0.0.1:$(free_port)" --push-listen "" --data "$T/pc" --limit-rate 16k > pc.log 2>&1 &
track $!
wait_for 10 "the socket of proxy pc" test -S "$T/pc/proxy.sock"
timeout 13 "$HANDOFF" "$T/pc/proxy.sock" "http://127.0.0.1:$NP/f" "$T/out-c" > handoff-c.out 2>&1
n=$(grep -c '^progress: ' handoff-c.out)
[ "$n" -ge 2 ] || fail "a quiet job said $n progress lines in 13 s (one every 5 s wanted): $(cat handoff-c.out)"
echo "c: $n progress lines in 13 s before the first piece"
pass "proxy_handoff_hung: a hung proxy costs 30 s of silence, then the get saves the file itself; a quiet one is waited for"
