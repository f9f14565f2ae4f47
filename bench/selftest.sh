#!/usr/bin/env bash
# Checks the emulated-network bench itself (root, about a minute): a tiny run of all three rows
# (df played by a stub), a corrupted copy failing the run, and cleanup after Ctrl-C, kill and kill -9.
#
# The stub df lists `get` in its help, runs nginx as its "supernode" and curl as its "get", and
# leaves a detached sleeper behind like df get's seeder, so the df row's whole path is exercised.
set -u -o pipefail
cd "$(dirname "$0")/.." || exit 1
set -m                                  # background runs get their own process group and SIGINT
[ "$(id -u)" = 0 ] || { echo "selftest: needs root (network namespaces)"; exit 77; }
T=$(mktemp -d /tmp/dfbench-selftest.XXXXXX)
BGPID=''
CC_LIST=$(cat /proc/sys/net/ipv4/tcp_allowed_congestion_control)   # a kill -9 below leaves it widened
finish() {
	local rc=$?
	echo "$CC_LIST" >/proc/sys/net/ipv4/tcp_allowed_congestion_control 2>/dev/null
	[ -n "$BGPID" ] && kill "$BGPID" 2>/dev/null && wait "$BGPID" 2>/dev/null
	[ -n "${KEEP:-}" ] && echo "selftest: kept $T" || rm -rf "$T"
	exit $rc
}
trap finish EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "pass: $*"; }

# netns_ids PID: the kernel ids (net:[inode]) of run PID's namespaces, one per line
netns_ids() {
	local n
	for n in $(ip netns list | awk '{print $1}' | grep "^dfbench-$1-"); do
		echo "net:[$(stat -L -c %i "/run/netns/$n")]"
	done
}
# leftovers PID IDS: run PID left a namespace, its run directory, or a process inside one of the
# namespaces IDS (a deleted namespace lives on, unnamed, while a process is in it)
leftovers() {
	ip netns list | grep -q "^dfbench-$1-" || [ -e "/tmp/dfbench.$1" ] ||
		readlink /proc/[0-9]*/ns/net 2>/dev/null | grep -qxF -f <(echo "$2")
}

# start_bg LOG ARGS...: swarm.sh in the background; BGPID is its pid; waits until clients run
start_bg() {
	local log=$1 _
	shift
	bash bench/swarm.sh "$@" >"$log" 2>&1 &
	BGPID=$!
	for _ in $(seq 600); do
		grep -qs 'clients released' "$log" && return 0
		kill -0 "$BGPID" 2>/dev/null || fail "swarm.sh died early: $(tail -n 5 "$log")"
		sleep 0.1
	done
	fail "swarm.sh never released its clients: $(tail -n 5 "$log")"
}

cat >"$T/df" <<'STUB'
#!/usr/bin/env bash
# stand-in for df: just enough of `df supernode` and `df get` for the bench's df row
case ${1:-} in
--help) printf 'Commands:\n  get          stub\n  supernode    stub\n' ;;
supernode)
	[ "$2" = --listen ] && [ "$4" = --data ] || exit 2
	d=$5
	printf 'daemon off; pid %s/pid; error_log %s/err; events {} http { access_log off; server { listen %s; return 204; } }\n' \
		"$d" "$d" "$3" >"$d/nginx.conf"
	exec nginx -e "$d/err" -c "$d/nginx.conf" -p "$d" ;;
get)
	[ "$3" = -O ] && [ "$5" = --supernode ] && [ "$7" = --data ] && [ "$9" = --seed-idle ] || exit 2
	[ -n "${STUB_GET_FAILS:-}" ] && { echo "stub: told to fail"; exit 1; }
	curl -sS -f "http://$6/" >/dev/null || exit 1
	curl -sS -f -o "$4" "$2" || exit 1
	(setsid sleep 30 </dev/null >/dev/null 2>&1 &)
	;;
*) exit 2 ;;
esac
STUB
chmod +x "$T/df"

# 1. all three rows on a tiny network; the caps hold (no calibration warning)
DF=$T/df BENCH_RESULTS=$T/results.md bash bench/swarm.sh -n 3 -s 4M >"$T/run.log" 2>&1 ||
	fail "tiny run failed: $(tail -n 20 "$T/run.log")"
