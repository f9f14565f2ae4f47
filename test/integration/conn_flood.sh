#!/usr/bin/env bash
# A flood of connections that never finish a request (slowloris: a partial head, or nothing) against
# a supernode and a df proxy under `ulimit -n 1024`. Once the flood fills the connection limit
# (half the descriptors), each newcomer closes the connection that has waited longest for its
# head: real requests are answered at once while the flood is held, and a df get through both works.
# Before, the listener paused at the limit (or on EMFILE) until the flood's head timeout (10 s) ran
# out, so every real client waited, and a flood that reconnects kept them out for good. A flood of
# request bodies that stop coming is closed alike once stalled 5 s (it held the listener 60 s).
. "$(dirname "$0")/../lib.sh"
cd "$T"
command -v python3 >/dev/null || skip "python3 not installed"
command -v curl >/dev/null || skip "curl not installed"

mkdir -p www
make_file www/f 4
want=$(sha www/f)
NP=$(free_port); start_nginx "$T/www" "$NP"
URL=http://127.0.0.1:$NP/f
SP=$(free_port)
( ulimit -n 1024; exec "$DF" supernode --listen "127.0.0.1:$SP" --data "$T/sn" >"$T/sn.log" 2>&1 ) &
SN=$!
track $SN
wait_port "$SP"
PP=$(free_port)
( ulimit -n 1024; exec "$DF" proxy --listen "127.0.0.1:$PP" --data "$T/px" --supernode "127.0.0.1:$SP" \
  --peer-listen 127.0.0.1:0 --push-listen '' >"$T/px.log" 2>&1 ) &
PX=$!
track $PX
wait_port "$PP"

# flood PORT: 1200 connections (more than the daemons have descriptors), half with a partial head, half silent, held until $T/release-PORT
cat >"$T/flood.py" <<'PY'
import os, socket, sys, time
port, n, release, ready, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
held = []
for i in range(n):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        if mode == "body":
            s.send(b"POST /v1/register HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nabc")
        elif i % 2:
            s.send(b"GET /v1/status HTTP/1.1\r\nHost: x\r\n")
        held.append(s)
    except OSError:
        pass
open(ready, "w").write(str(len(held)))
for _ in range(1200):
    if os.path.exists(release):
        break
    time.sleep(0.05)
PY
flood() {
  rm -f "$T/ready-$1" "$T/release-$1"
  python3 "$T/flood.py" "$1" 1200 "$T/release-$1" "$T/ready-$1" "${2:-head}" &
  track $!
  for _ in $(seq 300); do [ -s "$T/ready-$1" ] && break; sleep 0.1; done
  [ -s "$T/ready-$1" ] || fail "the flood of port $1 did not connect"
}
# answers URL WHAT [SECS]: the URL answers 200 within SECS (3) s (the flood's head timeout is 10 s)
answers() {
  local code
  code=$(curl -sS -m "${3:-3}" -o /dev/null -w '%{http_code}' "$1" 2>"$T/curl.err") || code=000
  [ "$code" = 200 ] || fail "$2 answered $code during the flood ($(cat "$T/curl.err")); log: $(tail -n 5 "$T"/*.log)"
}

flood "$SP"
answers "http://127.0.0.1:$SP/v1/status" "the supernode"
grep -q "its limit: closing those that wait longest" "$T/sn.log" || fail "no line about the connection limit: $(tail -n 5 "$T/sn.log")"
flood "$PP"
answers "http://127.0.0.1:$PP/v1/status" "the df proxy"
# a df get through the supernode, while both floods are held
expect_rc 0 "$DF" get "$URL" -O out --supernode "127.0.0.1:$SP" --data "$T/c" --seed-idle 0 --stall-timeout 5
[ "$(sha out)" = "$want" ] || fail "df get during the flood: wrong bytes"
[[ $OUT == *"source 0 B"* ]] || fail "df get during the flood went to the source: $OUT"
fds=$(ls "/proc/$SN/fd" | wc -l)
[ "$fds" -le 1024 ] || fail "the supernode holds $fds descriptors"
kill -0 $SN && kill -0 $PX || fail "a daemon died during the flood"
: >"$T/release-$SP"
: >"$T/release-$PP"
# a slow POST flood: bodies that stop after 3 bytes are live exchanges; once stalled 5 s they are
# closed for newcomers (before, accepting paused until their 60 s io timeout)
sleep 1
flood "$SP" body
answers "http://127.0.0.1:$SP/v1/status" "the supernode (slow POST flood)" 15
: >"$T/release-$SP"
pass "conn_flood: real requests answered while a connection flood fills the limit"
