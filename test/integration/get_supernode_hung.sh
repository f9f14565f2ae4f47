#!/usr/bin/env bash
# A supernode that hangs (its process stopped: the kernel still completes connections to it, and it
# never answers). A registration may rightly wait up to 45 s for a supernode that is busy with a
# slow source, so that deadline alone made every get wait 45 s before trying the next supernode or
# the source. Now, after 5 s of waiting, the get asks GET /v1/ping: a live supernode answers it
# from its loop at once, a hung one does not within 10 s, and the get moves on after ~15 s.
# And a live supernode that waits on a slow source is still waited for (get_source_silent).
# The same holds for a supernode that hangs in the middle of a download: the work request (a
# long-poll the supernode holds up to 10 s) is probed alike, and the get finishes from the source
# ~16 s after the hang (before: its stall timeout or the work request's 30 s, whichever first).
. "$(dirname "$0")/../lib.sh"
cd "$T"
file_and_supernode 2
SUM=$(sha www/f)
SP2=$(free_port); start_supernode sn2 "$SP2"

OUT=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$SP/v1/ping")
[ "$OUT" = 204 ] || fail "GET /v1/ping answered $OUT, wanted 204"

hung_get() { # NAME SUPERNODES WANT: a get through SUPERNODES that must end well within the 45 s
  local t0=$EPOCHREALTIME secs
  DEADLINE=60 expect_rc 0 "$DF" get "$url" -O "$1" --supernode "$2" --data "$T/d-$1" --seed-idle 0
  secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
  [ "$(sha "$1")" = "$SUM" ] || fail "$1: the output differs from the source"
  expect_in "not even /v1/ping"
  expect_in "$3"
  awk -v s="$secs" 'BEGIN { exit !(s >= 12 && s < 25) }' || fail "$1: the get took $secs s (probe after 5 s, answer within 10 s)"
  echo "$1: past the hung supernode after $secs s: $(grep -m1 'not even' <<< "$OUT")"
}

# 1. the only supernode hangs: the source, after ~15 s
kill -STOP "$(cat sn.pid)"
CLEANUPS+=("kill -CONT $(cat sn.pid)")
hung_get alone "127.0.0.1:$SP" "straight from the source"
kill -CONT "$(cat sn.pid)"

# 2. two supernodes; the one this task hashes to first hangs: the other one, after ~15 s
"$DF" get "$url" -O first --supernode "127.0.0.1:$SP,127.0.0.1:$SP2" --data "$T/d-first" --seed-idle 0 -q || fail "first get"
if grep -q "registered" sn2.log; then first=sn2 other=$SP; else first=sn other=$SP2; fi
grep -q "registered" "$first.log" || fail "the first get registered at neither supernode"
kill -STOP "$(cat "$first.pid")"
CLEANUPS+=("kill -CONT $(cat "$first.pid")")
hung_get pair "127.0.0.1:$SP,127.0.0.1:$SP2" "supernode 127.0.0.1:"
[[ $OUT != *"straight from the source"* ]] || fail "the get went to the source though supernode $other was up: $OUT"
grep -q "registered" "$( [ "$first" = sn ] && echo sn2 || echo sn ).log" || fail "the other supernode never saw the get"
kill -CONT "$(cat "$first.pid")"

# 3. the supernode hangs mid-download: a get at 2 MiB/s of a 16 MiB file, stopped 1 s after it
# registered
make_file www/big 16
bigsum=$(sha www/big)
nreg=$(grep -c "registered" sn.log)
"$DF" get "http://127.0.0.1:$NP/big" -O big --supernode "127.0.0.1:$SP" --data "$T/d-big" --seed-idle 0 \
  --limit-rate 2M > big.out 2>&1 &
gpid=$!
track $gpid
# registered (pieces flow from then on), then a second of the download
big_registered() { [ "$(grep -c registered sn.log)" -gt "$nreg" ]; }
wait_for 30 "the big get's registration" big_registered
sleep 1
kill -STOP "$(cat sn.pid)"
t0=$EPOCHREALTIME
await $gpid 90 "the get whose supernode hung"
secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
kill -CONT "$(cat sn.pid)"
[ "$RC" = 0 ] || fail "mid-download: the get exited $RC: $(cat big.out)"
[ "$(sha big)" = "$bigsum" ] || fail "mid-download: the output differs from the source"
OUT=$(cat big.out)
# ~16 s to give up on the supernode, then the rest (at most 12 MiB) at 2 MiB/s; before, 30 s + the rest
awk -v s="$secs" 'BEGIN { exit !(s < 30) }' || fail "mid-download: the get took $secs s after the hang"
expect_in "sent nothing for"
expect_in "not even /v1/ping"
echo "mid-download: the get ended $secs s after the hang: $(grep -m1 'not even' big.out)"
sn_alive sn "being stopped"
pass "get_supernode_hung: a hung supernode costs ~15 s, not 45"
