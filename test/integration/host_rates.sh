#!/usr/bin/env bash
# Host-wide rate caps (issue 14 item 5): [common] download_rate and upload_rate hold for all the df
# processes of one host (one store) together, and SIGHUP changes them at run time.
#  1. two concurrent df gets on one host, 4 MiB each, download_rate 2M: together at most ~2 MiB/s
#     (each alone would be allowed 2 MiB/s, so per-process limits would take half the time)
#  2. a detached seeder and a df proxy on one host, upload_rate 1M: curl fetches every piece from
#     both piece servers at once; together at most ~1 MiB/s; df status shows the cap and a rate
#  3. the config file says 512k, SIGHUP to the proxy and the seeder: both log the change, the proxy's
#     status shows the new cap, the seeder is still alive, and the proxy now serves at ~0.5 MiB/s
# Margins are wide (20% over the cap plus one burst) for a loaded machine; the lower bounds only
# check that bytes flowed.
. "$(dirname "$0")/../lib.sh"
command -v curl >/dev/null || skip "curl not installed"
MiB=1048576

mkdir -p "$T/www"
make_file "$T/www/a" 4
make_file "$T/www/b" 4
make_file "$T/www/c" 4
make_file "$T/www/d" 4
nport=$(free_port)
start_nginx "$T/www" "$nport"
snport=$(free_port)
start_supernode sn "$snport"

# the host's config file: every df process of host A reads it (--config)
conf=$T/a.conf
printf '[common]\ndownload_rate = 2M\nupload_rate = 1M\n' >"$conf"

