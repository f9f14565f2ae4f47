#!/usr/bin/env bash
# df get -O keeping its copy writes the output while the pieces land (swarm/livecopy.c), under a
# temporary name next to it, so the copy ends with the download: during a rate-limited get the
# temporary file grows and the output's name does not exist yet; at the end the output is right,
# its own inode, no temporary file left. Interrupted, nothing is left but the store's pieces; the
# rerun resumes and writes the whole output.
. "$(dirname "$0")/../lib.sh"
mkdir -p "$T/www" "$T/o"
make_file "$T/www/f" 24
NP=$(free_port)
start_nginx "$T/www" "$NP"
SP=$(free_port)
start_supernode sn "$SP" --piece-size 1M
url=http://127.0.0.1:$NP/f
temp_size() { stat -c %s "$T"/o/."${1:-out}".df-* 2>/dev/null | sort -n | tail -1; }
temp_at_least() { local s; s=$(temp_size "$1"); [ "${s:-0}" -ge "$2" ]; }

# watch the temporary file while a get at 6 MB/s runs (~4 s)
"$DF" get "$url" -O "$T/o/out" --data "$T/P1" --supernode "127.0.0.1:$SP" --seed-idle 0 --limit-rate 6M \
  > "$T/get1.log" 2>&1 &
gp=$!
track "$gp"
seen=0 named=0
while kill -0 "$gp" 2>/dev/null; do
  s=$(temp_size); [ -n "$s" ] && [ "$s" -gt "$seen" ] && seen=$s
  [ -e "$T/o/out" ] && kill -0 "$gp" 2>/dev/null && [ -n "$(temp_size)" ] && named=1
  sleep 0.1
done
wait "$gp" || fail "get: $(cat "$T/get1.log")"
cmp -s "$T/www/f" "$T/o/out" || fail "get: the output differs"
[ "$seen" -ge $((8 << 20)) ] ||
  fail "the output's temporary file held at most $seen bytes during the download (want >= 8 MiB of the 24 being copied as they land)"
[ "$named" = 0 ] || fail "the output had its name while its temporary file was still being written"
[ -z "$(ls -A "$T/o" | grep -v '^out$')" ] || fail "left next to the output: $(ls -A "$T/o")"
[ "$(stat -c %h "$T/o/out")" = 1 ] || fail "the output has other links"
[ "$(stat -c %i "$T/o/out")" != "$(stat -c %i "$(find "$T/P1" -name '*.data')")" ] || fail "the output shares its inode with the store"

# interrupted mid-way: no output, no temporary file; the rerun resumes and writes all of it
"$DF" get "$url" -O "$T/o/out2" --data "$T/P2" --supernode "127.0.0.1:$SP" --seed-idle 0 --limit-rate 4M \
  > "$T/get2.log" 2>&1 &
gp=$!
track "$gp"
wait_for 20 "a temporary file of 4 MiB next to out2" temp_at_least out2 $((4 << 20))
kill -INT "$gp"
wait "$gp" && fail "the interrupted get exited 0"
[ ! -e "$T/o/out2" ] || fail "the interrupted get left out2"
[ -z "$(ls -A "$T/o" | grep -v '^out$')" ] || fail "the interrupted get left: $(ls -A "$T/o")"
timeout 60 "$DF" get "$url" -O "$T/o/out2" --data "$T/P2" --supernode "127.0.0.1:$SP" --seed-idle 0 > "$T/get3.log" 2>&1 ||
  fail "the rerun: $(cat "$T/get3.log")"
grep -q "resumed with" "$T/get3.log" || fail "the rerun did not resume: $(cat "$T/get3.log")"
cmp -s "$T/www/f" "$T/o/out2" || fail "the resumed get's output differs"
[ -z "$(ls -A "$T/o" | grep -v '^out2\?$')" ] || fail "left after the rerun: $(ls -A "$T/o")"
pass "df get writes -O as the pieces land; interrupted, it leaves nothing; resumed, it writes all"
