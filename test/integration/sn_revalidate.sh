#!/usr/bin/env bash
# A revalidation the source refuses (issue 13, item 2). A registration of a complete task after
# revalidate_after (5 s) asks the source with that registration's headers; a real nginx answers 412
# or 503 when the registration sent "X-Fail: 412|503". Only a 200/206 whose validators differ means
# "the source changed", 304 "unchanged": any other status is an error for that registrant,
# answered at once with the cause, and leaves the cached version alone. Later registrations work,
# the supernode stays alive (once it replied on a freed request here), and a df get is correct.
. "$(dirname "$0")/../lib.sh"
cd "$T"
command -v curl >/dev/null || skip "curl not installed"

mkdir -p www
make_file www/f 1
want=$(sha www/f)
NP=$(free_port)
start_nginx "$T/www" "$NP" 'location /f { if ($http_x_fail = "412") { return 412; } if ($http_x_fail = "503") { return 503; } }'
URL=http://127.0.0.1:$NP/f
SP=$(free_port); start_supernode sn "$SP"
SN=http://127.0.0.1:$SP

# the task, complete at the supernode; its id from the answer to a registration
expect_rc 0 "$DF" get "$URL" -O out0 --supernode "127.0.0.1:$SP" --data "$T/p0" --seed-idle 0
[ "$(sha out0)" = "$want" ] || fail "first df get: wrong bytes"
id=$(curl -sS "$SN/v1/status?format=json" | grep -o '"id":"[0-9a-f]*"' | head -n1 | cut -d'"' -f4)
[ -n "$id" ] || fail "no task in the supernode's status"

# reg [HEADER]: a registration (port 9: a peer that never fetches), status in $code, time in $secs
reg() {
  { printf 'task: %s\nurl: %s\nport: 9\n' "$id" "$URL"; [ -z "${1:-}" ] || printf 'header: %s\n' "$1"; } > reg.body
  read -r code secs < <(curl -sS -m 20 -o ans -w '%{http_code} %{time_total}\n' --data-binary @reg.body "$SN/v1/register" 2>curl.err || echo "000 20")
  ans=$(cat ans 2>/dev/null)
}
# fast SECS: the answer came at once (the bug held it for 30 s, or for ever)
fast() { awk -v s="$1" 'BEGIN { exit !(s < 5) }'; }
leave_last() { # lets the port-9 registration go, so it holds no assignments
  local h s; h=$(sed -n 's/^peer: //p' <<<"$ans"); s=$(sed -n 's/^secret: //p' <<<"$ans")
  [ -n "$h" ] && curl -sS -m 5 -X POST "$SN/v1/leave?task=$id&peer=$h&secret=$s" > /dev/null
}

for st in 412 503; do
  sleep 6   # past revalidate_after: the next registration revalidates
  reg "X-Fail: $st"
  [ "$code" = 502 ] || fail "a revalidation refused with $st: registration answered $code after $secs s ($ans $(cat curl.err))"
  fast "$secs" || fail "the refused revalidation ($st) was answered only after $secs s"
  [[ $ans == *"source answered $st"*revalidation* ]] || fail "the 502 does not name the source's $st: $ans"
  sn_alive sn "a $st to the revalidation"
  # the next registration revalidates again, gets 304, and is answered as usual
  reg
  [ "$code" = 200 ] && fast "$secs" || fail "the registration after a $st revalidation: $code after $secs s ($ans $(cat curl.err))"
  grep -q '^state: complete' <<<"$ans" || fail "the task is no longer complete after a $st revalidation: $ans"
  leave_last
  sn_alive sn "the registration after a $st revalidation"
done

# the cached version was left alone: nothing fetched again, a df get is correct and comes from the swarm
OUT=$(curl -sS "$SN/v1/status?format=json")
grep -q "\"bytes_from_source\":$((1 << 20))," <<<"$OUT" || fail "the supernode fetched the file again: $OUT"
expect_rc 0 "$DF" get "$URL" -O out1 --supernode "127.0.0.1:$SP" --data "$T/p1" --seed-idle 0
[ "$(sha out1)" = "$want" ] || fail "df get after the refused revalidations: wrong bytes"
sn_alive sn "the last df get"

# the source changes (same length, new bytes and validators): past revalidate_after a df get has
# the new version at once (the bug: the complete task made the new fetch end with 0 bytes, the old
# bytes stayed, and the registration waited 30 s before the get went to the source by itself)
make_file www/f 1
touch -d '+1 min' www/f # a Last-Modified that differs even within the same second
want2=$(sha www/f)
[ "$want2" != "$want" ] || fail "make_file wrote the same bytes twice"
sleep 6
t0=$EPOCHREALTIME
expect_rc 0 "$DF" get "$URL" -O out2 --supernode "127.0.0.1:$SP" --data "$T/p2" --seed-idle 0
secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')
[ "$(sha out2)" = "$want2" ] || fail "df get after the source changed: not the new bytes; supernode log: $(tail -n 4 sn.log)"
fast "$secs" || fail "df get after the source changed took $secs s"
[[ $OUT == *"source 0 B"* ]] || fail "df get after the source changed went to the source itself: $OUT"
OUT=$(curl -sS "$SN/v1/status?format=json")
grep -q "\"bytes_from_source\":$((2 << 20))," <<<"$OUT" || fail "the supernode did not fetch the new version once: $OUT"
sn_alive sn "the new version"
pass "sn_revalidate"
