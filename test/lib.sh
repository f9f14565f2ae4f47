# Helpers for integration tests: sourced, never run. Gives a scratch dir, free ports, process
# tracking by pid file with cleanup on exit, and assertions that fail the test with a reason.
# Every wait is bounded (await, within, wait_for, wait_port): a hang fails in seconds, and a failed
# test (fail, an error exit, or the runner's timeout) prints the tail of every process's log.
set -u
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
B=${B:-build/musl}
DF=${DF:-$top/$B/df}
[ -x "$DF" ] || DF=$top/df
T=$(mktemp -d "${TMPDIR:-/tmp}/dftest.XXXXXX")   # TMPDIR: a folder of your own, away from anything that clears /tmp/dftest.*
chmod 755 "$T"   # nginx workers run as nobody and must read files under $T
PIDS=$T/pids
: > "$PIDS"
CLEANUPS=()

# dump_logs: the tail of every log and output file under $T (processes' logs: NAME.log, NAME.out,
# nginx's), to stderr, so a failure can be diagnosed from the runner's output alone
dump_logs() {
  local f n=${LOG_LINES:-40}
  for f in "$T"/*.log "$T"/*.out "$T"/*/*.log "$T"/*/stderr; do
    [ -f "$f" ] && LC_ALL=C grep -Iq . "$f" || continue   # text only (copies end in .out too)
    echo "---- ${f#"$T"/} (last $n lines) ----" >&2
    tail -n "$n" "$f" >&2
  done
}

FAIL_MSG=
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [ -s "$T/.watchdog" ] && kill "$(cat "$T/.watchdog")" 2>/dev/null
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
    dump_logs
    echo "FAIL: ${FAIL_MSG:-exit status $rc}" >&2   # again after the logs: the runner shows the tail
  fi
  while read -r p; do [ -n "$p" ] && kill "$p" 2>/dev/null; done < "$PIDS"
  sleep 0.2
  while read -r p; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null; done < "$PIDS"
  for c in "${CLEANUPS[@]+"${CLEANUPS[@]}"}"; do eval "$c" 2>/dev/null; done
  [ -f "$T/.ports" ] && while read -r p; do rmdir "$PORT_DIR/$p" 2>/dev/null; done < "$T/.ports"
  [ -n "${KEEP:-}" ] || rm -rf "$T"
  exit $rc
}
trap cleanup EXIT
trap 'FAIL_MSG=$([ -e "$T/.overdue" ] && echo "over the test deadline (TEST_DEADLINE=${TEST_DEADLINE:-285} s): a wait without its own bound?" ||
  echo "stopped by a signal (the runner'"'"'s timeout?)"); exit 143' INT TERM

# The watchdog: a test still running after TEST_DEADLINE seconds (285 unless set; the runner stops
# a test at 300) fails with every log printed, whatever it waits for: the command in the foreground
# (bash runs the trap only once it returns) is stopped by its pid first.
( trap 'kill $s 2>/dev/null; exit 0' TERM
  sleep "${TEST_DEADLINE:-285}" & s=$!; wait $s
  : > "$T/.overdue"
  for c in $(ps -o pid= --ppid $$); do [ "$c" != "$BASHPID" ] && kill "$c" 2>/dev/null; done
  kill -TERM $$ ) &
echo $! > "$T/.watchdog"

fail() { FAIL_MSG="$*"; echo "FAIL: $*" >&2; exit 1; }
skip() { echo "skip: $*"; exit 77; }
pass() { echo "pass: $*"; }

# track PID: the process is stopped when the test exits
track() { echo "$1" >> "$PIDS"; }

# free_port: a TCP port no socket uses now (checked with ss), random from 20000 up to the kernel's
# ephemeral range, where the outgoing connections of concurrent tests would make bind fail. The port
# is also reserved (a directory in PORT_DIR, removed when the test exits) so that tests running at
# the same time (test/run.sh JOBS) never pick the same one between the check and the bind.
PORT_DIR=${DF_PORT_DIR:-${TMPDIR:-/tmp}/dfports}
free_port() {
  local p lo span
  mkdir -p "$PORT_DIR" 2>/dev/null
  lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 60000)
  span=$(( lo > 25000 ? lo - 20000 : 40000 ))
  for _ in $(seq 200); do
    p=$(( 20000 + (RANDOM * 32768 + RANDOM) % span ))
    ss -Htan "sport = :$p" | grep -q . && continue
    if ! mkdir "$PORT_DIR/$p" 2>/dev/null; then
      # held by a test that died without its cleanup (no test runs for half an hour): take it over
      [ -n "$(find "$PORT_DIR/$p" -maxdepth 0 -mmin +30 2>/dev/null)" ] && rmdir "$PORT_DIR/$p" 2>/dev/null && mkdir "$PORT_DIR/$p" 2>/dev/null || continue
    fi
    echo "$p" >> "$T/.ports"; echo "$p"; return 0
  done
  fail "no free port"
}

# await PID SECONDS WHAT: waits for the background process PID (a child of this shell) to end, its
# exit status in $RC; fails naming WHAT when it runs longer than SECONDS
await() {
  local end=$((SECONDS + $2))
  while kill -0 "$1" 2>/dev/null; do
    [ "$SECONDS" -lt "$end" ] || fail "$3 (pid $1) still running after $2 s"
    sleep 0.1
  done
  wait "$1"; RC=$?
}

# await_ok PID SECONDS WHAT: await, then fail unless it exited 0
await_ok() { await "$1" "$2" "$3"; [ "$RC" -eq 0 ] || fail "$3 exited $RC"; }

# within SECONDS CMD...: runs CMD in the foreground, failing the test when it runs longer than SECONDS
within() {
  local secs=$1 rc; shift
  timeout -k 5 "$secs" "$@"; rc=$?
  [ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] || fail "'$*' still running after $secs s"
  return "$rc"
}

# wait_for SECONDS WHAT CMD...: until CMD succeeds (polled every 0.1 s); fails naming WHAT after SECONDS
wait_for() {
  local secs=$1 end=$((SECONDS + $1)) what=$2; shift 2
  until "$@"; do
    [ "$SECONDS" -lt "$end" ] || fail "$what: not within $secs s"
    sleep 0.1
  done
}

# wait_port PORT [SECONDS]: until something listens on 127.0.0.1:PORT
wait_port() {
  local i
  for i in $(seq $(( ${2:-10} * 20 ))); do
    ss -Htln "sport = :$1" | grep -q . && return 0
    sleep 0.05
  done
  fail "nothing listens on port $1 after ${2:-10}s"
}

# expect_rc WANT CMD...: runs CMD, fails unless its exit code is WANT; output in $OUT (stdout+stderr)
# (bounded: CMD may run DEADLINE seconds, 120 unless set; a shell function runs unbounded)
expect_rc() {
  local want=$1 rc; shift
  if declare -F "$1" >/dev/null; then
    OUT=$("$@" 2>&1); rc=$?
  else
    OUT=$(timeout -k 5 "${DEADLINE:-120}" "$@" 2>&1); rc=$?
    [ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] || fail "'$*' still running after ${DEADLINE:-120} s; output: $OUT"
  fi
  [ "$rc" -eq "$want" ] || fail "'$*' exited $rc, wanted $want; output: $OUT"
}

# expect_in NEEDLE: $OUT contains NEEDLE
expect_in() { [[ $OUT == *"$1"* ]] || fail "output lacks '$1': $OUT"; }

# nginx_conf DIR LISTEN ROOT [extra conf lines]: the configuration of a test nginx (pid, logs and
# temporary files in DIR; access log DIR/access.log) listening on LISTEN and serving ROOT
nginx_conf() {
  cat <<NGX
daemon off;
worker_processes 1;
pid $1/nginx.pid;
error_log $1/error.log;
events { worker_connections 1024; }
http {
  access_log $1/access.log combined;
  client_body_temp_path $1; proxy_temp_path $1; fastcgi_temp_path $1; uwsgi_temp_path $1; scgi_temp_path $1;
  sendfile on;
  server { listen $2; root $3; ${4:-} }
}
NGX
}

# start_nginx ROOT PORT [extra conf lines]: a real nginx serving ROOT on 127.0.0.1:PORT, access log in $T/nginx-PORT/access.log
# (listen_opts, when the caller sets it, goes on the listen line: start_nginx_tls does)
start_nginx() {
  local root=$1 port=$2 extra=${3:-}
  command -v nginx >/dev/null || skip "nginx not installed"
  local d=$T/nginx-$port; mkdir -p "$d"
  nginx_conf "$d" "127.0.0.1:$port ${listen_opts:-}" "$root" "$extra" > "$d/nginx.conf"
  nginx -c "$d/nginx.conf" -p "$d" 2>"$d/stderr" &
  track $!
  wait_port "$port"
}

# start_nginx_tls ROOT PORT CERT KEY [extra conf lines]: the same over https with CERT and KEY (PEM)
start_nginx_tls() {
  local listen_opts=ssl
  start_nginx "$1" "$2" "ssl_certificate $3; ssl_certificate_key $4; ${5:-}"
}

# start_push_hosts N SUPERNODE_PORT RATE: N hosts (df proxy processes with stores $T/hI, push
# directories $T/hI/push, download limit RATE) listed in $T/hosts.txt by their push address
start_push_hosts() {
  local i port
  : > "$T/hosts.txt"
  for i in $(seq "$1"); do
    port=$(free_port)
    "$DF" proxy --listen "127.0.0.1:$(free_port)" --push-listen "127.0.0.1:$port" --supernode "127.0.0.1:$2" \
      --data "$T/h$i" --push-dir "$T/h$i/push" --limit-rate "$3" > "$T/h$i.log" 2>&1 &
    track $!
    echo "127.0.0.1:$port   # host $i" >> "$T/hosts.txt"
    wait_port "$port"
  done
}

# bytes nginx sent for a path (sum of $body_bytes_sent in the combined log)
nginx_bytes() { awk -v p="$2" '$7 ~ p {s += $10} END {print s+0}' "$T/nginx-$1/access.log"; }

# make_file PATH MB: random content of MB MiB
make_file() { head -c "$(( $2 * 1048576 ))" /dev/urandom > "$1"; }

# start_supernode NAME PORT [flags]: df supernode on 127.0.0.1:PORT with store $T/NAME, log $T/NAME.log, pid $T/NAME.pid
start_supernode() {
  local name=$1 port=$2; shift 2
  "$DF" supernode --listen "127.0.0.1:$port" --data "$T/$name" "$@" > "$T/$name.log" 2>&1 &
  echo $! > "$T/$name.pid"
  track $!
  wait_port "$port"
}

# sn_alive NAME WHAT: fails unless supernode NAME (start_supernode) still runs after WHAT
sn_alive() { kill -0 "$(cat "$T/$1.pid")" 2>/dev/null || fail "supernode $1 died after $2; its log: $(tail -n 20 "$T/$1.log")"; }

# file_and_supernode MIB FLAGS...: (run in $T) nginx serving www/f (MIB MiB of random bytes) at
# $url (port NP) and a supernode "sn" started with FLAGS (port SP)
file_and_supernode() {
  local mib=$1; shift
  mkdir -p www
  make_file www/f "$mib"
  NP=$(free_port); start_nginx "$T/www" "$NP"
  SP=$(free_port); start_supernode sn "$SP" "$@"
  url=http://127.0.0.1:$NP/f
}

# sn_token_fixture: (run in $T) nginx serving www/f (2 MiB; its sha256 in $want) at $URL, a supernode
# "sn" with token T at $SN, and post PATH BODYFILE (sn_post with that token) for the abuse tests
sn_token_fixture() {
  mkdir -p www
  make_file www/f 2
  want=$(sha www/f)
  NP=$(free_port); start_nginx "$T/www" "$NP"
  URL=http://127.0.0.1:$NP/f
  SP=$(free_port); start_supernode sn "$SP" --token T
  SN=http://127.0.0.1:$SP
  post() { sn_post "$SN$1" "$2" T; }
}

# sn_post URL BODYFILE [TOKEN]: POSTs the file; the status in $code, the answer in $ans (bounded: no
# answer within 10 s shows as 000)
sn_post() {
  local tok=()
  [ -n "${3:-}" ] && tok=(-H "X-DF-Token: $3")
  code=$(curl -sS -m 10 -o "$T/sn_post.out" -w '%{http_code}' "${tok[@]}" --data-binary "@$2" "$1" 2>"$T/sn_post.err") || code=000
  ans=$(cat "$T/sn_post.out" 2>/dev/null)
}

# track_seeder DATA_DIR: stop the detached seeder a df get left behind in DATA_DIR on exit
track_seeder() {
  local f=$1/seeder.pid
  for _ in $(seq 20); do [ -s "$f" ] && break; sleep 0.05; done
  [ -s "$f" ] && track "$(cat "$f")"
  return 0
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

# start_silent_source: a source that accepts connections and never answers (test/tools/silent_listener.py;
# nginx cannot be made to do this) on 127.0.0.1:$HP
start_silent_source() {
  command -v python3 >/dev/null || skip "python3 not installed"
  HP=$(free_port)
  python3 "$top/test/tools/silent_listener.py" "$HP" &
  track $!
  wait_port "$HP"
}

# need_cmd NAME...: skip while df lacks a command (written-ahead tests; removed once it exists)
need_cmd() { for c in "$@"; do "$DF" "$c" --help >/dev/null 2>&1 || skip "df has no '$c' command yet"; done; }
