#!/usr/bin/env bash
# df's TLS server against a real client (curl): RSA and EC keys, an 8 MB body through the TLS sendfile
# path with exact bytes (also several at once), client refusals worded on the server, mutual TLS (a
# client certificate from another CA is refused), our own client against our server, and a server in
# an empty chroot (no /dev: entropy must come from getrandom). Uses test/tools/tlsserve and tlsget.
. "$(dirname "$0")/../lib.sh"
command -v curl >/dev/null || skip "curl not installed"
command -v openssl >/dev/null || skip "openssl not installed"
SERVE=$top/$B/tools/tlsserve GET=$top/$B/tools/tlsget
[ -x "$SERVE" ] && [ -x "$GET" ] || fail "tlsserve/tlsget not built (make tools)"
cd "$T"
sh "$top/test/tools/tls_certs.sh" "$T/pki" >/dev/null 2>&1 || fail "making the test PKI"
head -c 8000000 /dev/urandom > big

serve() { # name port args...: a tlsserve whose stderr goes to $T/NAME.err
  local name=$1 port=$2; shift 2
  $SERVE --port "$port" "$@" 2>"$T/$name.err" &
  local pid=$!
  track $pid
  for _ in $(seq 200); do
    ss -Htln "sport = :$port" | grep -q . && return 0
    kill -0 $pid 2>/dev/null || fail "tlsserve $name did not start: $(cat "$T/$name.err")"
    sleep 0.05
  done
  fail "tlsserve $name does not listen on $port after 10s: $(cat "$T/$name.err")"
}
CURL=(curl -sS --max-time 20 --cacert pki/ca.crt)
# saw TEXT FILE: the server logged TEXT (it may log a moment after the client has exited)
saw() { for _ in $(seq 100); do grep -qF "$1" "$2" && return 0; sleep 0.1; done; fail "no '$1' in $2: $(cat "$2")"; }

# RSA and EC servers, by name and by IP, sendfile of 8 MB with the exact bytes.
p_rsa=$(free_port); serve rsa "$p_rsa" --cert pki/rsa.crt --key pki/rsa.key --file big
p_ec=$(free_port); serve ec "$p_ec" --cert pki/ec.crt --key pki/ec-sec1.key --file big
for url in "https://localhost:$p_rsa/" "https://127.0.0.1:$p_rsa/" "https://localhost:$p_ec/" "https://[::1]:$p_ec/x"; do
  [[ $url == *::1* ]] && ! ss -Htln "sport = :$p_ec" | grep -q '\[::' && continue  # tlsserve listens on IPv4 only
  "${CURL[@]}" "$url" -o out 2>curl.err || fail "curl $url: $(cat curl.err)"
  cmp -s out big || fail "curl $url: body differs from the file"
done
# Several clients at once, all exact.
pids=()
for i in 1 2 3 4; do "${CURL[@]}" "https://localhost:$p_ec/" -o "par$i" 2>"par$i.err" & pids+=($!); done
for pid in "${pids[@]}"; do await "$pid" 60 "a parallel curl"; done
for i in 1 2 3 4; do cmp -s "par$i" big || fail "parallel download $i differs: $(cat "par$i.err")"; done
# TLS 1.2 explicitly, and a fixed body over write().
p_txt=$(free_port); serve txt "$p_txt" --cert pki/rsa-chain.crt --key pki/rsa-pkcs1.key
OUT=$("${CURL[@]}" --tlsv1.2 --tls-max 1.2 "https://localhost:$p_txt/" 2>&1) || fail "curl tls1.2: $OUT"
expect_in "hello from tlsserve"

# TLS 1.3 only (BearSSL has no 1.3): refused, and the server says why.
"${CURL[@]}" --tlsv1.3 "https://localhost:$p_txt/" >/dev/null 2>&1 && fail "a TLS 1.3-only client got through"
saw "no cipher suite in common" txt.err

# A client that does not trust us: the server logs what the client said.
expect_rc 60 "${CURL[@]/pki\/ca.crt/pki/ca2.crt}" "https://localhost:$p_rsa/"
saw "peer sent fatal alert: unknown CA" rsa.err

# Mutual TLS: a client certificate from ca passes; one from ca2, or none, is refused in words.
p_m=$(free_port); serve mtls "$p_m" --cert pki/ec.crt --key pki/ec.key --client-ca pki/ca.crt
OUT=$("${CURL[@]}" --cert pki/client.crt --key pki/client.key "https://localhost:$p_m/" 2>&1) || fail "mTLS with a good client cert: $OUT"
expect_in "hello from tlsserve"
"${CURL[@]}" --cert pki/client2.crt --key pki/client2.key "https://localhost:$p_m/" >/dev/null 2>&1 && fail "a client cert from another CA was accepted"
"${CURL[@]}" "https://localhost:$p_m/" >/dev/null 2>&1 && fail "a client without a certificate was accepted"
saw "certificate verify failed: unknown CA" mtls.err
saw "client sent no certificate" mtls.err
# Our client against our server, both sides df's transport.
expect_rc 0 "$GET" --cacert pki/ca.crt --cert pki/client.crt --key pki/client.key localhost "$p_m"; expect_in "hello from tlsserve"
expect_rc 1 "$GET" --cacert pki/ca.crt --cert pki/client2.crt --key pki/client2.key localhost "$p_m"; expect_in "peer sent fatal alert: unknown CA"
expect_rc 1 "$GET" --cacert pki/ca.crt localhost "$p_m"; expect_in "peer sent fatal alert: certificate required"
"$GET" --cacert pki/ca.crt 127.0.0.1 "$p_rsa" > big.out 2>get.err || fail "tlsget big: $(cat get.err)"
tail -c 8000000 big.out | cmp -s - big || fail "tlsget big file differs"

# Start-up errors name the file and the cause.
expect_rc 2 "$SERVE" --port 1 --cert pki/ec.crt --key pki/rsa.key; expect_in "pki/rsa.key: the key is RSA but the certificate holds an EC key"
expect_rc 2 "$SERVE" --port 1 --cert pki/ec.crt --key pki/ec-encrypted.key; expect_in "encrypted private keys are not supported"
expect_rc 2 "$SERVE" --port 1 --cert pki/missing.crt --key pki/ec.key; expect_in "pki/missing.crt: No such file or directory"

# An empty chroot: no /dev/urandom, no /etc. The static server must still seed its RNG and serve.
if [ "$(id -u)" = 0 ] && file "$SERVE" | grep -q "statically linked"; then
  mkdir -p root && cp "$SERVE" pki/rsa.crt pki/rsa.key root/
  p_ch=$(free_port)
  SERVE="chroot root /tlsserve" serve chroot "$p_ch" --cert /rsa.crt --key /rsa.key
  OUT=$("${CURL[@]}" "https://localhost:$p_ch/" 2>&1) || fail "server in an empty chroot: $OUT / $(cat "$T/chroot.err")"
  expect_in "hello from tlsserve"
fi
pass tls_serve
