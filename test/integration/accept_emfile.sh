#!/usr/bin/env bash
# Accept on EMFILE (net/loop.c; docs/LIMITS.md): a supernode under `ulimit -n 64` gets 150 connections
# held open. Out of descriptors, its listener pauses 100 ms at a time instead of spinning: the warning
# is counted ("repeated N times"), not printed per attempt, the process uses little CPU meanwhile, and
# once the connections close the listener serves again.
. "$(dirname "$0")/../lib.sh"
command -v python3 >/dev/null || skip "python3 not installed"
command -v curl >/dev/null || skip "curl not installed"

SP=$(free_port)
( ulimit -n 64; exec "$DF" supernode --listen "127.0.0.1:$SP" --data "$T/sn" >"$T/sn.log" 2>&1 ) &
SN=$!
track $SN
wait_port "$SP"
die() { echo "== sn.log" >&2; tail -n 30 "$T/sn.log" >&2; fail "$*"; }
cpu() { awk '{ print $14 + $15 }' "/proc/$SN/stat"; } # user + system, in clock ticks

# the holder: opens 150 connections (those past the backlog may time out), keeps them until $T/release
cat >"$T/hold.py" <<'PY'
import os, socket, sys, time
port, release, ready = int(sys.argv[1]), sys.argv[2], sys.argv[3]
held = []
for _ in range(150):
    try:
        held.append(socket.create_connection(("127.0.0.1", port), timeout=0.5))
    except OSError:
        pass
open(ready, "w").write(str(len(held)))
for _ in range(600):
    if os.path.exists(release):
        break
    time.sleep(0.05)
for s in held:
    s.close()
PY
python3 "$T/hold.py" "$SP" "$T/release" "$T/ready" &
HOLD=$!
track $HOLD
for _ in $(seq 200); do [ -s "$T/ready" ] && break; sleep 0.1; done
[ -s "$T/ready" ] || die "the holder did not connect"
grep -q "accept on port $SP: .*; pausing 100 ms" "$T/sn.log" || { sleep 1; grep -q "accept on port $SP: .*; pausing 100 ms" "$T/sn.log"; } ||
  die "no EMFILE warning with $(cat "$T/ready") connections held under ulimit -n 64"
c0=$(cpu)
sleep 3
c1=$(cpu)
ticks=$(getconf CLK_TCK)
echo "held $(cat "$T/ready") connections; supernode CPU over 3 s out of descriptors: $(awk -v a="$c0" -v b="$c1" -v t="$ticks" 'BEGIN { printf "%.2f s", (b - a) / t }')"
awk -v a="$c0" -v b="$c1" -v t="$ticks" 'BEGIN { exit !((b - a) / t < 0.6) }' || die "the supernode spun while out of descriptors"
: >"$T/release"
wait $HOLD
# the listener serves again (the queued connections it now accepts are already closed)
ok=
for _ in $(seq 50); do curl -sf --max-time 2 "http://127.0.0.1:$SP/v1/status" >/dev/null && { ok=1; break; }; sleep 0.2; done
[ -n "$ok" ] || die "the listener did not recover after the connections closed"
kill -0 $SN 2>/dev/null || die "the supernode died"
kill -TERM $SN; wait $SN 2>/dev/null
grep -q "accept on port $SP: .*(repeated [0-9]* times in the last" "$T/sn.log" || die "the EMFILE warning was not counted"
lines=$(grep -c "accept on port $SP: " "$T/sn.log")
echo "EMFILE warning lines in the log: $lines"
[ "$lines" -le 12 ] || die "the EMFILE warning was logged $lines times"
pass "accept on EMFILE backs off: counted warning, low CPU, the listener recovers"
