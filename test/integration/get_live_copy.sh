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
# interrupted_get OUT STORE: a get at 4 MB/s to $T/o/OUT, stopped (SIGINT) once 4 MiB were copied
interrupted_get() {
  "$DF" get "$url" -O "$T/o/$1" --data "$T/$2" --supernode "127.0.0.1:$SP" --seed-idle 0 --limit-rate 4M \
    > "$T/get-$1.log" 2>&1 &
  local gp=$!
  track "$gp"
  wait_for 20 "a temporary file of 4 MiB next to $1" temp_at_least "$1" $((4 << 20))
  kill -INT "$gp"
  wait "$gp" && fail "the interrupted get of $1 exited 0"
  return 0
}

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
interrupted_get out2 P2
[ ! -e "$T/o/out2" ] || fail "the interrupted get left out2"
[ -z "$(ls -A "$T/o" | grep -v '^out$')" ] || fail "the interrupted get left: $(ls -A "$T/o")"
timeout 60 "$DF" get "$url" -O "$T/o/out2" --data "$T/P2" --supernode "127.0.0.1:$SP" --seed-idle 0 > "$T/get3.log" 2>&1 ||
  fail "the rerun: $(cat "$T/get3.log")"
grep -q "resumed with" "$T/get3.log" || fail "the rerun did not resume: $(cat "$T/get3.log")"
cmp -s "$T/www/f" "$T/o/out2" || fail "the resumed get's output differs"
[ -z "$(ls -A "$T/o" | grep -v '^out2\?$')" ] || fail "left after the rerun: $(ls -A "$T/o")"

# killed (-9): its temporary file stays until the next get of that path, which removes it at once
# (its pid is gone and nobody holds its lock; it used to wait until the file was an hour old)
"$DF" get "$url" -O "$T/o/out6" --data "$T/P6" --supernode "127.0.0.1:$SP" --seed-idle 0 --limit-rate 4M \
  > "$T/get-out6.log" 2>&1 &
gp=$!
track "$gp"
wait_for 20 "a temporary file of 4 MiB next to out6" temp_at_least out6 $((4 << 20))
kill -9 "$gp"
wait "$gp" 2>/dev/null
left=$(ls "$T"/o/.out6.df-* 2>/dev/null)
[ -n "$left" ] || fail "a get killed with -9 left no temporary file (the case this checks)"
timeout 60 "$DF" get "$url" -O "$T/o/out6" --data "$T/P6" --supernode "127.0.0.1:$SP" --seed-idle 0 > "$T/get-out6b.log" 2>&1 ||
  fail "the get after the killed one: $(cat "$T/get-out6b.log")"
cmp -s "$T/www/f" "$T/o/out6" || fail "the output after the killed get differs"
[ -z "$(ls -A "$T/o" | grep '^\.out6')" ] || fail "the killed get's temporary file is still there: $(ls -A "$T/o")"
grep -q "removed .*\.out6\.df-.*left by an interrupted df" "$T/get-out6b.log" || fail "the removal was not said: $(cat "$T/get-out6b.log")"
rm -f "$T/o/out6"

# a partial copy of an older version in the store: the get starts over, and so does the live copy
# (nothing of the old version may reach the output, and the old task's lock must not stay held)
interrupted_get out4 P4
cp "$T/www/f" "$T/f.old"
make_file "$T/www/f.new" 24 && mv "$T/www/f.new" "$T/www/f" && touch -d '+1 min' "$T/www/f"
SP2=$(free_port) # a supernode of its own: the first trusts its copy's version for 5 s after a check
start_supernode sn2 "$SP2" --piece-size 1M
timeout 60 "$DF" get "$url" -O "$T/o/out4" --data "$T/P4" --supernode "127.0.0.1:$SP2" --seed-idle 0 > "$T/get6.log" 2>&1 ||
  fail "the get of the new version: $(cat "$T/get6.log")"
grep -q "another version; starting over" "$T/get6.log" || fail "the get did not start over: $(cat "$T/get6.log"; grep -v "registered\|left" "$T/sn2.log" | tail -20)"
cmp -s "$T/www/f" "$T/o/out4" || fail "the new version's output differs from the new file ($(cmp "$T/www/f" "$T/o/out4" 2>&1 | head -1))"
[ -z "$(ls -A "$T/o" | grep -v '^out[24]\?$')" ] || fail "left after the new version: $(ls -A "$T/o")"
cp "$T/www/f" "$T/f.new" && cp "$T/f.old" "$T/www/f" && touch -d '+2 min' "$T/www/f" # the old bytes again, newer

# handed off to a df proxy (its store, download capped at 6 MB/s): the proxy writes it as it lands
"$DF" proxy --listen "127.0.0.1:$(free_port)" --push-listen "" --supernode "127.0.0.1:$SP" --data "$T/px" \
  --download-rate 6M > "$T/px.log" 2>&1 &
track $!
wait_for 10 "df proxy's socket" test -S "$T/px/proxy.sock"
"$DF" get "$url" -O "$T/o/out3" --data "$T/px" --supernode "127.0.0.1:$SP" > "$T/get4.log" 2>&1 &
gp=$!
track "$gp"
seen=0
while kill -0 "$gp" 2>/dev/null; do
  s=$(temp_size out3); [ -n "$s" ] && [ "$s" -gt "$seen" ] && seen=$s
  sleep 0.1
done
wait "$gp" || fail "get handed to the proxy: $(cat "$T/get4.log")"
grep -q "handed-off download .* saved to $T/o/out3" "$T/px.log" || fail "the get was not handed to the proxy: $(cat "$T/px.log")"
cmp -s "$T/www/f" "$T/o/out3" || fail "the proxy's output differs"
[ "$seen" -ge $((8 << 20)) ] ||
  fail "the proxy's temporary file for out3 held at most $seen bytes during the download (want >= 8 MiB)"
[ -z "$(ls -A "$T/o" | grep -v '^out[234]\?$')" ] || fail "left after the proxy's copy: $(ls -A "$T/o")"
# pieces that are not whole 4 KiB blocks: no live copy; the get copies at the end, after its seeder
# took over (fork), and that seeder keeps no descriptor of the parent's copy (one of the data file)
SP3=$(free_port)
start_supernode sn3 "$SP3" --piece-size 100000
timeout 60 "$DF" get "$url" -O "$T/o/out5" --data "$T/P5" --supernode "127.0.0.1:$SP3" --seed-idle 30 > "$T/get7.log" 2>&1 ||
  fail "the get with 100000-byte pieces: $(cat "$T/get7.log")"
track_seeder "$T/P5"
cmp -s "$T/www/f" "$T/o/out5" || fail "the output with 100000-byte pieces differs"
sp=$(cat "$T/P5/seeder.pid")
nd=$(find "/proc/$sp/fd" -lname '*.data' 2>/dev/null | wc -l)
[ "$nd" = 1 ] || fail "the seeder holds $nd descriptors of the data file (want 1: its task's): $(ls -l "/proc/$sp/fd" | grep data)"
kill "$sp"

pass "df get writes -O as the pieces land (itself or handed to df proxy); interrupted, it leaves nothing; resumed, it writes all"
