#!/usr/bin/env bash
# Many distinct files through one supernode (issue 14): the piece server once kept a fixed table of
# 64 open tasks and answered 404 for every piece of the 65th file, whose df get then spun forever
# while the supernode logged one warning per report (698 MB in 10 minutes). Now: 72 distinct small
# files one after another, every get succeeds within its own deadline, every copy is right, the
# supernode's log stays small; and with a descriptor limit low enough that the piece server must
# evict its open tasks (RLIMIT_NOFILE 256: a budget of a few dozen tasks) the same holds.
. "$(dirname "$0")/../lib.sh"
cd "$T"
N=${MANY_TASKS_N:-72}
mkdir -p www
for i in $(seq "$N"); do head -c 307200 /dev/urandom > "www/f$i"; done
NP=$(free_port); start_nginx "$T/www" "$NP"

run_round() { # NAME [COUNT]: COUNT (default N) gets through supernode NAME on port $SP
  local name=$1 n=${2:-$N} i
  for i in $(seq "$n"); do
    timeout 60 "$DF" get "http://127.0.0.1:$NP/f$i" -O "$name-out$i" --supernode "127.0.0.1:$SP" --data "$T/$name-p" \
        --seed-idle 0 -q > "$name-get$i.log" 2>&1; rc=$?
    if [ $rc -ne 0 ]; then
      echo "--- supernode log (last 20 lines):" >&2; tail -n 20 "$T/$name.log" >&2
      fail "$name: get $i of $n exited $rc (124: no end after 60 s): $(tail -n 5 "$name-get$i.log")"
    fi
    [ "$(sha "$name-out$i")" = "$(sha "www/f$i")" ] || fail "$name: copy $i differs from the source"
  done
  local size; size=$(stat -c %s "$T/$name.log")
  echo "$name: $n gets through one supernode; its log is $size bytes"
  [ "$size" -lt 200000 ] || fail "$name: supernode log grew to $size bytes: $(sort "$T/$name.log" | uniq -c | sort -rn | head -3)"
}

SP=$(free_port); start_supernode sn "$SP"
run_round sn

# a supernode whose descriptor limit cannot hold every task open: its piece server evicts
SP=$(free_port)
( ulimit -n 256; exec "$DF" supernode --listen "127.0.0.1:$SP" --data "$T/low" > "$T/low.log" 2>&1 ) &
echo $! > "$T/low.pid"; track $!
wait_port "$SP"
run_round low 48
grep -q "closing the least recently used" "$T/low.log" || fail "the piece server never reached its budget under RLIMIT_NOFILE 256: $(head -5 "$T/low.log")"
pass "$N distinct files through one supernode, then 48 with RLIMIT_NOFILE 256 (an LRU of 32 task handles), every get succeeded"
