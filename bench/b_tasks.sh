#!/usr/bin/env bash
# Many distinct tasks through one supernode: TASKS tiny files (default 2,000; the issue's measure is
# 10,000) served by nginx, each fetched once by `df get --seed-idle 0`, PAR at a time (default 4);
# every EVERY tasks (default 200) the gets pause and the supernode's RSS, open descriptors (its own
# /metrics; sockets from /proc/PID/fd) and the tasks it holds in memory are sampled and printed as a
# table; after WARM tasks (default EVERY) and at the end it is sampled again at rest, once it has
# forgotten every task. Exits 1 when a get fails, the run exceeds TIMEOUT seconds, RSS exceeds
# MAX_RSS_MB (64), descriptors beyond two per task held grow by more than FD_SLACK (16) after the first
# sample, sockets exceed SOCK_MAX (4 * PAR + 16), or from the first rest sample to the last RSS grows
# by more than RSS_REST_SLACK_KB (2048) or descriptors by more than REST_FD_SLACK (4), or a sample
# with 100 tasks held or more shows more than TASK_KB (24) kB of RSS per task held. With
# IDLE_SAMPLE=0 there are no rest samples and RSS while running may grow by RSS_SLACK_MB (8) at most.
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
IDLE_SAMPLE=${IDLE_SAMPLE:-1}
WARM=${WARM:-$EVERY}
[ "$IDLE_SAMPLE" = 1 ] || WARM=$TASKS
SOCK_MAX=${SOCK_MAX:-$((4 * PAR + 16))}
RSS_REST_SLACK_KB=${RSS_REST_SLACK_KB:-2048}
TASK_KB=${TASK_KB:-24}
REST_FD_SLACK=${REST_FD_SLACK:-4}
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

tasks_held() { curl -s "http://127.0.0.1:$snport/metrics" | awk '$1 == "df_tasks" { print $2 }'; }

