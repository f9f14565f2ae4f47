#!/usr/bin/env bash
# The container-image fixtures work without df: a real registry on loopback takes the offline test
# image; skopeo, containerd (ctr) and podman pull it directly, with and without htpasswd auth, and
# through the redirecting front configured as each client's mirror; the blob counters count right.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../registry/lib.sh"
for c in docker-registry skopeo htpasswd nginx; do
  command -v "$c" >/dev/null || skip "$c not installed (bash .ci/install)"
done
cd "$T"
REF=df/test:v1
make_test_image "$T/img" "$REF" 16
reg_skopeo --policy "$REG_CT/policy.json" inspect "oci:$T/img:v1" > inspect.json || fail "skopeo inspect of the made image"
grep -q "$IMG_MANIFEST" inspect.json || fail "skopeo sees another digest than $IMG_MANIFEST"
BIG=$(stat -c %s "$T/img/blobs/sha256/${IMG_BIG#sha256:}")
SMALL=$(stat -c %s "$T/img/blobs/sha256/${IMG_SMALL#sha256:}")

# --- a registry without auth: push, then each client pulls directly
RP=$(free_port); start_registry "$RP"
REG=127.0.0.1:$RP
RLOG=$(access_log "$RP")
push_image "$T/img" "$REF" "$RP" || fail "push: $OUT"
got=$(curl -sfI -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$REG/v2/df/test/manifests/v1" |
      tr -d '\r' | awk 'tolower($1) == "docker-content-digest:" {print $2}')
[ "$got" = "$IMG_MANIFEST" ] || fail "registry holds manifest '$got', pushed $IMG_MANIFEST"
[ "$(blob_served "$RLOG" "$IMG_BIG")" -eq 0 ] || fail "the push counted as a blob GET: $(blob_counts "$RLOG")"

skopeo_pull "$REG" "$REF" "$T/out-skopeo" || fail "skopeo pull: $OUT"
[ "$PULLED_MANIFEST" = "$IMG_MANIFEST" ] || fail "skopeo pulled $PULLED_MANIFEST, want $IMG_MANIFEST"
cmp -s "$T/out-skopeo/blobs/sha256/${IMG_BIG#sha256:}" "$T/img/blobs/sha256/${IMG_BIG#sha256:}" || fail "skopeo's big layer differs"
wait_count 1 blob_served "$RLOG" "$IMG_SMALL" > /dev/null
wait_count 1 blob_served "$RLOG" "$IMG_CONFIG" > /dev/null
wait_count 1 blob_served "$RLOG" "$IMG_BIG" > /dev/null
[ "$(blob_counts "$RLOG")" = "$(printf '%s 1 %s\n' "$IMG_CONFIG" "$(stat -c %s "$T/img/blobs/sha256/${IMG_CONFIG#sha256:}")" \
  "$IMG_BIG" "$BIG" "$IMG_SMALL" "$SMALL" | sort)" ] || fail "after one pull blob_counts says: $(blob_counts "$RLOG")"

# a range GET counts as served, with the bytes it sent; HEADs and unknown blobs do not count
curl -sf -r 0-99 -o /dev/null "http://$REG/v2/df/test/blobs/$IMG_SMALL" || fail "range GET"
curl -sfI -o /dev/null "http://$REG/v2/df/test/blobs/$IMG_BIG" || fail "HEAD of the big layer"
curl -s -o /dev/null "http://$REG/v2/df/test/blobs/sha256:$(printf %064d 0)"
[ "$(wait_count 2 blob_served "$RLOG" "$IMG_SMALL")" -eq 2 ] && [ "$(blob_bytes "$RLOG" "$IMG_SMALL")" -eq $((SMALL + 100)) ] ||
  fail "after a 100-byte range GET the small layer counts '$(blob_counts "$RLOG" | grep "$IMG_SMALL")'"
[ "$(blob_counts "$RLOG" | wc -l)" -eq 3 ] || fail "blob_counts lists other blobs: $(blob_counts "$RLOG")"

