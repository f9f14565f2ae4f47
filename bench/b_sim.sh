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

echo
echo "### Upload-constrained, uneven and churning swarms (issue 16)"
echo
echo "The same file and supernode; clients as said. others' ratio: the clients that are not slow, against"
echo "their own bound (every uplink serving them; S/D of their own links); slow ratio: the slow clients"
echo "against the bound of all (their own S/D). Churn: clients leave once at a random moment of the"
echo "download (their uploads are reset, the supernode drops them on the first refused connection)"
echo "and come back 1-3 s later with the pieces they kept; the bound adds each one's time away."
echo "supernode busy: its upload over its capacity until the last client that is not slow was done."
echo "end-game copies: second uploaders given for a piece already on its way (the loser is cancelled);"
echo "wasted: bytes of cancelled copies and of transfers cut by departures, in file sizes."
echo "end game rows: the scheduler's endgame setting on (off by default: df's peer does not yet run two"
echo "fetches of one piece; see docs/SCHEDULER.md). fair links rows: an uploader's link shared max-min"
echo "fairly (what a transfer capped at a slow downloader leaves goes to its other transfers, as TCP"
echo "flows do) instead of in equal shares."
echo
xvariant() { # label, sim flags...
  local label=$1
  shift
  printf '| %s ' "$label"
  "$sim" "$@" --xrow
}
printf '| variation '
"$sim" --xheader | sed -n 1p
printf '|---'
"$sim" --xheader | sed -n 2p
xvariant "uplinks 20 Mbit/s, N=30" -n 30 --up 20
xvariant "uplinks 20 Mbit/s, N=1000" -n 1000 --up 20
xvariant "10% slow (10 Mbit/s), N=30" -n 30 --slow 3
xvariant "10% slow (10 Mbit/s), N=1000" -n 1000 --slow 100
xvariant "uplinks 20, 10% slow (2/10 Mbit/s), N=30" -n 30 --up 20 --slow 3
xvariant "10% churn, N=30" -n 30 --churn 3
xvariant "10% churn, N=1000" -n 1000 --churn 100
xvariant "uplinks 20, 10% churn, N=30" -n 30 --up 20 --churn 3
xvariant "joining over 10 s, N=30" -n 30 --join-spread 10
xvariant "joining over 10 s, N=1000" -n 1000 --join-spread 10
xvariant "uplinks 20, joining over 10 s, N=30" -n 30 --up 20 --join-spread 10
xvariant "end game: uplinks 20 Mbit/s, N=30" -n 30 --up 20 --endgame 1
xvariant "end game: 10% slow, N=30" -n 30 --slow 3 --endgame 1
xvariant "end game: 10% slow, N=1000" -n 1000 --slow 100 --endgame 1
xvariant "end game: 10% churn, N=1000" -n 1000 --churn 100 --endgame 1
xvariant "end game: defaults, N=1000" -n 1000 --endgame 1
# --fair: uplinks shared max-min fairly (TCP-like) instead of equally, where slow downloaders differ
xvariant "fair links: 10% slow, N=30" -n 30 --slow 3 --fair
xvariant "fair links: 10% slow, N=1000" -n 1000 --slow 100 --fair
xvariant "fair links: uplinks 20, 10% slow, N=30" -n 30 --up 20 --slow 3 --fair
xvariant "fair links: defaults, N=1000" -n 1000 --fair
