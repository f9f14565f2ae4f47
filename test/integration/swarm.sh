#!/usr/bin/env bash
# The swarm end to end: nginx source, one supernode, 10 concurrent df get on loopback. Every copy
# matches; nginx sends the file about once; most piece bytes move peer to peer; a second round costs
# nginx nothing.
. "$(dirname "$0")/../lib.sh"
cd "$T"
mkdir -p www
make_file www/blob 48
NP=$(free_port); start_nginx "$T/www" "$NP"
SP=$(free_port); start_supernode sn "$SP"
URL=http://127.0.0.1:$NP/blob
N=10
for i in $(seq $N); do
  # a download cap per peer makes the swarm (not loopback speed) the bottleneck, so pieces really move peer to peer
  "$DF" get "$URL" -O "out$i" --supernode "127.0.0.1:$SP" --data "$T/p$i" --seed-idle 20 --limit-rate 24M -q > "get$i.log" 2>&1 &
  echo $! > "get$i.pid"; track "$(cat "get$i.pid")"
done
for i in $(seq $N); do
  await_ok "$(cat "get$i.pid")" 120 "get $i"
  track_seeder "$T/p$i"
done
want=$(sha www/blob)
for i in $(seq $N); do [ "$(sha "out$i")" = "$want" ] || fail "out$i differs from the source"; done
size=$(stat -c %s www/blob)
sent=$(nginx_bytes "$NP" /blob)
echo "nginx sent $sent bytes for a $size-byte file"
[ "$sent" -le $(( size * 11 / 10 )) ] || fail "nginx sent $sent bytes, more than 1.1x the file ($size)"

# each seeder, forked when its get finished, registers again and keeps the handle it had: uploads
# it was serving stay assigned to it instead of being handed to someone else mid-transfer
for _ in $(seq 50); do [ "$(grep -c 'registered again' sn.log)" -ge $N ] && break; sleep 0.1; done
[ "$(grep -c 'registered again' sn.log)" -eq $N ] || fail "expected $N seeders to register again: $(grep registered sn.log)"
while read -r addr h; do
  grep -q "peer $addr registered (handle $h)" sn.log || fail "$addr registered again under handle $h, not its first one: $(grep "$addr" sn.log)"
done < <(sed -n 's/.*peer \(.*\) registered again (handle \([0-9]*\)).*/\1 \2/p' sn.log)
OUT=$("$DF" status --supernode "127.0.0.1:$SP" --json) || fail "status: $OUT"
echo "$OUT" > status.json
super=$(grep -o '"bytes_from_supernode": *[0-9]*' status.json | grep -o '[0-9]*$' | head -1)
p2p=$(grep -o '"bytes_peer_to_peer": *[0-9]*' status.json | grep -o '[0-9]*$' | head -1)
[ -n "$super" ] && [ -n "$p2p" ] || fail "status lacks byte counters: $OUT"
echo "supernode served $super bytes, peers moved $p2p bytes"
[ $(( super * 2 )) -lt $(( super + p2p )) ] || fail "supernode served $super of $((super + p2p)) piece bytes: not well under half"

# second round: new peers, same URL; the supernode answers from its store after revalidation
before=$(nginx_bytes "$NP" /blob)
for i in 1 2 3; do
  within 120 "$DF" get "$URL" -O "again$i" --supernode "127.0.0.1:$SP" --data "$T/q$i" --seed-idle 0 -q || fail "second round get $i"
  [ "$(sha "again$i")" = "$want" ] || fail "again$i differs"
done
after=$(nginx_bytes "$NP" /blob)
[ "$after" -eq "$before" ] || fail "second round cost nginx $((after - before)) bytes"

# a restarted supernode serves what its store holds: the source only revalidates (a 304, no body)
kill "$(cat "$T/sn.pid")"; await "$(cat "$T/sn.pid")" 20 "the supernode after SIGTERM"
start_supernode sn "$SP"
within 120 "$DF" get "$URL" -O again4 --supernode "127.0.0.1:$SP" --data "$T/q4" --seed-idle 0 -q || fail "get after the supernode restarted"
[ "$(sha again4)" = "$want" ] || fail "again4 differs"
after2=$(nginx_bytes "$NP" /blob)
[ "$after2" -eq "$after" ] || fail "after a restart the supernode fetched $((after2 - after)) bytes from the source again"
grep -q "complete in the store" "$T/sn.log" || fail "the restarted supernode did not use its store: $(tail -5 "$T/sn.log")"
pass "swarm: $N peers, nginx sent $sent bytes (file $size), supernode $super, p2p $p2p"
