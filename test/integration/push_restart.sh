#!/usr/bin/env bash
# df push survives a supernode restart: the supernode is killed (-9) while hosts fetch and started
# again on the same port and store; the pusher, which keeps serving the file, announces the task to
# the new supernode (it re-registers every few seconds while the push runs), and every host finishes
# with a correct copy. The hosts ride the restart out: they ask their supernode again (backing off)
# instead of fetching from the pusher, so the pusher sends about one copy of the file, not one per host.
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
kill -9 "$(cat sn.pid)"; await "$(cat sn.pid)" 10 "the killed supernode"
mv sn.log sn-before.log
kill -0 "$pusher" 2>/dev/null || fail "the push ended before the restart: $(cat push.out)"
start_supernode sn "$SP"
# a host asking the new supernode for pieces before anyone registered the task makes its piece
# server open the half-written task read-only; the registration that follows must still get it for
# writing (it failed with "being written by another process" for as long as the push ran)
for p in 0 1; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$SP/v1/piece/$want/$p")
  # (403: without the task's piece key, which only registrants get)
  [ "$code" = 200 ] || [ "$code" = 404 ] || [ "$code" = 403 ] || fail "piece $p from the restarted supernode: HTTP $code"
done

await "$pusher" 120 "the push after a supernode restart"
cat push.out
[ "$RC" -eq 0 ] || fail "push exited $RC after a supernode restart"
grep -q "$N/$N ok, 0 failed" push.out || fail "not every host succeeded"
for i in $(seq $N); do
  [ "$(sha "$T/h$i/push/big.bin")" = "$want" ] || fail "host $i's copy differs"
done
# the new supernode heard of the task from the pusher itself (it registers with port 0)
grep -q "peer 127.0.0.1:0 registered" sn.log || fail "the pusher did not re-announce the task: $(cat sn.log)"
! grep -q "being written by another process" sn.log || fail "the restarted supernode refused its own task: $(cat sn.log)"
# what the pusher sent: about one copy (the supernode's), not one per host (was 4.7x: 151.5 MiB)
sent=$(sed -n 's/.*this machine sent \([0-9.]*\) \([KMG]\)iB for a.*/\1 \2/p' push.out)
[ -n "$sent" ] || fail "push printed no byte count"
awk -v s="$sent" 'BEGIN { split(s, a, " "); m = a[2] == "G" ? 1024 : a[2] == "M" ? 1 : 1 / 1024; exit !(a[1] * m <= 32 * 1.3) }' ||
  fail "the pusher sent ${sent}iB for a 32 MiB file (over 1.3x): the hosts went to it instead of riding out the restart"
grep -q "asking again" "$T"/h*.log || fail "no host noticed the supernode restart"
! grep -q "straight from the source" "$T"/h*.log || fail "a host fetched from the pusher: $(grep -h "straight from the source" "$T"/h*.log)"
pass "push_restart"
