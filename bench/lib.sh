# Helpers for the emulated-network bench (sourced by bench/swarm.sh, never run): network namespaces
# on one private bridge, tc caps on every link, processes per namespace, counters and small stats.
#
# How the network looks: one namespace "${NS_PREFIX}net" holds the bridge br0 and nothing else.
# Every host (src, sn, c001...) is its own namespace with one veth "eth0" whose peer "v-NAME" is a
# port of br0. Shaping is egress-only, on both ends of each veth: the host side (eth0) caps what the
# host uploads, the bridge side (v-NAME) caps what it downloads. The root namespace is never touched:
# no interface, route or firewall rule is created there, so the subnet exists only on our bridge.
# shellcheck shell=bash disable=SC2034
set -u -o pipefail

SUBNET_PREFIX=${SUBNET_PREFIX:-10.201}   # the /16 that exists only inside our namespaces
NS_PREFIX=${NS_PREFIX:-dfbench-$$-}      # every namespace of this run starts with this
NS_PATTERN='^dfbench-[0-9]+-'            # what --cleanup may remove (leftovers of any run)
CLK_TCK=$(getconf CLK_TCK)

die() { echo "swarm: $*" >&2; exit 1; }
note() { echo "swarm: $*" >&2; }

# must CMD...: run CMD; on failure stop the run naming the command and its output
must() {
	local out
	out=$("$@" 2>&1) || die "'$*' failed: $out"
}

# ns NAME: the full namespace name of host NAME
ns() { echo "$NS_PREFIX$1"; }

# nsx NAME CMD...: run CMD inside host NAME's namespace, in the foreground
nsx() { local n=$1; shift; ip netns exec "$NS_PREFIX$n" "$@"; }

# host_ip NAME: the address of a host: src .0.1, sn .0.2, client cNNN 1-based index spread over /16
host_ip() {
	case $1 in
	src) echo "$SUBNET_PREFIX.0.1" ;;
	sn) echo "$SUBNET_PREFIX.0.2" ;;
	c*) local i=$((10#${1#c} - 1)); echo "$SUBNET_PREFIX.$((1 + i / 250)).$((1 + i % 250))" ;;
	*) die "host_ip: unknown host $1" ;;
	esac
}

# shape NETNS DEV RATE_MBIT DELAY_MS: cap egress of DEV at RATE (htb, one class), queue of QUEUE_MS
# (default 50 ms; bfifo, so a slow link does not hide seconds of bufferbloat; at least 128 KiB, as
# veth hands over 64 KiB GSO packets and a smaller limit drops them whole), plus DELAY ms with netem.
shape() {
	local netns=$1 dev=$2 rate=$3 delay=$4 limit
	limit=$(awk -v r="$rate" -v ms="${QUEUE_MS:-50}" 'BEGIN { l = r * 125 * ms; if (l < 131072) l = 131072; printf "%d", l }')
	must tc -n "$netns" qdisc replace dev "$dev" root handle 1: htb default 1
	must tc -n "$netns" class add dev "$dev" parent 1: classid 1:1 htb rate "${rate}mbit" ceil "${rate}mbit" \
		burst 64k cburst 64k quantum 60000
	if [ "$delay" != 0 ]; then
		must tc -n "$netns" qdisc add dev "$dev" parent 1:1 handle 10: netem delay "${delay}ms" \
			limit $((limit / 1500 + 100))
	else
		must tc -n "$netns" qdisc add dev "$dev" parent 1:1 handle 10: bfifo limit "$limit"
	fi
}

# cc_allow NAME / cc_restore: a namespace other than the machine's may only choose an algorithm in
# the machine-wide tcp_allowed_congestion_control; cc_allow adds NAME to it when missing (and
# remembers the old list), cc_restore puts the old list back. Nothing else of the machine changes.
CC_ALLOWED=/proc/sys/net/ipv4/tcp_allowed_congestion_control
CC_WAS=''
cc_allow() {
	grep -qw -- "$1" "$CC_ALLOWED" && return 0
	CC_WAS=$(cat "$CC_ALLOWED")
	echo "$CC_WAS $1" >"$CC_ALLOWED" 2>/dev/null || die "cannot add $1 to $CC_ALLOWED"
}
cc_restore() { [ -z "$CC_WAS" ] || echo "$CC_WAS" >"$CC_ALLOWED"; CC_WAS=''; }

