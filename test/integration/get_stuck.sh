#!/usr/bin/env bash
# A df get whose swarm never delivers (issue 14 item 2): every uploader fails every piece (here the
# supernode's own copy is truncated on disk, so each of its piece replies is cut short; it is never
# blacklisted, being the supernode). The get must back off instead of spinning (~0 CPU over 20 s),
# then after [get] stall_timeout without progress exit 4 with --no-back-to-source, or fall back to
# the source saying why. The stuck get's stall_timeout is 26 s, a little past the CPU sample (2 s + 20 s):
# the default 30 s only made the test wait longer.
# run.sh: alone (CPU seconds and a duration bound)
. "$(dirname "$0")/../lib.sh"
cd "$T"
mkdir -p www
make_file www/f 4
NP=$(free_port); start_nginx "$T/www" "$NP"
SP=$(free_port); start_supernode sn "$SP"
URL=http://127.0.0.1:$NP/f

logs() { for f in "$T"/sn.log "$T"/g-*.log; do [ -f "$f" ] && { echo "== $f"; tail -n 30 "$f"; }; done; }
die() { logs; fail "$*"; }

timeout 60 "$DF" get "$URL" -O out-first --supernode "127.0.0.1:$SP" --data "$T/d-first" --seed-idle 0 -q > g-first.log 2>&1 ||
  die "first get"
# the supernode's digest pass reads its copy after the first get ends: truncate only once it is complete
for _ in $(seq 100); do "$DF" status --supernode "127.0.0.1:$SP" | grep -q "^  complete," && break; sleep 0.1; done
"$DF" status --supernode "127.0.0.1:$SP" | grep -q "^  complete," || die "the supernode never completed the task"
data=$(find "$T/sn/tasks" -name '*.data' | head -n1)
[ -f "$data" ] || die "no data file in the supernode's store"
: > "$data"   # the supernode still believes it holds every piece

# cpu_ticks PID: user + system CPU time of the process, in clock ticks
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)

t0=$(date +%s)
"$DF" get "$URL" -O out-stuck --supernode "127.0.0.1:$SP" --data "$T/d-stuck" --seed-idle 0 --no-back-to-source \
  --stall-timeout 26 --log-level info > g-stuck.log 2>&1 &
pid=$!; track $pid
sleep 2
kill -0 $pid 2>/dev/null || die "the get ended within 2 s: $(cat g-stuck.log)"
c0=$(cpu_ticks $pid)
sleep 20
kill -0 $pid 2>/dev/null || die "the get ended before the CPU sample: $(cat g-stuck.log)"
c1=$(cpu_ticks $pid)
cpu=$(echo "scale=2; ($c1 - $c0) / $HZ" | bc)
echo "stuck get: $cpu CPU seconds in 20 s"
[ "$(echo "$cpu < 1.0" | bc)" = 1 ] || die "the stuck get spins: $cpu CPU seconds in 20 s"
rc=0
for _ in $(seq 400); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
kill -0 $pid 2>/dev/null && die "the stuck get is still running after $(( $(date +%s) - t0 )) s"
wait $pid; rc=$?
[ "$rc" = 4 ] || die "the stuck get exited $rc, wanted 4"
grep -q "no piece arrived" g-stuck.log || die "the stuck get does not say why it gave up"
[ ! -e out-stuck ] || die "the stuck get left an output"
echo "stuck get: exit 4 after $(( $(date +%s) - t0 )) s: $(grep -m1 "no piece arrived" g-stuck.log)"

# the same with a short stall timeout and the source allowed: it falls back, saying why
t0=$(date +%s)
timeout 60 "$DF" get "$URL" -O out-back --supernode "127.0.0.1:$SP" --data "$T/d-back" --seed-idle 0 --stall-timeout 3 \
  --log-level info > g-back.log 2>&1 || die "the fallback get failed"
took=$(( $(date +%s) - t0 ))
[ "$(sha out-back)" = "$(sha www/f)" ] || die "the fallback output is corrupt"
grep -q "straight from the source" g-back.log || die "the fallback get does not say it went to the source"
grep -q "no piece arrived" g-back.log || die "the fallback get does not say why"
[ "$took" -lt 20 ] || die "the fallback took $took s"
echo "fallback get: $took s: $(grep -m1 "straight from the source" g-back.log)"
pass get_stuck
