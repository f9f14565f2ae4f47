#!/usr/bin/env bash
# The scheduler benchmark: tools/sim (the real core/sched driven by a discrete-event swarm) swept
# over N = 10 .. 10,000 clients, then the variations that move the numbers. Prints markdown tables.
# Takes well under a minute on one core. Run from `make bench` (bench/run.sh) or on its own.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${B:-build/musl}
sim=$B/tools/sim
if [ ! -x "$sim" ]; then
  make --no-print-directory "$sim" >/dev/null
fi

echo "## Scheduler simulation (tools/sim)"
echo
echo "64 MB file, 256 KB pieces, clients 100 Mbit/s up and down, source 200 Mbit/s to the supernode"
echo "(4 range requests), supernode upload 200 Mbit/s, 1 ms round trips, all clients joining at once;"
echo "scheduler defaults (sched_config_default). bound = max(S/U_src, S/D, N*S/(U_super + N*U_client))."
echo "ns/assign: CPU of every scheduler call (assign, report, wakeups, heartbeats, expiry) per"
echo "assignment; sched core %: that CPU as a share of one core over the makespan."
echo
"$sim" --header
worst=0
for n in 10 20 50 100 500 1000 5000 10000; do
  row=$("$sim" -n "$n" --row)
  echo "$row"
  ratio=$(echo "$row" | awk -F'|' '{gsub(/ /, "", $6); print $6}')
  worst=$(awk -v a="$worst" -v b="$ratio" 'BEGIN { print (b > a) ? b : a }')
done
echo
if awk -v w="$worst" 'BEGIN { exit !(w <= 1.3) }'; then
  echo "Target makespan <= 1.3 x bound: met for every N (worst ratio $worst)."
else
  echo "Target makespan <= 1.3 x bound: NOT met (worst ratio $worst)."
fi
echo

echo "### What moves the numbers (N = 1000 unless said)"
echo
printf '| variation '
"$sim" --header | sed -n 1p
printf '|---'
"$sim" --header | sed -n 2p
variant() { # label, sim flags...
  local label=$1
  shift
  printf '| %s ' "$label"
  "$sim" "$@" --row
}
variant "defaults" -n 1000
variant "1 MB pieces" -n 1000 --piece 1M
variant "4 MB pieces" -n 1000 --piece 4M
variant "4 MB pieces, 1 slot each way" -n 1000 --piece 4M --up-slots 1 --max-down 1 --super-slots 2
variant "10 ms round trips" -n 1000 --latency 10
variant "10 ms round trips, 1 MB pieces" -n 1000 --latency 10 --piece 1M
variant "joining over 10 s" -n 1000 --join-spread 10
variant "10 slow clients (10 Mbit/s)" -n 1000 --slow 10
variant "30 misbehaving clients" -n 1000 --fail 30
variant "source fetched in order" -n 1000 --streams 1
variant "supernode 1 Gbit/s, 40 slots" -n 1000 --super-up 1000 --super-slots 40
variant "30 GB, 4 MB pieces, N=100" -n 100 -s 30G --piece 4M