HAVE_CTR=1
if ! command -v containerd >/dev/null; then HAVE_CTR=0; echo "containerd not installed: ctr pulls not tested"
else
  start_containerd
  ctr_fetch "$REG" "$REF" || fail "ctr content fetch: $OUT"
  [ "$PULLED_MANIFEST" = "$IMG_MANIFEST" ] || fail "ctr fetched $PULLED_MANIFEST, want $IMG_MANIFEST"
fi
HAVE_PODMAN=1
if ! command -v podman >/dev/null; then HAVE_PODMAN=0; echo "podman not installed: podman pulls not tested"
else
  podman_pull "$REG" "$REF" || fail "podman pull: $OUT"
  [ "$PULLED_MANIFEST" = "$IMG_MANIFEST" ] || fail "podman pulled $PULLED_MANIFEST, want $IMG_MANIFEST"
  [ "$(echo $PULLED_DIFFIDS)" = "$IMG_DIFFIDS" ] || fail "podman's layers are '$PULLED_DIFFIDS', want $IMG_DIFFIDS"
  m=$(podman_cmd image mount "$REG/$REF") || fail "podman image mount: $m"
  [ "$(cat "$m/df/hello.txt")" = "$IMG_HELLO" ] || fail "podman's image has hello.txt '$(cat "$m/df/hello.txt")'"
fi
want=$((1 + HAVE_CTR + HAVE_PODMAN))
[ "$(wait_count "$want" blob_served "$RLOG" "$IMG_BIG")" -eq "$want" ] || fail "big layer served $(blob_served "$RLOG" "$IMG_BIG") times after $want pulls"
[ "$(blob_bytes "$RLOG" "$IMG_BIG")" -eq $((want * BIG)) ] || fail "big layer bytes $(blob_bytes "$RLOG" "$IMG_BIG") after $want pulls"
[ "$(wait_count "$want" blob_served "$RLOG" "$IMG_CONFIG")" -eq "$want" ] || fail "config served $(blob_served "$RLOG" "$IMG_CONFIG") times after $want pulls"
echo "direct: $want clients pulled $REF ($((BIG + SMALL)) layer bytes); registry counted $(blob_counts "$RLOG" | tr '\n' ';')"

# --- a registry with htpasswd auth: without credentials 401, with them the pull works
AP=$(free_port); start_registry "$AP" auth
AREG=127.0.0.1:$AP
ALOG=$(access_log "$AP")
push_image "$T/img" "$REF" "$AP" && fail "push without credentials worked"
[[ $OUT == *"authentication required"* ]] || fail "push without credentials: $OUT"
push_image "$T/img" "$REF" "$AP" "$REG_CREDS" || fail "push with credentials: $OUT"
curl -s -o /dev/null -w '%{http_code}' "http://$AREG/v2/df/test/manifests/v1" | grep -qx 401 || fail "anonymous manifest GET is not a 401"
skopeo_pull "$AREG" "$REF" "$T/out-anon" && fail "skopeo pulled without credentials"
[[ $OUT == *"authentication required"* ]] || fail "skopeo without credentials: $OUT"
grep -q '"GET /v2/df/test/manifests/v1 HTTP/1.1" 401 ' "$ALOG" || fail "no 401 for the anonymous manifest GET in $ALOG"
skopeo_pull "$AREG" "$REF" "$T/out-auth" "" "$REG_CREDS" || fail "skopeo pull with credentials: $OUT"
[ "$PULLED_MANIFEST" = "$IMG_MANIFEST" ] || fail "skopeo with credentials pulled $PULLED_MANIFEST"
if [ "$HAVE_CTR" = 1 ]; then
  ctr_fetch "$AREG" "$REF" && fail "ctr fetched without credentials"
  [[ $OUT == *"401 Unauthorized"* ]] || fail "ctr without credentials: $OUT"
fi
[ "$(wait_count 1 blob_served "$ALOG" "$IMG_BIG")" -eq 1 ] || fail "auth registry served the big layer $(blob_served "$ALOG" "$IMG_BIG") times, want 1"

