#!/usr/bin/env bash
# df proxy's cache of minted TLS leaves (swarm/httpproxy_mitm.c LEAF_CACHE, 64 hosts; docs/LIMITS.md)
# at and past its limit: tunnels to 65 intercepted hosts mint 65 leaves; the 2nd host again is still
# cached (no mint), the 1st, the least recently used, was evicted and is minted again.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../proxy/lib.sh"
command -v curl >/dev/null || skip "curl not installed"
command -v openssl >/dev/null || skip "openssl not installed"

sh "$top/test/tools/tls_certs.sh" "$T/pki" >/dev/null 2>&1 || fail "making the test PKI"
start_proxy px --mitm-host '^h[0-9]+\.test$' --ca-cert "$T/pki/ca2.crt" --ca-key "$T/pki/ca2.key"
# tunnel N: a CONNECT to hN.test and a TLS handshake with the minted leaf (checked against the CA)
tunnel() {
  local out
  out=$(openssl s_client -proxy "127.0.0.1:$PP" -connect "h$1.test:443" -servername "h$1.test" \
    -CAfile "$T/pki/ca2.crt" -verify_return_error </dev/null 2>&1) || fail "tunnel to h$1.test: $(tail -n 5 <<<"$out")"
  grep -q "Verify return code: 0" <<<"$out" || fail "h$1.test: the leaf does not verify: $(grep 'Verify' <<<"$out")"
}
for i in $(seq 65); do tunnel "$i"; done
n=$(proxy_stat "$PP" mitm-minted)
[ "$n" -eq 65 ] || fail "65 hosts minted $n leaves"
tunnel 2
n=$(proxy_stat "$PP" mitm-minted)
[ "$n" -eq 65 ] || fail "h2.test, still cached, was minted again ($n leaves)"
tunnel 1
n=$(proxy_stat "$PP" mitm-minted)
[ "$n" -eq 66 ] || fail "h1.test, evicted as the least recently used, was not minted again ($n leaves)"
[ "$(grep -c 'minted a certificate for h1.test ' "$T/px.log")" -eq 2 ] || fail "the log does not show h1.test minted twice"
kill -0 "$PX" 2>/dev/null || fail "the proxy died"
pass "the 65th host evicts the least recently used leaf; it is minted again when needed"
