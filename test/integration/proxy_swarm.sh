#!/usr/bin/env bash
# Five hosts pull one image at the same moment through their own df proxy: five df proxy processes
# on distinct loopback ports, each with its own store and piece server (network namespaces would
# cost more set-up than the whole test), one supernode, one registry. Every pull verifies, and the
# registry sends each layer exactly once: the rest travels between the hosts.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../registry/lib.sh"
. "$(dirname "$0")/../proxy/lib.sh"

HOSTS=5
make_test_image "$T/img" df/test:v1 24
RP=$(free_port); start_registry "$RP"
push_image "$T/img" df/test:v1 "$RP" || fail "push: $OUT"
REG=127.0.0.1:$RP
ALOG=$(access_log "$RP")
SP=$(free_port); start_supernode sn "$SP" --piece-size 1M
PORTS=()
for i in $(seq $HOSTS); do
  start_proxy "h$i" --registry "http://$REG" --supernode "127.0.0.1:$SP"
  PORTS+=("$PP")
done

# skopeo_pull keeps its files in one place: each host gets its own copy of the fixture's state
pull() { # I
  local i=$1
  REG_CT=$T/ct$i; mkdir -p "$REG_CT"
  cp "$T/containers/policy.json" "$REG_CT/"; REG_AUTHFILE=$REG_CT/auth.json
  skopeo_pull "$REG" df/test:v1 "$T/out$i" "127.0.0.1:${PORTS[$((i - 1))]}" > "$T/pull$i.out" 2>&1 || { echo "$OUT" >> "$T/pull$i.out"; exit 1; }
  [ "$PULLED_MANIFEST" = "$IMG_MANIFEST" ] || { echo "pulled $PULLED_MANIFEST" >> "$T/pull$i.out"; exit 1; }
}
start=$(date +%s%N)
pids=()
for i in $(seq $HOSTS); do ( pull "$i" ) & pids+=($!); done
for i in $(seq $HOSTS); do await_ok "${pids[$((i - 1))]}" 120 "host $i"; done
ms=$(( ($(date +%s%N) - start) / 1000000 ))
sent_once "$ALOG" "$T/img" $IMG_LAYERS $IMG_CONFIG
sleep 0.3
sent_once "$ALOG" "$T/img" $IMG_LAYERS $IMG_CONFIG
p2p=0
for p in "${PORTS[@]}"; do
  n=$(proxy_stat "$p" blobs-p2p)
  [ "${n:-0}" -ge 3 ] || fail "host on port $p served ${n:-0} blobs from the swarm"
  p2p=$((p2p + n))
done
echo "$HOSTS hosts pulled $((IMG_BYTES / 1024)) KiB each in ${ms} ms; registry sent each blob once; $p2p blob replies from the swarm"
pass "proxy swarm"
