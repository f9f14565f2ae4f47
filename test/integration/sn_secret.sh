#!/usr/bin/env bash
# A registration's secret (issue 13, item 12): handles are small public numbers (assignments name
# them), so each registration also gets 128 random bits that its later requests carry. Another token
# holder who knows a peer's handle cannot make it leave, report "bad" pieces in its name, keep it
# alive or take its handle over; the peer itself can do all of it.
. "$(dirname "$0")/../lib.sh"
cd "$T"
command -v curl >/dev/null || skip "curl not installed"

sn_token_fixture  # www/f (2 MiB, sha256 in $want) at $URL, supernode sn at $SN, post PATH BODYFILE

reg() { printf 'task: %s\nurl: %s\ndigest: sha256:%s\nport: %s\n' "$want" "$URL" "$want" "$1" > reg; post /v1/register reg; }
reg 9; [ "$code" = 200 ] || fail "register A: $code $ans"
ha=$(sed -n 's/^peer: //p' <<<"$ans"); sa=$(sed -n 's/^secret: //p' <<<"$ans")
reg 10; [ "$code" = 200 ] || fail "register B: $code $ans"
hb=$(sed -n 's/^peer: //p' <<<"$ans"); sb=$(sed -n 's/^secret: //p' <<<"$ans")
: > empty

# B, knowing A's handle, tries to make A leave: without a secret, with its own, with a guessed one
for q in "peer=$ha" "peer=$ha&secret=$sb" "peer=$ha&secret=00000000000000000000000000000000"; do
  post "/v1/leave?task=$want&$q" empty
  [ "$code" = 403 ] || fail "leave $q by another token holder: answered $code ($ans)"
  [[ $ans == *"peer $ha of task"*"secret"* ]] || fail "leave $q: the 403 names no cause: $ans"
done
[[ $sa =~ ^[0-9a-f]{32}$ ]] || fail "no 128-bit hex secret in the register answer: $sa"
[ "$ha" != "$hb" ] && [ "$sa" != "$sb" ] || fail "two registrations share a handle or a secret: $ha/$sa $hb/$sb"
# B reports A's pieces bad, as if it were A (A's handle, B's secret)
printf 'bad: 0 %s\nbad: 1 %s\n' "$hb" "$hb" > bad
post "/v1/work?task=$want&peer=$ha&secret=$sb" bad
[ "$code" = 403 ] || fail "work as A with B's secret: answered $code ($ans)"
# a heartbeat naming A with B's secret keeps nothing alive: "unknown"
printf 'task: %s %s %s\n' "$want" "$ha" "$sb" > hb
post /v1/heartbeat hb
[ "$code" = 200 ] && [[ $ans == *"unknown: $want"* ]] || fail "heartbeat for A with B's secret: $code $ans"
printf 'task: %s %s %s\n' "$want" "$ha" "$sa" > hb
post /v1/heartbeat hb
[ "$code" = 200 ] && [[ $ans != *unknown* ]] || fail "A's own heartbeat: $code $ans"
# A is still registered: its own work request is served, and B's secret works for B (both are held
# up to 10 s, as every work request with nothing new to hand out: asked in parallel)
codes=$(curl -Z --parallel-immediate -sS -m 20 -o /dev/null -o /dev/null -w '%{http_code}\n' -H 'X-DF-Token: T' --data-binary '' \
  "$SN/v1/work?task=$want&peer=$ha&secret=$sa" "$SN/v1/work?task=$want&peer=$hb&secret=$sb" 2>curl.err)
[ "$(echo $codes)" = "200 200" ] || fail "A's and B's own work requests after the spoofing: answered $(echo $codes) $(cat curl.err)"
# a re-registration naming A's handle with B's secret does not take over A's handle
printf 'task: %s\nurl: %s\ndigest: sha256:%s\nport: 9\nreplace: %s %s\n' "$want" "$URL" "$want" "$ha" "$sb" > reg
post /v1/register reg
[ "$code" = 200 ] || fail "register with someone else's replace: $code $ans"
[ "$(sed -n 's/^peer: //p' <<<"$ans")" != "$ha" ] || fail "a replace with the wrong secret took over A's handle"
# A can leave with its own secret
post "/v1/leave?task=$want&peer=$ha&secret=$sa" empty
[ "$code" = 200 ] || fail "A's own leave: $code $ans"
post "/v1/work?task=$want&peer=$ha&secret=$sa" empty
[ "$code" = 410 ] || fail "work after leaving: answered $code ($ans)"
for h in "$hb"; do post "/v1/leave?task=$want&peer=$h&secret=$sb" empty; done
sn_alive sn "the spoofing"

# still a working supernode: a df get through it is correct
expect_rc 0 "$DF" get "$URL" -O out --supernode "127.0.0.1:$SP" --token T --data "$T/p1" --seed-idle 0 --digest "sha256:$want"
[ "$(sha out)" = "$want" ] || fail "df get after the spoofing: wrong bytes"
grep -q "straight from the source" <<<"$OUT" && fail "df get went to the source: $OUT"
sn_alive sn "the final df get"
pass "sn_secret"
