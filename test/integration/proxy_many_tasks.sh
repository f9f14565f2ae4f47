#!/usr/bin/env bash
# A host's df proxy seeds every task it downloaded until store GC evicts it: over months, thousands.
# Each such task kept its download's transfer state (64 piece-fetch slots and a 16 KiB report
# buffer: 80 KB allocated, ~17 KB of it resident) for as long as it seeded. Now that state is
# allocated when a transfer starts and freed at the next heartbeat once the download is over: after
# TASKS hand-offs of small distinct files the proxy's RSS at rest grows by at most KB_PER_TASK per
# task (measured here: ~5; before: ~17), and its descriptors stay few (seeded tasks' files are closed
# when unasked). Under ASan, RSS says nothing (its quarantine keeps freed memory): that build checks
# memory errors on the allocate-and-release path and the descriptors.
. "$(dirname "$0")/../lib.sh"
cd "$T"
TASKS=${TASKS:-200}
KB_PER_TASK=${KB_PER_TASK:-9}
mkdir -p www
for i in $(seq "$TASKS"); do head -c 20000 /dev/urandom > "www/f$i"; done
NP=$(free_port); start_nginx "$T/www" "$NP"
SP=$(free_port); start_supernode sn "$SP"
"$DF" proxy --listen "127.0.0.1:$(free_port)" --push-listen "" --supernode "127.0.0.1:$SP" --data "$T/px" > px.log 2>&1 &
PX=$!; track $PX
wait_for 10 "the proxy's socket" test -S "$T/px/proxy.sock"
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$PX/status"; }
fds() { find "/proc/$PX/fd" -mindepth 1 -maxdepth 1 | wc -l; }
# at rest: the heartbeat (every 10 s) frees what finished downloads held and closes the files of
# tasks unasked for 5 s, so 16 s after the last get every one of them has been through it
heartbeat_passed() { sleep 16; }

get_range() { # FROM TO
  local i
  for i in $(seq "$1" "$2"); do
    "$DF" get "http://127.0.0.1:$NP/f$i" -O "out$i" --data "$T/px" -q > "get$i.log" 2>&1 || fail "get $i: $(cat "get$i.log")"
  done
}
get_range 1 20
heartbeat_passed
r0=$(rss) f0=$(fds)
get_range 21 "$TASKS"
heartbeat_passed
r1=$(rss) f1=$(fds)
cmp -s "out$TASKS" "www/f$TASKS" || fail "the last hand-off's file differs"
n=$(grep -c "handed-off download" px.log)
[ "$n" -eq "$TASKS" ] || fail "$n of the $TASKS gets were handed to the proxy"
per=$(( (r1 - r0) / (TASKS - 20) ))
echo "after 20 tasks: RSS $r0 kB, $f0 descriptors; after $TASKS: RSS $r1 kB ($per kB a task), $f1 descriptors"
[ "$f1" -le $((f0 + 8)) ] || fail "descriptors grew with the tasks: $f0 -> $f1"
if [[ $B != *asan* ]]; then
  [ "$per" -le "$KB_PER_TASK" ] || fail "each seeded task costs $per kB of the proxy's RSS at rest (at most $KB_PER_TASK)"
fi
pass "proxy_many_tasks: $per kB of RSS a seeded task, descriptors $f0 -> $f1"
