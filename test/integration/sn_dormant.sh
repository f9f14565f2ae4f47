#!/usr/bin/env bash
# Tasks that hosts only seed do not stay in the supernode's memory for ever (issue 14). A df proxy
# seeds what it fetched and its heartbeats keep the registrations; before, that kept every task it
# ever fetched in the supernode (schedule, peers, descriptors), so memory grew with the number of
# files for as long as the hosts ran. Now a complete task whose live peers all hold it, not
# registered for or asked about for task_idle, is forgotten, the seeders' heartbeats are answered
# `idle:` and they stop naming it (no registration churn), and a later get is served from the
# supernode's store without going to the source again.
. "$(dirname "$0")/../lib.sh"
cd "$T"
command -v curl >/dev/null || skip "curl not installed"
N=5

mkdir -p www
for i in $(seq "$N"); do make_file "www/$i" 1; done
NP=$(free_port); start_nginx "$T/www" "$NP"
SP=$(free_port); start_supernode sn "$SP" --task-idle 3
PX=$(free_port)
"$DF" proxy --listen "127.0.0.1:$PX" --push-listen "" --supernode "127.0.0.1:$SP" --data "$T/px" > px.log 2>&1 &
echo $! > px.pid; track $!
wait_for 10 "df proxy's socket" test -S "$T/px/proxy.sock"

for i in $(seq "$N"); do
  "$DF" get "http://127.0.0.1:$NP/$i" -O "out$i" --data "$T/px" --supernode "127.0.0.1:$SP" --seed-idle 0 -q ||
    fail "df get $i failed"
  cmp -s "out$i" "www/$i" || fail "df get $i: wrong bytes"
done
metric() { curl -sS -m 5 "http://127.0.0.1:$SP/metrics" | awk -v k="$1" '$1 == k { print $2 }'; }
[ "$(metric df_tasks)" -eq "$N" ] || fail "the supernode holds $(metric df_tasks) tasks, not $N"
[ "$(metric df_peers)" -ge "$N" ] || fail "the proxy does not seed the $N tasks: $(metric df_peers) live peers"
src=$(metric df_bytes_from_source_total)

# task_idle (3 s) plus an expiry round (5 s), then two heartbeats (10 s each) answered idle
no_tasks() { [ "$(metric df_tasks)" -eq 0 ]; }
wait_for 20 "the supernode to forget the seeded tasks" no_tasks
regs=$(metric df_registrations_total)
sleep 22
[ "$(metric df_tasks)" -eq 0 ] || fail "the seeded tasks came back: $(metric df_tasks) tasks (registration churn)"
[ "$(metric df_registrations_total)" -eq "$regs" ] ||
  fail "the seeders registered again after their tasks went idle: $regs -> $(metric df_registrations_total) registrations"
grep -q 'only seed' sn.log || fail "the supernode's log does not say why it forgot the seeded tasks"

# another host gets one: from the supernode's store, not the source
"$DF" get "http://127.0.0.1:$NP/1" -O again --data "$T/h2" --supernode "127.0.0.1:$SP" --seed-idle 0 -q ||
  fail "df get after the tasks went idle failed"
cmp -s again www/1 || fail "df get after the tasks went idle: wrong bytes"
[ "$(metric df_bytes_from_source_total)" -eq "$src" ] ||
  fail "the supernode fetched from the source again: $src -> $(metric df_bytes_from_source_total) bytes"
sn_alive sn "the idle tasks"
pass "sn_dormant ($N seeded tasks forgotten, no churn, served from the store after)"
