#!/usr/bin/env bash
# Every detached seeder of a store appends to DATA/seeder.log. Over months of gets it grew without
# end; now a seeder that finds it past 1 MiB moves it to seeder.log.1 (replacing the one before) and
# starts a new log, so the two stay near 2 MiB whatever the number of gets.
. "$(dirname "$0")/../lib.sh"
cd "$T"
file_and_supernode 1

# a log already past the cap, as months of seeders leave it
mkdir -p d
yes "2026-01-01T00:00:00.000Z INFO  an old seeder's line" | head -c $((1536 << 10)) > d/seeder.log
old=$(sha d/seeder.log)

seed() { # NAME: a get that seeds 1 s after it finishes, waited until its seeder has exited
  "$DF" get "$url" -O "$1" --supernode "127.0.0.1:$SP" --data "$T/d" --seed-idle 1 --log-level debug > "$1.log" 2>&1 ||
    fail "get $1: $(cat "$1.log")"
  track_seeder "$T/d"
  local p; p=$(cat d/seeder.pid)
  wait_for 20 "the seeder of $1 exits" eval "! kill -0 $p 2>/dev/null"
}
seed one
[ -f d/seeder.log.1 ] || fail "the oversized log was not moved aside: $(ls -l d)"
[ "$(sha d/seeder.log.1)" = "$old" ] || fail "seeder.log.1 is not the old log"
size=$(stat -c %s d/seeder.log)
[ "$size" -gt 0 ] && [ "$size" -lt $((64 << 10)) ] || fail "the new seeder.log is $size bytes"

# under the cap: the next seeder appends to the same log, and .1 is kept
seed two
size2=$(stat -c %s d/seeder.log)
[ "$size2" -gt "$size" ] || fail "the second seeder did not append ($size2 bytes, was $size)"
[ "$(sha d/seeder.log.1)" = "$old" ] || fail "seeder.log.1 changed though the log was under the cap"
pass "seeder_log: past 1 MiB the log moves to seeder.log.1 ($size and then $size2 bytes in the new one)"
