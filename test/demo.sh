#!/usr/bin/env bash
# make demo: a whole swarm on this machine. nginx serves a 64 MB file; one supernode; 8 peers with
# their own stores and ports fetch it at once (each capped at 20 MB/s so the swarm is visible).
# Prints progress, the time, bytes from the source and bytes peer to peer, verifies every copy.
set -u
. "$(dirname "$0")/lib.sh"
command -v nginx >/dev/null || { echo "demo: nginx is missing: run 'sudo bash .ci/install' first" >&2; exit 1; }
cd "$T"
N=${N:-8}; MB=${MB:-64}
mkdir -p www
echo "demo: making a $MB MB source file"
make_file www/demo.bin "$MB"
NP=$(free_port); start_nginx "$T/www" "$NP"
SP=$(free_port); start_supernode supernode "$SP"
URL=http://127.0.0.1:$NP/demo.bin
echo "demo: source $URL, supernode 127.0.0.1:$SP, $N peers"
start=$(date +%s.%N)
for i in $(seq "$N"); do
  "$DF" get "$URL" -O "peer$i.bin" --supernode "127.0.0.1:$SP" --data "$T/peer$i" --seed-idle 10 --limit-rate 20M -q > "peer$i.log" 2>&1 &
  echo $! > "peer$i.pid"; track "$(cat "peer$i.pid")"
done
while :; do
  line=""; running=0
  for i in $(seq "$N"); do
    have=$(du -sk "$T/peer$i" 2>/dev/null | cut -f1); have=${have:-0}
    pct=$(( have * 100 / (MB * 1024) )); [ $pct -gt 100 ] && pct=100
    kill -0 "$(cat "peer$i.pid")" 2>/dev/null && running=$((running+1))
    line+=$(printf ' p%d:%3d%%' "$i" "$pct")
  done
  printf '\r%s' "$line"
  [ $running -eq 0 ] && break
  sleep 0.5
done
echo
elapsed=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
ok=0
for i in $(seq "$N"); do
  wait "$(cat "peer$i.pid")"; rc=$?
  track_seeder "$T/peer$i"
  if [ $rc -eq 0 ] && cmp -s www/demo.bin "peer$i.bin"; then ok=$((ok+1)); else echo "peer $i failed (exit $rc): $(tail -n 3 "peer$i.log")"; fi
done
size=$(stat -c %s www/demo.bin)
sent=$(nginx_bytes "$NP" /demo.bin)
"$DF" status --supernode "127.0.0.1:$SP"
echo
echo "demo: $ok/$N copies verified in ${elapsed}s; the source sent $sent bytes for a $size-byte file ($(awk -v a="$sent" -v b="$size" 'BEGIN{printf "%.2f", a/b}')x)"
[ $ok -eq "$N" ]