# netem_works: true when this kernel has the netem qdisc (needed for --latency only)
netem_works() {
	local t="${NS_PREFIX}netemcheck" ok=1
	ip netns add "$t" || return 1
	ip -n "$t" link set lo up && tc -n "$t" qdisc add dev lo root netem delay 1ms 2>/dev/null && ok=0
	ip netns del "$t"
	return $ok
}

# net_create: the bridge namespace (the "switch")
net_create() {
	local b
	b=$(ns net)
	must ip netns add "$b"
	must ip -n "$b" link set lo up
	must ip -n "$b" link add br0 type bridge stp_state 0 forward_delay 0
	must ip -n "$b" link set br0 up
}

# host_mac NAME: the fixed MAC of a host's eth0 (locally administered, from its address), so that
# every host's neighbour table can be filled without asking (static_neighbours)
host_mac() { host_ip "$1" | awk -F. '{ printf "02:df:%02x:%02x:%02x:%02x\n", $1, $2, $3, $4 }'; }

# host_add NAME RATE_MBIT DELAY_MS [DOWN_MBIT]: a host namespace on the bridge, its upload capped at
# RATE and its download at DOWN (default RATE)
host_add() {
	local name=$1 rate=$2 delay=$3 down=${4:-$2} h b ip
	h=$(ns "$name") b=$(ns net) ip=$(host_ip "$name")
	must ip netns add "$h"
	must ip -n "$h" link set lo up
	must ip -n "$b" link add "v-$name" type veth peer name eth0 address "$(host_mac "$name")" netns "$h"
	must ip -n "$b" link set "v-$name" master br0 up
	must ip -n "$h" addr add "$ip/16" dev eth0
	must ip -n "$h" link set eth0 up
	# CC: the hosts' TCP congestion control (a new namespace copies the machine's, which on some VMs
	# is bbr rather than the stock cubic); it must be in tcp_allowed_congestion_control (cc_allow)
	if [ -n "${CC:-}" ]; then
		nsx "$name" sh -c "echo $CC > /proc/sys/net/ipv4/tcp_congestion_control" 2>/dev/null ||
			die "cannot set TCP congestion control $CC in $h: the machine allows only" \
				"'$(cat "$CC_ALLOWED")' in namespaces (cc_allow adds it) and offers" \
				"'$(cat /proc/sys/net/ipv4/tcp_available_congestion_control)'"
	fi
	shape "$h" eth0 "$rate" "$delay"    # the host's upload
	shape "$b" "v-$name" "$down" 0      # the host's download (latency once per direction is enough)
}

# static_neighbours NAME...: every host gets a permanent neighbour entry (IP -> MAC) for every other.
# Why: the kernel has one ARP table for all namespaces, and its dynamic entries are capped machine-wide
# (net.ipv4.neigh.default.gc_thresh3, 1024 by default). N hosts that all talk to each other need
# about N² entries: at N = 50 the table overflows ("neighbor table overflow!" in dmesg), ARP fails,
# and connections between hosts time out; that is the emulation failing, not the contenders.
# Permanent entries are exempt from that cap (Linux >= 5.0) and leave no ARP traffic on the links.
static_neighbours() {
	local h o lines=''
	for o in "$@"; do lines+="$(host_ip "$o") $(host_mac "$o")"$'\n'; done
	for h in "$@"; do
		awk -v me="$(host_ip "$h")" 'NF == 2 && $1 != me { printf "neigh replace %s lladdr %s dev eth0 nud permanent\n", $1, $2 }' \
			<<<"$lines" | ip -n "$(ns "$h")" -batch - 2>&1 | head -n 3 | grep . && die "static neighbours of $h failed"
	done
	return 0
}

# our_namespaces [PATTERN]: namespaces of this run (or matching PATTERN), one per line
our_namespaces() {
	ip netns list 2>/dev/null | awk '{print $1}' | grep -E "${1:-^$NS_PREFIX}" || true
}

