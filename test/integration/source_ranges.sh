#!/usr/bin/env bash
# How a supernode asks a fast source for a file: after the probe, its range requests grow with the
# rate the last one ran at (about 0.1 s each), so nginx on loopback sees a few large ranges instead
# of one per 4 pieces; together they cover the file exactly once and the copy is right. A source
# that answers a range with fewer bytes than asked (RFC 9110 allows it; some servers cap a range's
# size: test/tools/httpserve --max-range, nginx cannot) is asked for the rest: df failed on it
# ("source closed the connection early" after three retries), where curl worked.
. "$(dirname "$0")/../lib.sh"
cd "$T"
mkdir -p www
make_file www/big 64 # 256 pieces of 256 KiB (--piece-size): the probe and a batch at least 4 pieces (1 MiB)
NP=$(free_port)
start_nginx "$T/www" "$NP"
LOG=$T/nginx-$NP/access.log
SP=$(free_port); start_supernode sn "$SP" --piece-size 256k
get() { "$DF" get --supernode "127.0.0.1:$SP" --seed-idle 0 --data "$T/c" "$@"; }

# ranges: "start length" of the 206 answers for PATH, in the order nginx logged them
ranges() { awk -v p="GET $1 HTTP" 'index($0, p) && $9 == 206 {print $10}' "$LOG"; }

expect_rc 0 get "http://127.0.0.1:$NP/big" -O big.out
cmp -s www/big big.out || fail "the copy of big differs"
n=$(ranges /big | wc -l)
sum=$(ranges /big | awk '{s += $1} END {print s + 0}')
max=$(ranges /big | tail -n +2 | sort -n | tail -1)
echo "big: $n range requests, largest after the probe ${max:-0} bytes, $sum bytes in all"
[ "$sum" = $((64 * 1048576)) ] || fail "the ranges of big add up to $sum bytes, not the file's 67108864: $(ranges /big | tr '\n' ' ')"
# before: every request was 4 pieces (1 MiB): 64 requests for 64 MiB
[ "${max:-0}" -gt 1048576 ] || fail "no range request after the probe was larger than 4 pieces: $(ranges /big | tr '\n' ' ')"
[ "$n" -lt 40 ] || fail "$n range requests for 64 MiB from a loopback nginx: $(ranges /big | tr '\n' ' ')"
[ "$max" -le $((64 * 1048576)) ] || fail "a range request of $max bytes (at most 64 MiB)"

# a source capping its ranges at 100000 bytes (less than a piece), through the supernode and straight
SERVE=$top/$B/tools/httpserve
[ -x "$SERVE" ] || fail "no $SERVE (make tools)"
CP=$(free_port)
"$SERVE" --listen "127.0.0.1:$CP" --root "$T/www" --max-range 100000 > serve.log 2>&1 &
track $!
wait_port "$CP"
make_file www/capped 3
expect_rc 0 get "http://127.0.0.1:$CP/capped" -O capped.out
cmp -s www/capped capped.out || fail "the copy from a source capping its ranges differs"
expect_rc 0 "$DF" get "http://127.0.0.1:$CP/capped" -O capped2.out --seed-idle 0 --data "$T/c2"
cmp -s www/capped capped2.out || fail "the copy straight from a source capping its ranges differs"

pass
