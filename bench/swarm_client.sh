#!/usr/bin/env bash
# The per-client wrapper bench/swarm.sh starts inside each client's namespace: it waits at the start
# barrier, runs one download under /usr/bin/time and records when it started, finished and how.
#
# usage: swarm_client.sh DIR MODE BARRIER CMD...
#   MODE exit: the download is done when CMD exits 0 (curl, df get);
#   MODE hook: CMD reports completion itself by running this script again as a hook (aria2's
#   --on-bt-download-complete: it keeps seeding after it has the file, so its exit is not the end).
#   The hook run is recognised by SWARM_DONE in its environment, which only the wrapper sets.
# Files in DIR: ready, start, done (epoch seconds), exit ("RC EPOCH"), time (/usr/bin/time), log,
# pids (this wrapper and the time process: excluded from the client's peak RSS).
# After CMD exits the wrapper stays (as sleep) so its cutime keeps CMD's CPU for the harness to read.
if [ -n "${SWARM_DONE:-}" ]; then
	echo "$EPOCHREALTIME" >"$SWARM_DONE.tmp" && mv "$SWARM_DONE.tmp" "$SWARM_DONE"
	exit 0
fi
dir=$1 mode=$2 barrier=$3
shift 3
export SWARM_DONE=$dir/done
: >"$dir/ready"
flock -s "$barrier" true               # the harness holds it exclusively until release
echo "$EPOCHREALTIME" >"$dir/start"
/usr/bin/time -f '%e %U %S %M' -o "$dir/time" "$@" >"$dir/log" 2>&1 &
tp=$!
echo "$$ $tp" >"$dir/pids"
wait "$tp"
rc=$?
t=$EPOCHREALTIME
if [ "$mode" = exit ] && [ "$rc" -eq 0 ]; then
	echo "$t" >"$dir/done.tmp" && mv "$dir/done.tmp" "$dir/done"
fi
echo "$rc $t" >"$dir/exit.tmp" && mv "$dir/exit.tmp" "$dir/exit"
exec sleep 100000
