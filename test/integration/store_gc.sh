#!/usr/bin/env bash
# Disk GC that runs (issue 14): a supernode whose [store] quota is smaller than the files it serves
# evicts least recently used tasks by itself; every get succeeds and its store stays within the
# quota plus one task. max_idle empties a store of tasks nobody uses. `df gc` (--dry-run first) does
# the same for a host's store, leaving alone a task a running seeder holds and files that are not
# the store's own. /metrics and df status show the store's numbers.
. "$(dirname "$0")/../lib.sh"
cd "$T"
N=12 MB=1048576
mkdir -p www
for i in $(seq $N); do head -c $MB /dev/urandom > "www/f$i"; done
NP=$(free_port); start_nginx "$T/www" "$NP"
SP=$(free_port); start_supernode sn "$SP" --quota 4M
quota=$((4 * MB)) one=$((MB + 65536))
store_bytes() { du -s --block-size=1 "$1/tasks" | cut -f1; }
for i in $(seq $N); do
  timeout 60 "$DF" get "http://127.0.0.1:$NP/f$i" -O "out$i" --supernode "127.0.0.1:$SP" --data "$T/p" --seed-idle 0 -q \
    > "get$i.log" 2>&1 || { rc=$?; tail -n 20 sn.log >&2; fail "get $i exited $rc: $(cat "get$i.log")"; }
  [ "$(sha "out$i")" = "$(sha "www/f$i")" ] || fail "copy $i differs from the source"
  used=$(store_bytes "$T/sn")
  [ "$used" -le $((quota + one)) ] || { ls -l "$T"/sn/tasks/*/ >&2; tail -n 30 sn.log >&2; fail "after get $i the supernode's store takes $used bytes, over the quota $quota + one task"; }
done
evicted=$(grep -c "evicted task" sn.log)
echo "supernode: $N files of 1 MiB through a 4 MiB quota, $evicted evictions, store now $(store_bytes "$T/sn") bytes"
[ "$evicted" -ge $((N - 5)) ] || fail "only $evicted evictions for $N files in a quota of 4: $(grep -i 'evict\|store' sn.log | tail)"
# an evicted file served again: fetched from the source again, still right
timeout 60 "$DF" get "http://127.0.0.1:$NP/f1" -O again1 --supernode "127.0.0.1:$SP" --data "$T/q" --seed-idle 0 -q || fail "get of an evicted file"
[ "$(sha again1)" = "$(sha www/f1)" ] || fail "again1 differs"
OUT=$(curl -sf "http://127.0.0.1:$SP/metrics") || fail "metrics"
echo "$OUT" | grep -q "^df_store_quota_bytes $quota$" || fail "metrics lack the quota: $(echo "$OUT" | grep store)"
ev=$(echo "$OUT" | sed -n 's/^df_store_evictions_total //p')
[ "${ev:-0}" -ge $((N - 5)) ] || fail "metrics count ${ev:-no} evictions: $(echo "$OUT" | grep store)"
echo "$OUT" | grep -q "^df_store_last_gc_seconds [1-9]" || fail "metrics lack the last GC: $(echo "$OUT" | grep store)"
expect_rc 0 "$DF" status --supernode "127.0.0.1:$SP"
expect_in "of 4.0 MiB quota"; expect_in "tasks evicted"
expect_rc 0 "$DF" status --supernode "127.0.0.1:$SP" --json
expect_in '"quota_bytes":4194304'; expect_in '"evictions":'

# max_idle: tasks nobody used for 2 s go, whatever the quota
SP2=$(free_port); start_supernode idle "$SP2" --quota 0 --max-idle 2
for i in 1 2 3; do
  timeout 60 "$DF" get "http://127.0.0.1:$NP/f$i" -O "idle$i" --supernode "127.0.0.1:$SP2" --data "$T/r" --seed-idle 0 -q || fail "get $i via idle"
done
for _ in $(seq 100); do [ -z "$(ls "$T"/idle/tasks/*/ 2>/dev/null)" ] && break; sleep 0.1; done
[ -z "$(ls "$T"/idle/tasks/*/ 2>/dev/null)" ] || fail "max_idle 2 s left $(ls "$T"/idle/tasks/*/) after 10 s: $(tail idle.log)"
grep -q "idle past the limit" idle.log || fail "no idle eviction logged: $(tail idle.log)"

