#!/usr/bin/env bash
# Malformed bodies from a token holder (issue 13, item 1): a line that is no "key: value", a NUL in
# the first line, random bytes, to /v1/register, /v1/work, /v1/leave and /v1/heartbeat, get a 400
# naming the cause (or another answer), never a crash (the registration parser once printed a line
# its reader had not filled); afterwards the supernode still serves a correct df get.
. "$(dirname "$0")/../lib.sh"
cd "$T"
command -v curl >/dev/null || skip "curl not installed"

sn_token_fixture  # www/f (2 MiB, sha256 in $want) at $URL, supernode sn at $SN, post PATH BODYFILE

# --- item 1: the bodies from the issue, each a 400 with the cause ---
printf 'a b\n' > b1
post /v1/register b1
[ "$code" = 400 ] || fail "register 'a b': answered $code ($ans $(cat "$T/sn_post.err"))"
[[ $ans == "register: line 1: "*"key: value"* ]] || fail "register 'a b': no cause named: $ans"
sn_alive sn "register 'a b'"
printf 'task: 00\x00\nurl: http://127.0.0.1:1/\n' > b2
post /v1/register b2
[ "$code" = 400 ] && [[ $ans == *"NUL"* ]] || fail "register with a NUL: answered $code: $ans"
sn_alive sn "a NUL in the first line"
printf 'task: 00\nurl: http://127.0.0.1:1/\n' > b3
post /v1/register b3
[ "$code" = 400 ] && [[ $ans == *"task: not a task id"* ]] || fail "register task 00: answered $code: $ans"
printf 'url: %s\n' "$URL" > b4
post /v1/register b4
[ "$code" = 400 ] && [[ $ans == *"needs task and url"* ]] || fail "register without task: answered $code: $ans"
printf 'task: %s\nurl: %s\nheader: A: b\rc\n' "$want" "$URL" > b5
post /v1/register b5
[ "$code" = 400 ] && [[ $ans == *"line 3: header: contains a CR"* ]] || fail "register with a CR: answered $code: $ans"
printf 'ok 1 2\n' > w1
post "/v1/work?task=$want&peer=1&secret=00" w1
[ "$code" = 400 ] && [[ $ans == "work: line 1: "* ]] || fail "work 'ok 1 2': answered $code: $ans"
printf 'ok: x 2\n' > w2
post "/v1/work?task=$want&peer=1&secret=00" w2
[ "$code" = 400 ] && [[ $ans == *"ok: not 'PIECE UPLOADER"* ]] || fail "work 'ok: x 2': answered $code: $ans"
printf 'task: zz\x01 1 2\n' > h1
post /v1/heartbeat h1
[ "$code" = 400 ] && [[ $ans == "heartbeat: line 1: task: "* ]] || fail "heartbeat with junk: answered $code: $ans"
: > empty
post "/v1/leave?task=../../x&peer=1" empty
[ "$code" = 400 ] && [[ $ans == *"task= is not a task id"* ]] || fail "leave with junk: answered $code: $ans"
sn_alive sn "the malformed bodies"

# random bodies (and random bytes after valid lines) to every endpoint: each is answered. The valid
# lines name a task of their own (a missing file) so that a registration the junk leaves intact
# does not join the task the df get below fetches.
other=$(printf other | sha256sum | cut -d' ' -f1)
for i in $(seq 40); do
  head -c $(( RANDOM % 700 + 1 )) /dev/urandom > r
  { printf 'task: %s\nurl: %s\ndigest: sha256:%s\n' "$other" "$URL.missing" "$other"; head -c $(( RANDOM % 300 )) /dev/urandom; } > rv
  args=()   # one curl for the round's 8 requests (a curl start costs more than the requests)
  for body in r rv; do
    for ep in /v1/register "/v1/work?task=$want&peer=$(( RANDOM % 4 ))" /v1/heartbeat "/v1/leave?task=$want&peer=9"; do
      args+=(--next -sS -m 10 -o /dev/null -w '%{http_code}\n' -H 'X-DF-Token: T' --data-binary "@$body" "$SN$ep")
    done
  done
  codes=$(curl "${args[@]:1}" 2>curl.err)
  if [ "$(grep -c '^[1-5][0-9][0-9]$' <<<"$codes")" -ne 8 ]; then
    cp r /tmp/df-sn_abuse-crash-r.bin; cp rv /tmp/df-sn_abuse-crash-rv.bin
    fail "a random body went unanswered in round $i (codes: $(echo $codes); $(cat curl.err)); bodies in /tmp/df-sn_abuse-crash-*.bin"
  fi
  sn_alive sn "random bodies (round $i)"
done

# still a working supernode: a df get through it is correct
expect_rc 0 "$DF" get "$URL" -O out --supernode "127.0.0.1:$SP" --token T --data "$T/p1" --seed-idle 0 --digest "sha256:$want"
[ "$(sha out)" = "$want" ] || fail "df get after the abuse: wrong bytes"
grep -q "straight from the source" <<<"$OUT" && fail "df get went to the source: $OUT"
sn_alive sn "the final df get"
pass "sn_abuse"
