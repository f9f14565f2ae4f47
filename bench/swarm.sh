#!/usr/bin/env bash
# The emulated-network bench: a source, a supernode and N clients, each in its own network namespace
# on one capped bridge; gets one file onto every client over HTTP, BitTorrent and df; prints a table.
#
# How a run goes: build the network (bench/lib.sh), check that the caps hold (calibration), then for
# each contender start its servers, start the N clients behind a barrier (bench/swarm_client.sh takes
# a shared flock that we hold exclusively), release them at once, wait until every copy is there,
# read the counters, stop everything in the namespaces and check every copy's sha256. Whatever
# happens (error, Ctrl-C, kill), the EXIT trap stops our processes and deletes our namespaces.
set -u -o pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

usage() {
	cat <<EOF
usage: bench/swarm.sh [OPTIONS]     (root: it creates network namespaces)
Distributes one file from a source host to N client hosts over an emulated network three ways
(HTTP from nginx, BitTorrent with aria2, df) and prints makespan, source load and costs.

  -n N                 clients (default $N)
  -s, --size SIZE      file size, k/M/G suffixes (default $SIZE)
  --client-rate MBIT   every client's link, each direction, in Mbit/s (default $CRATE)
  --client-up MBIT     every client's upload only, in Mbit/s (default: --client-rate): an
                       upload-constrained swarm, e.g. --client-rate 100 --client-up 20
  --slow K             K of the clients (spread evenly: c(N/K), c(2N/K), ...) are slow hosts
                       whose link is --slow-rate each direction (default $SLOW; env SLOW)
  --slow-rate MBIT     the slow hosts' link (default $SLOWRATE; env SLOW_RATE). With --slow the
                       table says when the other clients were done, against their own bound
  --source-rate MBIT   the source host's link (default $SRATE)
  --sn-rate MBIT       the supernode host's link (default: the source rate)
  --latency MS         one-way delay added on every host's uplink with netem (default 0)
  --cc NAME            TCP congestion control of every emulated host (default cubic, the kernel's
                       stock default; this machine's own setting does not leak into the hosts)
  --only LIST          comma-separated subset of http,bt,df (default all)
  --piece-size SIZE    BitTorrent piece size, a power of two (default $PIECE, df's default)
  --timeout SECONDS    give up on a contender after this long (default $TIMEOUT)
  --trace              sample every link's counters (every 0.25 s) during each contender's run
                       and print a per-second table of link use and CPU after the main table
  --keep               keep the run directory /tmp/dfbench.PID (logs, copies) for a look
                       (env SWARM_RUN=DIR: use DIR instead, e.g. on a tmpfs)
  --cleanup            remove what crashed runs left behind (namespaces dfbench-PID-*, their
                       processes, /tmp/dfbench.PID, --keep ones too) and exit; runs still
                       alive are left alone
Environment: DF (df binary, default ./df of the repo), DF_SN_FLAGS / DF_GET_FLAGS (extra flags for df supernode / df get), BENCH_RESULTS (append the table here
instead of build/bench/results-DATE.md).
EOF
}

SLOW=${SLOW:-0} SLOWRATE=${SLOW_RATE:-10}
SLOWRATE=${SLOWRATE%mbit}
N=20 SIZE=64M CRATE=100 CUP='' SRATE=200 SNRATE='' LAT=0 CC=cubic ONLY=http,bt,df PIECE=4M TIMEOUT=600 KEEP='' TRACE=''
DF=${DF:-$top/df}
ARGS="$*"

# cleanup_leftovers: --cleanup. Namespaces are grouped by the PID in their name; a group whose
# harness still runs is skipped, the rest lose their processes and are deleted.
cleanup_leftovers() {
	local pids p n removed=0 live=0 was=''
	pids=$(our_namespaces "$NS_PATTERN" | sed -E 's/^dfbench-([0-9]+)-.*/\1/' | sort -u)
	for d in /tmp/dfbench.*; do [ -d "$d" ] && pids+=$'\n'${d#/tmp/dfbench.}; done
	for p in $(echo "$pids" | grep -E '^[0-9]+$' | sort -u); do
		if [ -r "/proc/$p/cmdline" ] && tr '\0' ' ' <"/proc/$p/cmdline" | grep -q 'swarm.sh'; then
			echo "swarm: run $p is still going, left alone"
			live=1
			continue
		fi
		for n in $(our_namespaces "^dfbench-$p-"); do echo "swarm: removing namespace $n"; done
		net_destroy "^dfbench-$p-"
		[ -s "/tmp/dfbench.$p/cc_allowed_was" ] && was=$(cat "/tmp/dfbench.$p/cc_allowed_was")
		[ -d "/tmp/dfbench.$p" ] && echo "swarm: removing /tmp/dfbench.$p" && rm -rf "/tmp/dfbench.$p"
		removed=$((removed + 1))
	done
	# what a killed run's cc_allow widened goes back, unless a live run may still rely on it
	if [ -n "$was" ] && [ $live = 0 ]; then
		echo "swarm: restoring $CC_ALLOWED"
		echo "$was" >"$CC_ALLOWED" 2>/dev/null || echo "swarm: could not restore $CC_ALLOWED"
	fi
	echo "swarm: cleaned up $removed leftover run(s)"
}

while [ $# -gt 0 ]; do
	case $1 in
	-n) N=${2:-}; shift 2 || break ;;
	-s | --size) SIZE=${2:-}; shift 2 || break ;;
	--client-rate) CRATE=${2:-}; shift 2 || break ;;
	--client-up) CUP=${2:-}; shift 2 || break ;;
	--slow) SLOW=${2:-}; shift 2 || break ;;
	--slow-rate) SLOWRATE=${2:-}; SLOWRATE=${SLOWRATE%mbit}; shift 2 || break ;;
	--source-rate) SRATE=${2:-}; shift 2 || break ;;
	--sn-rate) SNRATE=${2:-}; shift 2 || break ;;
	--latency) LAT=${2:-}; shift 2 || break ;;
	--cc) CC=${2:-}; shift 2 || break ;;
	--only) ONLY=${2:-}; shift 2 || break ;;
	--piece-size) PIECE=${2:-}; shift 2 || break ;;
	--timeout) TIMEOUT=${2:-}; shift 2 || break ;;
	--keep) KEEP=1; shift ;;
	--trace) TRACE=1; shift ;;
	--cleanup) [ "$(id -u)" = 0 ] || die "--cleanup needs root"; cleanup_leftovers; exit 0 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "swarm: unknown option '$1'" >&2; usage >&2; exit 2 ;;
	esac