sample() { # TASKS_DONE [rest]: one row of the series
  local rss fds mem socks
  # the supernode's own /metrics gives its tasks, descriptors and RSS at one instant of its loop (a
  # count of /proc/PID/fd and a later metrics read disagree by two descriptors per task forgotten in
  # between); its descriptors include the one answering. The sockets come from /proc, taken with the
  # gets paused: what is left open between them.
  read -r mem fds rss < <(curl -s "http://127.0.0.1:$snport/metrics" | awk '
    $1 == "df_tasks" { m = $2 } $1 == "process_open_fds" { f = $2 } $1 == "process_resident_memory_bytes" { r = $2 }
    END { print m, f, int(r / 1024) }')
  [ -n "$fds" ] && [ -n "$mem" ] || fail "the supernode died or its /metrics lacks df_tasks or process_open_fds; log: $(tail -n 20 "$T/sn.log")"
  socks=$(find "/proc/$snpid/fd" -mindepth 1 -lname 'socket:*' 2>/dev/null | wc -l)
  printf '| %6s | %6.1f | %4d | %4d | %5s | %6.0f |\n' "$1${2:+, at rest}" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" \
    "$fds" "$socks" "$mem" "$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')"
  echo "$1 $rss $fds $mem $socks ${2:-run}" >>"$T/series"
}

rest_sample() { # TASKS_DONE: once the supernode has forgotten every task (TASK_IDLE after the last use)
  local end=$((SECONDS + TASK_IDLE + 60))
  until [ "$(tasks_held)" = 0 ]; do
    [ $SECONDS -lt $end ] || fail "the supernode still holds $(tasks_held) tasks $((TASK_IDLE + 60)) s after the last get"
    sleep 0.5
  done
  sleep 1   # the last connections close
  sample "$1" rest
}

# Samples are taken with the gets paused ($T/pause): a descriptor count and a metrics read taken
# while tasks are made at a hundred a second never agree. A worker waiting there shows $T/paused$W
# (the main loop removes those before pausing again), one that is done $T/exited$W. After the first
# WARM tasks the workers wait until $T/go: the supernode at rest is sampled there.
worker() {
  local w=$1 i dir
  for ((i = w; i < TASKS; i += PAR)); do
    while [ -e "$T/pause" ] || { [ "$i" -ge "$WARM" ] && [ ! -e "$T/go" ]; }; do
      touch "$T/paused$w"
      sleep 0.05
    done
    dir=$(printf '%03d' $((i / 100)))
    if ! timeout 60 "$DF" get "http://127.0.0.1:$nport/$dir/$(printf 'f%05d' "$i")" -O "$T/out$w" --supernode "127.0.0.1:$snport" \
      --data "$T/peer$w" --seed-idle 0 -q >"$T/get$w.log" 2>&1 || ! cmp -s "$T/out$w" "$T/www/$dir/$(printf 'f%05d' "$i")"; then
      echo "task $i: $(cat "$T/get$w.log")" >"$T/failed$w"
      return 1
    fi
    rm -f "$T/out$w"
    echo "$i" >>"$T/done$w"
  done
  touch "$T/exited$w"
}

check_workers() { # fail on a failed get or the run's deadline
  ls "$T"/failed* >/dev/null 2>&1 && fail "$(cat "$T"/failed*); supernode log: $(tail -n 20 "$T/sn.log")"
  awk -v a="$t0" -v b="$EPOCHREALTIME" -v m="$TIMEOUT" 'BEGIN { exit !(b - a > m) }' &&
    fail "only $(cat "$T"/done* 2>/dev/null | wc -l) of $TASKS tasks within ${TIMEOUT}s; supernode log: $(tail -n 20 "$T/sn.log")"
  return 0
}

pause_workers() { # until every worker is between two gets
  local w
  rm -f "$T"/paused*
  touch "$T/pause"
  for ((w = 0; w < PAR; w++)); do
    until [ -e "$T/paused$w" ] || [ -e "$T/exited$w" ]; do
      check_workers
      sleep 0.05
    done
  done
}

echo "## b_tasks: $TASKS distinct tasks through one supernode, $PAR gets at a time, --task-idle $TASK_IDLE"
echo
echo "| tasks | RSS MB | fds | sockets | tasks in memory | seconds |"
echo "|---:|---:|---:|---:|---:|---:|"
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
  check_workers
  done_n=$(cat "$T"/done* 2>/dev/null | wc -l)
  if [ "$done_n" -ge "$next" ] && [ "$next" -le "$TASKS" ]; then
    pause_workers
    done_n=$(cat "$T"/done* 2>/dev/null | wc -l)
    sample "$done_n"
    while [ "$done_n" -ge "$next" ]; do next=$((next + EVERY)); done
    rm -f "$T/pause"
  fi
  [ "$done_n" -ge "$TASKS" ] && break
  if [ "$done_n" -ge "$WARM" ] && [ ! -e "$T/go" ]; then
    pause_workers   # they wait for $T/go already; this makes sure none is still in a get
    rest_sample "$done_n"
    touch "$T/go"
    rm -f "$T/pause"
  fi
  sleep 0.1
done
wait "${wpids[@]}"
[ "$IDLE_SAMPLE" = 1 ] && rest_sample "$TASKS"
echo
# While gets run: each task held in memory has two descriptors (its data file and the piece
# server's handle), and how many are held depends on how fast the gets run (TASK_IDLE seconds of
# them); what must not grow with the number of tasks is the descriptors beyond those, and the
# sockets are bounded by the gets in flight. At rest (every task forgotten, IDLE_SAMPLE=1), what
# the supernode holds after WARM tasks and after all of them must be the same, give or take
# RSS_REST_SLACK_KB and REST_FD_SLACK; without rest samples, RSS while running may not grow by more
# than RSS_SLACK_MB.
awk -v max="$MAX_RSS_MB" -v rs="$RSS_SLACK_MB" -v fs="$FD_SLACK" -v smax="$SOCK_MAX" -v rrs="$RSS_REST_SLACK_KB" -v rfs="$REST_FD_SLACK" -v tkb="$TASK_KB" '
  $1 == 0 { base = $2 }   # the supernode before any task
  $6 == "run" && $1 > 0 && $4 >= 100 { per = ($2 - base) / $4; if (per > permax) permax = per }
  $6 == "run" && $1 > 0 {
    if (!nrun++) { r0 = $2; f0 = fmax = $3 - 2 * $4 }   # the first sample after work began
    if ($2 > rmax) rmax = $2; if ($3 - 2 * $4 > fmax) fmax = $3 - 2 * $4; if ($5 > sockmax) sockmax = $5
  }
  $6 == "rest" { if (!nrest++) { rr0 = $2; rf0 = $3 } rr1 = $2; rf1 = $3 }
  END {
    printf "while running: peak RSS %.1f MB (limit %d), descriptors beyond 2 per task held %d -> peak %d (slack %d), sockets at most %d (limit %d)\n",
      rmax / 1024, max, f0, fmax, fs, sockmax, smax
    if (rmax > max * 1024) { print "FAIL: RSS above the limit"; exit 1 }
    if (fmax - f0 > fs) { print "FAIL: descriptors grow with the number of tasks"; exit 1 }
    if (sockmax > smax) { print "FAIL: more sockets than the gets in flight explain"; exit 1 }
    if (permax > 0) {
      printf "RSS per task held (samples with 100 or more): at most %.1f kB (limit %d)\n", permax, tkb
      if (permax > tkb) { print "FAIL: each task held costs more memory than it should"; exit 1 }
    }
    if (nrest >= 2) {
      printf "at rest: RSS %.0f -> %.0f kB (slack %d), descriptors %d -> %d (slack %d)\n", rr0, rr1, rrs, rf0, rf1, rfs
      if (rr1 - rr0 > rrs) { print "FAIL: RSS at rest grows with the number of tasks"; exit 1 }
      if (rf1 - rf0 > rfs) { print "FAIL: descriptors at rest grow with the number of tasks"; exit 1 }
    } else {
      printf "RSS growth after the first sample %.1f MB (slack %d)\n", (rmax - r0) / 1024, rs
      if (rmax - r0 > rs * 1024) { print "FAIL: RSS grows with the number of tasks"; exit 1 }
    }
  }' "$T/series" || fail "not flat; supernode log: $(tail -n 20 "$T/sn.log")"
pass "b_tasks: $TASKS tasks, supernode RSS and descriptors flat"
