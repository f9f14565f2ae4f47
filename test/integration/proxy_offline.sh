#!/usr/bin/env bash
# [proxy] offline_serve with the real docker-registry: blobs pulled through host 1's df proxy while
# the registries were up are served after they stop, from host 1's store (to the credentials the
# registry accepted, also after a restart) and through host 2's df proxy from the swarm (a public
# repository); a private blob is refused to credentials that were never accepted, and a proxy
# without the setting serves nothing once the registries are down.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../registry/lib.sh"
. "$(dirname "$0")/../proxy/lib.sh"
command -v curl >/dev/null || skip "curl not installed"

make_test_image "$T/pub" df/public:v1 4
PUB_BIG=$IMG_BIG; PUB_SMALL=$IMG_SMALL; PUB_MANIFEST=$IMG_MANIFEST
make_test_image "$T/priv" df/private:v1 4
PRIV_BIG=$IMG_BIG; PRIV_MANIFEST=$IMG_MANIFEST
RPUB=$(free_port); start_registry "$RPUB"; PUB_PID=$!
push_image "$T/pub" df/public:v1 "$RPUB" || fail "push public: $OUT"
RPRIV=$(free_port); start_registry "$RPRIV" auth; PRIV_PID=$!
push_image "$T/priv" df/private:v1 "$RPRIV" "$REG_CREDS" || fail "push private: $OUT"
SP=$(free_port); start_supernode sn "$SP"
REGS=(--registry "pub=http://127.0.0.1:$RPUB" --registry "priv=http://127.0.0.1:$RPRIV")
start_proxy h1 "${REGS[@]}" --supernode "127.0.0.1:$SP" --offline-serve; H1=$M; H1_PID=$PX
start_proxy h2 "${REGS[@]}" --supernode "127.0.0.1:$SP" --offline-serve; H2=$M
start_proxy n1 "${REGS[@]}" --supernode "127.0.0.1:$SP"; N1=$M
start_proxy n2 "${REGS[@]}" --supernode "127.0.0.1:$SP"; N2=$M

# get MIRROR NS DIGEST OUT [CURL ARGS...]: the blob's GET through MIRROR; the HTTP status in CODE
get() {
  local m=$1 ns=$2 d=$3 out=$4 repo; shift 4
  repo=df/public; [ "$ns" = priv ] && repo=df/private
  rm -f "$out"
  CODE=$(curl -s -m 30 -o "$out" -w '%{http_code}' "$@" "http://$m/v2/$repo/blobs/$d?ns=$ns")
}
# sk MIRROR REF OUT: a real skopeo copy of docker://MIRROR/df/public(REF: @DIGEST or :TAG) to the OCI
# layout OUT through that df proxy as the registry; every blob checked (verify_oci_dir); output in OUT
command -v skopeo >/dev/null || skip "skopeo not installed (bash .ci/install)"
printf 'unqualified-search-registries = []\n' > "$REG_CT/offline-registries.conf"
reg_authfile
sk() {
  rm -rf "$3"
  OUT=$(reg_skopeo --registries-conf "$REG_CT/offline-registries.conf" --policy "$REG_CT/policy.json" copy \
        --src-tls-verify=false --src-authfile "$REG_AUTHFILE" "docker://$1/df/public$2" "oci:$3:v1" 2>&1) || return 1
  verify_oci_dir "$3"
}
# same BLOB_FILE LAYOUT DIGEST: fails unless the file holds the blob's bytes
same() { cmp -s "$1" "$2/blobs/sha256/${3#sha256:}" || fail "$1: not the bytes of $3"; }

# the registries are up: host 1 and n1 pull both (the private one with credentials)
for m in "$H1" "$N1"; do
  get "$m" pub "$PUB_BIG" "$T/b"; [ "$CODE" = 200 ] || fail "$m: public blob answered $CODE"; same "$T/b" "$T/pub" "$PUB_BIG"
  get "$m" priv "$PRIV_BIG" "$T/b" -u "$REG_CREDS"; [ "$CODE" = 200 ] || fail "$m: private blob answered $CODE"
  same "$T/b" "$T/priv" "$PRIV_BIG"