done
SNRATE=${SNRATE:-$SRATE}

# ---- checks before anything is created -----------------------------------------------------------
bad() { echo "swarm: $*" >&2; exit 2; }
isnum() { [[ $1 =~ ^[0-9]+([.][0-9]+)?$ ]] && awk -v v="$1" 'BEGIN { exit !(v > 0) }'; }
[[ $N =~ ^[0-9]+$ ]] && [ "$N" -ge 1 ] && [ "$N" -le 1000 ] || bad "-n: want 1..1000 clients (a bridge has 1024 ports), got '$N'"
S=$(to_bytes "$SIZE") && [ "$S" -gt 0 ] || bad "--size: want a size like 64M, got '$SIZE'"
PS=$(to_bytes "$PIECE") && [ "$PS" -ge 32768 ] && [ $((PS & (PS - 1))) -eq 0 ] ||
	bad "--piece-size: want a power of two >= 32k, got '$PIECE'"
CUP=${CUP:-$CRATE}
for r in "$CRATE" "$CUP" "$SRATE" "$SNRATE" "$SLOWRATE"; do isnum "$r" || bad "rates are Mbit/s numbers > 0, got '$r'"; done
[[ $SLOW =~ ^[0-9]+$ ]] && [ "$SLOW" -lt "$N" ] || bad "--slow: want 0..N-1 slow clients, got '$SLOW'"
[[ $LAT =~ ^[0-9]+([.][0-9]+)?$ ]] || bad "--latency: want milliseconds, got '$LAT'"
grep -qw -- "$CC" /proc/sys/net/ipv4/tcp_available_congestion_control 2>/dev/null || bad "--cc: this kernel offers $(cat /proc/sys/net/ipv4/tcp_available_congestion_control 2>/dev/null), not '$CC'"
[[ $TIMEOUT =~ ^[0-9]+$ ]] || bad "--timeout: want seconds, got '$TIMEOUT'"
IFS=, read -r -a CONTENDERS <<<"$ONLY"
for c in "${CONTENDERS[@]}"; do
	case $c in http | bt | df) ;; *) bad "--only: unknown contender '$c' (http, bt, df)" ;; esac
done
[ "$(id -u)" = 0 ] || die "needs root: it creates network namespaces and tc qdiscs"
for t in ip tc ss flock curl nginx aria2c opentracker mktorrent sha256sum /usr/bin/time; do
	command -v "$t" >/dev/null || die "$t is missing (bench/run.sh installs it with apt-get)"
done
if [ "$LAT" != 0 ] && ! netem_works; then
	die "--latency needs the netem qdisc, which this kernel lacks (CONFIG_NET_SCH_NETEM)"
fi

# ---- the run directory, the trap, the network ----------------------------------------------------
RUN=${SWARM_RUN:-/tmp/dfbench.$$}
BARRIER=$RUN/barrier
STATUS=0
mkdir -p "$RUN/www" || die "cannot create $RUN"
cleanup() {
	local rc=$?
	trap - EXIT
	trap '' INT TERM HUP                 # a second Ctrl-C must not cut the cleanup short
	exec 9>&-
	net_destroy
	cc_restore
	if [ -n "$KEEP" ]; then note "kept $RUN"; else rm -rf "$RUN"; fi
	[ $rc -eq 0 ] && rc=$STATUS
	exit $rc
}
trap cleanup EXIT
trap 'note interrupted; exit 130' INT
trap 'note terminated; exit 143' TERM
trap 'exit 129' HUP

