#!/usr/bin/env bash
# [common] upload_rate at a supernode (issue 14 item 5): the pieces it serves its peers stay under the
# host's upload cap. A 4 MiB file through a supernode whose upload_rate is 1M: the only uploader is
# the supernode (one downloader, which seeds nothing to anyone), so the get takes at least what
# the cap allows (~3 s with a quarter-second burst), the copy is right, and the supernode's status
# shows the cap. A second get after SIGHUP with no cap comes faster.
. "$(dirname "$0")/../lib.sh"
MiB=1048576
mkdir -p "$T/www"
make_file "$T/www/a" 4
make_file "$T/www/b" 4
nport=$(free_port)
start_nginx "$T/www" "$nport"
conf=$T/sn.conf
printf '[common]\nupload_rate = 1M\n' >"$conf"
snport=$(free_port)
start_supernode sn "$snport" --config "$conf"

# get NAME: through the supernode, a store of its own; seconds in $secs
get() {
  local t0=$EPOCHREALTIME
  timeout 60 "$DF" get "http://127.0.0.1:$nport/$1" -O "$T/out-$1" --data "$T/P$1" \
    --supernode "127.0.0.1:$snport" --seed-idle 0 >"$T/get-$1.log" 2>&1 || fail "get $1 failed: $(cat "$T/get-$1.log")"
  secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')
  cmp -s "$T/www/$1" "$T/out-$1" || fail "copy $1 differs"
}
get a
secs_a=$secs
echo "supernode upload_rate 1 MiB/s: 4 MiB in ${secs_a} s"
# 1.2 x the cap plus a burst of a quarter of it: at least 2.9 s for 4 MiB
awk -v s="$secs_a" 'BEGIN { exit !(4 * 1048576 <= 1.2 * 1048576 * s + 1048576 / 4 + 65536) }' ||
  fail "the supernode served 4 MiB in $secs_a s: faster than its upload_rate of 1 MiB/s"
curl -sS -m 5 "http://127.0.0.1:$snport/v1/status?format=json" | grep -q '"upload_cap":1048576' ||
  fail "the supernode's status does not show the upload cap: $(curl -sS -m 5 "http://127.0.0.1:$snport/v1/status?format=json" | head -c 600)"

printf '[common]\nupload_rate = 0\n' >"$conf"
kill -HUP "$(cat "$T/sn.pid")"
line='reload: \[common\] upload_rate 1048576 -> 0'
for _ in $(seq 100); do grep -q "$line" "$T/sn.log" && break; sleep 0.1; done
grep -q "$line" "$T/sn.log" || fail "the supernode did not log the new upload_rate"
get b
echo "after SIGHUP, no cap: 4 MiB in $secs s"
awk -v a="$secs_a" -v b="$secs" 'BEGIN { exit !(b < a / 2) }' || fail "lifting the cap changed nothing: $secs s, was $secs_a s"
sn_alive sn "the upload cap"
pass "sn_upload_rate (capped $secs_a s, uncapped $secs s)"