done
get "$H1" priv "$PRIV_BIG" "$T/b"; [ "$CODE" = 401 ] || fail "private blob without credentials answered $CODE"
[ -s "$T/h1/proxy-authmem" ] || fail "host 1 remembered no authorization"
# skopeo pulls the public image through host 1 and n1 by digest, and through host 1 by tag
for m in "$H1" "$N1"; do
  sk "$m" "@$PUB_MANIFEST" "$T/sk" || fail "skopeo by digest through $m: $OUT"
done
sk "$H1" :v1 "$T/sk" || fail "skopeo by tag through host 1: $OUT"
[ "$PULLED_MANIFEST" = "$PUB_MANIFEST" ] || fail "skopeo by tag pulled $PULLED_MANIFEST"
[ -f "$T/h1/proxy-manifests/sha256-${PUB_MANIFEST#sha256:}" ] || fail "host 1 kept no copy of the manifest"
[ -e "$T/n1/proxy-manifests" ] && fail "n1 (no offline_serve) keeps manifest copies"
# man MIRROR [CURL ARGS...]: GET of the private manifest by digest through MIRROR; status in CODE
man() {
  local m=$1; shift
  CODE=$(curl -s -m 10 -o "$T/m" -w '%{http_code}' "$@" -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
         "http://$m/v2/df/private/manifests/$PRIV_MANIFEST?ns=priv")
}
man "$H1" -u "$REG_CREDS"; [ "$CODE" = 200 ] || fail "private manifest through host 1 answered $CODE"
# hashes only: never the credentials
B64=$(printf %s "$REG_CREDS" | base64 -w0)
grep -qsF -e "$B64" -e "$REG_PASS" "$T/h1/proxy-authmem" && fail "the credentials were written to proxy-authmem"

kill "$PUB_PID" "$PRIV_PID"; wait "$PUB_PID" "$PRIV_PID" 2>/dev/null
curl -s -m 5 -o /dev/null "http://127.0.0.1:$RPUB/v2/" && fail "the public registry still answers"