for r in 'http: curl' 'bittorrent: aria2' 'df: supernode'; do
	grep -E "^\| $r.*\| 3/3 \|" "$T/results.md" >/dev/null || fail "no complete row '$r': $(cat "$T/results.md")"
done
grep -q "caps are not what limits" "$T/run.log" && fail "calibration off: $(grep WARNING "$T/run.log")"
grep -q 'Calibration' "$T/results.md" || fail "no calibration line"
pass "three rows, 3/3 copies each, caps hold"

# 2. without a df that has `get`, the df row says so and the run still succeeds
DF=$T/nothing BENCH_RESULTS=$T/r2.md bash bench/swarm.sh -n 1 -s 1M --only df >"$T/r2.log" 2>&1 ||
	fail "run without df failed: $(tail -n 5 "$T/r2.log")"
grep -q 'df: not built yet' "$T/r2.md" || fail "df row lacks 'not built yet': $(cat "$T/r2.md")"
pass "df row says 'df: not built yet'"

# 2b. a df get that fails makes a FAILED row and a failed run, with the client's log shown
STUB_GET_FAILS=1 DF=$T/df BENCH_RESULTS=$T/r2b.md bash bench/swarm.sh -n 2 -s 1M --only df >"$T/r2b.log" 2>&1 &&
	fail "a failing df get did not fail the run"
grep -q '| FAILED: client(s) c001 c002 exited' "$T/r2b.md" || fail "no FAILED row: $(cat "$T/r2b.md")"
grep -q 'stub: told to fail' "$T/r2b.log" || fail "the client's log is not shown: $(cat "$T/r2b.log")"
pass "failing clients make a FAILED row"

# 3. a wrong copy fails the run loudly
BENCH_CORRUPT=c002 BENCH_RESULTS=$T/r3.md bash bench/swarm.sh -n 2 -s 2M --only http >"$T/r3.log" 2>&1 &&
	fail "a corrupted copy did not fail the run"
grep -q 'DIGEST MISMATCH' "$T/r3.log" || fail "no DIGEST MISMATCH message: $(tail -n 5 "$T/r3.log")"
grep -q '1 of 2 copies are WRONG' "$T/r3.md" || fail "row does not say which copies are wrong"
pass "corrupted copy fails the run"

# 4. Ctrl-C (SIGINT) and kill (SIGTERM) in the middle leave nothing behind
for sig in INT TERM; do
	start_bg "$T/sig-$sig.log" -n 3 -s 64M --only http
	p=$BGPID
	ids=$(netns_ids "$p")
	[ -n "$ids" ] || fail "no namespaces while running?"
	# Ctrl-C goes to the whole foreground process group (set -m made $p a group leader); kill to one pid
	if [ "$sig" = INT ]; then kill -INT -- -"$p"; else kill -TERM "$p"; fi
	wait "$p"
	BGPID=''
	leftovers "$p" "$ids" && fail "SIG$sig left $(ip netns list | grep "dfbench-$p-")"
	pass "SIG$sig mid-run$([ "$sig" = INT ] && echo ' (to the process group, as Ctrl-C)'): nothing left behind"
done

# 5. kill -9 leaves leftovers; --cleanup removes them but not a run that is still alive
start_bg "$T/k9.log" -n 2 -s 64M --only http
dead=$BGPID
dead_ids=$(netns_ids "$dead")
kill -9 "$dead"
{ wait "$dead"; } 2>/dev/null
BGPID=''
leftovers "$dead" "$dead_ids" || fail "kill -9 left nothing? (the test proves nothing)"
start_bg "$T/live.log" -n 2 -s 64M --only http
live=$BGPID
live_ids=$(netns_ids "$live")
bash bench/swarm.sh --cleanup >"$T/cl.log" 2>&1 || fail "--cleanup failed: $(cat "$T/cl.log")"
leftovers "$dead" "$dead_ids" && fail "--cleanup left $(ip netns list | grep "dfbench-$dead-")"
ip netns list | grep -q "^dfbench-$live-" || fail "--cleanup removed the namespaces of a live run"
grep -q "run $live is still going" "$T/cl.log" || fail "--cleanup did not report the live run: $(cat "$T/cl.log")"
kill "$live"
wait "$live"
BGPID=''
leftovers "$live" "$live_ids" && fail "SIGTERM left $(ip netns list | grep "dfbench-$live-")"
pass "--cleanup removes a killed run's leftovers and spares a live run"
echo "selftest: all passed"
