#!/usr/bin/env bash
# A df get whose supernode dies mid-way and stays down asks it again, backing off, for
# --supernode-retry seconds, then goes to the source keeping its pieces (or, with
# --no-back-to-source, exits 4). Before, it went to the source at once.
. "$(dirname "$0")/../lib.sh"
cd "$T"
mkdir -p www
make_file www/f 16
NP=$(free_port); start_nginx "$T/www" "$NP"
URL=http://127.0.0.1:$NP/f
run_case() { # NAME EXTRA_FLAGS...: start a get, kill its supernode once it has 2 MiB; $gp, $killed_at
  local name=$1; shift
  SP=$(free_port); start_supernode "sn-$name" "$SP"
  "$DF" get "$URL" -O "$name.out" --supernode "127.0.0.1:$SP" --data "$T/$name" --seed-idle 0 --limit-rate 2M \
    --supernode-retry 3 "$@" > "$name.log" 2>&1 &
  gp=$!; track $gp
  stored() { [ "$(du -s -B1 "$T/$name/tasks" 2>/dev/null | cut -f1)" -ge $((2 << 20)) ]; }
  wait_for 30 "$name: the get fetched nothing" stored
  kill -9 "$(cat "sn-$name.pid")"
  killed_at=$(date +%s.%N)
}
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

run_case back
wait_for 10 "the get did not notice" grep -q "asking again for up to 3 s" back.log
wait_for 15 "the get never went to the source" grep -q "straight from the source" back.log
waited=$(since "$killed_at")
awk -v w="$waited" 'BEGIN { exit !(w >= 2.5) }' || fail "the get went to the source $waited s after losing its supernode (wanted about 3 s)"
await $gp 60 "the get after its supernode died"
[ "$RC" -eq 0 ] || fail "the get exited $RC"
cmp -s back.out www/f || fail "the copy differs"
! grep -q "another version" back.log || fail "the get dropped its pieces on going to the source"
echo "went to the source $waited s after the supernode died"

run_case nosource --no-back-to-source
await $gp 30 "the get with --no-back-to-source after its supernode died"
[ "$RC" -eq 4 ] || fail "--no-back-to-source: exit $RC, wanted 4 (no supernode)"
waited=$(since "$killed_at")
awk -v w="$waited" 'BEGIN { exit !(w >= 2.5) }' || fail "--no-back-to-source: gave up $waited s after losing the supernode"
grep -q "no supernode answered" nosource.log || fail "--no-back-to-source: no cause printed"
pass get_supernode_retry
