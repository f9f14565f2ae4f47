#!/usr/bin/env bash
# A df get whose supernode dies mid-way while some of its pieces are being fetched from a peer that
# has stopped answering goes to the source and finishes: the source fetches those pieces too. (They
# stayed busy with the stuck fetches, the source skipped them, and once those fetches failed nothing
# fetched them again: the get waited forever; and the get took the source's answer for another
# version and closed its task under those fetches: ASan saw a use after free.)
. "$(dirname "$0")/../lib.sh"
cd "$T"
mkdir -p www
make_file www/f 16
NP=$(free_port); start_nginx "$T/www" "$NP"
SP=$(free_port); start_supernode sn "$SP"
URL=http://127.0.0.1:$NP/f
within 60 "$DF" get "$URL" -O seed.out --supernode "127.0.0.1:$SP" --data "$T/seed" --seed-idle 120 -q > seed.log 2>&1 ||
  fail "the seeding get failed"
track_seeder "$T/seed"
seeder=$(cat "$T/seed/seeder.pid")
seedport=$(grep -m1 -o 'peer 127.0.0.1:[0-9]* registered' sn.log | cut -d: -f2 | cut -d' ' -f1)
kill -STOP "$seeder"   # it holds every piece and answers nothing from now on
"$DF" get "$URL" -O out --supernode "127.0.0.1:$SP" --data "$T/p" --seed-idle 0 --supernode-retry 0 --limit-rate 2M \
  --log-level debug > get.log 2>&1 &
gp=$!; track $gp
# once the get waits on the stopped seeder for some pieces, the supernode dies
stuck() { grep -q "assigned from 127.0.0.1:${seedport:-x}" get.log; }
wait_for 20 "the get was never sent to the stopped seeder (port ${seedport:-unknown})" stuck
sleep 1
kill -9 "$(cat sn.pid)"
wait_for 10 "the get did not go to the source" grep -q "straight from the source" get.log
# the source streams the missing pieces about in order: with 3/4 of the file here it went past most of
# those the stuck fetches hold; now those fetches fail
stored() { [ "$(du -s -B1 "$T/p/tasks" | cut -f1)" -ge $((12 << 20)) ]; }
wait_for 30 "the source did not bring 12 MiB" stored
kill -9 "$seeder"
await $gp 60 "the get after its supernode and a peer died"
[ "$RC" -eq 0 ] || fail "the get exited $RC"
[ "$(sha out)" = "$(sha www/f)" ] || fail "the copy differs from the source"
# the source's answer (ETag and Last-Modified) is the version the supernode named (its ETag): the
# pieces fetched so far stay (it used to start over, closing the task under the running fetches)
! grep -q "another version" get.log || fail "the get dropped its pieces on going to the source"
pass swarm_lost_super
