#!/usr/bin/env bash
# df's TLS client against a real https server (nginx): verification with a given CA file, the system
# bundle, an unknown CA, a wrong host name, an expired certificate, insecure mode; RSA and EC servers;
# a multi-MB body arrives intact. Uses test/tools/tlsget and a throwaway PKI (test/tools/tls_certs.sh).
. "$(dirname "$0")/../lib.sh"
command -v nginx >/dev/null || skip "nginx not installed"
command -v openssl >/dev/null || skip "openssl not installed"
GET=$top/$B/tools/tlsget
[ -x "$GET" ] || fail "$GET not built (make tools)"
cd "$T"
sh "$top/test/tools/tls_certs.sh" "$T/pki" >/dev/null 2>&1 || fail "making the test PKI"
mkdir www && echo "hello over tls" > www/index.html && head -c 3000000 /dev/urandom > www/big

# One nginx per certificate (rsa, ec, wrong host, expired).
p_rsa=$(free_port); p_ec=$(free_port); p_wrong=$(free_port); p_exp=$(free_port)
for c in rsa:$p_rsa ec:$p_ec wrong:$p_wrong expired:$p_exp; do
  start_nginx_tls "$T/www" "${c#*:}" "$T/pki/${c%%:*}.crt" "$T/pki/${c%%:*}.key"
done

# Verified, by host name and by IP address (an iPAddress subjectAltName), RSA and EC.
expect_rc 0 "$GET" --cacert pki/ca.crt localhost "$p_rsa" /index.html; expect_in "HTTP/1.1 200 OK"; expect_in "hello over tls"
expect_rc 0 "$GET" --cacert pki/ca.crt 127.0.0.1 "$p_rsa" /index.html; expect_in "hello over tls"
expect_rc 0 "$GET" --cacert pki/ca.crt localhost "$p_ec" /index.html; expect_in "hello over tls"
expect_rc 0 "$GET" --cacert pki/ca.crt --name LOCALHOST 127.0.0.1 "$p_ec" /index.html; expect_in "hello over tls"

# Refusals say why.
expect_rc 1 "$GET" --cacert pki/ca2.crt localhost "$p_rsa" /index.html; expect_in "localhost:$p_rsa: certificate verify failed: unknown CA"
expect_rc 1 "$GET" --cacert pki/ca.crt localhost "$p_wrong" /index.html; expect_in "certificate verify failed: hostname mismatch"
expect_rc 1 "$GET" --cacert pki/ca.crt 127.0.0.1 "$p_wrong" /index.html; expect_in "certificate verify failed: hostname mismatch"
expect_rc 1 "$GET" --cacert pki/ca.crt --name 127.0.0.2 127.0.0.1 "$p_rsa" /index.html; expect_in "hostname mismatch"
expect_rc 1 "$GET" --cacert pki/ca.crt localhost "$p_exp" /index.html; expect_in "certificate verify failed: expired or not yet valid"
[[ $OUT != *"hello"* ]] || fail "a refused connection printed the body: $OUT"
# The system bundle loads and does not know the test CA.
if [ -r /etc/ssl/certs/ca-certificates.crt ]; then
  expect_rc 1 "$GET" localhost "$p_rsa" /index.html; expect_in "certificate verify failed: unknown CA"
fi
# Insecure skips all of it (and says so).
expect_rc 0 "$GET" --insecure localhost "$p_wrong" /index.html; expect_in "hello over tls"; expect_in "not verified"
expect_rc 0 "$GET" --insecure localhost "$p_exp" /index.html; expect_in "hello over tls"
# Bad CA files are named before any connection.
expect_rc 2 "$GET" --cacert "$T/nope.pem" localhost "$p_rsa"; expect_in "$T/nope.pem: No such file or directory"
expect_rc 2 "$GET" --cacert pki/ec.key localhost "$p_rsa"; expect_in "pki/ec.key: no CERTIFICATE in PEM"

# A 3 MB body, exact bytes, from both servers.
for p in $p_rsa $p_ec; do
  "$GET" --cacert pki/ca.crt localhost "$p" /big > big.out 2>get.err || fail "big file from $p: $(cat get.err)"
  tail -c 3000000 big.out | cmp -s - www/big || fail "big file from $p differs"
  [ "$(grep -c 'Content-Length: 3000000' big.out)" -ge 1 ] || fail "no Content-Length in the response from $p"
done
pass tls_nginx
