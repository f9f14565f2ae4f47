#!/usr/bin/env bash
# Many peers at once on loopback: PEERS concurrent `df get` processes (default 200) fetch one small
# file through one supernode, all released together; prints the supernode's CPU seconds and peak RSS,
# the peers' costs, where the bytes came from and whether every copy is right. Exits 1 when a copy is
# missing or wrong or the run does not end within TIMEOUT seconds.
#   PEERS=200 SIZE=8M TIMEOUT=180 bash bench/b_many.sh
#
# Every peer gets its own piece-server port (--peer-listen 127.0.0.1:PORT, picked free and distinct)
# and its own store under /tmp/dftest.* (test/lib.sh's scratch dir); --seed-idle SEED_IDLE (3 s)
# keeps the detached seeders short-lived, and the ones still alive at the end are stopped by the pid
# in each store's seeder.pid.
TEST_DEADLINE=${TEST_DEADLINE:-7200}   # a benchmark bounds its own waits; not the 285 s of a test
. "$(dirname "$0")/../test/lib.sh"
PEERS=${PEERS:-200}
SIZE=${SIZE:-8M}
TIMEOUT=${TIMEOUT:-180}
SEED_IDLE=${SEED_IDLE:-3}
[ -x "$DF" ] || fail "no df binary at $DF (make)"
"$DF" get --help >/dev/null 2>&1 || skip "df has no get command"
command -v nginx >/dev/null || skip "nginx not installed"
command -v flock >/dev/null || skip "flock not installed (util-linux)"
[ -x /usr/bin/time ] || skip "/usr/bin/time not installed (apt-get install time)"

# stop every seeder the peers left, by the pid each wrote into its store (also on early exit); a
# seeder that went idle has exited already and its pid may belong to someone else by now, so only a
# process whose command line names that store is stopped
stop_seeders() {
  local f p
  for f in "$T"/p*/df/seeder.pid; do
    [ -s "$f" ] || continue
    p=$(cat "$f")
    [[ $p =~ ^[0-9]+$ ]] || continue
    tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -- "${f%/seeder.pid}" && kill "$p" 2>/dev/null
  done
  return 0
}
CLEANUPS+=(stop_seeders)

mkdir -p "$T/www"
head -c "$SIZE" /dev/urandom >"$T/www/file" || fail "cannot write a $SIZE file under $T"
bytes=$(stat -c %s "$T/www/file")

# free_ports K: K distinct ports no socket uses now (one ss listing, then random picks), below the
# kernel's ephemeral range so that the peers' own outgoing connections cannot take one first
free_ports() {
  local k=$1 p n=0 lo hi
  local -A used=()
  read -r lo _ </proc/sys/net/ipv4/ip_local_port_range
  hi=$((lo - 1)) lo=$((lo > 12000 ? 10000 : 1024))
  [ $((hi - lo)) -gt $((4 * k)) ] || fail "too few ports below the ephemeral range for $k peers"
  for p in $(ss -Htan | awk '{ n = split($4, a, ":"); print a[n] }'); do used[$p]=1; done
  while [ "$n" -lt "$k" ]; do
    p=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
    [ -n "${used[$p]:-}" ] && continue
    used[$p]=1
    echo "$p"
    n=$((n + 1))
  done
}
# (free_port of test/lib.sh draws from the ephemeral range, where the peers' own connections of a
# previous run may still hold the port)
mapfile -t ports < <(free_ports $((PEERS + 2)))
snport=${ports[$PEERS]} nport=${ports[$((PEERS + 1))]}
start_nginx "$T/www" "$nport" "keepalive_requests 10000;"
"$DF" supernode --listen "127.0.0.1:$snport" --data "$T/sn" >"$T/sn.log" 2>&1 &
snpid=$!
track "$snpid"
wait_port "$snport"

# cpu_busy: "BUSY TOTAL" jiffies of the whole machine (its busy share during the run, whoever used it)
cpu_busy() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat; }

# All peers wait on a shared lock the bench holds exclusively, then start at once.
exec 9>"$T/barrier"
flock -x 9
for i in $(seq "$PEERS"); do
  d=$T/p$i
  mkdir -p "$d"
  (
    exec 9>&-
    flock -s "$T/barrier" /usr/bin/time -f '%e %U %S %M' -o "$d/time" \
      "$DF" get "http://127.0.0.1:$nport/file" -O "$d/file" --supernode "127.0.0.1:$snport" --data "$d/df" \
      --peer-listen "127.0.0.1:${ports[$((i - 1))]}" --seed-idle "$SEED_IDLE" >"$d/log" 2>&1
    echo $? >"$d/rc"
  ) &
  track $!
done
sleep 1 # every peer forked and blocked on the lock (they do nothing before it)
c0=$(awk '{ print $14 + $15 }' "/proc/$snpid/stat")
busy0=$(cpu_busy)
t0=$EPOCHREALTIME
flock -u 9
exec 9>&-

