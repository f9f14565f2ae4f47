#!/usr/bin/env bash
# A df get handed to the host's df proxy finishes when that proxy dies mid-way (kill -9): df get
# runs the download itself and resumes from the pieces the proxy left in the store, and removes
# the proxy's temporary copy next to the output (a live copy made while pieces landed).
. "$(dirname "$0")/../lib.sh"
cd "$T"
mkdir -p www
make_file www/f 16
NP=$(free_port); start_nginx "$T/www" "$NP"
"$DF" proxy --listen "127.0.0.1:$(free_port)" --push-listen "" --data "$T/px" --limit-rate 2M > px.log 2>&1 &
PX=$!; track $PX
wait_for 10 "the proxy's socket" test -S "$T/px/proxy.sock"
"$DF" get "http://127.0.0.1:$NP/f" -O out --data "$T/px" --seed-idle 0 > get.log 2>&1 &
gp=$!; track $gp
stored() { [ "$(du -s -B1 "$T/px/tasks" 2>/dev/null | cut -f1)" -ge $((3 << 20)) ]; }
wait_for 30 "the proxy fetched nothing" stored
kill -0 $gp 2>/dev/null || fail "the get ended before the proxy was killed: $(cat get.log)"
kill -9 $PX
await $gp 60 "the get whose proxy died"
[ "$RC" -eq 0 ] || fail "the get exited $RC after its proxy died"
cmp -s out www/f || fail "the copy differs"
grep -q "downloading here" get.log || fail "the get did not say it took over: $(cat get.log)"
grep -q "resumed" get.log || fail "the get did not resume from the proxy's pieces: $(cat get.log)"
# the proxy's half-made copy next to the output goes with it (it stayed an hour: 3 MB here)
left=$(find . -maxdepth 1 -name '.out.df-*')
[ -z "$left" ] || fail "the killed proxy's temporary copy is still there: $left"
pass proxy_handoff_kill
