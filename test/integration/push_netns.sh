#!/usr/bin/env bash
# df push across network namespaces: a pusher, a supernode and 10 hosts, each its own namespace on a
# private bridge (10.202.0.0/16, links capped at 200 Mbit/s both ways), each host running its own
# df proxy. Host 10 is down (its namespace exists, nothing listens). The push exits non-zero, the
# summary says "9/10 ok, 1 failed" and names host 10 with the cause, the 9 copies are right, and the
# pusher's eth0 sent at most 1.15x the file. No namespace of this run survives it.
# Root namespace untouched (bench/lib.sh's network: namespaces, veths and a bridge only).
. "$(dirname "$0")/../lib.sh"
command -v ip >/dev/null && command -v tc >/dev/null || skip "ip or tc (iproute2) not installed"
SUBNET_PREFIX=10.202            # distinct from the bench's 10.201/16
NS_PREFIX=dftest-push-$$-
# shellcheck source=../../bench/lib.sh
. "$top/bench/lib.sh"
ip netns add "${NS_PREFIX}probe" 2>/dev/null || skip "ip netns unavailable here (needs root and network namespaces)"
ip netns del "${NS_PREFIX}probe"
CLEANUPS+=("net_destroy")
cd "$T"

# the file: 100 MB; smaller under the sanitizers (a few times slower per byte)
mb=100
[[ $B == *asan* ]] && mb=24
make_file big "$mb"
want=$(sha big)
size=$(stat -c %s big)

N=10
RATE=200
net_create
hosts=(src sn)
for i in $(seq $N); do hosts+=("$(printf 'c%03d' "$i")"); done
for h in "${hosts[@]}"; do host_add "$h" "$RATE" 0; done
static_neighbours "${hosts[@]}"

SN=$(host_ip sn):8002
nsx sn "$DF" supernode --listen "$SN" --data "$T/sn" > sn.log 2>&1 &
track $!
wait_listen sn 8002 || fail "the supernode does not listen: $(cat sn.log)"
: > hosts.txt
for i in $(seq $N); do
  h=$(printf 'c%03d' "$i")
  echo "$(host_ip "$h"):65002   # host $i" >> hosts.txt
  [ "$i" -eq "$N" ] && continue    # the last host is down: its namespace exists, nothing listens
  nsx "$h" "$DF" proxy --listen 127.0.0.1:65001 --push-listen :65002 --supernode "$SN" --data "$T/h$i" \
    --push-dir "$T/h$i/push" > "h$i.log" 2>&1 &
  track $!
done
for i in $(seq $((N - 1))); do
  wait_listen "$(printf 'c%03d' "$i")" 65002 || fail "host $i's df proxy does not listen: $(cat "h$i.log")"
done

tx0=$(tx_bytes src)
start=$(date +%s.%N)
OUT=$(nsx src "$DF" push big --group hosts.txt --dest big.bin --supernode "$SN" --push-timeout 120 2>&1); rc=$?
secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
tx1=$(tx_bytes src)
echo "$OUT"
[ $rc -ne 0 ] || fail "push exited 0 with a host down"
expect_in "$((N - 1))/$N ok, 1 failed"
dead=$(host_ip "$(printf 'c%03d' "$N")"):65002
expect_in "failed: $dead: unreachable"
for i in $(seq $((N - 1))); do
  f=$T/h$i/push/big.bin
  [ -f "$f" ] || fail "host $i has no $f"
  [ "$(sha "$f")" = "$want" ] || fail "host $i's copy differs"
done
sent=$((tx1 - tx0))
echo "pusher eth0 sent $sent bytes for a $size-byte file ($(awk -v s="$sent" -v f="$size" 'BEGIN { printf "%.3f", s / f }')x) in $secs s"
awk -v s="$sent" -v f="$size" 'BEGIN { exit !(s <= f * 1.15) }' || fail "the pusher sent $sent bytes for a $size-byte file"
awk -v s="$sent" -v f="$size" 'BEGIN { exit !(s >= f) }' || fail "the pusher sent $sent bytes: less than the file, so the counter is not the link's"

# nothing of this run survives it
net_destroy
left=$(our_namespaces)
[ -z "$left" ] || fail "namespaces left behind: $left"
pass "push_netns: $((N - 1))/$N hosts, ${mb} MB in $secs s, pusher sent $sent bytes"
