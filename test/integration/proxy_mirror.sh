#!/usr/bin/env bash
# df proxy as a registry mirror with real clients and a real registry: skopeo (registries.conf
# mirror; it probes TLS first), containerd's ctr (hosts.toml, ?ns=) and podman pull through it and
# every layer verifies; the registry sends each layer once (the later clients are served from the
# host's store); manifests keep every Accept line, Content-Type, Docker-Content-Digest and
# Content-Length and are never cached by tag; the proxy registers its blobs in order; a resumed blob download (Range: bytes=N-) gets the
# right 206.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../registry/lib.sh"
. "$(dirname "$0")/../proxy/lib.sh"
command -v curl >/dev/null || skip "curl not installed"

make_test_image "$T/img" df/test:v1 16
RP=$(free_port); start_registry "$RP"
push_image "$T/img" df/test:v1 "$RP" || fail "push: $OUT"
REG=127.0.0.1:$RP
ALOG=$(access_log "$RP")
SP=$(free_port); start_supernode sn "$SP"
start_proxy px --registry "http://$REG" --supernode "127.0.0.1:$SP"

# skopeo through the mirror: every blob verified by the wrapper
skopeo_pull "$REG" df/test:v1 "$T/out1" "$M" || fail "skopeo through df proxy: $OUT"
[ "$PULLED_MANIFEST" = "$IMG_MANIFEST" ] || fail "skopeo pulled $PULLED_MANIFEST, not $IMG_MANIFEST"
sent_once "$ALOG" "$T/img" $IMG_LAYERS $IMG_CONFIG
[ "$(proxy_stat "$PP" blobs-p2p)" -ge 2 ] || fail "the layers did not go through the swarm: $(curl -s "http://$M/v1/status")"
# the proxy streams a blob as it lands: it asks for the pieces in order (order: sequential)
grep -q "registered (handle [0-9]*, streams in order)" "$T/sn.log" || fail "df proxy did not register in order: $(grep registered "$T/sn.log")"

# containerd through the same mirror (?ns= names the registry): served from the host's store
start_containerd
ctr_fetch "$REG" df/test:v1 "$M" || fail "ctr through df proxy: $OUT"
[ "$PULLED_MANIFEST" = "$IMG_MANIFEST" ] || fail "ctr pulled $PULLED_MANIFEST"
sleep 0.3
sent_once "$ALOG" "$T/img" $IMG_LAYERS $IMG_CONFIG

# podman too (registries.conf, TLS probe first), with a fresh store of its own
podman_pull "$REG" df/test:v1 "$M" || fail "podman through df proxy: $OUT"
[ "$PULLED_MANIFEST" = "$IMG_MANIFEST" ] || fail "podman pulled $PULLED_MANIFEST"
[ "$PULLED_DIFFIDS" = "$IMG_DIFFIDS " ] || [ "$PULLED_DIFFIDS" = "$IMG_DIFFIDS" ] || fail "podman layers: $PULLED_DIFFIDS"
sleep 0.3
sent_once "$ALOG" "$T/img" $IMG_LAYERS $IMG_CONFIG

# manifests: every Accept line forwarded, the answer's headers unchanged, never cached by tag
ACC=(-H 'Accept: application/vnd.oci.image.manifest.v1+json' -H 'Accept: application/vnd.docker.distribution.manifest.v2+json')
curl -sf -D "$T/hd" -o "$T/md" "${ACC[@]}" "http://$REG/v2/df/test/manifests/v1" || fail "direct manifest"
curl -sf -D "$T/hm" -o "$T/mm" "${ACC[@]}" "http://$M/v2/df/test/manifests/v1" || fail "mirrored manifest"
cmp -s "$T/md" "$T/mm" || fail "the mirror's manifest differs from the registry's"
for h in content-type docker-content-digest content-length; do
  a=$(grep -i "^$h:" "$T/hd" | tr -d '\r'); b=$(grep -i "^$h:" "$T/hm" | tr -d '\r')
  [ -n "$a" ] && [ "$a" = "$b" ] || fail "manifest header $h: registry '$a', mirror '$b'"
