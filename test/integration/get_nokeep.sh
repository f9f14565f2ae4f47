#!/usr/bin/env bash
# df get --no-keep (issue 16 item 5): the downloaded file itself becomes the output, moved out of
# the store, not copied: the output is right, has the user's mode, is the only link to its inode,
# the store keeps nothing of it and no seeder stays behind. Where it cannot move (the store's copy
# was there before: a cached task; the output on another filesystem), it copies, and the store
# keeps the task. The default (--keep) copies and keeps.
. "$(dirname "$0")/../lib.sh"
umask 022
mkdir -p "$T/www"
make_file "$T/www/f" 9
NP=$(free_port)
start_nginx "$T/www" "$NP"
SP=$(free_port)
start_supernode sn "$SP" --piece-size 1M
url=http://127.0.0.1:$NP/f
data_files() { find "$1" -name '*.data' 2>/dev/null | wc -l; }
meta_files() { find "$1" -name '*.meta' 2>/dev/null | wc -l; }

# moved: nothing left in the store, nothing seeding
timeout 60 "$DF" get "$url" -O "$T/out1" --data "$T/P1" --supernode "127.0.0.1:$SP" --no-keep >"$T/get1.log" 2>&1 ||
  fail "get --no-keep: $(cat "$T/get1.log")"
cmp -s "$T/www/f" "$T/out1" || fail "get --no-keep: the output differs"
[ "$(stat -c '%h %a' "$T/out1")" = "1 644" ] || fail "get --no-keep: links and mode $(stat -c '%h %a' "$T/out1"), want 1 644"
[ "$(data_files "$T/P1")" = 0 ] && [ "$(meta_files "$T/P1")" = 0 ] ||
  fail "get --no-keep left the task in the store: $(find "$T/P1" -type f)"
[ -s "$T/P1/seeder.pid" ] && fail "get --no-keep left a seeder (pid $(cat "$T/P1/seeder.pid"))"

# the default: a copy, the store keeps its own (another inode) and seeds it
timeout 60 "$DF" get "$url" -O "$T/out2" --data "$T/P2" --supernode "127.0.0.1:$SP" --seed-idle 30 >"$T/get2.log" 2>&1 ||
  fail "get: $(cat "$T/get2.log")"
track_seeder "$T/P2"
cmp -s "$T/www/f" "$T/out2" || fail "get: the output differs"
[ "$(data_files "$T/P2")" = 1 ] || fail "get (keep) left no data file in the store"
store_ino=$(stat -c %i "$(find "$T/P2" -name '*.data')")
[ "$(stat -c %i "$T/out2")" != "$store_ino" ] || fail "get (keep): the output shares its inode with the store"
kill "$(cat "$T/P2/seeder.pid")" 2>/dev/null
for _ in $(seq 50); do kill -0 "$(cat "$T/P2/seeder.pid")" 2>/dev/null || break; sleep 0.1; done

# a task already in the store (not made by this get): copied, the store's copy stays
timeout 60 "$DF" get "$url" -O "$T/out3" --data "$T/P2" --supernode "127.0.0.1:$SP" --no-keep >"$T/get3.log" 2>&1 ||
  fail "get --no-keep of a cached task: $(cat "$T/get3.log")"
cmp -s "$T/www/f" "$T/out3" || fail "get --no-keep of a cached task: the output differs"
[ "$(data_files "$T/P2")" = 1 ] || fail "get --no-keep took a cached task out of the store"
[ "$(stat -c %i "$(find "$T/P2" -name '*.data')")" = "$store_ino" ] || fail "the cached task's data file changed"
[ "$(stat -c %h "$T/out3")" = 1 ] || fail "get --no-keep of a cached task: the output has other links"

# another filesystem (tmpfs, when there is one): copied
shm=/dev/shm/df-nokeep-$$
if [ -d /dev/shm ] && [ "$(stat -c %d /dev/shm)" != "$(stat -c %d "$T")" ]; then
  timeout 60 "$DF" get "$url" -O "$shm" --data "$T/P4" --supernode "127.0.0.1:$SP" --no-keep >"$T/get4.log" 2>&1 ||
    { rm -f "$shm"; fail "get --no-keep to another filesystem: $(cat "$T/get4.log")"; }
  cmp -s "$T/www/f" "$shm" || { rm -f "$shm"; fail "get --no-keep to another filesystem: the output differs"; }
  rm -f "$shm"
  [ "$(data_files "$T/P4")" = 1 ] || fail "get --no-keep to another filesystem: the store lost its copy before the copy"
fi
pass "get --no-keep moves the file out of the store; copies where it cannot"
