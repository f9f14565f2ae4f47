#!/usr/bin/env bash
# A cluster you can trust: the cluster token is checked on every control and piece request (401
# without it or with a wrong one), and with [security] cert/key/ca every link is TLS with mutual
# verification: a peer whose certificate comes from another CA is refused.
. "$(dirname "$0")/../lib.sh"
cd "$T"
sh "$top/test/tools/tls_certs.sh" "$T/pki" >/dev/null 2>&1 || fail "making the test PKI"
mkdir -p www
make_file www/f 6
NP=$(free_port); start_nginx "$T/www" "$NP"
URL=http://127.0.0.1:$NP/f
want=$(sha www/f)

# --- token ---
echo "s3cret" > token
SP=$(free_port); start_supernode sn "$SP" --token-file "$T/token"
grep -q "open mode" "$T/sn.log" && fail "supernode with a token claims open mode"
expect_rc 1 "$DF" get "$URL" -O a --supernode "127.0.0.1:$SP" --data d1 --seed-idle 0
expect_in "401"; [ ! -e a ] || fail "a exists after a refused token"
expect_rc 1 "$DF" get "$URL" -O a --supernode "127.0.0.1:$SP" --data d1 --seed-idle 0 --token wrong
expect_in "cluster token"
expect_rc 0 "$DF" get "$URL" -O a --supernode "127.0.0.1:$SP" --data d2 --seed-idle 30 --token-file "$T/token"
[ "$(sha a)" = "$want" ] || fail "a differs"
track_seeder "$T/d2"
expect_rc 1 "$DF" status --supernode "127.0.0.1:$SP"; expect_in "401"
expect_rc 0 "$DF" status --supernode "127.0.0.1:$SP" --token s3cret; expect_in "task"
# piece requests carry the token too: the peer's piece server refuses a bare curl
for _ in $(seq 50); do grep -q 'port [0-9]' "$T/d2/seeder.log" 2>/dev/null && break; sleep 0.1; done
pport=$(grep -o 'port [0-9]*' "$T/d2/seeder.log" | grep -o '[0-9]*$' | head -1)
[ -n "$pport" ] || fail "no seeder port in $T/d2/seeder.log"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$pport/v1/piece/0000/0")
[ "$code" = 401 ] || fail "piece server answered $code without a token"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'X-DF-Token: s3cret' "http://127.0.0.1:$pport/v1/piece/0000/0")
[ "$code" = 400 ] || [ "$code" = 404 ] || fail "piece server answered $code with the token"
grep -q "refused" "$T/sn.log" || fail "the supernode did not log the refused requests"

# --- TLS on every link, mutual verification ---
TLS=(--cert "$T/pki/rsa.crt" --key "$T/pki/rsa.key" --ca "$T/pki/ca.crt")
PEER_TLS=(--cert "$T/pki/ec.crt" --key "$T/pki/ec.key" --ca "$T/pki/ca.crt")
SP2=$(free_port); start_supernode sn2 "$SP2" "${TLS[@]}"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$SP2/v1/status"); [ "$code" != 200 ] || fail "plain http worked on a TLS port"
for i in 1 2 3; do
  "$DF" get "$URL" -O "t$i" --supernode "127.0.0.1:$SP2" --data "$T/t$i.d" --seed-idle 0 --limit-rate 8M -q "${PEER_TLS[@]}" > "t$i.log" 2>&1 &
  echo $! > "t$i.pid"; track "$(cat "t$i.pid")"
done
for i in 1 2 3; do await_ok "$(cat "t$i.pid")" 120 "TLS get $i"; [ "$(sha "t$i")" = "$want" ] || fail "t$i differs"; done
OUT=$("$DF" status --supernode "127.0.0.1:$SP2" --json "${PEER_TLS[@]}") || fail "status over TLS: $OUT"
grep -q '"bytes_peer_to_peer"' <<<"$OUT" || fail "status over TLS: $OUT"
# a peer with a certificate from another CA is refused (and does not silently use the source)
expect_rc 4 "$DF" get "$URL" -O x --supernode "127.0.0.1:$SP2" --data "$T/x.d" --seed-idle 0 --no-back-to-source \
  --cert "$T/pki/other.crt" --key "$T/pki/other.key" --ca "$T/pki/ca.crt"
[ ! -e x ] || fail "x exists"
# a peer that trusts another CA refuses the supernode
expect_rc 4 "$DF" get "$URL" -O y --supernode "127.0.0.1:$SP2" --data "$T/y.d" --seed-idle 0 --no-back-to-source \
  --cert "$T/pki/other.crt" --key "$T/pki/other.key" --ca "$T/pki/ca2.crt"
expect_in "unknown CA"
pass cluster_security
