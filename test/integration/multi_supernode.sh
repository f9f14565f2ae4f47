#!/usr/bin/env bash
# Several supernodes: each task goes to the first supernode in rendezvous-hash order (every host
# agrees without talking); when that supernode dies mid-transfer, the peers move the task to the next
# one and finish, keeping the pieces they have.
. "$(dirname "$0")/../lib.sh"
cd "$T"
mkdir -p www
make_file www/f 32
NP=$(free_port); start_nginx "$T/www" "$NP"
URL=http://127.0.0.1:$NP/f
P=(); for i in 1 2 3; do P[$i]=$(free_port); start_supernode "sn$i" "${P[$i]}"; done
LIST="127.0.0.1:${P[1]},127.0.0.1:${P[2]},127.0.0.1:${P[3]}"
for i in 1 2 3 4; do
  "$DF" get "$URL" -O "o$i" --supernode "$LIST" --data "$T/p$i" --seed-idle 0 --limit-rate 2M > "g$i.log" 2>&1 &
  echo $! > "g$i.pid"; track "$(cat "g$i.pid")"
done
# find the supernode that owns the task: exactly one has it
owner=""
for _ in $(seq 100); do
  for i in 1 2 3; do
    if "$DF" status --supernode "127.0.0.1:${P[$i]}" 2>/dev/null | grep -q "^task "; then owner=$i; break 2; fi
  done
  sleep 0.1
done
[ -n "$owner" ] || fail "no supernode took the task"
n=0; for i in 1 2 3; do "$DF" status --supernode "127.0.0.1:${P[$i]}" | grep -q "^task " && n=$((n+1)); done
[ $n -eq 1 ] || fail "$n supernodes have the task; rendezvous hashing should pick one"
sleep 2   # let the peers get part of the file
# mid-transfer or not at all: on a loaded machine the polling above can outlast a download, and a
# supernode killed after every get finished has nothing to hand over (16 s per get at 2 MB/s)
running=0; for i in 1 2 3 4; do kill -0 "$(cat "g$i.pid")" 2>/dev/null && running=$((running+1)); done
[ $running -gt 0 ] || fail "every get finished before the supernode could be killed mid-transfer (machine too slow?)"
pid=$(cat "$T/sn$owner.pid")
kill -9 "$pid"
echo "killed supernode $owner (pid $pid) mid-transfer"
for i in 1 2 3 4; do await_ok "$(cat "g$i.pid")" 120 "get $i after the failover"; done
for i in 1 2 3 4; do [ "$(sha "o$i")" = "$(sha www/f)" ] || fail "o$i differs"; done
took=""; for i in 1 2 3; do [ $i = "$owner" ] && continue; "$DF" status --supernode "127.0.0.1:${P[$i]}" | grep -q "^task " && took="$took $i"; done
[ -n "$took" ] || fail "no other supernode took the task over"
pass "multi_supernode: owner $owner killed, taken over by$took"
