#!/usr/bin/env bash
# df proxy's TLS interception (--mitm-host) with curl as the client and an https nginx as the origin,
# once with an EC and once with an RSA interception CA: a blob URL inside the intercepted tunnel goes
# P2P (the supernode holds the https task; a second host gets it without nginx sending it again),
# several requests share one tunnel, a path no rule takes is forwarded over TLS, the leaf curl and
# openssl see is issued by the test CA for localhost (openssl verify, x509 -text), a host that does
# not match is tunneled untouched (curl verifies nginx's own certificate through it), and a
# missing or bad CA is refused with exit 2 and the cause.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../proxy/lib.sh"
command -v curl >/dev/null || skip "curl not installed"
command -v openssl >/dev/null || skip "openssl not installed"
command -v nginx >/dev/null || skip "nginx not installed"

sh "$top/test/tools/tls_certs.sh" "$T/pki" >/dev/null 2>&1 || fail "making the test PKI"
P=$T/pki
# the interception CAs: ca2 of the PKI (EC), and an RSA one made here; nginx's is pki/ca (RSA)
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/mitm-rsa.key" 2>/dev/null
openssl req -x509 -new -key "$T/mitm-rsa.key" -subj "/O=df tests/CN=df mitm rsa" -days 30 -out "$T/mitm-rsa.crt" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null \
  || fail "making the RSA interception CA"

NG=$(free_port)
mkdir -p "$T/www/v2/x/blobs" "$T/www/v2/y/blobs"
echo hello > "$T/www/small.txt"
blob() { # DIR: a 2 MiB blob named by its digest under www/v2/DIR/blobs; prints the digest
  local f=$T/blob-$1; make_file "$f" 2; local d; d=$(sha "$f")
  mv "$f" "$T/www/v2/$1/blobs/sha256:$d"; echo "$d"
}
DX=$(blob x); DY=$(blob y)
start_nginx_tls "$T/www" "$NG" "$P/ec.crt" "$P/ec.key"
LOG=$T/nginx-$NG/access.log
sent() { awk -v p="$1" '$6 == "\"GET" && index($7, p) {s += $10} END {print s+0}' "$LOG"; }

SP=$(free_port); start_supernode sn "$SP" --cacert "$P/ca.crt"

# missing or bad CA: exit 2 with the cause, before anything listens
expect_rc 2 "$DF" proxy --listen 127.0.0.1:0 --data "$T/bad" --mitm-host localhost --ca-cert "$P/ca2.crt"
expect_in "--mitm-host needs --ca-cert and --ca-key"; expect_in "no --ca-key given"
expect_rc 2 "$DF" proxy --listen 127.0.0.1:0 --data "$T/bad" --mitm-host localhost --ca-key "$P/ca2.key"
expect_in "no --ca-cert given"
expect_rc 2 "$DF" proxy --listen 127.0.0.1:0 --data "$T/bad" --mitm-host localhost --ca-cert "$T/nope.pem" --ca-key "$P/ca2.key"
expect_in "$T/nope.pem: No such file or directory"
expect_rc 2 "$DF" proxy --listen 127.0.0.1:0 --data "$T/bad" --mitm-host localhost --ca-cert "$P/ec.crt" --ca-key "$P/ec.key"
expect_in "$P/ec.crt: not a CA certificate"
expect_rc 2 "$DF" proxy --listen 127.0.0.1:0 --data "$T/bad" --mitm-host localhost --ca-cert "$P/ca.crt" --ca-key "$P/ca2.key"
expect_in "$P/ca2.key: the key is EC but the certificate holds an RSA key"
expect_rc 2 "$DF" proxy --listen 127.0.0.1:0 --data "$T/bad" --mitm-host 'local(' --ca-cert "$P/ca2.crt" --ca-key "$P/ca2.key"
expect_in "--mitm-host 'local('"

