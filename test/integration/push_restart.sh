#!/usr/bin/env bash
# df push survives a supernode restart: the supernode is killed (-9) while hosts fetch and started
# again on the same port and store; the pusher, which keeps serving the file, announces the task to
# the new supernode (it re-registers every few seconds while the push runs), and every host finishes
# with a correct copy.
. "$(dirname "$0")/../lib.sh"
cd "$T"
make_file big 32
want=$(sha big)
SP=$(free_port); start_supernode sn "$SP"
N=4
start_push_hosts $N "$SP" 2M
"$DF" push big --group hosts.txt --dest big.bin --supernode "127.0.0.1:$SP" > push.out 2>&1 &
pusher=$!; track $pusher

# mid-push: once some host holds a few MB, the supernode dies without a word and comes back
stored() { du -s -B1 "$T"/h*/tasks 2>/dev/null | awk '{ s += $1 } END { print s + 0 }'; }
for _ in $(seq 200); do [ "$(stored)" -gt $((4 << 20)) ] && break; sleep 0.05; done
[ "$(stored)" -gt $((4 << 20)) ] || fail "the hosts fetched nothing: $(cat push.out)"
kill -9 "$(cat sn.pid)"; wait "$(cat sn.pid)" 2>/dev/null
mv sn.log sn-before.log
kill -0 "$pusher" 2>/dev/null || fail "the push ended before the restart: $(cat push.out)"
start_supernode sn "$SP"
# a host asking the new supernode for pieces before anyone registered the task makes its piece
# server open the half-written task read-only; the registration that follows must still get it for
# writing (it failed with "being written by another process" for as long as the push ran)
for p in 0 1; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$SP/v1/piece/$want/$p")
  [ "$code" = 200 ] || [ "$code" = 404 ] || fail "piece $p from the restarted supernode: HTTP $code"
done

wait "$pusher"; rc=$?
cat push.out
[ $rc -eq 0 ] || fail "push exited $rc after a supernode restart"
grep -q "$N/$N ok, 0 failed" push.out || fail "not every host succeeded"
for i in $(seq $N); do
  [ "$(sha "$T/h$i/push/big.bin")" = "$want" ] || fail "host $i's copy differs"
done
# the new supernode heard of the task from the pusher itself (it registers with port 0)
grep -q "peer 127.0.0.1:0 registered" sn.log || fail "the pusher did not re-announce the task: $(cat sn.log)"
! grep -q "being written by another process" sn.log || fail "the restarted supernode refused its own task: $(cat sn.log)"
pass "push_restart"
