#!/usr/bin/env bash
# When df cannot help, pulls still work. No supernode answering: df proxy fetches the layers
# straight from the registry (once) and the client never notices. df proxy itself killed: skopeo
# (registries.conf) and ctr (hosts.toml) fall back to the registry by their own mirror rules, as
# --print-config configures them.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../registry/lib.sh"
. "$(dirname "$0")/../proxy/lib.sh"

make_test_image "$T/img" df/test:v1 8
RP=$(free_port); start_registry "$RP"
push_image "$T/img" df/test:v1 "$RP" || fail "push: $OUT"
REG=127.0.0.1:$RP
ALOG=$(access_log "$RP")
DEAD=$(free_port)   # a supernode address nobody listens on
start_proxy px --registry "http://$REG" --supernode "127.0.0.1:$DEAD"

# the swarm is down: df proxy goes to the registry itself, once per layer, and says so in its log
skopeo_pull "$REG" df/test:v1 "$T/out1" "127.0.0.1:$PP" || fail "skopeo without a supernode: $OUT"
[ "$PULLED_MANIFEST" = "$IMG_MANIFEST" ] || fail "pulled $PULLED_MANIFEST"
sent_once "$ALOG" "$T/img" $IMG_LAYERS
OUT=$(curl -s "http://127.0.0.1:$PP/v1/status")
[[ $OUT == *"blobs-p2p: "[1-9]* ]] || fail "the layers did not go through df proxy's engine: $OUT"
grep -q "no supernode answered.*straight from the source" "$T/px.log" \
  || fail "df proxy did not say it went to the source: $(cat "$T/px.log")"

# df proxy killed: the clients' own fallback to the registry
kill -9 $PX; wait $PX 2>/dev/null
before=$(blob_served "$ALOG" "$IMG_BIG")
skopeo_pull "$REG" df/test:v1 "$T/out2" "127.0.0.1:$PP" || fail "skopeo with df proxy down: $OUT"
[ "$PULLED_MANIFEST" = "$IMG_MANIFEST" ] || fail "skopeo (proxy down) pulled $PULLED_MANIFEST"
[ "$(wait_count $((before + 1)) blob_served "$ALOG" "$IMG_BIG")" -eq $((before + 1)) ] || fail "skopeo did not go to the registry"
start_containerd
ctr_fetch "$REG" df/test:v1 "127.0.0.1:$PP" || fail "ctr with df proxy down: $OUT"
[ "$PULLED_MANIFEST" = "$IMG_MANIFEST" ] || fail "ctr (proxy down) pulled $PULLED_MANIFEST"
[ "$(wait_count $((before + 2)) blob_served "$ALOG" "$IMG_BIG")" -eq $((before + 2)) ] || fail "ctr did not go to the registry"
pass "proxy fallback"
