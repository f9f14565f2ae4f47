#!/usr/bin/env bash
# df proxy in a secured cluster ([security] token, cert/key/ca): its piece server and its links to
# the supernode and to other peers are TLS with mutual verification and carry the token, while the
# mirror port stays plain HTTP for the container engines. Two hosts pull; the registry sends each
# layer once.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../registry/lib.sh"
. "$(dirname "$0")/../proxy/lib.sh"
sh "$top/test/tools/tls_certs.sh" "$T/pki" >/dev/null 2>&1 || fail "making the test PKI"
echo "s3cret" > "$T/token"
SEC=(--token-file "$T/token" --cert "$T/pki/rsa.crt" --key "$T/pki/rsa.key" --ca "$T/pki/ca.crt")
PEER=(--token-file "$T/token" --cert "$T/pki/ec.crt" --key "$T/pki/ec.key" --ca "$T/pki/ca.crt")

make_test_image "$T/img" df/test:v1 8
RP=$(free_port); start_registry "$RP"
push_image "$T/img" df/test:v1 "$RP" || fail "push: $OUT"
REG=127.0.0.1:$RP
ALOG=$(access_log "$RP")
SP=$(free_port); start_supernode sn "$SP" "${SEC[@]}"
start_proxy pa --registry "http://$REG" --supernode "127.0.0.1:$SP" --no-back-to-source "${PEER[@]}"; PA=$PP
start_proxy pb --registry "http://$REG" --supernode "127.0.0.1:$SP" --no-back-to-source "${PEER[@]}"; PB=$PP

skopeo_pull "$REG" df/test:v1 "$T/out1" "127.0.0.1:$PA" || fail "skopeo through host A: $OUT"
[ "$PULLED_MANIFEST" = "$IMG_MANIFEST" ] || fail "host A pulled $PULLED_MANIFEST"
skopeo_pull "$REG" df/test:v1 "$T/out2" "127.0.0.1:$PB" || fail "skopeo through host B: $OUT"
[ "$PULLED_MANIFEST" = "$IMG_MANIFEST" ] || fail "host B pulled $PULLED_MANIFEST"
sleep 0.3
sent_once "$ALOG" "$T/img" $IMG_LAYERS $IMG_CONFIG
for p in "$PA" "$PB"; do
  [ "$(proxy_stat "$p" blobs-p2p)" -ge 2 ] || fail "host on $p: $(curl -s "http://127.0.0.1:$p/v1/status")"
done
# the piece server is TLS only: plain HTTP gets nothing useful
pport=$(proxy_stat "$PA" piece-port)
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'X-DF-Token: s3cret' "http://127.0.0.1:$pport/v1/piece/00/0")
[ "$code" != 200 ] && [ "$code" != 404 ] || fail "the piece server answered plain HTTP with $code"
pass "proxy tls"
