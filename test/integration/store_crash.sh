#!/usr/bin/env bash
# The store's crash promise: a writer SIGKILLed at random moments, over and over (mid-piece,
# mid-record, mid-snapshot, mid-removal); after each kill a reopen must find every piece marked
# present holding the right bytes and checksum, lose none to the reopen, and keep every piece the
# writer had acknowledged. Runs for about 12 seconds.
. "$(dirname "$0")/../lib.sh"
TOOL=$top/$B/tools/store_tool
[ -x "$TOOL" ] || fail "no $TOOL (make tools)"
root=$T/store acks=$T/acks
kills=0 end=$((SECONDS + 12))
while [ $SECONDS -lt $end ]; do
  "$TOOL" writer "$root" "$acks" $((RANDOM * 32768 + RANDOM)) 2>>"$T/writer.log" &
  pid=$!; track "$pid"
  # mostly short lives (the kill lands early: creation, first pieces), some longer ones
  if [ $((RANDOM % 4)) -eq 0 ]; then sleep 0.$((RANDOM % 4 + 1)); else sleep 0.0$((RANDOM % 10)); fi
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  rc=$?
  [ $rc -eq 137 ] || fail "writer exited by itself with $rc (see $T/writer.log): $(tail -n 3 "$T/writer.log")"
  kills=$((kills + 1))
  OUT=$("$TOOL" check "$root" "$acks" 2>&1) || fail "after kill $kills: $OUT"
done
[ $kills -ge 20 ] || fail "only $kills kills in the time given"
# the run did real work: tasks were completed and removed, and pieces were acknowledged
grep -q '^R ' "$acks" || fail "no task was ever completed"
[ "$(grep -c '^A ' "$acks")" -gt 100 ] || fail "too few acknowledged pieces: $(grep -c '^A ' "$acks")"
pass "$kills SIGKILLs, invariant held each time; last: $OUT; $(grep -c '^A ' "$acks") pieces acknowledged"
