# Sites joined by capped "WAN" links, for the multi-site test and bench (test/integration/
# multisite_netns.sh, bench/b_multisite.sh): sourced after test/lib.sh with SUBNET_PREFIX and
# NS_PREFIX set, never run. It skips (exit 77) without ip, tc, nginx or network namespaces, brings
# in bench/lib.sh, and deletes every namespace of the run on exit.
#
# How the network looks: each site is a namespace "${NS_PREFIX}site-NAME" holding a bridge br0 (the
# site's LAN); a host is a namespace "${NS_PREFIX}HOST" with one veth eth0 on its site's bridge,
# uncapped (links inside a site are fast). Two sites are joined by a veth pair between their bridges,
# "wan-A-B" in A and "wan-B-A" in B, shaped at RATE Mbit/s each way with bench/lib.sh's shape: the
# expensive link whose bytes are counted. Every host is in one /16 with a fixed MAC and a permanent
# neighbour entry for every other, and IPv6 is off everywhere, so the only frames on a WAN link are
# the hosts' own IPv4 traffic (no ARP, neighbour discovery or router solicitations).
# shellcheck shell=bash disable=SC2034
command -v ip >/dev/null && command -v tc >/dev/null || skip "ip or tc (iproute2) not installed"
command -v nginx >/dev/null || skip "nginx not installed"
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"
ip netns add "${NS_PREFIX}probe" 2>/dev/null || skip "ip netns unavailable here (needs root and network namespaces)"
ip netns del "${NS_PREFIX}probe"
CLEANUPS+=("net_destroy")
declare -A SITE_HOST_IP=()

# site_ns NAME: the namespace of site NAME's bridge
site_ns() { echo "${NS_PREFIX}site-$1"; }

# no_ipv6 NETNS: IPv6 off in a namespace before its links exist (its chatter would cross the WAN)
no_ipv6() {
	ip netns exec "$1" sh -c 'for f in /proc/sys/net/ipv6/conf/all/disable_ipv6 /proc/sys/net/ipv6/conf/default/disable_ipv6; do
		[ -w "$f" ] && echo 1 > "$f"; done; true'
}

# site_add NAME: a site: its namespace and bridge
site_add() {
	local s
	s=$(site_ns "$1")
	must ip netns add "$s"
	no_ipv6 "$s"
	must ip -n "$s" link set lo up
	must ip -n "$s" link add br0 type bridge stp_state 0 forward_delay 0
	must ip -n "$s" link set br0 up
}

# site_host_add SITE NAME IP: a host on SITE's LAN with address IP/16 (MAC from the address)
site_host_add() {
	local site=$1 name=$2 ip=$3 h s mac
	h=$(ns "$name") s=$(site_ns "$site")
	mac=$(awk -F. '{ printf "02:df:%02x:%02x:%02x:%02x\n", $1, $2, $3, $4 }' <<<"$ip")
	SITE_HOST_IP[$name]=$ip
	must ip netns add "$h"
	no_ipv6 "$h"
	must ip -n "$h" link set lo up
	must ip -n "$s" link add "v-$name" type veth peer name eth0 address "$mac" netns "$h"
	must ip -n "$s" link set "v-$name" master br0 up
	must ip -n "$h" addr add "$ip/16" dev eth0
	must ip -n "$h" link set eth0 up
}

# site_link A B RATE_MBIT: the WAN between sites A and B, capped at RATE each way
site_link() {
	local a=$1 b=$2 rate=$3
	must ip -n "$(site_ns "$a")" link add "wan-$a-$b" type veth peer name "wan-$b-$a" netns "$(site_ns "$b")"
	must ip -n "$(site_ns "$a")" link set "wan-$a-$b" master br0 up
	must ip -n "$(site_ns "$b")" link set "wan-$b-$a" master br0 up
	shape "$(site_ns "$a")" "wan-$a-$b" "$rate" 0
	shape "$(site_ns "$b")" "wan-$b-$a" "$rate" 0
}

# site_neighbours: every host gets a permanent neighbour entry for every other (no ARP on any link)
site_neighbours() {
	local h o lines=''
	for o in "${!SITE_HOST_IP[@]}"; do
		lines+="${SITE_HOST_IP[$o]} $(awk -F. '{ printf "02:df:%02x:%02x:%02x:%02x\n", $1, $2, $3, $4 }' <<<"${SITE_HOST_IP[$o]}")"$'\n'
	done
	for h in "${!SITE_HOST_IP[@]}"; do
		awk -v me="${SITE_HOST_IP[$h]}" 'NF == 2 && $1 != me { printf "neigh replace %s lladdr %s dev eth0 nud permanent\n", $1, $2 }' \
			<<<"$lines" | ip -n "$(ns "$h")" -batch - 2>&1 | head -n 3 | grep . && die "static neighbours of $h failed"
	done
	return 0
}

# wan_bytes A B: bytes over the link between A and B so far, both directions (A's end: tx + rx)
wan_bytes() {
	ip netns exec "$(site_ns "$1")" cat "/sys/class/net/wan-$1-$2/statistics/tx_bytes" \
		"/sys/class/net/wan-$1-$2/statistics/rx_bytes" | awk '{ s += $1 } END { printf "%.0f\n", s }'
}

# wan_payload A B: TCP payload over the link between A and B so far, both directions: its bytes less
# each frame's headers (Ethernet 14 + IPv4 20 + TCP with timestamps 32). The veth counts a GSO
# segment as one frame, so the headers' share of wan_bytes varies with how the kernel batched them
# (3-5% of a bulk transfer here); this does not.
wan_payload() {
	local d="/sys/class/net/wan-$1-$2/statistics"
	ip netns exec "$(site_ns "$1")" cat "$d/tx_bytes" "$d/rx_bytes" "$d/tx_packets" "$d/rx_packets" |
		awk '{ v[NR] = $1 } END { printf "%.0f\n", v[1] + v[2] - 66 * (v[3] + v[4]) }'
}

# site_nginx HOST PORT ROOT DIR: nginx inside HOST on port PORT serving ROOT (config, logs in DIR)
site_nginx() {
	mkdir -p "$4"
	nginx_conf "$4" "${SITE_HOST_IP[$1]}:$2" "$3" > "$4/nginx.conf"
	nsx "$1" nginx -c "$4/nginx.conf" -p "$4" 2>"$4/stderr" &
}