# ns_kill_all NETNS...: stop every process inside the given namespaces (TERM, then KILL after 3 s).
# Everything in these namespaces was started by us: they exist only for this run.
ns_kill_all() {
	local n p pids i
	for i in $(seq 30); do
		pids=()
		for n in "$@"; do
			for p in $(ip netns pids "$n" 2>/dev/null); do pids+=("$p"); done
		done
		[ ${#pids[@]} -eq 0 ] && return 0
		if [ "$i" -lt 30 ]; then kill "${pids[@]}" 2>/dev/null; else kill -9 "${pids[@]}" 2>/dev/null; fi
		[ "$i" -eq 1 ] || sleep 0.1
	done
	for n in "$@"; do
		for p in $(ip netns pids "$n" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	done
}

# net_destroy [PATTERN]: stop every process in our namespaces and delete them (the veths go with them)
net_destroy() {
	local list n
	list=$(our_namespaces "${1:-}")
	[ -z "$list" ] && return 0
	# shellcheck disable=SC2086
	ns_kill_all $list
	for n in $list; do ip netns del "$n" 2>/dev/null || note "could not delete namespace $n"; done
}

# host_pkill NAME...: stop every process inside these hosts' namespaces
host_pkill() {
	local n list=()
	for n in "$@"; do list+=("$(ns "$n")"); done
	ns_kill_all "${list[@]}"
}

# tx_bytes NAME: bytes the host has sent on its link (kernel counter of its eth0)
tx_bytes() { nsx "$1" cat /sys/class/net/eth0/statistics/tx_bytes; }

# clients_up_bytes: bytes all clients (hosts c*) have sent so far, from the bridge side of their links
clients_up_bytes() { nsx net awk '{ sub(/:/, " ") } $1 ~ /^v-c/ { s += $2 } END { printf "%.0f\n", s }' /proc/net/dev; }

# wait_listen NAME PORT [SECONDS]: until something listens on PORT inside host NAME
wait_listen() {
	local i
	for i in $(seq $((${3:-10} * 10))); do
		nsx "$1" ss -Htln "sport = :$2" | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

# host_usage NAME EXCLUDE_PIDS: "CPU_SECONDS PEAK_RSS_KB" of what runs inside host NAME now. CPU sums
# utime+stime+cutime+cstime of every live process (a live parent's cutime holds its reaped
# children, so nothing is counted twice); RSS is the largest VmHWM among processes not excluded.
host_usage() {
	local name=$1 exclude=" $2 " p ticks=0 rss=0 stat rest f h
	for p in $(ip netns pids "$(ns "$name")" 2>/dev/null); do
		stat=$(cat "/proc/$p/stat" 2>/dev/null) || continue
		rest=${stat##*) }                      # fields from 3 on; comm may hold spaces
		read -r -a f <<<"$rest"
		ticks=$((ticks + f[11] + f[12] + f[13] + f[14]))
		if [[ $exclude != *" $p "* ]]; then
			h=$(awk '/^VmHWM:/ {print $2}' "/proc/$p/status" 2>/dev/null)
			[ -n "$h" ] && [ "$h" -gt "$rss" ] && rss=$h
		fi
	done
	awk -v t="$ticks" -v hz="$CLK_TCK" -v r="$rss" 'BEGIN { printf "%.2f %d\n", t / hz, r }'
}

# cpu_snapshot: "BUSY TOTAL" jiffies of the whole machine (for the busy share during a run)
cpu_snapshot() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat; }

# median / max of numbers on stdin, one per line (empty input prints "-")
median() { sort -g | awk '{ v[NR] = $1 } END { if (!NR) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
maxof() { sort -g | awk '{ m = $1 } END { print NR ? m : "-" }'; }

# to_bytes SIZE: 64M, 1G, 512k or plain bytes -> bytes (binary units)
to_bytes() {
	local v=$1
	case $v in
	*[kK]) echo $((${v%?} * 1024)) ;;
	*[mM]) echo $((${v%?} * 1024 * 1024)) ;;
	*[gG]) echo $((${v%?} * 1024 * 1024 * 1024)) ;;
	*[!0-9]* | '') return 1 ;;
	*) echo "$v" ;;
	esac
}

