#!/usr/bin/env bash
# Benchmark of df's HTTP layer on loopback, printed as a table: df's server (httpserve, sendfile)
# serving a file to curl against nginx serving it; df's client (httpget) fetching it from nginx
# against curl fetching it. Best of N runs each. Numbers only: nothing here passes or fails.
#   SIZE=1G RUNS=3 bash bench/b_http.sh
TEST_DEADLINE=${TEST_DEADLINE:-7200}   # a benchmark bounds its own waits; not the 285 s of a test
. "$(dirname "$0")/../test/lib.sh"
SIZE=${SIZE:-1G}
RUNS=${RUNS:-3}
GET=$top/$B/tools/httpget
SERVE=$top/$B/tools/httpserve
[ -x "$GET" ] && [ -x "$SERVE" ] || fail "no test tools in $B/tools (make tools)"
command -v nginx >/dev/null || skip "nginx not installed"
command -v curl >/dev/null || skip "curl not installed"

chmod 755 "$T"
mkdir -p "$T/root"
head -c "$SIZE" /dev/urandom > "$T/root/file"
bytes=$(stat -c %s "$T/root/file")
cat "$T/root/file" > /dev/null # into the page cache, for every contender alike

nport=$(free_port)
start_nginx "$T/root" "$nport" "keepalive_requests 1000;"
dport=$(free_port)
"$SERVE" --listen "127.0.0.1:$dport" --root "$T/root" > "$T/serve.log" 2>&1 &
track $!
wait_port "$dport"

now() { date +%s.%N; }
# one timed run of a command: seconds
timed() {
  local s e
  s=$(now)
  "$@" > /dev/null 2>&1 || fail "bench command failed: $*"
  e=$(now)
  awk -v s="$s" -v e="$e" 'BEGIN { printf "%.4f", e - s }'
}
# the contenders take turns (the machine is shared: noise hits them alike); the best run counts
t_nc= t_dc= t_ng=
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b < a) ? b : a }'; }
for _ in $(seq "$RUNS"); do
  t_nc=$(min "$t_nc" "$(timed curl -fsS -o /dev/null "http://127.0.0.1:$nport/file")")
  t_dc=$(min "$t_dc" "$(timed curl -fsS -o /dev/null "http://127.0.0.1:$dport/file")")
  t_ng=$(min "$t_ng" "$(timed "$GET" --fail "http://127.0.0.1:$nport/file")")
done
mbps() { awk -v b="$bytes" -v t="$1" 'BEGIN { printf "%d", b / t / 1000000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%d", 100 * a / b }'; }
a=$(mbps "$t_nc"); b=$(mbps "$t_dc"); c=$(mbps "$t_ng")
echo "## b_http: HTTP on loopback, $bytes bytes, best of $RUNS"
echo
echo "| transfer | MB/s | vs reference |"
echo "|---|---:|---:|"
echo "| nginx -> curl (reference) | $a | 100% |"
echo "| df server -> curl | $b | $(ratio "$t_nc" "$t_dc")% |"
echo "| nginx -> df client (reference: curl above) | $c | $(ratio "$t_nc" "$t_ng")% |"
echo
echo "Targets: df server >= 80% of nginx; df client >= 80% of curl. https numbers come with TLS."
