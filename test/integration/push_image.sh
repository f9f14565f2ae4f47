#!/usr/bin/env bash
# df push --image onto three hosts' df proxy, with the real registry: the supernode fetches each
# blob of the image once, every host's store gets them P2P, and pulls through each host's df proxy
# (skopeo, ctr) then cost the registry no blob bytes. The tag names a multi-platform index: the
# machine's platform is taken, or every one with --all-platforms.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../registry/lib.sh"
. "$(dirname "$0")/../proxy/lib.sh"

make_test_image "$T/img" df/test:v1 4
add_index_tag "$T/img" multi
RP=$(free_port); start_registry "$RP"
push_image "$T/img" df/test:multi "$RP" "" --all || fail "push: $OUT"
push_image "$T/img" df/test:v1 "$RP" || fail "push: $OUT"   # the amd64 manifest alone, for ctr
REG=127.0.0.1:$RP
ALOG=$(access_log "$RP")
SP=$(free_port); start_supernode sn "$SP"
start_mirror_hosts 3 --registry "http://$REG" --supernode "127.0.0.1:$SP"
export HOME=$T/home   # no auth file of this machine's user is read

# registry_blob_bytes DIGEST...: the registry's blob body bytes so far, summed
registry_blob_bytes() { local d n=0; for d in "$@"; do n=$((n + $(blob_bytes "$ALOG" "$d"))); done; echo "$n"; }
AMD_BLOBS="$IMG_CONFIG $IMG_BIG $IMG_SMALL"
ARM_BLOBS="$IMG_ARM_CONFIG $IMG_ARM_LAYER"

echo "set-up: ${SECONDS}s"
# 1. the host's platform (linux/amd64 here) onto three hosts: each blob leaves the registry once
expect_rc 0 "$DF" push --image "$REG/df/test:multi" --group "$T/hosts.txt" --supernode "127.0.0.1:$SP"
expect_in "3/3 ok, 0 failed; 3 blobs"
expect_in "$IMG_INDEX for linux/amd64"
sent_once "$ALOG" "$T/img" $AMD_BLOBS
[ "$(registry_blob_bytes $ARM_BLOBS)" -eq 0 ] || fail "arm64 blobs were fetched for an amd64 push"
for i in 1 2 3; do
  grep -q "push: 3 blobs" "$T/h$i.log" || fail "host $i did not report the blobs in its store"
done
sleep 0.3
before=$(registry_blob_bytes $AMD_BLOBS)

echo "push: ${SECONDS}s"
# 2. pulls through each host's df proxy: from its store, 0 registry blob bytes
for i in 1 2 3; do
  skopeo_pull "$REG" df/test:multi "$T/out$i" "${MIRRORS[$((i - 1))]}" || fail "skopeo through host $i: $OUT"
  [ "$PULLED_MANIFEST" = "$IMG_INDEX" ] || grep -q "${IMG_MANIFEST#sha256:}" "$T/out$i/index.json" || fail "host $i pulled $PULLED_MANIFEST"
  n=$(proxy_stat "${MIRRORS[$((i - 1))]#*:}" blobs-p2p)
  [ "$n" -ge 3 ] || fail "host $i served $n blobs from df"
done
if command -v containerd >/dev/null && [ "$(id -u)" = 0 ]; then
  start_containerd
  # another tag of the same blobs: the stores are content-addressed
  ctr_fetch "$REG" df/test:v1 "${MIRRORS[0]}" || fail "ctr through host 1: $OUT"
  [ "$PULLED_MANIFEST" = "$IMG_MANIFEST" ] || fail "ctr pulled $PULLED_MANIFEST"
fi
sleep 0.3
[ "$(registry_blob_bytes $AMD_BLOBS)" -eq "$before" ] || fail "pulls through the hosts cost the registry $(( $(registry_blob_bytes $AMD_BLOBS) - before )) blob bytes"

echo "pulls: ${SECONDS}s"
# 3. every platform, preheat only, as JSON: the arm64 blobs leave the registry once too
expect_rc 0 "$DF" push --image "$REG/df/test:multi" --all-platforms --json --supernode "127.0.0.1:$SP"
[ "$(jq -r '.blobs | length' <<< "$OUT")" -eq 5 ] || fail "--all-platforms: not 5 blobs: $OUT"
[ "$(jq -r .platforms <<< "$OUT")" = "linux/amd64, linux/arm64/v8" ] || fail "platforms: $OUT"
sent_once "$ALOG" "$T/img" $AMD_BLOBS $ARM_BLOBS

# 4. a platform the index lacks, an image the registry lacks, a bad reference
expect_rc 1 "$DF" push --image "$REG/df/test:multi" --platform linux/s390x --supernode "127.0.0.1:$SP"
expect_in "no manifest for linux/s390x"
expect_in "linux/arm64/v8"
expect_rc 1 "$DF" push --image "$REG/df/nothing:v1" --supernode "127.0.0.1:$SP"
expect_in "404"
expect_rc 1 "$DF" push --image "$REG/Df/Test" --supernode "127.0.0.1:$SP"
expect_in "repository"
expect_rc 2 "$DF" push --image "$REG/df/test:multi" FILE --supernode "127.0.0.1:$SP"
echo "preheat: registry sent each blob once; 3 hosts x (skopeo) + ctr pulled with 0 registry blob bytes"
pass "push image"
