#!/usr/bin/env bash
# Entry of `make bench`: installs what the benches need, runs the emulated-network bench
# (bench/swarm.sh, given this script's arguments), then every other bench/b_*.sh, printing all tables.
# All tables also go to build/bench/results-DATE.md. Exits non-zero when any bench failed.
set -u -o pipefail
cd "$(dirname "$0")/.." || exit 1

# Debian packages the emulated-network bench drives (not part of CI: installed here, on demand)
install_missing() {
	local pkgs=(aria2 opentracker mktorrent nginx-light iproute2 time curl util-linux coreutils) missing=() p
	for p in "${pkgs[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" != 0 ]; then
		echo "bench: missing packages ${missing[*]} (run as root to install them)" >&2
		return 0
	fi
	echo "bench: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
		{ echo "bench: apt-get install ${missing[*]} failed" >&2; return 1; }
	# nginx-light's package may start a system nginx on port 80; the bench runs its own
	if command -v systemctl >/dev/null && systemctl is-active -q nginx 2>/dev/null; then systemctl stop nginx || true; fi
}

# swarm.sh cleans up on Ctrl-C and exits 130 itself; without these traps bash would take that as
# handled and go on with the next bench
trap 'exit 130' INT
trap 'exit 143' TERM
rc=0
install_missing || rc=1
mkdir -p build/bench
results=build/bench/results-$(date +%Y%m%d-%H%M%S).md
echo "# df benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC')" >"$results"
echo >>"$results"

if [ "$(id -u)" = 0 ]; then
	t0=$SECONDS
	BENCH_RESULTS=$results bash bench/swarm.sh "$@" || rc=1
	echo "bench: bench/swarm.sh took $((SECONDS - t0)) s" >&2
else
	echo "bench: swarm.sh skipped: the emulated network needs root (network namespaces, tc)" | tee -a "$results"
fi
for b in bench/b_*.sh; do
	[ -f "$b" ] || continue
	echo
	echo "== $b"
	t0=$SECONDS
	bash "$b" | tee -a "$results"
	st=${PIPESTATUS[0]}
	echo >>"$results"
	case $st in
	0) ;;
	77) echo "bench: $b skipped" >&2 ;;     # what it needs is missing here (root, a package)
	*) echo "bench: $b failed (exit $st)" >&2; rc=1 ;;
	esac
	echo "bench: $b took $((SECONDS - t0)) s" >&2
done
echo
echo "bench: all tables in $results"
exit $rc
