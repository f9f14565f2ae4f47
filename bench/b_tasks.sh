#!/usr/bin/env bash
# Many distinct tasks through one supernode: TASKS tiny files (default 2,000; the issue's measure is
# 10,000) served by nginx, each fetched once by `df get --seed-idle 0`, PAR at a time (default 4);
# every EVERY tasks (default 200) the supernode's RSS (VmRSS), open descriptors (/proc/PID/fd) and
# the tasks it holds in memory are sampled and printed as a table. Exits 1 when a get fails, the run exceeds TIMEOUT
# seconds, RSS exceeds MAX_RSS_MB (64) or the series is not flat: after the first sample, RSS may
# not grow by more than RSS_SLACK_MB (8) and descriptors (beyond two per task held in memory) by more
# than FD_SLACK (16).
#   TASKS=10000 EVERY=1000 PAR=4 TASK_IDLE=2 bash bench/b_tasks.sh   # ~0.5 s per task on a busy 2-core VM
#
# The supernode runs with --task-idle TASK_IDLE (default 2 s; the setting's default is 60, which
# holds about a minute of tasks in memory, so a longer warm-up before the series is flat).
# test/integration/sn_tasks.sh runs the short version (400 tasks).
TEST_DEADLINE=${TEST_DEADLINE:-$(( ${TIMEOUT:-3600} + 60 ))}   # a benchmark bounds its own waits; not the 285 s of a test
. "$(dirname "$0")/../test/lib.sh"
TASKS=${TASKS:-2000}
EVERY=${EVERY:-200}
PAR=${PAR:-4}
TASK_IDLE=${TASK_IDLE:-2}
TIMEOUT=${TIMEOUT:-3600}
MAX_RSS_MB=${MAX_RSS_MB:-64}
RSS_SLACK_MB=${RSS_SLACK_MB:-8}
FD_SLACK=${FD_SLACK:-16}
[ -x "$DF" ] || fail "no df binary at $DF (make)"
command -v nginx >/dev/null || skip "nginx not installed"

# the files: TASKS of 1-4 KiB under a two-level tree (one directory of 10,000 is slow to list)
mkdir -p "$T/www"
awk -v n="$TASKS" -v d="$T/www" 'BEGIN {
  srand(1)
  for (i = 0; i < n; i++) {
    dir = sprintf("%s/%03d", d, int(i / 100)); if (i % 100 == 0) system("mkdir -p " dir)
    f = sprintf("%s/f%05d", dir, i); s = sprintf("file %d ", i); len = 1024 + int(rand() * 3072)
    while (length(s) < len) s = s sprintf("%d-", i)
    printf "%s", substr(s, 1, len) > f; close(f)
  }
}' || fail "cannot write the files under $T/www"
nport=$(free_port) snport=$(free_port)
start_nginx "$T/www" "$nport" "keepalive_requests 100000;"
start_supernode sn "$snport" --task-idle "$TASK_IDLE"
snpid=$(cat "$T/sn.pid")

sample() { # TASKS_DONE: one row of the series
  local rss fds mem
  rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$snpid/status" 2>/dev/null) || fail "the supernode died; log: $(tail -n 20 "$T/sn.log")"
  fds=$(ls "/proc/$snpid/fd" | wc -l)
  mem=$(curl -s "http://127.0.0.1:$snport/metrics" | awk '$1 == "df_tasks" { print $2 }')
  printf '| %6d | %6.1f | %4d | %5s | %6.0f |\n' "$1" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" "$fds" "${mem:-?}" \
    "$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')"
  echo "$1 $rss $fds ${mem:-0}" >>"$T/series"
}

# worker W: tasks W, W+PAR, W+2*PAR, ... one after another, each with its own output and store
worker() {
  local w=$1 i dir
  for ((i = w; i < TASKS; i += PAR)); do
    dir=$(printf '%03d' $((i / 100)))
    if ! timeout 60 "$DF" get "http://127.0.0.1:$nport/$dir/$(printf 'f%05d' "$i")" -O "$T/out$w" --supernode "127.0.0.1:$snport" \
      --data "$T/peer$w" --seed-idle 0 -q >"$T/get$w.log" 2>&1 || ! cmp -s "$T/out$w" "$T/www/$dir/$(printf 'f%05d' "$i")"; then
      echo "task $i: $(cat "$T/get$w.log")" >"$T/failed$w"
      return 1
    fi
    rm -f "$T/out$w"
    echo "$i" >>"$T/done$w"
  done
}

echo "## b_tasks: $TASKS distinct tasks through one supernode, $PAR gets at a time, --task-idle $TASK_IDLE"
echo
echo "| tasks | RSS MB | fds | tasks in memory | seconds |"
echo "|---:|---:|---:|---:|---:|"
t0=$EPOCHREALTIME
: >"$T/series"
sample 0
wpids=()
for ((w = 0; w < PAR; w++)); do
  worker "$w" &
  track $!
  wpids+=($!)
done
next=$EVERY
while :; do
  done_n=$(cat "$T"/done* 2>/dev/null | wc -l)
  ls "$T"/failed* >/dev/null 2>&1 && fail "$(cat "$T"/failed*); supernode log: $(tail -n 20 "$T/sn.log")"
  while [ "$done_n" -ge "$next" ] && [ "$next" -le "$TASKS" ]; do
    sample "$next"
    next=$((next + EVERY))
  done
  [ "$done_n" -ge "$TASKS" ] && break
  awk -v a="$t0" -v b="$EPOCHREALTIME" -v m="$TIMEOUT" 'BEGIN { exit !(b - a > m) }' &&
    fail "only $done_n of $TASKS tasks within ${TIMEOUT}s; supernode log: $(tail -n 20 "$T/sn.log")"
  sleep 0.2
done
wait "${wpids[@]}"
# a last sample once the tasks had time to go idle and be forgotten (IDLE_SAMPLE=0: no wait, no sample)
if [ "${IDLE_SAMPLE:-1}" = 1 ]; then
  sleep $((TASK_IDLE + 6))
  sample "$TASKS"
fi
echo
# descriptors: each task held in memory has two (its data file and the piece server's handle), and
# how many are held depends on how fast the gets run then (TASK_IDLE seconds of them); what must not
# grow with the number of tasks is the rest
awk -v max="$MAX_RSS_MB" -v rs="$RSS_SLACK_MB" -v fs="$FD_SLACK" '
  NR == 2 { r0 = $2; f0 = fmax = $3 - 2 * $4 }   # the first sample after work began (the idle start is smaller)
  NR >= 2 { if ($2 > rmax) rmax = $2; if ($3 - 2 * $4 > fmax) fmax = $3 - 2 * $4 }
  END {
    printf "peak RSS %.1f MB (limit %d), growth after the first sample %.1f MB (slack %d), descriptors beyond 2 per task held %d -> peak %d (slack %d)\n",
      rmax / 1024, max, (rmax - r0) / 1024, rs, f0, fmax, fs
    if (rmax > max * 1024) { print "FAIL: RSS above the limit"; exit 1 }
    if (rmax - r0 > rs * 1024) { print "FAIL: RSS grows with the number of tasks"; exit 1 }
    if (fmax - f0 > fs) { print "FAIL: descriptors grow with the number of tasks"; exit 1 }
  }' "$T/series" || fail "not flat; supernode log: $(tail -n 20 "$T/sn.log")"
pass "b_tasks: $TASKS tasks, supernode RSS and descriptors flat"
