#!/usr/bin/env bash
# A host that seeds many tasks keeps them all alive at its supernode (issue 14). Its heartbeat names
# every task it seeds, in as many requests as the lines need (one full buffer used to drop the
# whole heartbeat). The supernode holds every task the host seeds, under `ulimit -n 128`: a task
# it only schedules keeps its description but not its store files (2 descriptors each), so its
# descriptors follow the transfers, not the tasks (make soak ran out of them at ~500 live tasks).
. "$(dirname "$0")/../lib.sh"
cd "$T"
ulimit -n 128
command -v curl >/dev/null || skip "curl not installed"
N=${SEEDED_TASKS:-60}   # over both budgets under ulimit -n 128 (16 each); SEEDED_TASKS=200 also fills a heartbeat

mkdir -p www
for i in $(seq "$N"); do printf 'file %s\n' "$i" > "www/$i"; done
NP=$(free_port); start_nginx "$T/www" "$NP"
SP=$(free_port); start_supernode sn "$SP" --peer-silence 12
PX=$(free_port)
"$DF" proxy --listen "127.0.0.1:$PX" --push-listen "" --supernode "127.0.0.1:$SP" --data "$T/px" > px.log 2>&1 &
echo $! > px.pid; track $!
wait_for 10 "df proxy's socket" test -S "$T/px/proxy.sock"

# N tasks through the proxy's store: the proxy seeds each one afterwards
for i in $(seq "$N"); do
  "$DF" get "http://127.0.0.1:$NP/$i" -O out --data "$T/px" --supernode "127.0.0.1:$SP" --seed-idle 0 -q ||
    fail "df get $i failed"
  cmp -s out "www/$i" || fail "df get $i: wrong bytes"
done
peers() { curl -sS -m 5 "http://127.0.0.1:$SP/metrics" | awk '$1 == "df_peers" { print $2 }'; }
[ "$(peers)" -ge "$N" ] || fail "the supernode knows $(peers) live peers, not the $N seeded tasks' seeder"
# past peer_silence (heartbeats every 10 s): only heartbeats keep the registrations
sleep 25
got=$(peers)
[ "$got" -ge "$N" ] || fail "after 25 s (peer_silence 12) the supernode kept $got of $N registrations of the seeding host"
fds=$(ls "/proc/$(cat sn.pid)/fd" | wc -l)
[ "$fds" -le 96 ] || fail "the supernode holds $fds descriptors for $N tasks nobody downloads (ulimit -n 128)"
sn_alive sn "the heartbeats"
pass "sn_many_seeded ($N tasks seeded by one host, all kept; supernode descriptors $fds)"