# --- the redirect front as each client's mirror: blobs come from the second nginx, not the registry
FP=$(free_port); start_redirect_front "$FP" "$AP"
MIRROR=127.0.0.1:$FP
FLOG=$(access_log "$FP"); BLOG=$(access_log "$REDIRECT_BLOB_PORT")
loc=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "http://$MIRROR/v2/df/test/blobs/$IMG_SMALL")
[ "$loc" = "307 http://127.0.0.1:$REDIRECT_BLOB_PORT/docker/registry/v2/blobs/sha256/${IMG_SMALL:7:2}/${IMG_SMALL#sha256:}/data" ] ||
  fail "front answers a blob GET with '$loc'"
curl -sfI -o /dev/null "http://$MIRROR/v2/df/test/blobs/$IMG_SMALL" && fail "anonymous HEAD through the front was not refused"
through=0
mirrored() { # CLIENT: one more pull went through the front and the blob server, none to the registry
  through=$((through + 1))
  [ "$PULLED_MANIFEST" = "$IMG_MANIFEST" ] || fail "$1 through the mirror pulled $PULLED_MANIFEST"
  [ "$(wait_count "$through" blob_served "$BLOG" "$IMG_BIG")" -eq "$through" ] || fail "$1: blob server sent the big layer $(blob_served "$BLOG" "$IMG_BIG") times, want $through"
  [ "$(blob_bytes "$BLOG" "$IMG_BIG")" -eq $((through * BIG)) ] || fail "$1: blob server sent $(blob_bytes "$BLOG" "$IMG_BIG") big-layer bytes"
  [ "$(wait_count "$through" blob_redirects "$FLOG" "$IMG_BIG")" -eq "$through" ] || fail "$1: front redirected the big layer $(blob_redirects "$FLOG" "$IMG_BIG") times"
  [ "$(blob_served "$FLOG" "$IMG_BIG")" -eq 0 ] || fail "$1: the front itself served the big layer"
  [ "$(blob_served "$ALOG" "$IMG_BIG")" -eq 1 ] || fail "$1: the registry served the big layer again (mirror not used?)"
}
skopeo_pull "$AREG" "$REF" "$T/out-mirror" "$MIRROR" "$REG_CREDS" || fail "skopeo through the mirror: $OUT"
mirrored skopeo
if [ "$HAVE_CTR" = 1 ]; then
  ctr_pull "$AREG" "$REF" "$MIRROR" "$REG_CREDS" || fail "ctr images pull through the mirror: $OUT"
  mirrored ctr
  ctr_cmd snapshots --snapshotter native ls | grep -q Committed || fail "ctr images pull unpacked nothing"
fi
if [ "$HAVE_PODMAN" = 1 ]; then
  podman_pull "$AREG" "$REF" "$MIRROR" "$REG_CREDS" || fail "podman through the mirror: $OUT"
  mirrored podman
fi

# --- a mirror that is down: every client quietly falls back to the registry (so proxy tests count)
DEAD=$(free_port)
fellback=1
skopeo_pull "$AREG" "$REF" "$T/out-dead" "127.0.0.1:$DEAD" "$REG_CREDS" || fail "skopeo with a dead mirror: $OUT"
if [ "$HAVE_CTR" = 1 ]; then
  ctr_fetch "$AREG" "$REF" "127.0.0.1:$DEAD" "$REG_CREDS" || fail "ctr with a dead mirror: $OUT"
  fellback=$((fellback + 1))
fi
if [ "$HAVE_PODMAN" = 1 ]; then
  podman_pull "$AREG" "$REF" "127.0.0.1:$DEAD" "$REG_CREDS" || fail "podman with a dead mirror: $OUT"
  fellback=$((fellback + 1))
fi
[ "$(wait_count $((1 + fellback)) blob_served "$ALOG" "$IMG_BIG")" -eq $((1 + fellback)) ] ||
  fail "after $fellback pulls with a dead mirror the registry served the big layer $(blob_served "$ALOG" "$IMG_BIG") times, want $((1 + fellback))"
pass "registry fixtures: $want clients direct, auth 401 and credentials, $through pulls through the redirect front, $fellback fallbacks"