# human SIZE_BYTES: 64 MiB style
human() { awk -v b="$1" 'BEGIN { if (b >= 1073741824) printf "%g GiB", b / 1073741824; else if (b >= 1048576) printf "%g MiB", b / 1048576; else printf "%g KiB", b / 1024 }'; }

# ---- the link trace (--trace) ---------------------------------------------------------------------
# Every bridge port v-NAME sees its host's traffic from the other side: its rx is what the host
# uploads, its tx what the host downloads. One sampler in the bridge namespace reads all of them at
# once (/proc/net/dev of that namespace) with the machine's CPU counters, every TRACE_STEP seconds.
TRACE_STEP=${TRACE_STEP:-0.25}

# trace_start FILE: start sampling into FILE (stopped with trace_stop, or with the namespaces)
trace_start() {
	host_bg net "$1" bash -c "while :; do echo T \$EPOCHREALTIME; cat /proc/net/dev; grep '^cpu ' /proc/stat; sleep $TRACE_STEP; done"
}
trace_stop() { host_pkill net; }

# trace_report FILE T0 SECONDS N CLIENT_MBIT SN_MBIT: a table per second (or per few seconds) of the run from the trace
# (Mbit/s on the wire, headers included) and a summary line of how busy the links were on average
trace_report() {
	echo "| t s | source ↑ | supernode ↓ | supernode ↑ | clients ↑ (sum) | clients ↓ (sum) | clients ↑ / caps | machine CPU busy |"
	echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
	awk -v t0="$2" -v span="$3" -v n="$4" -v crate="$5" -v snrate="$6" '
	$1 == "T" { s++; t[s] = $2 - t0; next }
	/^ *v-[^:]*:/ { sub(/:/, " "); k = $1; sub(/^v-/, "", k); if (k ~ /^c/) { cu[s] += $2; cd[s] += $10 } else { up[s, k] = $2; dn[s, k] = $10 }; next }
	$1 == "cpu" { tot = 0; for (i = 2; i <= NF; i++) tot += $i; ct[s] = tot; cb[s] = tot - $5 - $6 }
	function mbit(b, dt) { return b * 8 / dt / 1e6 }
	function row(a, b,   dt) {
		dt = t[b] - t[a]
		printf "| %.1f | %.0f | %.0f | %.0f | %.0f | %.0f | %d%% | %d%% |\n", t[b], mbit(up[b, "src"] - up[a, "src"], dt),
			mbit(dn[b, "sn"] - dn[a, "sn"], dt), mbit(up[b, "sn"] - up[a, "sn"], dt), mbit(cu[b] - cu[a], dt),
			mbit(cd[b] - cd[a], dt), 100 * mbit(cu[b] - cu[a], dt) / (n * crate),
			(ct[b] > ct[a]) ? 100 * (cb[b] - cb[a]) / (ct[b] - ct[a]) : 0
	}
	END {
		# the last sample at or before the release, then one per step (whole seconds, about 25 rows at
		# most), then the end of the run
		for (i = 1; i <= s && t[i] <= 0; i++) first = i
		if (!first) first = 1
		step = int(span / 25) + 1
		last = first; want = step
		for (i = first + 1; i <= s; i++) {
			if (t[i] >= span) { row(last, i); end = i; break }
			if (t[i] >= want) { row(last, i); last = i; want = (int(t[i] / step) + 1) * step }
		}
		if (!end) end = s
		dt = t[end] - t[first]
		# when the clients had 99% of what they received in the whole run (their transfers are over;
		# what follows is work on their own hosts)
		for (i = first; i <= end && cd[i] - cd[first] < 0.99 * (cd[end] - cd[first]); i++);
		if (dt > 0)
			printf "\nOver the run: clients uploaded %.0f%% of their %d x %g Mbit/s; the supernode host uploaded %.0f%% of its %g Mbit/s and downloaded %.0f%%. The clients had 99%% of their bytes %.1f s after the release.\n",
				100 * mbit(cu[end] - cu[first], dt) / (n * crate), n, crate,
				100 * mbit(up[end, "sn"] - up[first, "sn"], dt) / snrate, snrate, 100 * mbit(dn[end, "sn"] - dn[first, "sn"], dt) / snrate,
				t[i]
	}' "$1"
}
