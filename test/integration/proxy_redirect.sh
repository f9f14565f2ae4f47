#!/usr/bin/env bash
# Blobs that the registry redirects to blob storage (307, the way registries on object storage
# answer): df follows the redirect itself and the layer still goes P2P, keyed by its digest. Two
# hosts (df proxy each) pull the image under two repository names; the blob server sends each layer
# once, and never sees the client's credentials.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../registry/lib.sh"
. "$(dirname "$0")/../proxy/lib.sh"

make_test_image "$T/img" df/test:v1 8
RP=$(free_port); start_registry "$RP"
push_image "$T/img" df/test:v1 "$RP" || fail "push: $OUT"
push_image "$T/img" df/other:v1 "$RP" || fail "push other: $OUT"
FP=$(free_port); start_redirect_front "$FP" "$RP"
FRONT=127.0.0.1:$FP
BLOG=$(access_log "$REDIRECT_BLOB_PORT")
ALOG=$(access_log "$RP")
SP=$(free_port); start_supernode sn "$SP"
start_proxy pa --registry "http://$FRONT" --supernode "127.0.0.1:$SP"; PA=$PP
start_proxy pb --registry "http://$FRONT" --supernode "127.0.0.1:$SP"; PB=$PP

skopeo_pull "$FRONT" df/test:v1 "$T/out1" "127.0.0.1:$PA" || fail "skopeo through host A: $OUT"
[ "$PULLED_MANIFEST" = "$IMG_MANIFEST" ] || fail "host A pulled $PULLED_MANIFEST"
sent_once "$BLOG" "$T/img" $IMG_LAYERS
for d in $IMG_LAYERS; do
  [ "$(blob_redirects "$(access_log "$FP")" "$d")" -ge 1 ] || fail "the front never redirected $d"
  [ "$(blob_served "$ALOG" "$d")" -eq 0 ] || fail "the registry itself sent $d"
done
# host B, another repository with the same layers: one task per digest, nothing new from storage
skopeo_pull "$FRONT" df/other:v1 "$T/out2" "127.0.0.1:$PB" || fail "skopeo through host B: $OUT"
[ "$PULLED_MANIFEST" = "$IMG_MANIFEST" ] || fail "host B pulled $PULLED_MANIFEST"
sleep 0.3
sent_once "$BLOG" "$T/img" $IMG_LAYERS
OUT=$(curl -s "http://127.0.0.1:$PB/v1/status")
[[ $OUT == *"blobs-p2p: "[1-9]* ]] || fail "host B did not get the layers through the swarm: $OUT"
# credentials go to the registry, never across the redirect to another host (nginx logs the user
# of a Basic Authorization header as $remote_user, the third field)
( make_test_image "$T/img3" df/third:v1 1 && push_image "$T/img3" df/third:v1 "$RP" ) > "$T/img3.out" 2>&1 \
  || fail "third image: $(cat "$T/img3.out")"
. "$T/img3.env"
curl -sf -u someone:secret -o "$T/blob" "http://127.0.0.1:$PA/v2/df/third/blobs/$IMG_BIG" || fail "blob via A"
cmp -s "$T/blob" "$T/img3/blobs/sha256/${IMG_BIG#sha256:}" || fail "blob bytes differ"
sent_once "$BLOG" "$T/img3" "$IMG_BIG"
grep "${IMG_BIG#sha256:}" "$BLOG" | awk '$3 != "-" {bad = 1} END {exit bad}' \
  || fail "credentials reached the blob storage host: $(grep "${IMG_BIG#sha256:}" "$BLOG")"
grep "${IMG_BIG#sha256:}" "$(access_log "$FP")" | grep -q ' someone ' || fail "the registry front never saw the credentials"
pass "proxy redirect"
