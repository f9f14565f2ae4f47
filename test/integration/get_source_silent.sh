#!/usr/bin/env bash
# A source that accepts connections and never answers (a hung server). The supernode gives up on it
# after its 30 s first-byte timeout and answers the held registration with that cause; the df get
# must wait for that answer: exit 1 after ~30 s naming the source's timeout. Before, the get gave
# up on the registration at the same 30 s, said "no supernode answered", and spent another 30 s
# trying the same silent source straight (60 s, and the wrong cause).
# The silent source is test/tools/silent_listener.py: nginx has no way to accept and never answer.
. "$(dirname "$0")/../lib.sh"
cd "$T"
start_silent_source
SP=$(free_port); start_supernode sn "$SP"

t0=$EPOCHREALTIME
DEADLINE=120 expect_rc 1 "$DF" get "http://127.0.0.1:$HP/f" -O out --supernode "127.0.0.1:$SP" --data "$T/c"
secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
echo "df get of a silent source through the supernode: exit 1 after $secs s: $OUT"
[[ $OUT == *"timeout after 30 s waiting for first byte from 127.0.0.1:$HP"* ]] || fail "the cause is not the source's timeout: $OUT"
[[ $OUT != *"no supernode answered"* ]] || fail "the get gave up on the supernode: $OUT"
awk -v s="$secs" 'BEGIN { exit !(s < 42) }' || fail "the get took $secs s (the supernode's answer comes at 30 s)"
[ ! -e out ] || fail "a failed get left its output"
sn_alive sn "a silent source"
pass "get_source_silent: the supernode's cause after 30 s, not a second try"