done
curl -sfI "${ACC[@]}" "http://$M/v2/df/test/manifests/v1" | tr -d '\r' > "$T/hh" || fail "HEAD manifest"
grep -qi "^content-length: $(stat -c %s "$T/md")$" "$T/hh" || fail "HEAD manifest lost its length: $(cat "$T/hh")"
# only an OCI index is acceptable: the registry answers 404 for an OCI manifest; so must the mirror
OUT=$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept: application/vnd.oci.image.index.v1+json' "http://$M/v2/df/test/manifests/v1")
[ "$OUT" = 404 ] || fail "Accept was not forwarded (a manifest the client did not accept came back: $OUT)"

# a tag moved upstream is seen at once (manifests are never cached by tag)
OLD=$IMG_MANIFEST
( make_test_image "$T/img2" df/test:v1 1 && push_image "$T/img2" df/test:v1 "$RP" ) > "$T/img2.out" 2>&1 \
  || fail "pushing the new v1: $(cat "$T/img2.out")"
. "$T/img2.env"
curl -sf -D "$T/hn" -o /dev/null "${ACC[@]}" "http://$M/v2/df/test/manifests/v1" || fail "manifest after the tag moved"
grep -qi "^docker-content-digest: $IMG_MANIFEST" "$T/hn" || fail "the mirror answered the old v1 ($OLD): $(cat "$T/hn")"
. "$T/img.env"
# a blob: length, digest header, Range resumes with 206 and the right Content-Range
BIG=${IMG_BIG#sha256:}
SIZE=$(stat -c %s "$T/img/blobs/sha256/$BIG")
curl -sf -D "$T/hb" -o "$T/blob" "http://$M/v2/df/test/blobs/$IMG_BIG" || fail "blob GET"
cmp -s "$T/blob" "$T/img/blobs/sha256/$BIG" || fail "blob bytes differ"
tr -d '\r' < "$T/hb" > "$T/hb2"
grep -qi "^content-length: $SIZE$" "$T/hb2" || fail "blob Content-Length: $(cat "$T/hb2")"
grep -qi "^docker-content-digest: $IMG_BIG$" "$T/hb2" || fail "no Docker-Content-Digest: $(cat "$T/hb2")"
grep -qi '^accept-ranges: bytes$' "$T/hb2" || fail "no Accept-Ranges"
N=$(( SIZE / 3 + 12345 ))
head -c "$N" "$T/blob" > "$T/part"
curl -sf -D "$T/hr" -H "Range: bytes=$N-" "http://$M/v2/df/test/blobs/$IMG_BIG" >> "$T/part" || fail "ranged GET"
tr -d '\r' < "$T/hr" > "$T/hr2"
head -n1 "$T/hr2" | grep -q ' 206' || fail "Range: bytes=$N- answered $(head -n1 "$T/hr2")"
grep -qi "^content-range: bytes $N-$((SIZE - 1))/$SIZE$" "$T/hr2" || fail "Content-Range: $(grep -i content-range "$T/hr2")"
cmp -s "$T/part" "$T/blob" || fail "the resumed download differs"
OUT=$(curl -s -H "Range: bytes=100-109" "http://$M/v2/df/test/blobs/$IMG_BIG" | od -An -tx1 | tr -d ' \n')
[ "$OUT" = "$(dd if="$T/blob" bs=1 skip=100 count=10 2>/dev/null | od -An -tx1 | tr -d ' \n')" ] || fail "bytes=100-109"
OUT=$(curl -s -o /dev/null -w '%{http_code}' -H "Range: bytes=$SIZE-" "http://$M/v2/df/test/blobs/$IMG_BIG")
[ "$OUT" = 416 ] || fail "a range past the end answered $OUT"
sent_once "$ALOG" "$T/img" "$IMG_BIG"   # the ranged requests were served from the store
# HEAD of a blob: passed through (length and digest from the registry)
curl -sSI "http://$M/v2/df/test/blobs/$IMG_BIG" 2>&1 | tr -d '\r' > "$T/hh" || true
grep -qi "^content-length: $SIZE$" "$T/hh" || fail "blob HEAD: $(cat "$T/hh")"

pass "proxy mirror"
