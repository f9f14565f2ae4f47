#!/usr/bin/env bash
# Many distinct files through one supernode (issue 14): the piece server once kept a fixed table of
# 64 open tasks and answered 404 for every piece of the 65th file, whose df get then spun forever
# while the supernode logged one warning per report (698 MB in 10 minutes). Now: 72 distinct small
# files, every get succeeds within its own deadline, every copy is right, the
# supernode's log stays small; and with a descriptor limit low enough that the piece server must
# evict its open tasks (RLIMIT_NOFILE 256: a budget of a few dozen tasks) the same holds. Four gets
# run at a time (each its own store), as on a busy supernode.
. "$(dirname "$0")/../lib.sh"
cd "$T"
N=${MANY_TASKS_N:-72}
mkdir -p www
for i in $(seq "$N"); do head -c 307200 /dev/urandom > "www/f$i"; done
NP=$(free_port); start_nginx "$T/www" "$NP"

# one_get NAME I: get I through supernode NAME, checked; a line in NAME.failed when it is not right
one_get() {
  local name=$1 i=$2 rc
  timeout 60 "$DF" get "http://127.0.0.1:$NP/f$i" -O "$name-out$i" --supernode "127.0.0.1:$SP" --data "$T/$name-p$((i % 4))" \
      --seed-idle 0 -q > "$name-get$i.log" 2>&1; rc=$?
  if [ $rc -ne 0 ]; then
    echo "get $i exited $rc (124: no end after 60 s): $(tail -n 5 "$name-get$i.log")" >> "$name.failed"
  elif [ "$(sha "$name-out$i")" != "$(sha "www/f$i")" ]; then
    echo "copy $i differs from the source" >> "$name.failed"
  fi
}

run_round() { # NAME [COUNT]: COUNT (default N) gets through supernode NAME on port $SP, 4 at a time
  local name=$1 n=${2:-$N} i w pids=()
  for w in 0 1 2 3; do
    ( for ((i = w + 1; i <= n; i += 4)); do one_get "$name" "$i"; done ) &
    pids+=($!); track $!
  done
  for w in 0 1 2 3; do await "${pids[$w]}" 240 "$name: worker $w"; done
  if [ -s "$name.failed" ]; then
    echo "--- supernode log (last 20 lines):" >&2; tail -n 20 "$T/$name.log" >&2
    fail "$name: $(wc -l < "$name.failed") of $n gets went wrong: $(head -n 3 "$name.failed")"
  fi
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
