#!/usr/bin/env bash
# A supernode that lies about a task's piece size (test/tools/ctl_delay.py in front of a real one
# rewrites the registration answer's "piece-size" line). A size no supernode may choose (1 byte) is
# refused at once and the get goes to the source, naming it; before, every piece reply was longer
# than the piece, each fetch failed, and the get retried for ever (bytes kept arriving, so the stall
# timeout never fired). A plausible lie (512 KiB for 256 KiB pieces) makes every piece fail too:
# with no whole piece for the stall timeout plus a piece's deadline the get goes to the source. A
# length the store cannot hold (or none) is refused like a bad piece size. A refused answer's
# registration leaves at once (before, it stayed at the supernode, holding its slots, until the
# peer silence timeout); an answer whose handle or secret could not go into a URL is refused too.
. "$(dirname "$0")/../lib.sh"
cd "$T"
command -v python3 >/dev/null || skip "python3 not installed"
file_and_supernode 3 --piece-size 256k
want=$(sha www/f)

# lie VALUE [KEY]: a relay on port RP whose registration answers say "KEY: VALUE" (piece-size)
lie() {
  RP=$(free_port)
  python3 "$top/test/tools/ctl_delay.py" "$RP" "$SP" "/v1/register:set:${2:-piece-size}=$1" &
  track $!
  wait_port "$RP"
}
# the peers registered at the supernode, all tasks (status lists each under its task)
regs() { curl -s "http://127.0.0.1:$SP/v1/status" | grep -cE '^  127\.0\.0\.1:[0-9]+ '; }
no_regs() { # $1: after what
  local n
  for _ in $(seq 20); do n=$(regs); [ "$n" = 0 ] && return; sleep 0.1; done
  fail "$1: the supernode still holds $n registrations"
}
secs() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# no piece size, or 0: refused alike (a division by zero once the length was checked first)
for v in 0 x; do
  lie "$v"
  DEADLINE=60 expect_rc 0 "$DF" get "$url" -O "outp$v" --supernode "127.0.0.1:$RP" --data "$T/cp$v" --seed-idle 0
  [ "$(sha "outp$v")" = "$want" ] || fail "piece-size $v: wrong bytes"
  expect_in "malformed answer to register: piece-size 0"
  no_regs "piece-size $v"
done

lie 1
t0=$EPOCHREALTIME
DEADLINE=60 expect_rc 0 "$DF" get "$url" -O out1 --supernode "127.0.0.1:$RP" --data "$T/c1" --seed-idle 0
took=$(secs "$t0")
[ "$(sha out1)" = "$want" ] || fail "piece-size 1: wrong bytes"
expect_in "piece-size 1, not 16 KiB to 256 MiB"
awk -v s="$took" 'BEGIN { exit !(s < 5) }' || fail "piece-size 1: the get took $took s"

# lengths the store cannot hold, or none: refused at once, to the source (they failed the get with
# "store: ...meta: length: Invalid argument")
for v in 1000000000000000 -5 abc; do
  lie "$v" length
  DEADLINE=60 expect_rc 0 "$DF" get "$url" -O "outl$v" --supernode "127.0.0.1:$RP" --data "$T/cl$v" --seed-idle 0
  [ "$(sha "outl$v")" = "$want" ] || fail "length $v: wrong bytes"
  expect_in "malformed answer to register"
  expect_in "straight from the source"
  no_regs "length $v"
done

# a secret or handle that is not what a supernode gives: it would go into every later URL
for kv in "secret=0123&task=x" "secret=" "peer=99999999999"; do
  lie "${kv#*=}" "${kv%%=*}"
  DEADLINE=60 expect_rc 0 "$DF" get "$url" -O outs --supernode "127.0.0.1:$RP" --data "$T/cs" --seed-idle 0
  [ "$(sha outs)" = "$want" ] || fail "$kv: wrong bytes"
  expect_in "malformed answer to register: no valid handle and secret"
  rm -f outs
done

# a plausible length larger than the file's: its last pieces never come, and the source, asked
# from where the stored pieces end, answers 416; the probe asks again from byte 0, sees the real
# length and starts over (before: the get failed with "source answered 416")
# (a supernode of its own: the secrets refused above left registrations)
SP0=$SP
SP=$(free_port); start_supernode sn2 "$SP" --piece-size 256k
lie $((4 << 20)) length
SP=$SP0
DEADLINE=60 expect_rc 0 "$DF" get "$url" -O outlong --supernode "127.0.0.1:$RP" --data "$T/clong" --seed-idle 0 \
  --stall-timeout 3
[ "$(sha outlong)" = "$want" ] || fail "length 4 MiB: wrong bytes"
expect_in "supernode 3.0 MiB" # the pieces it has came from it; the source was asked from piece 12
expect_in "another version; starting over"

lie 524288
t0=$EPOCHREALTIME
DEADLINE=60 expect_rc 0 "$DF" get "$url" -O out2 --supernode "127.0.0.1:$RP" --data "$T/c2" --seed-idle 0 \
  --stall-timeout 3 --min-piece-rate 1M
took=$(secs "$t0")
[ "$(sha out2)" = "$want" ] || fail "piece-size 512k: wrong bytes"
expect_in "no piece arrived from the swarm"
expect_in "straight from the source"
# 3 s stall timeout + a 512 KiB piece's deadline at 1 MiB/s (5.5 s)
awk -v s="$took" 'BEGIN { exit !(s < 20) }' || fail "piece-size 512k: the get took $took s"
# assignments whose size is not the piece's (4 GiB more; truncated to 32 bits it looked right, and a
# second copy's buffer was sized by it): no fetch starts, the pieces go back, the stall ends it
RP=$(free_port)
python3 "$top/test/tools/ctl_delay.py" "$RP" "$SP" "/v1/register:size:4294967296" "/v1/work:size:4294967296" &
track $!
wait_port "$RP"
DEADLINE=60 expect_rc 0 "$DF" get "$url" -O outsz --supernode "127.0.0.1:$RP" --data "$T/csz" --seed-idle 0 \
  --stall-timeout 3
[ "$(sha outsz)" = "$want" ] || fail "assign sizes: wrong bytes"
expect_in "with 4295229440 bytes; it has 262144: ignored"
expect_in "straight from the source"
sn_alive sn "the lying relay"
pass "get_lying_supernode: a piece size no supernode may choose is refused, a plausible one ends in a stall"