# wait for every peer (each writes rc when its df get exits), bounded by TIMEOUT
ndone=0
while :; do
  ndone=$(find "$T" -maxdepth 2 -name rc | wc -l)
  [ "$ndone" -ge "$PEERS" ] && break
  if awk -v a="$t0" -v b="$EPOCHREALTIME" -v m="$TIMEOUT" 'BEGIN { exit !(b - a > m) }'; then break; fi
  sleep 0.2
done
makespan=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
busy=$(awk -v a="$busy0" -v b="$(cpu_busy)" 'BEGIN { split(a, x, " "); split(b, y, " ");
  printf "%d", (y[2] > x[2]) ? 100 * (y[1] - x[1]) / (y[2] - x[2]) : 0 }')
sn_dead=''
if c1=$(awk '{ print $14 + $15 }' "/proc/$snpid/stat" 2>/dev/null); then
  sn_hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$snpid/status")
  status=$("$DF" status --supernode "127.0.0.1:$snport" --json 2>/dev/null)
else
  wait "$snpid"
  rc=$?
  sn_dead="the supernode died ($( ((rc > 128)) && echo "signal $((rc - 128))" || echo "exit $rc")) after $(grep -c ' registered ' "$T/sn.log") registrations"
  c1=$c0 sn_hwm=0 status=''
fi
stop_seeders
[ "$ndone" -ge "$PEERS" ] || fail "only $ndone of $PEERS peers finished within ${TIMEOUT}s (supernode log: $T/sn.log; KEEP=1 keeps it)"

# every copy: exit 0 and the same bytes; collect costs and where the bytes came from
bad=0 fellback=0
cpus=() rss=() times=()
for i in $(seq "$PEERS"); do
  d=$T/p$i
  rc=$(cat "$d/rc")
  if [ "$rc" != 0 ] || ! cmp -s "$T/www/file" "$d/file"; then
    bad=$((bad + 1))
    echo "b_many: peer $i: exit $rc, copy $(cmp -s "$T/www/file" "$d/file" && echo right || echo WRONG/missing): $(tail -n 2 "$d/log")" >&2
    continue
  fi
  grep -q 'straight from the source' "$d/log" && fellback=$((fellback + 1))
  read -r e u s m <"$d/time"
  times+=("$e")
  cpus+=("$(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }')")
  rss+=("$m")
done
stat_of() { sort -g | awk '{ v[NR] = $1 } END { if (!NR) { print "- / -"; exit } printf "%s / %s", v[int((NR + 1) / 2)], v[NR] }'; }
jget() { grep -o "\"$1\": *[0-9]*" <<<"$status" | head -n 1 | grep -o '[0-9]*$'; }
src=$(jget bytes_from_source) sup=$(jget bytes_from_supernode) p2p=$(jget bytes_peer_to_peer)
x() { awk -v v="${1:-}" -v b="$bytes" 'BEGIN { if (v == "") print "-"; else printf "%.2f", v / b }'; }

echo "## b_many: $PEERS peers at once on loopback, one $(awk -v b="$bytes" 'BEGIN { printf "%g", b / 1048576 }') MiB file"
echo
echo "$PEERS \`df get\` processes released together through one supernode ($(nproc) cores, $(uname -r)), each with"
echo "its own store and piece server, --seed-idle $SEED_IDLE; pieces as the supernode picks them; no caps."
echo
if [ -n "$sn_dead" ]; then
  echo "**FAILED: $sn_dead**; the peers fell back to the source. Last lines of its log:"
  echo
  tail -n 3 "$T/sn.log" | sed 's/^/    /'
  echo
fi
echo "| peers | copies right | makespan s | supernode CPU s | supernode peak RSS MB | df get s (median / max) | df get CPU s (median / max) | df get peak RSS MB (median / max) | from source ×S | from supernode ×S | peer to peer ×S | fell back to source | work requests | machine CPU busy |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '| %d | %d/%d | %s | %.2f | %.1f | %s | %s | %s | %s | %s | %s | %d | %s | %d%% |\n' "$PEERS" $((PEERS - bad)) "$PEERS" "$makespan" \
  "$(awk -v a="$c0" -v b="$c1" -v hz="$(getconf CLK_TCK)" 'BEGIN { print (b - a) / hz }')" \
  "$(awk -v k="$sn_hwm" 'BEGIN { print k / 1024 }')" \
  "$(printf '%s\n' "${times[@]}" | stat_of)" "$(printf '%s\n' "${cpus[@]}" | stat_of)" \
  "$(printf '%s\n' "${rss[@]}" | awk '{ print $1 / 1024 }' | stat_of | awk '{ printf "%.1f / %.1f", $1, $3 }')" \
  "$(x "$src")" "$(x "$sup")" "$(x "$p2p")" "$fellback" "$(w=$(jget work_requests); echo "${w:--}")" "$busy"
echo
echo "Target: every copy right; supernode peak RSS < 64 MB. (supernode CPU: from the release to the last exit;"
echo "×S: bytes over the file size, from the supernode's status counters.)"
[ -z "$sn_dead" ] || fail "$sn_dead"
[ "$bad" -eq 0 ] || fail "$bad of $PEERS copies missing or wrong"
[ "$fellback" -eq 0 ] || fail "$fellback of $PEERS peers did not get the file through the supernode"
