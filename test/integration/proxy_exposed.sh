#!/usr/bin/env bash
# df proxy says when it listens beyond loopback without protection (issue 13 item 14): the front
# (plain HTTP, no token) on a non-loopback address, and the push receiver and piece server without
# both cluster TLS and a token; on loopback, or with TLS and a token, it says nothing of the kind.
. "$(dirname "$0")/../lib.sh"
cd "$T"
sh "$top/test/tools/tls_certs.sh" "$T/pki" >/dev/null 2>&1 || fail "making the test PKI"
echo s3cret > token; chmod 600 token
TLS=(--cert "$T/pki/rsa.crt" --key "$T/pki/rsa.key" --ca "$T/pki/ca.crt")
# run_proxy NAME FLAGS...: starts df proxy, waits for its start line, stops it; log in NAME.log
run_proxy() {
  local name=$1 fp; shift
  fp=$(free_port)
  "$DF" proxy --listen "$LISTEN_HOST:$fp" --data "$T/$name" "$@" > "$name.log" 2>&1 &
  local pid=$!; track $pid
  for _ in $(seq 100); do grep -q "proxy listening" "$name.log" && break; sleep 0.05; done
  grep -q "proxy listening" "$name.log" || fail "$name: df proxy did not start: $(cat "$name.log")"
  kill "$pid"; wait "$pid" 2>/dev/null
}
LISTEN_HOST=0.0.0.0
run_proxy open --push-listen ":$(free_port)" --peer-listen ":$(free_port)"
grep -q "registry mirror and HTTP proxy listen on 0.0.0.0" open.log || fail "no warning for the front on 0.0.0.0: $(cat open.log)"
grep -q "push receiver listens on .*without cluster TLS and a token" open.log || fail "no push receiver warning: $(cat open.log)"
grep -q "piece server listens on .*without cluster TLS and a token" open.log || fail "no piece server warning: $(cat open.log)"
run_proxy tokenonly --push-listen ":$(free_port)" --peer-listen ":$(free_port)" --token-file "$T/token"
grep -q "push receiver listens on .*without cluster TLS:" tokenonly.log || fail "no warning with a token but no TLS: $(cat tokenonly.log)"
LISTEN_HOST=127.0.0.1
run_proxy safe --push-listen ":$(free_port)" --peer-listen ":$(free_port)" --token-file "$T/token" "${TLS[@]}"
grep -q "beyond loopback" safe.log && fail "warned with TLS, a token and the front on loopback: $(cat safe.log)"
run_proxy local --push-listen "127.0.0.1:$(free_port)" --peer-listen "127.0.0.1:$(free_port)"
grep -q "beyond loopback" local.log && fail "warned with everything on loopback: $(cat local.log)"
pass "proxy_exposed: warns for what is open beyond loopback, and only then"
