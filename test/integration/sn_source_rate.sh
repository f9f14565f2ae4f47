#!/usr/bin/env bash
# [supernode] source_rate (issue 14 item 5): the supernode's back-to-source bytes stay under the cap,
# and SIGHUP changes the cap at run time.
#  1. source_rate 1M, a 4 MiB file through the supernode: the get succeeds, the copy is right, and it
#     takes at least the time the cap allows (4 MiB at 1 MiB/s, less one burst: ~3 s)
#  2. the config file now says 8M, SIGHUP to the supernode: it logs the change, is still alive, and the
#     next 4 MiB file comes faster than the first one did
# Margins are wide for a loaded machine (20% over the cap plus a burst of a quarter second).
. "$(dirname "$0")/../lib.sh"
MiB=1048576

mkdir -p "$T/www"
make_file "$T/www/a" 4
make_file "$T/www/b" 4
nport=$(free_port)
start_nginx "$T/www" "$nport"
conf=$T/sn.conf
printf '[supernode]\nsource_rate = 1M\n' >"$conf"
snport=$(free_port)
start_supernode sn "$snport" --config "$conf"

logs() { for f in "$T"/*.log; do [ -f "$f" ] && { echo "== $f"; tail -n 30 "$f"; }; done; }
die() { logs >&2; fail "$*"; }
# at_most BYTES SECONDS CAP: BYTES in SECONDS is within 1.2 x CAP plus a burst of CAP/4 (+64 KiB)
at_most() { awk -v b="$1" -v s="$2" -v c="$3" 'BEGIN { exit !(b <= 1.2 * c * s + c / 4 + 65536) }'; }
rate_of() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.2f MiB/s", b / s / 1048576 }'; }
# get NAME: fetches file NAME through the supernode (a store of its own each time); seconds in $secs
get() {
  local t0=$EPOCHREALTIME
  timeout 60 "$DF" get "http://127.0.0.1:$nport/$1" -O "$T/out-$1" --data "$T/P$1" \
    --supernode "127.0.0.1:$snport" --seed-idle 0 >"$T/get-$1.log" 2>&1 || die "get $1 failed: $(cat "$T/get-$1.log")"
  secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')
  cmp -s "$T/www/$1" "$T/out-$1" || die "copy $1 differs"
}

# 1. under the cap
get a
secs_a=$secs
echo "source_rate 1 MiB/s: 4 MiB in ${secs_a}s = $(rate_of $((4 * MiB)) "$secs_a")"
at_most $((4 * MiB)) "$secs_a" "$MiB" || die "the supernode fetched faster than source_rate: $(rate_of $((4 * MiB)) "$secs_a")"
pass "the supernode's back-to-source bytes stay under [supernode] source_rate; the get succeeds"

# 2. SIGHUP raises the cap
printf '[supernode]\nsource_rate = 8M\n' >"$conf"
kill -HUP "$(cat "$T/sn.pid")"
line='reload: \[supernode\] source_rate 1048576 -> 8388608'
for _ in $(seq 100); do grep -q "$line" "$T/sn.log" && break; sleep 0.1; done
grep -q "$line" "$T/sn.log" || die "the supernode did not log the new source_rate"
sn_alive sn "SIGHUP"
get b
echo "after SIGHUP, source_rate 8 MiB/s: 4 MiB in ${secs}s = $(rate_of $((4 * MiB)) "$secs")"
at_most $((4 * MiB)) "$secs" $((8 * MiB)) || die "over the reloaded cap: $(rate_of $((4 * MiB)) "$secs")"
awk -v a="$secs_a" -v b="$secs" 'BEGIN { exit !(b < a) }' || die "the reloaded cap changed nothing: ${secs}s, was ${secs_a}s"
pass "SIGHUP changes the supernode's source_rate at run time and logs the change"