# df gc on a host's store: a seeder holds one task; a file not the store's own sits among its tasks
timeout 60 "$DF" get "http://127.0.0.1:$NP/f$N" -O held --supernode "127.0.0.1:$SP" --data "$T/p" --seed-idle 60 -q || fail "get with a seeder"
track_seeder "$T/p"
[ -s "$T/p/seeder.pid" ] || fail "no seeder left behind in $T/p"
mkdir -p "$T/p/tasks/zz"; echo "not df's" > "$T/p/tasks/zz/notes.txt"
before=$(store_bytes "$T/p")
expect_rc 0 "$DF" gc --data "$T/p" --quota 2M --dry-run
expect_in "would evict"; echo "$OUT" | tail -n 2
[ "$(store_bytes "$T/p")" = "$before" ] || fail "a dry run changed the store: $before -> $(store_bytes "$T/p")"
expect_rc 0 "$DF" gc --data "$T/p" --quota 2M
expect_in "evicted"
after=$(store_bytes "$T/p")
echo "host store: $before bytes before df gc --quota 2M, $after after"
[ "$after" -le $((2 * MB + one)) ] || fail "after df gc the host store takes $after bytes: $OUT"
expect_rc 0 "$DF" gc --data "$T/p" --quota 1
expect_in "in use by a running df left alone"
id=$(ls "$T"/p/tasks/*/*.meta | head -1)
[ "$(ls "$T"/p/tasks/*/*.meta | wc -l)" = 1 ] || fail "expected only the seeder's task left: $(ls "$T"/p/tasks/*/)"
[ -f "$T/p/tasks/zz/notes.txt" ] || fail "df gc removed a file that is not the store's"
expect_rc 2 "$DF" gc --data "$T/p" --quota 101%
expect_in "quota"

# a detached seeder and a df proxy run GC on their store too
for i in 1 2 3; do
  timeout 60 "$DF" get "http://127.0.0.1:$NP/f$i" -O "s$i" --supernode "127.0.0.1:$SP" --data "$T/s" --seed-idle 0 -q || fail "get $i into s"
done
timeout 60 "$DF" get "http://127.0.0.1:$NP/f4" -O s4 --supernode "127.0.0.1:$SP" --data "$T/s" --seed-idle 30 --quota 1M > s4.log 2>&1 || fail "get f4 with a seeder: $(cat s4.log)"
track_seeder "$T/s"
for _ in $(seq 100); do [ "$(grep -c 'evicted task' "$T/s/seeder.log" 2>/dev/null)" -ge 3 ] && break; sleep 0.1; done
[ "$(grep -c 'evicted task' "$T/s/seeder.log")" -ge 3 ] || fail "the seeder did not evict 3 tasks over its 1 MiB quota: $(cat "$T/s/seeder.log")"
[ "$(ls "$T"/s/tasks/*/*.meta | wc -l)" = 1 ] || fail "the seeder's store holds $(ls "$T"/s/tasks/*/*.meta | wc -l) tasks, not just its own"
for i in 1 2 3; do
  timeout 60 "$DF" get "http://127.0.0.1:$NP/f$i" -O "x$i" --supernode "127.0.0.1:$SP" --data "$T/x" --seed-idle 0 -q || fail "get $i into x"
done
PP=$(free_port)
"$DF" proxy --listen "127.0.0.1:$PP" --push-listen "" --supernode "127.0.0.1:$SP" --data "$T/x" --quota 1M > proxy.log 2>&1 &
track $!
wait_port "$PP"
for _ in $(seq 100); do [ "$(grep -c 'evicted task' proxy.log)" -ge 2 ] && break; sleep 0.1; done
OUT=$(curl -sf "http://127.0.0.1:$PP/v1/status") || fail "proxy status"
echo "$OUT" | grep -q "^store-quota: 1048576$" || fail "proxy status lacks the quota: $OUT"
echo "$OUT" | grep -q "^store-evictions: [23]$" || fail "the proxy did not evict over its quota: $OUT $(cat proxy.log)"
OUT=$(curl -sf "http://127.0.0.1:$PP/metrics") || fail "proxy metrics"
echo "$OUT" | grep -q "^# TYPE df_proxy_store_bytes gauge" || fail "proxy metrics lack the store: $OUT"
# a download the proxy makes (df get hands it over) runs GC before the new task: quota + one task
for i in 5 6 7; do
  timeout 60 "$DF" get "http://127.0.0.1:$NP/f$i" -O "y$i" --data "$T/x" > "y$i.log" 2>&1 || fail "get $i via the proxy: $(cat "y$i.log")"
  [ "$(sha "y$i")" = "$(sha "www/f$i")" ] || fail "y$i differs"
  used=$(store_bytes "$T/x")
  grep -q "through the host's df proxy" "y$i.log" || fail "get $i was not handed to the proxy: $(cat "y$i.log")"
  [ "$used" -le $((MB + one)) ] || fail "the proxy's store takes $used bytes after get $i, over its 1 MiB quota + one task: $(tail proxy.log)"
done
pass "a 4 MiB quota held over $N files, max_idle emptied a store, df gc (dry run, quota, busy task, foreign file)"
