#!/usr/bin/env bash
# A supernode over its quota evicts a complete task that peers still seed (issue 14 items 3, 10):
# it is not "in use" at the supernode just because peers hold it. The supernode keeps scheduling
# the task among the peers (a new get is served peer to peer, nothing from the source), and once
# no live peer holds it, a new get makes the supernode fetch it from the source again.
. "$(dirname "$0")/../lib.sh"
cd "$T"
MB=1048576
mkdir -p www
make_file www/big 3
for i in 1 2; do make_file "www/s$i" 1; done
NP=$(free_port); start_nginx "$T/www" "$NP"
SP=$(free_port); start_supernode sn "$SP" --quota 3M --piece-size 262144
quota=$((3 * MB)) one=$((MB + 65536))
store_bytes() { du -s --block-size=1 "$1/tasks" | cut -f1; }
metric() { curl -sf "http://127.0.0.1:$SP/metrics" | sed -n "s/^$1 //p"; }
get() { # NAME STORE OUT SEED_IDLE
  timeout 30 "$DF" get "http://127.0.0.1:$NP/$1" -O "$3" --supernode "127.0.0.1:$SP" --data "$T/$2" --seed-idle "$4" -q \
    > "$3.log" 2>&1 || fail "get $1 into $2 exited $?: $(cat "$3.log")"
  [ "$(sha "$3")" = "$(sha "www/$1")" ] || fail "$3 differs from www/$1"
}

# a seeder holds big (3 MiB, 12 pieces) for as long as the test runs
get big seed big.seed 120
track_seeder "$T/seed"
[ -s "$T/seed/seeder.pid" ] || fail "no seeder left behind in $T/seed"
# two more files take the supernode's store past its quota: big goes although the seeder holds it
get s1 p s1.out 0
get s2 p s2.out 0
used=$(store_bytes "$T/sn")
[ "$used" -le $((quota + one)) ] || fail "the supernode's store takes $used bytes, over its quota $quota + one task: $(grep -i 'store\|evict' sn.log | tail)"
grep -q "files leave the store while 1 peer hold every piece" sn.log || fail "big was not evicted while its seeder held it: $(grep -i 'evict\|store' sn.log | tail)"
echo "supernode store: $used bytes after 5 MiB of files through a 3 MiB quota; big evicted while seeded"

# big again: scheduled among the peers (the seeder uploads), nothing from the source
src=$(metric df_bytes_from_source_total) p2p=$(metric df_bytes_peer_to_peer_total)
get big q big.q 0
src2=$(metric df_bytes_from_source_total) p2p2=$(metric df_bytes_peer_to_peer_total)
[ "$src2" = "$src" ] || fail "the evicted task came from the source again ($src -> $src2 bytes) while its seeder held it"
# (the counter has the pieces reported by the time the get left: its last reports may not be in)
[ $((p2p2 - p2p)) -ge $MB ] || fail "only $((p2p2 - p2p)) bytes peer to peer for the evicted 3 MiB task"

# the seeder leaves: nobody holds big; the next get makes the supernode fetch it again
seeder=$(cat "$T/seed/seeder.pid") # (the seeder takes its pid file with it)
kill "$seeder"
await_gone() { for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done; fail "the seeder did not stop"; }
await_gone "$seeder"
get big r big.r 0
src3=$(metric df_bytes_from_source_total)
grep -q "pieces are at no live peer: fetching it again" sn.log || fail "the supernode did not fetch the evicted task again: $(tail -n 20 sn.log)"
[ $((src3 - src2)) -ge $((3 * MB)) ] || fail "only $((src3 - src2)) bytes from the source for the refetch ($src $src2 $src3): $(curl -s "http://127.0.0.1:$SP/v1/status?format=json")"
sn_alive sn "the refetch"
pass "a seeded task evicted over the quota, scheduled peer to peer, fetched again once nobody held it"
