#!/usr/bin/env bash
# df proxy's HTTP-proxy mode with curl as the client and nginx as the origin: plain requests are
# forwarded as they are (status, headers, bodies both ways), URLs matching --proxy-rule go through
# the swarm side (the origin authorizes each client first, so a 401 there stays a 401), CONNECT is
# tunneled untouched, and an unreachable CONNECT target is a 502.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../proxy/lib.sh"
command -v curl >/dev/null || skip "curl not installed"

NG=$(free_port)
mkdir -p "$T/www/private"
make_file "$T/www/big.bin" 3
echo hello > "$T/www/small.txt"
echo secret > "$T/www/private/s.bin"
# /private/ wants a bearer token, as an authenticated registry or artifact store would
start_nginx "$T/www" "$NG" 'location /private/ { if ($http_authorization != "Bearer good") { add_header WWW-Authenticate "Bearer realm=x" always; return 401; } }'
LOG=$T/nginx-$NG/access.log

SP=$(free_port); start_supernode sn "$SP"
start_proxy px --supernode "127.0.0.1:$SP" --proxy-rule '/big\.bin$' --proxy-rule '/private/'
X=(-x "http://127.0.0.1:$PP")

# forwarded as it is: body, status, the origin's headers
OUT=$(curl -s "${X[@]}" -D "$T/h1" "http://127.0.0.1:$NG/small.txt") || fail "curl through the proxy failed"
[ "$OUT" = hello ] || fail "forwarded body: $OUT"
grep -qi '^last-modified:' "$T/h1" || fail "the origin's headers were not passed on: $(cat "$T/h1")"
OUT=$(curl -s -o /dev/null -w '%{http_code}' "${X[@]}" "http://127.0.0.1:$NG/nothing-here")
[ "$OUT" = 404 ] || fail "a 404 came back as $OUT"
# a request body travels too (nginx refuses POST to static files with 405: that answer comes back)
OUT=$(curl -s -o /dev/null -w '%{http_code}' "${X[@]}" --data-binary @"$T/www/small.txt" "http://127.0.0.1:$NG/small.txt")
[ "$OUT" = 405 ] || fail "a POST came back as $OUT"
grep -q '"POST /small.txt' "$LOG" || fail "the POST did not reach the origin"

# a rule match goes P2P: the bytes are right, the origin saw a HEAD (the authorization check)
curl -sf "${X[@]}" -o "$T/big1" "http://127.0.0.1:$NG/big.bin" || fail "P2P fetch through the proxy failed"
cmp -s "$T/big1" "$T/www/big.bin" || fail "P2P fetch: wrong bytes"
grep -q '"HEAD /big.bin' "$LOG" || fail "no authorization HEAD at the origin"
OUT=$(curl -s "http://127.0.0.1:$PP/v1/status")
[[ $OUT == *"proxy-p2p: 1"* ]] || fail "the rule match did not go to the swarm side: $OUT"
# Range through the proxy
OUT=$(curl -s "${X[@]}" -r 1000-1009 -w ' %{http_code}' "http://127.0.0.1:$NG/big.bin" | od -An -c | tr -d ' \n')
WANT=$(dd if="$T/www/big.bin" bs=1 skip=1000 count=10 2>/dev/null | od -An -c | tr -d ' \n')
[ "$OUT" = "${WANT}206" ] || fail "ranged P2P fetch: got $OUT, wanted ${WANT}206"

# authorization: without the token the origin's 401 comes back (nothing from the swarm), with it the file
OUT=$(curl -s -D "$T/h2" -o /dev/null -w '%{http_code}' "${X[@]}" "http://127.0.0.1:$NG/private/s.bin")
[ "$OUT" = 401 ] || fail "an unauthorized P2P request answered $OUT"
grep -qi '^www-authenticate: Bearer' "$T/h2" || fail "the 401 lost its WWW-Authenticate"
OUT=$(curl -s "${X[@]}" -H 'Authorization: Bearer good' "http://127.0.0.1:$NG/private/s.bin")
[ "$OUT" = secret ] || fail "authorized P2P request: $OUT"
OUT=$(curl -s -o /dev/null -w '%{http_code}' "${X[@]}" "http://127.0.0.1:$NG/private/s.bin")
[ "$OUT" = 401 ] || fail "once in the swarm, the private file went to a client without a token ($OUT)"

# CONNECT: a tunnel, bytes untouched (curl -p tunnels even plain http through CONNECT)
OUT=$(curl -s -p "${X[@]}" "http://127.0.0.1:$NG/small.txt") || fail "CONNECT tunnel failed"
[ "$OUT" = hello ] || fail "tunneled body: $OUT"
curl -s -p "${X[@]}" -o "$T/big2" "http://127.0.0.1:$NG/big.bin" || fail "CONNECT tunnel of 3 MiB failed"
cmp -s "$T/big2" "$T/www/big.bin" || fail "tunneled bytes differ"
DEAD=$(free_port)
OUT=$(curl -s -p "${X[@]}" -o /dev/null -w '%{http_connect}' "http://127.0.0.1:$DEAD/x" 2>&1)
[[ $OUT == *502* ]] || fail "CONNECT to a closed port: $OUT"
OUT=$(curl -s "http://127.0.0.1:$PP/v1/status")
[[ $OUT == *"tunnels: 2"* && $OUT == *"tunnel-failed: 1"* ]] || fail "tunnel counters: $OUT"

# abuse: malformed targets are refused with a reason, the daemon keeps serving
raw() { timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PP; printf '$1' >&3; head -c 12 <&3"; }
[ "$(raw 'CONNECT nohost HTTP/1.1\r\nHost: x\r\n\r\n')" = "HTTP/1.1 400" ] || fail "CONNECT without a port"
[ "$(raw 'CONNECT :443 HTTP/1.1\r\nHost: x\r\n\r\n')" = "HTTP/1.1 400" ] || fail "CONNECT without a host"
[ "$(raw 'GET http://exa mple/ HTTP/1.1\r\nHost: x\r\n\r\n')" = "HTTP/1.1 400" ] || fail "a target with a blank"
[ "$(raw 'GET http://[::1/x HTTP/1.1\r\nHost: x\r\n\r\n')" = "HTTP/1.1 400" ] || fail "a broken IPv6 target"
[ "$(raw 'GET ftp://h/x HTTP/1.1\r\nHost: x\r\n\r\n')" = "HTTP/1.1 404" ] || fail "an ftp target"
OUT=$(curl -s -o /dev/null -w '%{http_code}' "${X[@]}" -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' a)" "http://127.0.0.1:$NG/small.txt")
[ "$OUT" = 431 ] || fail "a 20 kB header answered $OUT"
OUT=$(curl -s "${X[@]}" "http://127.0.0.1:$NG/small.txt") && [ "$OUT" = hello ] || fail "the proxy stopped serving after the abuse"
pass "proxy http mode"
