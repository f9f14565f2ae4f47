#!/usr/bin/env bash
# The end game in df (issue 16 item 2): with [supernode] endgame on, a piece still on its way from a
# slow uploader once everything the peer lacks is in flight gets a second uploader; the peer runs
# both fetches of the piece (the store takes one writer: the second copy waits in memory), keeps the
# first to arrive and cancels the other without charging its uploader. Here the slow uploader is a
# rogue peer (test/tools/roguepeer) that claims every piece and trickles 1 byte every 20 s, so it
# gets the first requests: the get must finish correct long before the piece deadline (5 s + 256 KiB
# at 64 KiB/s = 9 s) would have freed it, with every piece's second copy from the supernode, and the
# rogue must not be charged (no failure, not blacklisted). Without the end game the same get waits
# for that deadline: checked too, so the first part proves something.
# run.sh: alone (duration bounds)
. "$(dirname "$0")/../lib.sh"
ROGUE=$top/$B/tools/roguepeer
[ -x "$ROGUE" ] || fail "$ROGUE missing (make tools)"
cd "$T"
mkdir -p www
make_file www/f 1
NP=$(free_port); start_nginx "$T/www" "$NP"
URL=http://127.0.0.1:$NP/f
SUM=$(sha www/f)

logs() { for f in "$T"/sn*.log "$T"/rogue-*.log "$T"/g-*.log; do [ -f "$f" ] && { echo "== $f"; tail -n 40 "$f"; }; done; }
die() { logs; fail "$*"; }

# run_case NAME ENDGAME_FLAG: a supernode (256 KiB pieces: 4 of them, fewer than a peer's 8 places,
# so all are in flight at once), its first copy, the trickling rogue, then the get; sets ELAPSED
run_case() {
  local name=$1 flag=$2 sp t0 t1
  sp=$(free_port)
  start_supernode "sn-$name" "$sp" --piece-size 256k "$flag"
  timeout 60 "$DF" get "$URL" -O "out-first-$name" --supernode "127.0.0.1:$sp" --data "$T/d-first-$name" --seed-idle 0 -q \
    > "g-first-$name.log" 2>&1 || die "$name: first get"
  "$ROGUE" --supernode "127.0.0.1:$sp" --url "$URL" --mode trickle --trickle-ms 20000 > "rogue-$name.log" 2>&1 &
  track $!
  for _ in $(seq 100); do grep -q "claiming all" "rogue-$name.log" && break; sleep 0.1; done
  grep -q "claiming all" "rogue-$name.log" || die "$name: the rogue never registered"
  RP=$(sed -n 's/^listening on port //p' "rogue-$name.log")
  t0=$(date +%s.%N)
  timeout 60 "$DF" get "$URL" -O "out-$name" --supernode "127.0.0.1:$sp" --data "$T/d-$name" --seed-idle 0 --log-level info \
    > "g-$name.log" 2>&1 || die "$name: the get failed: $(tail -n 3 "g-$name.log")"
  t1=$(date +%s.%N)
  [ "$(sha "out-$name")" = "$SUM" ] || die "$name: the output is corrupt"
  ELAPSED=$(echo "$t1 - $t0" | bc)
  STATUS=$("$DF" status --supernode "127.0.0.1:$sp")
  echo "$name: the get took $ELAPSED s"
}

run_case on --endgame
[ "$(echo "$ELAPSED < 4" | bc)" = 1 ] || die "with the end game the get took $ELAPSED s (the deadline alone: 9 s)"
grep -q "(the end game)" g-on.log || die "no second copy was fetched"
grep -q "arrived first; cancelling the one from 127.0.0.1:$RP" g-on.log ||
  die "no fetch from the rogue was cancelled (was it asked at all? the test proves nothing then)"
grep -q "from 127.0.0.1:$RP failed\|too slow" g-on.log && die "a failure was charged to the rogue: $(grep "$RP" g-on.log)"
rogue=$(grep "127.0.0.1:$RP " <<< "$STATUS")
[ -n "$rogue" ] || die "status does not list the rogue: $STATUS"
grep -q "blacklisted" <<< "$rogue" && die "the rogue was blacklisted: $rogue"
echo "end game: $(grep -c "(the end game)" g-on.log) second copies, $(grep -c "arrived first" g-on.log) from the rogue cancelled"

run_case off --no-endgame
grep -q "^piece " rogue-off.log || die "off: the rogue was never asked (the test proves nothing)"
[ "$(echo "$ELAPSED >= 8" | bc)" = 1 ] || die "without the end game the get took only $ELAPSED s: the rogue did not hold it up"
grep -q "(the end game)" g-off.log && die "a second copy without the end game"
pass swarm_endgame
