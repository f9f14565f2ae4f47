#!/usr/bin/env bash
# df push to a host group: 8 hosts (df proxy processes with their own stores, piece ports and push
# directories) and a supernode. Every host gets the file under its push directory; the pushing
# machine sends it about once; a host listed twice gets it once; a host that is down makes the exit code non-zero and is named while
# the others succeed; pushing again costs a check; paths that would escape the push directory are
# refused.
. "$(dirname "$0")/../lib.sh"
cd "$T"
make_file big 40
want=$(sha big)
SP=$(free_port); start_supernode sn "$SP"
# a line that is no host stops the push before anything is sent, naming the line (it was dialed:
# "http://x:3" became "http://x:3:65002")
printf '127.0.0.1:1\n\nhttp://x:3\n' > badhosts.txt
expect_rc 2 "$DF" push big --group badhosts.txt --supernode "127.0.0.1:$SP"; expect_in "badhosts.txt:3"
expect_rc 2 "$DF" push big --host user@h1 --supernode "127.0.0.1:$SP"; expect_in "user@h1"
N=8
start_push_hosts $N "$SP" 30M
dead=$(free_port)
{ echo "# a host that is down"; echo "127.0.0.1:$dead"; } >> hosts.txt
# a host listed twice gets the file once (it was pushed to twice, and counted twice)
first=$(head -1 hosts.txt | cut -d' ' -f1)
echo "  $first   # again" >> hosts.txt

OUT=$(within 120 "$DF" push big --group hosts.txt --dest releases/big.bin --mode 0640 --supernode "127.0.0.1:$SP" 2>&1); rc=$?
echo "$OUT"
[ $rc -ne 0 ] || fail "push exited 0 with a host down"
expect_in "$N/$((N + 1)) ok, 1 failed"
expect_in "127.0.0.1:$dead"
expect_in "1 host listed more than once"
for i in $(seq $N); do
  f=$T/h$i/push/releases/big.bin
  [ -f "$f" ] || fail "host $i has no $f"
  [ "$(sha "$f")" = "$want" ] || fail "host $i's copy differs"
  [ "$(stat -c %a "$f")" = 640 ] || fail "host $i's copy has mode $(stat -c %a "$f")"
done
size=$(stat -c %s big)
sent=$(grep -o 'this machine sent [0-9.]* [KMG]*i*B' <<<"$OUT")
echo "pusher: $sent for $size bytes"
# the pushing machine's egress: the file once (to the supernode), not once per host
sent_mib=$(grep -o 'sent [0-9.]* MiB' <<<"$OUT" | grep -o '[0-9.]*')
[ -n "$sent_mib" ] || fail "no egress in the summary: $OUT"
awk -v s="$sent_mib" -v f="$size" 'BEGIN { exit !(s * 1048576 <= f * 1.1) }' || fail "the pusher sent $sent_mib MiB for a $size-byte file"

# again: the hosts have it; nothing moves
OUT=$(within 120 "$DF" push big --group <(grep -v "$dead" hosts.txt) --dest releases/big.bin --supernode "127.0.0.1:$SP" --json 2>&1) || fail "second push: $OUT"
grep -q "\"ok\":$N" <<<"$OUT" || fail "second push: $OUT"

# escapes are refused by every host, and nothing is written outside
OUT=$("$DF" push big --host "$(head -1 hosts.txt | cut -d' ' -f1)" --dest ../../escape.bin --supernode "127.0.0.1:$SP" 2>&1)
[ $? -ne 0 ] || fail "an escaping path was accepted"
expect_in "refused"
[ ! -e "$T/h1/escape.bin" ] && [ ! -e "$T/escape.bin" ] || fail "a file was written outside the push directory"
OUT=$("$DF" push big --host "$(head -1 hosts.txt | cut -d' ' -f1)" --dest /etc/df-escape --supernode "127.0.0.1:$SP" 2>&1)
[ $? -ne 0 ] || fail "an absolute path outside was accepted"
expect_in "outside"
[ ! -e /etc/df-escape ] || fail "/etc/df-escape was written"
pass "push: $N hosts, $sent"