# host 1, from its store: the accepted credentials, and anyone for the public repository
get "$H1" priv "$PRIV_BIG" "$T/b" -u "$REG_CREDS"; [ "$CODE" = 200 ] || fail "offline: private blob from host 1's store answered $CODE"
same "$T/b" "$T/priv" "$PRIV_BIG"
get "$H1" pub "$PUB_BIG" "$T/b"; [ "$CODE" = 200 ] || fail "offline: public blob from host 1's store answered $CODE"
same "$T/b" "$T/pub" "$PUB_BIG"
# a real pull by digest through host 1 works with the registry down; by tag only with offline_tags
sk "$H1" "@$PUB_MANIFEST" "$T/sk" || fail "offline: skopeo by digest through host 1: $OUT $(tail -5 "$T/h1.log")"
[ "$PULLED_MANIFEST" = "$PUB_MANIFEST" ] || fail "offline: skopeo pulled $PULLED_MANIFEST"
cmp -s "$T/sk/blobs/sha256/${PUB_BIG#sha256:}" "$T/pub/blobs/sha256/${PUB_BIG#sha256:}" || fail "offline: skopeo's layer differs"
[ "$(proxy_stat "${H1#*:}" manifests-offline)" -ge 1 ] || fail "host 1 counted no offline manifest"
sk "$H1" :v1 "$T/sk" && fail "offline: a tag was answered without offline_tags"
sk "$N1" "@$PUB_MANIFEST" "$T/sk" && fail "without offline_serve: skopeo by digest through n1 worked"
# a manifest whose type the client does not accept is unknown, as the registry says
CODE=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
       "http://$H1/v2/df/public/manifests/$PUB_MANIFEST?ns=pub")
[ "$CODE" = 404 ] || fail "offline: a manifest of a type not accepted answered $CODE"
CODE=$(curl -s -m 10 -o "$T/m" -w '%{http_code}' -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
       "http://$H1/v2/df/public/manifests/$PUB_MANIFEST?ns=pub")
[ "$CODE" = 200 ] && cmp -s "$T/m" "$T/pub/blobs/sha256/${PUB_MANIFEST#sha256:}" || fail "offline: manifest by curl answered $CODE"
# the private manifest: to the credentials accepted for it only
man "$H1" -u "$REG_CREDS"; [ "$CODE" = 200 ] || fail "offline: private manifest to accepted credentials answered $CODE"
cmp -s "$T/m" "$T/priv/blobs/sha256/${PRIV_MANIFEST#sha256:}" || fail "offline: private manifest differs"
man "$H1" -u "$REG_USER:wrong"; [ "$CODE" = 503 ] || fail "offline: private manifest to wrong credentials answered $CODE"
man "$H1"; [ "$CODE" = 503 ] || fail "offline: private manifest without credentials answered $CODE"
[ "$(proxy_stat "${H1#*:}" manifests-offline-refused)" -ge 2 ] || fail "host 1 counted no refused manifest"
# credentials never accepted (wrong ones, none): refused, although the blob is in the store
get "$H1" priv "$PRIV_BIG" "$T/b" -u "$REG_USER:wrong"; [ "$CODE" = 503 ] || fail "offline: wrong credentials got $CODE"
get "$H1" priv "$PRIV_BIG" "$T/b"; [ "$CODE" = 503 ] || fail "offline: no credentials got $CODE for a private blob"
# the accepted credentials for another repository are not these
get "$H1" pub "$PRIV_BIG" "$T/b" -u "$REG_CREDS"
[ "$CODE" = 200 ] && fail "offline: a private blob was served under the public repository's name"

# host 2 never pulled anything: the public blob from the swarm; the private one is refused
get "$H2" pub "$PUB_BIG" "$T/b"; [ "$CODE" = 200 ] || fail "offline: public blob through host 2 answered $CODE: $(tail -5 "$T/h2.log")"
same "$T/b" "$T/pub" "$PUB_BIG"
get "$H2" priv "$PRIV_BIG" "$T/b" -u "$REG_USER:wrong"; [ "$CODE" = 200 ] && fail "offline: host 2 served a private blob to wrong credentials"
[ "$(proxy_stat "${H2#*:}" blobs-offline)" -ge 1 ] || fail "host 2 counted no offline blob"

# without the setting: nothing, neither from the store nor from the swarm
get "$N1" priv "$PRIV_BIG" "$T/b" -u "$REG_CREDS"; [ "$CODE" = 200 ] && fail "without offline_serve: n1 served a stored blob"
get "$N1" pub "$PUB_BIG" "$T/b"; [ "$CODE" = 200 ] && fail "without offline_serve: n1 served a stored public blob"
get "$N2" pub "$PUB_BIG" "$T/b"; [ "$CODE" = 200 ] && fail "without offline_serve: n2 served a public blob from the swarm"

# the decisions survive a restart of host 1; with offline_tags a tag is answered with its last digest
kill "$H1_PID"; wait "$H1_PID" 2>/dev/null
start_proxy h1 "${REGS[@]}" --supernode "127.0.0.1:$SP" --offline-serve --offline-tags; H1=$M
sk "$H1" :v1 "$T/sk" || fail "offline_tags: skopeo by tag through host 1: $OUT $(tail -5 "$T/h1.log")"
[ "$PULLED_MANIFEST" = "$PUB_MANIFEST" ] || fail "offline_tags: skopeo pulled $PULLED_MANIFEST"
# a tag host 1 never resolved is not answered
CODE=$(curl -s -m 10 -o /dev/null -w '%{http_code}' "http://$H1/v2/df/public/manifests/v2?ns=pub")
[ "$CODE" = 200 ] && fail "offline_tags: a tag never resolved was answered"
get "$H1" priv "$PRIV_BIG" "$T/b" -u "$REG_CREDS"; [ "$CODE" = 200 ] || fail "offline after a restart: $CODE"
same "$T/b" "$T/priv" "$PRIV_BIG"
get "$H1" priv "$PRIV_BIG" "$T/b" -u "$REG_USER:wrong"; [ "$CODE" = 503 ] || fail "offline after a restart: wrong credentials got $CODE"
# offline_remember bounds them: 0 seconds remembers nothing useful
kill "$PX"; wait "$PX" 2>/dev/null
start_proxy h1 "${REGS[@]}" --supernode "127.0.0.1:$SP" --offline-serve --offline-remember 0; H1=$M
sleep 1.1
get "$H1" priv "$PRIV_BIG" "$T/b" -u "$REG_CREDS"; [ "$CODE" = 503 ] || fail "offline_remember 0: $CODE"
pass "proxy offline"