W=$((${#N} > 3 ? ${#N} : 3))
cname() { printf "c%0${W}d" "$1"; }
# is_slow I: whether client I is one of the --slow ones (every N/K-th, so c001 and c002, which the
# calibration uses, are fast unless N is tiny); cup I / cdown I: its link's rates
is_slow() { [ "$SLOW" -gt 0 ] && [ $(($1 * SLOW % N)) -lt "$SLOW" ]; }
cup() { if is_slow "$1"; then echo "$SLOWRATE"; else echo "$CUP"; fi; }
cdown() { if is_slow "$1"; then echo "$SLOWRATE"; else echo "$CRATE"; fi; }
SRC_IP=$(host_ip src) SN_IP=$(host_ip sn)

note "building the network: source, supernode, $N clients (namespaces ${NS_PREFIX}*)"
cc_allow "$CC"
[ -n "$CC_WAS" ] && echo "$CC_WAS" >"$RUN/cc_allowed_was"   # for --cleanup after a kill -9
net_create
host_add src "$SRATE" "$LAT"
host_add sn "$SNRATE" "$LAT"
HOSTS=(src sn)
for i in $(seq "$N"); do host_add "$(cname "$i")" "$(cup "$i")" "$LAT" "$(cdown "$i")"; HOSTS+=("$(cname "$i")"); done
[ "$SLOW" -gt 0 ] && note "slow hosts ($SLOWRATE Mbit/s each way):$(for i in $(seq "$N"); do is_slow "$i" && printf ' %s' "$(cname "$i")"; done)"
static_neighbours "${HOSTS[@]}"

note "making a $(human "$S") file of random bytes and its torrent"
head -c "$S" /dev/urandom >"$RUN/www/file" || die "cannot write $RUN/www/file"
SHA=$(sha256sum "$RUN/www/file" | cut -d' ' -f1)
must mktorrent -l "$(awk -v p="$PS" 'BEGIN { printf "%d", log(p) / log(2) + 0.5 }')" \
	-a "http://$SN_IP:6969/announce" -o "$RUN/file.torrent" "$RUN/www/file"
INFOHASH=$(aria2c -S "$RUN/file.torrent" | awk '/^Info Hash:/ {print $3}')
[ ${#INFOHASH} -eq 40 ] || die "could not read the info hash of $RUN/file.torrent"

# host_bg NAME LOG CMD...: start CMD in the background inside host NAME's namespace. It is detached
# (not a job of ours, its own session): it is stopped through its namespace, bash prints nothing
# when it dies, and a Ctrl-C reaches only the harness, whose trap then stops everything in order.
host_bg() {
	local n=$1 log=$2
	shift 2
	(setsid ip netns exec "$NS_PREFIX$n" "$@" </dev/null >"$log" 2>&1 9>&- &)
}

# start_nginx HOST [nowait]: nginx on HOST:80 serving $RUN/www (nowait: do not wait until it listens)
start_nginx() {
	local h=$1 d=$RUN/nginx-$1
	mkdir -p "$d"
	cat >"$d/nginx.conf" <<NGX
daemon off;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $d; proxy_temp_path $d; fastcgi_temp_path $d; uwsgi_temp_path $d; scgi_temp_path $d;
  sendfile on; tcp_nopush on;
  server { listen $(host_ip "$h"):80; root $RUN/www; }
}
NGX
	host_bg "$h" "$d/stderr" nginx -e "$d/error.log" -c "$d/nginx.conf" -p "$d"
	[ "${2:-}" = nowait ] && return 0
	wait_listen "$h" 80 && return 0
	WHY="nginx did not start on $h: $(cat "$d/stderr" "$d/error.log" 2>/dev/null)"
	return 1
}

# ---- calibration: do the caps hold? --------------------------------------------------------------
CAL=""
# cal_from FROM WANT_MBIT TO...: the TO hosts fetch the calibration file from FROM's nginx at once;
# their aggregate rate (bytes / slowest time) is compared with WANT, the cap that should limit it
cal_from() {
	local from=$1 want=$2 to got pct i=0 pids=()
	shift 2
	for to in "$@"; do
		i=$((i + 1))
		nsx "$to" curl -sS -f -o /dev/null -w '%{size_download} %{time_total}\n' \
			"http://$(host_ip "$from")/cal" >"$RUN/cal.$i" 2>&1 &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i" || die "calibration: a fetch from $from failed: $(cat "$RUN"/cal.*)"; done
	got=$(cat "$RUN"/cal.* | awk '{ b += $1; if ($2 > t) t = $2 } END { printf "%.1f", b * 8 / t / 1e6 }')
	rm -f "$RUN"/cal.*
	pct=$(awk -v g="$got" -v w="$want" 'BEGIN { printf "%d", 100 * g / w }')
	to="$*"
	CAL+="${CAL:+; }$from→${to// /+} $got Mbit/s ($pct% of $want)"
	if [ "$pct" -lt 85 ] || [ "$pct" -gt 105 ]; then
		note "WARNING: $from→$to ran at $got Mbit/s, $pct% of the $want Mbit/s cap: the caps are not what limits"
	fi
}
# cal_wire WANT_MBIT BYTES TO...: the TO hosts fetch from the source at once, more than its link can
# carry; the source's tx counter over the middle of the transfer must show its cap (the flows'
# unequal ends would blur a bytes / slowest-time figure)
cal_wire() {
	local want=$1 cs=$2 to dur a b ta tb got pct
	shift 2
	for to in "$@"; do
		nsx "$to" curl -sS -f -o /dev/null "http://$SRC_IP/cal" >/dev/null 2>&1 &
	done
	dur=$(awk -v k=$# -v c="$cs" -v w="$want" 'BEGIN { printf "%.2f", k * c * 8 / w / 1e6 }')
	sleep 0.3
	ta=$EPOCHREALTIME a=$(tx_bytes src)
	sleep "$(awk -v d="$dur" 'BEGIN { printf "%.2f", d / 2 }')"
	tb=$EPOCHREALTIME b=$(tx_bytes src)
	wait
	got=$(awk -v a="$a" -v b="$b" -v ta="$ta" -v tb="$tb" 'BEGIN { printf "%.1f", (b - a) * 8 / (tb - ta) / 1e6 }')
	pct=$(awk -v g="$got" -v w="$want" 'BEGIN { printf "%d", 100 * g / w }')
	to="$*"
	CAL+="${CAL:+; }src→${to// /+} $got Mbit/s by the source's tx counter ($pct% of $want)"
	if [ "$pct" -lt 90 ] || [ "$pct" -gt 105 ]; then
		note "WARNING: the source sent $got Mbit/s, $pct% of its $want Mbit/s cap: the caps are not what limits"
	fi
}
# cal_ring BYTES: every client fetches from the next one at once (c001 from c002, ..., the last from
# c001), so every client link is busy both ways, as in a perfect swarm. The clients' summed upload
# (bridge counters, over the middle of the transfer) says whether this machine can carry N x the
# client rate at all: every byte crosses two veths, the bridge and two htb qdiscs in software. Below
# 85% the machine, not the links, sets the pace of a contender that keeps every client busy.
cal_ring() {
	local i a b ta tb c0 c1 got pct busy want cs
	# long enough for 4 s at the client rate: the window below (after TCP's start) must fall inside
	# every transfer
	cs=$(awk -v r="$CRATE" 'BEGIN { b = r * 1e6 / 8 * 4; if (b < 16777216) b = 16777216; printf "%d", b }')
	head -c "$cs" /dev/urandom >"$RUN/www/ring"
	for i in $(seq 2 "$N"); do start_nginx "$(cname "$i")" nowait; done   # c001 runs one already
	for i in $(seq 2 "$N"); do wait_listen "$(cname "$i")" 80 || die "calibration: nginx did not start on $(cname "$i")"; done
	# all at once: starting N processes one by one takes about a second, so they wait on a lock
	exec 8>"$RUN/ring.lock"
	flock -x 8
	for i in $(seq "$N"); do
		nsx "$(cname "$i")" flock -s "$RUN/ring.lock" curl -sS -f -o /dev/null \
			"http://$(host_ip "$(cname $((i % N + 1)))")/ring" >/dev/null 2>&1 8>&- &
	done
	sleep 0.3
	flock -u 8
	exec 8>&-
	sleep 1
	ta=$EPOCHREALTIME a=$(clients_up_bytes) c0=$(cpu_snapshot)
	sleep 1.5
	tb=$EPOCHREALTIME b=$(clients_up_bytes) c1=$(cpu_snapshot)
	wait
	rm -f "$RUN/www/ring"
	want=0 # client i fetches from client i+1: each pair moves min(i+1's up, i's down)
	for i in $(seq "$N"); do
		want=$(awk -v w="$want" -v u="$(cup $((i % N + 1)))" -v d="$(cdown "$i")" 'BEGIN { print w + (u < d ? u : d) }')
	done
	got=$(awk -v a="$a" -v b="$b" -v ta="$ta" -v tb="$tb" 'BEGIN { printf "%.0f", (b - a) * 8 / (tb - ta) / 1e6 }')
	pct=$(awk -v g="$got" -v w="$want" 'BEGIN { printf "%d", 100 * g / w }')
	busy=$(awk -v a="$c0" -v b="$c1" 'BEGIN { split(a, x, " "); split(b, y, " ");
		printf "%d", (y[2] > x[2]) ? 100 * (y[1] - x[1]) / (y[2] - x[2]) : 0 }')
	CAL+="; ring of $N: $got Mbit/s of $want ($pct%, CPU busy $busy%)"
	if [ "$pct" -lt 85 ]; then
		note "WARNING: all $N clients at once moved only $pct% of $want Mbit/s (CPU busy $busy%): this machine," \
			"not the links, limits a contender that keeps every client busy"
	fi
}

# calibrate: one client from the source (source up / client down), one client from another (client
# up / down) and, when enough clients exist, k clients at once from the source (source up alone)
calibrate() {
	local cs=16777216 k i to=()
	head -c "$cs" /dev/urandom >"$RUN/www/cal"
	start_nginx src || die "$WHY"
	cal_from src "$(awk -v a="$SRATE" -v b="$(cdown 1)" 'BEGIN { print a < b ? a : b }')" "$(cname 1)"
	if [ "$N" -ge 2 ]; then
		start_nginx "$(cname 1)" || die "$WHY"
		cal_from "$(cname 1)" "$(awk -v a="$(cup 1)" -v b="$(cdown 2)" 'BEGIN { print a < b ? a : b }')" "$(cname 2)"
	fi
	k=$(awk -v s="$SRATE" -v c="$CRATE" -v n="$N" 'BEGIN { k = int(s / c) + 1; print k < n ? k : n }')
	if [ "$k" -ge 2 ] && awk -v k="$k" -v s="$SRATE" -v c="$CRATE" 'BEGIN { exit !(k * c > s) }'; then
		for i in $(seq "$k"); do to+=("$(cname "$i")"); done
		cal_wire "$SRATE" "$cs" "${to[@]}"
	fi
	if [ "$N" -ge 3 ] && [ "$N" -le 300 ]; then cal_ring; fi
	host_pkill src "${HOSTS[@]:2}"
	rm -f "$RUN/www/cal"
}
note "calibration: fetching 16 MiB across the caps"
calibrate
note "calibration: $CAL"

# ---- the lower bound -----------------------------------------------------------------------------
# Every byte leaves the source at least once (S/U_src), each client takes in S (S/D_cli), and N·S
# bytes must be uploaded by someone: the source, the supernode host and the clients together.
# With slow hosts, D_cli is the slowest client's and U sums every client's upload; the others
# (FAST_BOUND) must each take in S at their own D_cli, and (N - K)·S must be uploaded by all.
UCLI=$(for i in $(seq "$N"); do cup "$i"; done | awk '{ u += $1 } END { print u }')
DSLOW=$(awk -v a="$CRATE" -v b="$SLOWRATE" -v k="$SLOW" 'BEGIN { print (k > 0 && b < a) ? b : a }')
BOUND_TERMS=$(awk -v s="$S" -v n="$N" -v us="$SRATE" -v usn="$SNRATE" -v dc="$DSLOW" -v uc="$UCLI" 'BEGIN {
	b = s * 8 / 1e6; printf "%.2f %.2f %.2f", b / us, b / dc, n * b / (us + usn + uc) }')
BOUND=$(echo "$BOUND_TERMS" | tr ' ' '\n' | maxof)
FAST_BOUND=$(awk -v s="$S" -v n="$((N - SLOW))" -v us="$SRATE" -v usn="$SNRATE" -v dc="$CRATE" -v uc="$UCLI" 'BEGIN {
	b = s * 8 / 1e6; x = b / us; if (b / dc > x) x = b / dc; if (n * b / (us + usn + uc) > x) x = n * b / (us + usn + uc)
	printf "%.2f", x }')

# ---- the contenders ------------------------------------------------------------------------------
ARIA=(--enable-dht=false --enable-dht6=false --bt-enable-lpd=false --disable-ipv6=true
	--file-allocation=none --summary-interval=0 --console-log-level=warn --auto-file-renaming=false
	--allow-overwrite=true --seed-ratio=0.0)

# df_ready: $DF exists and its help lists `get` (read whole first: grep -q quitting early could
# SIGPIPE the writer and, with pipefail, turn a match into a failure)
df_ready() {
	local help
	[ -x "$DF" ] && help=$("$DF" --help 2>/dev/null) && grep -qE '^ +get( |$)' <<<"$help"
}

# servers_CONTENDER: start what the contender needs besides its clients; on failure WHY says why
servers_http() { start_nginx src; }
servers_bt() {
	local url i
	mkdir -p "$RUN/tracker"
	# Debian's opentracker serves whitelisted torrents only; it reads the list after chroot to -d
	echo "$INFOHASH" >"$RUN/tracker/whitelist"
	host_bg sn "$RUN/tracker.log" env -C "$RUN/tracker" opentracker -i "$SN_IP" -p 6969 -P 6969 -d . -w whitelist
	wait_listen sn 6969 || { WHY="opentracker did not start: $(cat "$RUN/tracker.log")"; return 1; }
	host_bg src "$RUN/seeder.log" aria2c "${ARIA[@]}" --check-integrity=true --dir="$RUN/www" "$RUN/file.torrent"
	url="http://$SN_IP:6969/scrape?info_hash=$(echo "$INFOHASH" | sed 's/../%&/g')"
	for i in $(seq 300); do
		nsx sn curl -s "$url" | grep -q '8:completei[1-9]' && return 0
		sleep 0.1
	done
	WHY="the aria2 seeder never announced itself to the tracker: $(tail -n 5 "$RUN/seeder.log")"
	return 1
}
servers_df() {
	start_nginx src || return 1
	mkdir -p "$RUN/sn-data"
	host_bg sn "$RUN/supernode.log" "$DF" supernode --listen "$SN_IP:8002" --data "$RUN/sn-data" ${DF_SN_FLAGS:-}
	wait_listen sn 8002 20 || { WHY="df supernode did not start: $(tail -n 5 "$RUN/supernode.log")"; return 1; }
}

# client_cmd CONTENDER DIR: the download command of one client into CMD (the copy lands in DIR/file)
client_cmd() {
	local d=$2
	case $1 in
	http) CMD=(curl -sS -f -o "$d/file" "http://$SRC_IP/file") ;;
	bt) CMD=(aria2c "${ARIA[@]}" --dir="$d" --on-bt-download-complete="$here/swarm_client.sh" "$RUN/file.torrent") ;;
	df) CMD=("$DF" get "http://$SRC_IP/file" -O "$d/file" --supernode "$SN_IP:8002" --data "$d/df" --seed-idle 30 ${DF_GET_FLAGS:-}) ;;
	esac
}

declare -A LABEL=([http]="http: curl ← nginx" [bt]="bittorrent: aria2 + opentracker" [df]="df: supernode + df get")
declare -A ROW=() SPREAD=() BUSY=() TRACES=() IDLE=() FASTMK=()
DFINFO=''

# df_counters: what the supernode says it did (its status counters, read before it is stopped) and
# the piece size it picked, for the line under the table
df_counters() {
	local st j ps
	st=$(nsx sn "$DF" status --supernode "$SN_IP:8002" --json 2>/dev/null)
	j() { grep -o "\"$1\": *[0-9]*" <<<"$st" | head -n 1 | grep -o '[0-9]*$'; }
	ps=$(grep -o 'pieces of [0-9]*' "$RUN/supernode.log" | head -n 1 | grep -o '[0-9]*$')
	DFINFO=$(awk -v s="$S" -v a="$(j bytes_from_source)" -v b="$(j bytes_from_supernode)" -v c="$(j bytes_peer_to_peer)" \
		-v w="$(j work_requests)" -v ps="${ps:-0}" 'BEGIN {
		printf "df supernode counters: fetched %.2f×S from the source, sent %.2f×S to peers, peers sent each other %.2f×S; %d work requests; piece size %d KiB (%d pieces).",
			a / s, b / s, c / s, w, ps / 1024, ps ? int((s + ps - 1) / ps) : 0 }')
}

# fail_row NAME WHY: the contender's row says it failed; the run's exit status becomes 1
fail_row() {
	local why=${2//|//}
	why=${why//$'\n'/ }
	[ ${#why} -gt 200 ] && why="${why:0:200}..."
	ROW[$1]="| ${LABEL[$1]} | FAILED: $why | | | | | | | | |"
	STATUS=1
	note "$1: FAILED: $2"
}

# A contender's run shares these: its client names and directories, the release time, the counters
# at release and at the end, and the outcome of the wait.
NAMES=() DIRS=() T0='' TX0='' CPU0='' NDONE=0 FAILED=''

# start_clients NAME MODE: start the N clients behind the barrier, release them at once (sets T0 and
# the counters at release); 1 when they did not all reach the barrier within 60 s
start_clients() {
	local name=$1 mode=$2 i n=0
	exec 9>"$BARRIER"
	flock -x 9
	for i in "${!NAMES[@]}"; do
		client_cmd "$name" "${DIRS[$i]}"
		host_bg "${NAMES[$i]}" "${DIRS[$i]}/wrapper.log" "$here/swarm_client.sh" "${DIRS[$i]}" "$mode" "$BARRIER" "${CMD[@]}"
	done
	for i in $(seq 600); do
		n=0
		for d in "${DIRS[@]}"; do [ -e "$d/ready" ] && n=$((n + 1)); done
		[ "$n" -eq "$N" ] && break
		sleep 0.1
	done
	if [ "$n" -ne "$N" ]; then
		exec 9>&-
		WHY="only $n of $N clients reached the start barrier in 60 s"
		return 1
	fi
	[ -n "$TRACE" ] && trace_start "$RUN/trace.$name"
	sleep 0.3                          # "ready" is written just before flock: let the last ones block
	TX0=$(tx_bytes src) CPU0=$(cpu_snapshot)
	T0=$EPOCHREALTIME
	flock -u 9
	exec 9>&-
	note "$name: $N clients released"
}

# wait_clients NAME: until every client is done, one failed or the timeout passed (sets NDONE, FAILED)
wait_clients() {
	local name=$1 i d now last=$SECONDS suspect=()
	while :; do
		NDONE=0 FAILED=''
		for i in "${!DIRS[@]}"; do
			d=${DIRS[$i]}
			if [ -e "$d/done" ]; then
				NDONE=$((NDONE + 1))
			elif [ -e "$d/exit" ]; then
				# exited without a copy; in hook mode the hook may still be writing: one more round
				if [ -n "${suspect[$i]:-}" ]; then FAILED+=" ${NAMES[$i]}"; else suspect[$i]=1; fi
			fi
		done
		[ "$NDONE" -eq "$N" ] || [ -n "$FAILED" ] && return 0
		now=$(((${EPOCHREALTIME/./} - ${T0/./}) / 1000000))
		[ "$now" -ge "$TIMEOUT" ] && return 0
		if [ $((SECONDS - last)) -ge 10 ]; then note "$name: $NDONE/$N done after ${now}s"; last=$SECONDS; fi
		sleep 0.2
	done
}

# bad_copies: the copies whose sha256 is not the original's (sha256sum lines, or its error for a
# missing file), nothing when all are right
bad_copies() {
	if [ -n "${BENCH_CORRUPT:-}" ] && [ -f "${DIRS[0]%/*}/$BENCH_CORRUPT/file" ]; then  # selftest knob
		printf 'CORRUPT!' | dd of="${DIRS[0]%/*}/$BENCH_CORRUPT/file" bs=1 seek=$((S / 2)) conv=notrunc status=none
	fi
	printf '%s/file\n' "${DIRS[@]}" | xargs -P 2 -n 8 sha256sum 2>&1 | awk -v want="$SHA" '$1 != want'
}

# run_one NAME: one distribution, from starting its servers to checking every copy; fills ROW[NAME]
run_one() {
	local name=$1 mode=exit i d c tx1 cpu1 srv_cpu u rkb m bad
	local -a usage=() times=() cpus=() rss=()
	[ "$name" = bt ] && mode=hook
	if [ "$name" = df ] && ! df_ready; then
		ROW[df]="| ${LABEL[df]} | df: not built yet | | | | | | | | |"
		note "df: not built yet ($DF --help lists no 'get'); row skipped"
		return 0
	fi
	NAMES=() DIRS=()
	for i in $(seq "$N"); do
		c=$(cname "$i")
		NAMES+=("$c") DIRS+=("$RUN/$name/$c")
		mkdir -p "$RUN/$name/$c"
	done
	# how busy the machine is without us (other users' load slows every row alike, but it slows them)
	c=$(cpu_snapshot)
	sleep 2
	IDLE[$name]=$(awk -v a="$c" -v b="$(cpu_snapshot)" 'BEGIN { split(a, x, " "); split(b, y, " ");
		printf "%d%%", (y[2] > x[2]) ? 100 * (y[1] - x[1]) / (y[2] - x[2]) : 0 }')
	note "$name: starting servers (machine CPU busy before: ${IDLE[$name]})"
	WHY=''
	if ! "servers_$name" || ! start_clients "$name" "$mode"; then
		host_pkill src sn "${NAMES[@]}"
		fail_row "$name" "$WHY"
		return 0
	fi
	wait_clients "$name"
	tx1=$(tx_bytes src) cpu1=$(cpu_snapshot)
	[ -n "$TRACE" ] && trace_stop
	[ "$name" = df ] && df_counters
	# what every client host uses now: its download plus whatever it still runs (a seeder)
	for i in "${!DIRS[@]}"; do usage[$i]=$(host_usage "${NAMES[$i]}" "$(cat "${DIRS[$i]}/pids" 2>/dev/null)"); done
	srv_cpu=$(awk -v a="$(host_usage src '' | cut -d' ' -f1)" -v b="$(host_usage sn '' | cut -d' ' -f1)" \
		'BEGIN { printf "%.2f", a + b }')
	host_pkill src sn "${NAMES[@]}"
	if [ -n "$FAILED" ] || [ "$NDONE" -ne "$N" ]; then
		for c in $FAILED; do
			note "$c: exit $(cut -d' ' -f1 "$RUN/$name/$c/exit"); last lines of its log:"
			tail -n 5 "$RUN/$name/$c/log" | sed 's/^/    /' >&2
		done
		if [ -n "$FAILED" ]; then fail_row "$name" "client(s)$FAILED exited before their copy was complete"
		else fail_row "$name" "timeout after ${TIMEOUT}s, $NDONE/$N done"; fi
		[ -n "$KEEP" ] || rm -rf "${RUN:?}/$name"
		return 0
	fi
	bad=$(bad_copies)
	if [ -n "$bad" ]; then
		echo "swarm: $name: DIGEST MISMATCH: these copies differ from the original (sha256 $SHA):" >&2
		echo "$bad" | sed 's/^/    /' >&2
		fail_row "$name" "$(grep -c . <<<"$bad") of $N copies are WRONG (sha256 mismatch)"
		[ -n "$KEEP" ] || rm -rf "${RUN:?}/$name"
		return 0
	fi
	for i in "${!DIRS[@]}"; do
		d=${DIRS[$i]}
		times+=("$(awk -v a="$T0" -v b="$(cat "$d/done")" 'BEGIN { printf "%.3f", b - a }')")
		read -r u rkb <<<"${usage[$i]}"
		cpus+=("$u")
		m=$(tail -n 1 "$d/time" 2>/dev/null | awk '{print $4}')   # peak of a process that exited
		[[ $m =~ ^[0-9]+$ ]] && [ "$m" -gt "$rkb" ] && rkb=$m
		rss+=("$rkb")
	done
	make_row "$name" "$tx1" "$cpu1" "$srv_cpu" "${times[*]}" "${cpus[*]}" "${rss[*]}"
	[ -n "$KEEP" ] || rm -rf "${RUN:?}/$name"
}

# make_row NAME TX1 CPU1 SERVERS_CPU "TIMES" "CPUS" "RSS_KB": the table row of a complete run
make_row() {
	local name=$1 tx1=$2 cpu1=$3 srv_cpu=$4 times cpus rss mk med srcx ratio busy
	times=$(tr ' ' '\n' <<<"$5") cpus=$(tr ' ' '\n' <<<"$6") rss=$(tr ' ' '\n' <<<"$7")
	mk=$(maxof <<<"$times") med=$(median <<<"$times")
	if [ "$SLOW" -gt 0 ]; then # the clients that are not slow: when the last of them was done
		local fast i=0 t
		fast=$(for t in $times; do i=$((i + 1)); is_slow "$i" || echo "$t"; done | maxof)
		FASTMK[$name]=$(awk -v m="$fast" -v b="$FAST_BOUND" 'BEGIN { printf "%.1f s (%.2f× their bound)", m, m / b }')
	fi
	srcx=$(awk -v a="$TX0" -v b="$tx1" -v s="$S" 'BEGIN { printf "%.2f", (b - a) / s }')
	ratio=$(awk -v m="$mk" -v b="$BOUND" 'BEGIN { printf "%.2f", m / b }')
	busy=$(awk -v a="$CPU0" -v b="$cpu1" 'BEGIN { split(a, x, " "); split(b, y, " ");
		printf "%d", (y[2] > x[2]) ? 100 * (y[1] - x[1]) / (y[2] - x[2]) : 0 }')
	BUSY[$name]=$busy
	SPREAD[$name]=$(for d in "${DIRS[@]}"; do cat "$d/start"; done |
		awk -v t="$T0" '{ d = ($1 - t) * 1000; if (d > m) m = d } END { printf "%d ms", m }')
	ROW[$name]=$(printf '| %s | %.1f | %.1f | %s | %s | %.2f / %.2f | %.1f / %.1f | %s | %d/%d | %d%% |' \
		"${LABEL[$name]}" "$mk" "$med" "$srcx" "$ratio" "$(median <<<"$cpus")" "$(maxof <<<"$cpus")" \
		"$(median <<<"$rss" | awk '{ print $1 / 1024 }')" "$(maxof <<<"$rss" | awk '{ print $1 / 1024 }')" \
		"$srv_cpu" "$N" "$N" "$busy")
	[ -n "$TRACE" ] && TRACES[$name]=$(trace_report "$RUN/trace.$name" "$T0" "$mk" "$N" "$CUP" "$SNRATE")
	note "$name: done: makespan ${mk}s, median ${med}s, source sent ${srcx}×S, machine CPU busy $busy%"
}

for c in "${CONTENDERS[@]}"; do run_one "$c"; done

# ---- the table -----------------------------------------------------------------------------------
DATE=$(date +%Y%m%d-%H%M%S)
RESULTS=${BENCH_RESULTS:-$top/build/bench/results-$DATE.md}
mkdir -p "$(dirname "$RESULTS")"
read -r b1 b2 b3 <<<"$BOUND_TERMS"
{
	echo "## Emulated network: $N clients, one $(human "$S") file"
	echo
	echo "Command: \`bench/swarm.sh${ARGS:+ $ARGS}\` ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, Linux $(uname -r))"
	echo
	echo "Links (tc htb, each direction): source $SRATE Mbit/s, supernode host $SNRATE Mbit/s," \
		"clients $CRATE Mbit/s down, $CUP up; added one-way latency ${LAT} ms; TCP congestion control $CC. BitTorrent piece size $(human "$PS")."
	[ "$SLOW" -gt 0 ] && echo "Slow hosts: $SLOW of the $N clients at $SLOWRATE Mbit/s each way; the others' bound" \
		"max(S/U_src, S/D_cli, (N-K)·S/(U_src+U_sn+ΣU_cli)) = $FAST_BOUND s."
	echo "Calibration (payload rates; tc also counts the headers, so ~96% is a full link): $CAL."
	echo "Lower bound: max(S/U_src, S/D_cli, N·S/(U_src+U_sn+ΣU_cli)) = max($b1, $b2, $b3) = $BOUND s."
	echo
	echo "| contender | makespan s | median s | source sent ×S | makespan / bound | CPU s per client (median / max) | peak RSS MB per client (median / max) | servers' CPU s | copies ok | machine CPU busy |"
	echo "|---|---|---|---|---|---|---|---|---|---|"
	for c in "${CONTENDERS[@]}"; do echo "${ROW[$c]}"; done
	echo
	sp=''
	for c in "${CONTENDERS[@]}"; do [ -n "${SPREAD[$c]:-}" ] && sp+="${sp:+, }$c ${SPREAD[$c]}"; done
	[ -n "$sp" ] && echo "Last client started after release: $sp." && echo
	sp=''
	for c in "${CONTENDERS[@]}"; do [ -n "${FASTMK[$c]:-}" ] && sp+="${sp:+, }$c ${FASTMK[$c]}"; done
	[ -n "$sp" ] && echo "The clients that are not slow were all done after: $sp." && echo
	sp=''
	for c in "${CONTENDERS[@]}"; do [ -n "${IDLE[$c]:-}" ] && sp+="${sp:+, }$c ${IDLE[$c]}"; done
	[ -n "$sp" ] && echo "Machine CPU busy in the 2 s before each row started (load that is not ours): $sp." && echo
	[ -n "$DFINFO" ] && echo "$DFINFO" && echo
	hot=''
	for c in "${CONTENDERS[@]}"; do [ "${BUSY[$c]:-0}" -ge 90 ] && hot+="${hot:+, }$c"; done
	[ -n "$hot" ] && echo "WARNING: the machine's CPU was 90% busy or more during $hot (any load counts, not only" \
		"ours): those rows may be limited by CPU rather than by the links." && echo
	for c in "${CONTENDERS[@]}"; do
		[ -n "${TRACES[$c]:-}" ] || continue
		echo "Link use during the $c run (Mbit/s on the wire, per second after the release; ↑ upload, ↓ download):"
		echo
		echo "${TRACES[$c]}"
		echo
	done
} | tee -a "$RESULTS"
note "table written to ${RESULTS#"$top"/}"
