#!/usr/bin/env bash
# The simulator against the emulated network: for each N, df's row of bench/swarm.sh (real df
# processes over tc-capped links, with a link trace) and tools/sim (the same scheduler, a fluid model
# of the same links and piece size), side by side, with where the time went in the real run.
#   sudo bash bench/b_validate.sh                       (VALIDATE_N="20 50", swarm.sh's defaults)
#   sudo VALIDATE_N=20 RATE_DIV=4 bash bench/b_validate.sh   (every link 4x slower: less CPU per second)
# Environment: VALIDATE_N, SIZE (64M), CRATE (100), SRATE (200), SNRATE (SRATE, as swarm.sh) in Mbit/s, RATE_DIV
# (divides every rate), DF (the binary). Needs root (namespaces); exits 77 without it.
#
# The simulator is given payload rates: a link carries 1448 bytes of TCP payload per 1514-byte
# frame (95.6%), which the htb caps count whole. The source reaches the supernode through the slower
# of the source's upload and the supernode host's download. The piece size is the one the supernode
# picked in the real run (from its log). Exit 1 when the real run fails.
set -u -o pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
B=${B:-build/musl}
SIM=$top/$B/tools/sim
VALIDATE_N=${VALIDATE_N:-20 50}
SIZE=${SIZE:-64M}
RATE_DIV=${RATE_DIV:-1}
div() { awk -v a="$1" -v d="$RATE_DIV" 'BEGIN { printf "%g", a / d }'; }
SNRATE=$(div "${SNRATE:-${SRATE:-200}}") CRATE=$(div "${CRATE:-100}") SRATE=$(div "${SRATE:-200}")
EFF=0.9564

if [ "$(id -u)" != 0 ]; then
	echo "b_validate: skipped: the emulated network needs root (network namespaces, tc)"
	exit 77
fi
[ -x "$SIM" ] || make -C "$top" --no-print-directory "$B/tools/sim" >/dev/null || { echo "b_validate: cannot build $SIM" >&2; exit 1; }
TMP=$(mktemp -d /tmp/dfvalidate.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

rows=() details=() rc=0
for n in $VALIDATE_N; do
	out=$TMP/swarm-$n.md
	echo "b_validate: N=$n: bench/swarm.sh --only df (a minute or two)" >&2
	if ! BENCH_RESULTS=$out bash "$here/swarm.sh" --only df --trace -n "$n" -s "$SIZE" --client-rate "$CRATE" \
		--source-rate "$SRATE" --sn-rate "$SNRATE" >/dev/null; then
		rows+=("| $n | - | - | - | FAILED: $(grep -o 'FAILED[^|]*' "$out" 2>/dev/null | head -n 1) | | | | | | |")
		rc=1
		continue
	fi
	row=$(grep '^| df:' "$out")
	mk=$(awk -F'|' '{ gsub(/ /, "", $3); print $3 }' <<<"$row")
	busy=$(awk -F'|' '{ gsub(/ /, "", $11); print $11 }' <<<"$row")
	info=$(grep '^df supernode counters' "$out")
	ps_kib=$(grep -o 'piece size [0-9]*' <<<"$info" | grep -o '[0-9]*$')
	sent=$(grep -o 'sent [0-9.]*×S' <<<"$info" | grep -o '[0-9.]*')
	summary=$(grep '^Over the run' "$out")
	t99=$(grep -o 'bytes [0-9.]* s after' <<<"$summary" | grep -o '[0-9.]*')
	cup=$(grep -o 'clients uploaded [0-9]*%' <<<"$summary" | grep -o '[0-9]*%')
	# the simulator with the same links (payload rates) and the same piece size
	pay() { awk -v r="$1" -v e="$EFF" 'BEGIN { printf "%.3f", r * e }'; }
	srcpath=$(awk -v a="$SRATE" -v b="$SNRATE" 'BEGIN { print a < b ? a : b }')
	simrow=$("$SIM" -n "$n" -s "$SIZE" --piece "${ps_kib}k" --up "$(pay "$CRATE")" --down "$(pay "$CRATE")" \
		--src "$(pay "$srcpath")" --super-up "$(pay "$SNRATE")" --row)
	smk=$(awk -F'|' '{ gsub(/ /, "", $4); print $4 }' <<<"$simrow")
	ssup=$(awk -F'|' '{ gsub(/ /, "", $10); print $10 }' <<<"$simrow")
	rows+=("$(awk -v n="$n" -v ps="$ps_kib" -v s="$smk" -v m="$mk" -v t="$t99" -v ss="$ssup" -v es="$sent" -v cu="$cup" -v b="$busy" 'BEGIN {
		printf "| %d | %d KiB | %.2f | %.2f | %.2f | %.1f | %.2f | %.1f | %s / %s | %s | %s |", n, ps, s, m, m / s, t, t / s, m - t, ss, es, cu, b }')")
	details+=("$(echo "### N = $n: the emulated run"; echo; sed -n '/^| contender/,/^$/p' "$out"; grep -E '^(Machine CPU busy in|df supernode counters)' "$out"; echo
		sed -n '/^Link use during the df run/,$p' "$out")")
done

echo "## b_validate: the simulator against the emulated network (df)"
echo
echo "One $SIZE file; links: clients $CRATE Mbit/s, source $SRATE Mbit/s, supernode host $SNRATE Mbit/s (tc htb, each"
echo "direction); tools/sim given the same links at payload rate (×$EFF), the source at the slower of its link and"
echo "the supernode host's, and the piece size the supernode picked. \"transfers done\": when the clients had 99% of"
echo "the bytes they received (from the link trace); what follows is work on the client hosts, not on the links."
echo
echo "| N | piece | sim makespan s | emulated makespan s | emulated / sim | transfers done s | transfers / sim | after the transfers s | supernode sent ×S (sim / emulated) | clients' upload use | machine CPU busy |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for r in "${rows[@]}"; do echo "$r"; done
echo
echo "Target: within ~15% (emulated / sim <= 1.15)."
echo
for d in "${details[@]}"; do echo "$d"; echo; done
exit $rc