logs() { for f in "$T"/*.log "$T"/A/seeder.log; do [ -f "$f" ] && { echo "== $f"; tail -n 30 "$f"; }; done; }
die() { logs >&2; fail "$*"; }
# at_most BYTES SECONDS CAP: BYTES in SECONDS is within 1.2 x CAP plus a burst of CAP/4 (+16 KiB each)
at_most() {
  awk -v b="$1" -v s="$2" -v c="$3" 'BEGIN { exit !(b <= 1.2 * c * s + c / 4 + 65536) }'
}
rate_of() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.2f MiB/s", b / s / 1048576 }'; }

# 1. two gets at once, straight from the source, one store (no supernode: every byte is a download)
t0=$EPOCHREALTIME
for f in a b; do
  timeout 60 "$DF" get --config "$conf" "http://127.0.0.1:$nport/$f" -O "$T/out-$f" --data "$T/D" -q >"$T/get-$f.log" 2>&1 &
  echo $! >"$T/get-$f.pid"
  track "$(cat "$T/get-$f.pid")"
done
for f in a b; do wait "$(cat "$T/get-$f.pid")" || die "get $f failed: $(cat "$T/get-$f.log")"; done
secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')
cmp -s "$T/www/a" "$T/out-a" && cmp -s "$T/www/b" "$T/out-b" || die "a copy differs"
echo "two gets: 8 MiB in ${secs}s = $(rate_of $((8 * MiB)) "$secs") (cap 2 MiB/s)"
at_most $((8 * MiB)) "$secs" $((2 * MiB)) || die "two gets together went over the host's download cap: $(rate_of $((8 * MiB)) "$secs")"
pass "two concurrent gets stay under the host's download cap together"

# 2. host A: a df get that leaves a seeder, then a df proxy on the same store
seedport=$(free_port)
timeout 60 "$DF" get --config "$conf" "http://127.0.0.1:$nport/c" -O "$T/out-c" --data "$T/A" \
  --supernode "127.0.0.1:$snport" --peer-listen "127.0.0.1:$seedport" --seed-idle 120 >"$T/get-c.log" 2>&1 ||
  die "get c failed: $(cat "$T/get-c.log")"
track_seeder "$T/A"
seeder=$(cat "$T/A/seeder.pid")
kill -0 "$seeder" 2>/dev/null || die "no seeder left behind"
pxport=$(free_port)
"$DF" proxy --config "$conf" --listen "127.0.0.1:$pxport" --push-listen '' --data "$T/A" --supernode "127.0.0.1:$snport" \
  --port-range 40000-49999 >"$T/proxy.log" 2>&1 &
echo $! >"$T/proxy.pid"
track "$(cat "$T/proxy.pid")"
wait_port "$pxport"
piece_port=$(curl -s "http://127.0.0.1:$pxport/v1/status" | awk -F': ' '$1 == "piece-port" { print $2 }')
[ -n "$piece_port" ] || die "no piece-port in the proxy's status"
# the proxy serves only tasks it holds a piece key for (docs/SECURITY.md): file d goes through it
# (df get hands its job to the proxy on the same store), so the proxy seeds d and the seeder seeds c
timeout 60 "$DF" get --config "$conf" "http://127.0.0.1:$nport/d" -O "$T/out-d" --data "$T/A" \
  --supernode "127.0.0.1:$snport" >"$T/get-d.log" 2>&1 || die "get d failed: $(cat "$T/get-d.log")"
cmp -s "$T/www/d" "$T/out-d" || die "copy d differs"
# task_of NAME: the id of the store task for file NAME; key_of ID NAME: its piece key, from a
# registration of our own (a piece server gives pieces only to a registered peer's key)
task_of() { basename "$(grep -l "127.0.0.1:$nport/$1" "$T"/A/tasks/*/*.meta | head -n 1)" .meta; }
key_of() {
  curl -s --max-time 10 --data-binary "$(printf 'task: %s\nurl: http://127.0.0.1:%s/%s\nport: 1\n' "$1" "$nport" "$2")" \
    "http://127.0.0.1:$snport/v1/register" | sed -n 's/^piece-key: //p'
}
idc=$(task_of c) idd=$(task_of d)
[ -n "$idc" ] && [ -n "$idd" ] || die "no store tasks for c and d: $(ls -R "$T/A/tasks")"
keyc=$(key_of "$idc" c) keyd=$(key_of "$idd" d)
[ ${#keyc} = 32 ] && [ ${#keyd} = 32 ] || die "no piece keys from the supernode ('$keyc', '$keyd')"
npieces=$(awk -v s=$((4 * MiB)) 'BEGIN { print s / 262144 }') # 4 MiB in 256 KiB pieces (the supernode's choice)

# fetch_all PORT ID KEY OUT: every piece of task ID from the piece server at PORT over one kept-alive
# connection (one curl: fast enough that the cap, not curl, is what limits), bytes appended to OUT
fetch_all() {
  local n args=()
  for ((n = 0; n < npieces; n++)); do args+=(-o /dev/null "http://127.0.0.1:$1/v1/piece/$2/$n"); done
  curl -s --max-time 60 -H "X-DF-Piece-Key: $3" -w '%{size_download}\n' "${args[@]}" >>"$4"
}
: >"$T/up"
t0=$EPOCHREALTIME
fetch_all "$seedport" "$idc" "$keyc" "$T/up" &
p1=$!
fetch_all "$piece_port" "$idd" "$keyd" "$T/up" &
p2=$!
# the rates in status are each second's bytes, sampled once a second (hostrate_tick): read after
# 1 s, the last sample could still be of the second before the first byte (CI saw upload-rate 0)
sleep 2.5
status=$("$DF" status --proxy "127.0.0.1:$pxport")
wait $p1 $p2
secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')
bytes=$(awk '{ s += $1 } END { print s + 0 }' "$T/up")
[ "$bytes" -eq $((8 * MiB)) ] || die "the piece servers sent $bytes bytes, wanted $((8 * MiB))"
echo "seeder + proxy: 8 MiB in ${secs}s = $(rate_of "$bytes" "$secs") (cap 1 MiB/s)"
at_most "$bytes" "$secs" "$MiB" || die "seeder and proxy together went over the host's upload cap: $(rate_of "$bytes" "$secs")"
grep -q "^upload-cap: $MiB$" <<<"$status" || die "df status lacks the upload cap: $status"
awk -F': ' '$1 == "upload-rate" && $2 > 0 { ok = 1 } END { exit !ok }' <<<"$status" || die "df status shows no upload rate during uploads: $status"
pass "a seeder and the proxy stay under the host's upload cap together; df status shows cap and rate"

# 3. SIGHUP: the file now says 1M
printf '[common]\ndownload_rate = 2M\nupload_rate = 512k\n' >"$conf"
kill -HUP "$(cat "$T/proxy.pid")" "$seeder"
for _ in $(seq 100); do
  grep -q 'reload: \[common\] upload_rate 1048576 -> 524288' "$T/proxy.log" &&
    grep -q 'reload: \[common\] upload_rate 1048576 -> 524288' "$T/A/seeder.log" && break
  sleep 0.1
done
grep -q 'reload: \[common\] upload_rate 1048576 -> 524288' "$T/proxy.log" || die "the proxy did not log the new upload_rate"
grep -q 'reload: \[common\] upload_rate 1048576 -> 524288' "$T/A/seeder.log" || die "the seeder did not log the new upload_rate"
kill -0 "$seeder" 2>/dev/null || die "SIGHUP ended the seeder"
kill -0 "$(cat "$T/proxy.pid")" 2>/dev/null || die "SIGHUP ended the proxy"
curl -s "http://127.0.0.1:$pxport/v1/status" | grep -q "^upload-cap: 524288$" || die "the proxy's status does not show the new cap"
: >"$T/up2"
t0=$EPOCHREALTIME
fetch_all "$piece_port" "$idd" "$keyd" "$T/up2"
secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')
bytes=$(awk '{ s += $1 } END { print s + 0 }' "$T/up2")
[ "$bytes" -eq $((4 * MiB)) ] || die "the proxy sent $bytes bytes after the reload, wanted $((4 * MiB))"
echo "after SIGHUP: 4 MiB in ${secs}s = $(rate_of "$bytes" "$secs") (cap 0.5 MiB/s)"
at_most "$bytes" "$secs" $((MiB / 2)) || die "the proxy ignores the reloaded cap: $(rate_of "$bytes" "$secs")"
pass "SIGHUP changes the host's upload cap at run time"
