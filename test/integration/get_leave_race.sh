#!/usr/bin/env bash
# A df get that leaves its supernode stays gone: its last work request (the final piece reports)
# can reach the supernode after the leave and be answered 410 (no such registration); the peer
# took that for a supernode that forgot it and registered again, just before exiting, so the
# supernode kept sending downloaders to a port nobody listened on (until one of them failed there).
# test/tools/ctl_delay.py makes the race happen every time: work requests held 0.3 s on their way,
# the leave's answer held 0.8 s (the get waits up to 1 s for it).
. "$(dirname "$0")/../lib.sh"
cd "$T"
file_and_supernode 2 --piece-size 1M
RP=$(free_port)
python3 "$top/test/tools/ctl_delay.py" "$RP" "$SP" /v1/work:req:0.3 /v1/leave:ans:0.8 > relay.log 2>&1 &
track $!
wait_port "$RP"
for i in 1 2; do
  timeout -k 5 60 "$DF" get "http://127.0.0.1:$NP/f" -O "out$i" --supernode "127.0.0.1:$RP" --seed-idle 0 \
    --data "$T/c$i" > "get$i.log" 2>&1 || fail "df get $i failed: $(tail -3 "get$i.log")"
  cmp -s www/f "out$i" || fail "out$i differs"
done
sleep 0.5
reg=$(grep -c ' registered (' sn.log)
left=$(grep -c ' left$' sn.log)
[ "$reg" -eq 2 ] && [ "$left" -eq 2 ] ||
  fail "2 gets made $reg registrations and $left leaves: $(grep -E 'registered|left' sn.log)"
echo "ok"
