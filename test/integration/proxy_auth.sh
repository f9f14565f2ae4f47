#!/usr/bin/env bash
# df proxy in front of a registry that wants credentials (htpasswd): skopeo (credentials from the
# auth file entry of the mirror) and ctr (--user) pull through it and the registry sends each layer
# once; a client without credentials, or with wrong ones, gets the registry's 401, also for a layer
# that is already in the swarm; the credentials appear in no log and no file of df.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../registry/lib.sh"
. "$(dirname "$0")/../proxy/lib.sh"
command -v curl >/dev/null || skip "curl not installed"

make_test_image "$T/img" df/private:v1 8
RP=$(free_port); start_registry "$RP" auth
push_image "$T/img" df/private:v1 "$RP" "$REG_CREDS" || fail "push: $OUT"
REG=127.0.0.1:$RP
ALOG=$(access_log "$RP")
SP=$(free_port); start_supernode sn "$SP" --log-level debug
start_proxy px --registry "http://$REG" --supernode "127.0.0.1:$SP" --log-level debug
BIG=$IMG_BIG

# no credentials: the registry's own 401 and its challenge come back
curl -s -D "$T/h0" -o /dev/null "http://$M/v2/" || fail "GET /v2/"
head -n1 "$T/h0" | grep -q ' 401' || fail "/v2/ without credentials: $(head -n1 "$T/h0")"
grep -qi '^www-authenticate: Basic realm="df-test"' "$T/h0" || fail "the challenge was lost: $(cat "$T/h0")"
OUT=$(curl -s -o /dev/null -w '%{http_code}' "http://$M/v2/df/private/blobs/$BIG")
[ "$OUT" = 401 ] || fail "a blob without credentials answered $OUT"

# a pull without credentials fails (the mirror did not let it through; nor did the registry)
skopeo_pull "$REG" df/private:v1 "$T/out0" "$M" && fail "skopeo pulled a private image without credentials"

# with credentials: skopeo reads the mirror's entry of the auth file
skopeo_pull "$REG" df/private:v1 "$T/out1" "$M" "$REG_CREDS" || fail "skopeo with credentials: $OUT"
[ "$PULLED_MANIFEST" = "$IMG_MANIFEST" ] || fail "skopeo pulled $PULLED_MANIFEST"
sent_once "$ALOG" "$T/img" $IMG_LAYERS
OUT=$(curl -s "http://$M/v1/status")
[[ $OUT == *"blobs-p2p: "[1-9]* ]] || fail "no blob went through the swarm: $OUT"

# the layer is in the host's store now: still 401 without credentials, and with wrong ones
OUT=$(curl -s -o /dev/null -w '%{http_code}' "http://$M/v2/df/private/blobs/$BIG")
[ "$OUT" = 401 ] || fail "a stored private layer went to a client without credentials ($OUT)"
OUT=$(curl -s -o /dev/null -w '%{http_code}' -u "$REG_USER:wrong" "http://$M/v2/df/private/blobs/$BIG")
[ "$OUT" = 401 ] || fail "a stored private layer went to a client with wrong credentials ($OUT)"
OUT=$(curl -s -o /dev/null -w '%{http_code}' -H "Range: bytes=10-" "http://$M/v2/df/private/blobs/$BIG")
[ "$OUT" = 401 ] || fail "a ranged request without credentials answered $OUT"
# right credentials: the bytes, from the store
curl -sf -u "$REG_CREDS" -o "$T/blob" "http://$M/v2/df/private/blobs/$BIG" || fail "blob with credentials"
cmp -s "$T/blob" "$T/img/blobs/sha256/${BIG#sha256:}" || fail "blob bytes differ"

# containerd sends the same basic credentials to mirror and registry
start_containerd
ctr_fetch "$REG" df/private:v1 "$M" "$REG_CREDS" || fail "ctr with credentials: $OUT"
[ "$PULLED_MANIFEST" = "$IMG_MANIFEST" ] || fail "ctr pulled $PULLED_MANIFEST"
sleep 0.3
sent_once "$ALOG" "$T/img" $IMG_LAYERS

# never logged, never stored (debug logs included)
B64=$(printf %s "$REG_CREDS" | base64 -w0)
if grep -rqsF -e "$B64" -e "$REG_PASS" "$T/px" "$T/sn" "$T/px.log" "$T/sn.log"; then
  fail "the credentials were written: $(grep -rlsF -e "$B64" -e "$REG_PASS" "$T/px" "$T/sn" "$T/px.log" "$T/sn.log")"
fi
pass "proxy auth"