run() { # KIND CA KEY DIR DIGEST
  local kind=$1 ca=$2 key=$3 dir=$4 d=$5
  local url=https://localhost:$NG/v2/$dir/blobs/sha256:$d want=$T/www/v2/$dir/blobs/sha256:$d
  start_proxy "px-$kind" --supernode "127.0.0.1:$SP" --cacert "$P/ca.crt" --mitm-host 'localhost|other\.example' \
    --ca-cert "$ca" --ca-key "$key"
  local X=(-x "http://127.0.0.1:$PP") pa=$PP
  # the blob through the intercepted tunnel: right bytes, the swarm side, the https task at the supernode
  curl -sf "${X[@]}" --cacert "$ca" -o "$T/$kind.1" "$url" || fail "$kind: curl through the interception failed"
  cmp -s "$T/$kind.1" "$want" || fail "$kind: wrong bytes"
  [ "$(proxy_stat "$pa" proxy-p2p)" -eq 1 ] || fail "$kind: the blob did not go P2P: $(curl -s "http://127.0.0.1:$pa/v1/status")"
  [ "$(proxy_stat "$pa" mitm-tunnels)" -eq 1 ] || fail "$kind: no intercepted tunnel"
  [ "$(proxy_stat "$pa" mitm-minted)" -eq 1 ] || fail "$kind: no certificate minted"
  OUT=$(curl -s "http://127.0.0.1:$SP/v1/status")
  [[ $OUT == *"$url"* ]] || fail "$kind: the supernode has no task for $url: $OUT"
  [ "$(sent "sha256:$d")" -eq 2097152 ] || fail "$kind: nginx sent $(sent "sha256:$d") bytes of the blob"
  # the leaf: issued by the interception CA for localhost, seen by curl and checked by openssl
  OUT=$(curl -sv "${X[@]}" --cacert "$ca" -o /dev/null "https://localhost:$NG/small.txt" 2>&1)
  expect_in "subject: CN=localhost"
  local cn; cn=$(openssl x509 -in "$ca" -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= *//p')
  grep -q "issuer: .*CN=$cn\$" <<< "$OUT" || fail "$kind: the leaf's issuer is not '$cn': $(grep issuer: <<< "$OUT")"
  openssl s_client -proxy "127.0.0.1:$pa" -connect "localhost:$NG" -servername localhost -showcerts </dev/null \
    2>/dev/null | sed -n '/BEGIN CERT/,/END CERT/p' > "$T/$kind-leaf.pem"
  OUT=$(openssl verify -CAfile "$ca" -purpose sslserver "$T/$kind-leaf.pem" 2>&1) || fail "$kind: openssl verify: $OUT"
  OUT=$(openssl x509 -in "$T/$kind-leaf.pem" -noout -text)
  expect_in "DNS:localhost"; expect_in "CA:FALSE"; expect_in "TLS Web Server Authentication"; expect_in "Digital Signature"
  expect_in "Public Key Algorithm: id-ecPublicKey"
  [ "$kind" = rsa ] && expect_in "Signature Algorithm: sha256WithRSAEncryption"
  [ "$kind" = ec ] && expect_in "Signature Algorithm: ecdsa-with-SHA256"
  [ "$(proxy_stat "$pa" mitm-minted)" -eq 1 ] || fail "$kind: localhost was minted again"
  # the origin's own CA does not verify the intercepted session: df, not nginx, is talking
  curl -s "${X[@]}" --cacert "$P/ca.crt" -o /dev/null "https://localhost:$NG/small.txt" && fail "$kind: nginx's CA verified a minted leaf"
  # keep-alive: two requests in one tunnel; a path no rule takes is forwarded over TLS to the origin
  local t0 p0; t0=$(proxy_stat "$pa" mitm-tunnels); p0=$(proxy_stat "$pa" proxy-p2p)
  OUT=$(curl -sf "${X[@]}" --cacert "$ca" "https://localhost:$NG/small.txt" "https://localhost:$NG/small.txt") \
    || fail "$kind: two requests in one tunnel"
  [ "$OUT" = "hello"$'\n'"hello" ] || fail "$kind: forwarded bodies: $OUT"
  [ "$(proxy_stat "$pa" mitm-tunnels)" -eq $((t0 + 1)) ] || fail "$kind: the second request did not reuse the tunnel"
  [ "$(proxy_stat "$pa" proxy-p2p)" -eq "$p0" ] || fail "$kind: /small.txt went P2P"
  # a host that does not match is tunneled untouched: curl verifies nginx's own certificate through it
  t0=$(proxy_stat "$pa" tunnels)
  OUT=$(curl -sf "${X[@]}" --cacert "$P/ca.crt" "https://127.0.0.1:$NG/small.txt") || fail "$kind: plain tunnel failed"
  [ "$OUT" = hello ] || fail "$kind: tunneled body: $OUT"
  [ "$(proxy_stat "$pa" tunnels)" -eq $((t0 + 1)) ] || fail "$kind: 127.0.0.1 was not tunneled"
  # a second host (its own df proxy and store) gets the blob through the swarm, nginx sends nothing more
  start_proxy "px-$kind-2" --supernode "127.0.0.1:$SP" --cacert "$P/ca.crt" --mitm-host localhost --ca-cert "$ca" --ca-key "$key"
  curl -sf -x "http://127.0.0.1:$PP" --cacert "$ca" -o "$T/$kind.2" "$url" || fail "$kind: second host failed"
  cmp -s "$T/$kind.2" "$want" || fail "$kind: second host got wrong bytes"
  [ "$(proxy_stat "$PP" proxy-p2p)" -eq 1 ] || fail "$kind: second host did not go P2P"
  [ "$(sent "sha256:$d")" -eq 2097152 ] || fail "$kind: nginx sent the blob again ($(sent "sha256:$d") bytes in all)"
  pass "$kind interception CA"
}
run ec "$P/ca2.crt" "$P/ca2.key" x "$DX"
run rsa "$T/mitm-rsa.crt" "$T/mitm-rsa.key" y "$DY"

# abuse inside the tunnel: an absolute-form target is refused, the proxy keeps serving
OUT=$( (printf 'GET http://elsewhere/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'; sleep 1) |
  openssl s_client -quiet -proxy "127.0.0.1:$PP" -connect "localhost:$NG" -servername localhost 2>/dev/null | head -c 12)
[ "$OUT" = "HTTP/1.1 400" ] || fail "an absolute-form request inside the tunnel answered '$OUT'"
OUT=$(curl -sf -x "http://127.0.0.1:$PP" --cacert "$T/mitm-rsa.crt" "https://localhost:$NG/small.txt") && [ "$OUT" = hello ] \
  || fail "the proxy stopped serving after the abuse"
pass "proxy mitm"
