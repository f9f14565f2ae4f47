#!/usr/bin/env bash
# A task whose store files the supernode closed (parked: issue 14) may be evicted by another process's
# GC, since nothing locks it now (`df gc` on the supernode's store, a cron job). The supernode notices
# at its next round (5 s), lets the task go and logs why; the next get fetches it again and is right,
# promptly (it must not be sent to a supernode copy that is gone and wait for the stall timeout).
. "$(dirname "$0")/../lib.sh"
cd "$T"
command -v curl >/dev/null || skip "curl not installed"
mkdir -p www
make_file www/f 2
NP=$(free_port); start_nginx "$T/www" "$NP"
SP=$(free_port); start_supernode sn "$SP" --task-idle 600
metric() { curl -sS -m 5 "http://127.0.0.1:$SP/metrics" | awk -v k="$1" '$1 == k { print $2 }'; }
expect_rc 0 "$DF" get "http://127.0.0.1:$NP/f" -O out1 --data "$T/p1" --supernode "127.0.0.1:$SP" --seed-idle 0 -q
cmp -s out1 www/f || fail "first get: wrong bytes"
parked() { [ "$(metric df_tasks_parked)" = 1 ]; }
wait_for 15 "the supernode to close the task's files" parked

# another process evicts everything it may: the parked task goes
expect_rc 0 "$DF" gc --data "$T/sn" --quota 1
[ -z "$(find "$T/sn/tasks" -name '*.data' 2>/dev/null)" ] || fail "df gc left the parked task's data: $(find "$T/sn/tasks")"
gone() { grep -q 'left the store while closed here' sn.log; }
for _ in $(seq 100); do gone && break; sleep 0.1; done

t0=$EPOCHREALTIME
expect_rc 0 "$DF" get "http://127.0.0.1:$NP/f" -O out2 --data "$T/p2" --supernode "127.0.0.1:$SP" --seed-idle 0 -q
secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')
cmp -s out2 www/f || fail "the get after the eviction: wrong bytes"
awk -v s="$secs" 'BEGIN { exit !(s < 10) }' || fail "the get after the eviction took $secs s"
gone || fail "the supernode's log does not say its task's files were taken"
sn_alive sn "the eviction by another process"

# the same at a host: df proxy seeds what it fetched, with its files closed once unread; a df gc on
# its store takes them; the next get through that store fetches again instead of failing
PX=$(free_port)
"$DF" proxy --listen "127.0.0.1:$PX" --push-listen "" --supernode "127.0.0.1:$SP" --data "$T/px" > px.log 2>&1 &
echo $! > px.pid; track $!
wait_for 10 "df proxy's socket" test -S "$T/px/proxy.sock"
make_file www/g 1
expect_rc 0 "$DF" get "http://127.0.0.1:$NP/g" -O g1 --data "$T/px" --supernode "127.0.0.1:$SP" --seed-idle 0 -q
cmp -s g1 www/g || fail "get through the proxy: wrong bytes"
sleep 16   # past the 5 s and the next heartbeat round (10 s), when a host closes what it only seeds
expect_rc 0 "$DF" gc --data "$T/px" --quota 1
[ -z "$(find "$T/px/tasks" -name '*.data' 2>/dev/null)" ] || fail "df gc left the proxy's seeded task: $(find "$T/px/tasks")"
t0=$EPOCHREALTIME
expect_rc 0 "$DF" get "http://127.0.0.1:$NP/g" -O g2 --data "$T/px" --supernode "127.0.0.1:$SP" --seed-idle 0 -q
hsecs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')
cmp -s g2 www/g || fail "the get through the proxy after its store's GC: wrong bytes"
awk -v s="$hsecs" 'BEGIN { exit !(s < 10) }' || fail "the get through the proxy after its store's GC took $hsecs s"
kill -0 "$(cat px.pid)" || fail "df proxy died"
pass "sn_parked_gc (get after another process's GC: supernode $secs s, host $hsecs s)"
