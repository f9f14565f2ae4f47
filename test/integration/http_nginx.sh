#!/usr/bin/env bash
# df's HTTP client (test/tools/httpget) against a real nginx: whole files, Range, keep-alive reuse,
# parallel fetches, redirect chains (nginx `return 30x`, also across hosts, also on connections
# the server closes), chunked bodies (gzip and
# a chunked upstream), error statuses, timeouts (first byte, idle), refused connections, and
# http_proxy / no_proxy through a second nginx acting as the proxy.
. "$(dirname "$0")/../lib.sh"
GET=$top/$B/tools/httpget
SERVE=$top/$B/tools/httpserve
[ -x "$GET" ] && [ -x "$SERVE" ] || fail "no test tools in $B/tools (make tools)"
command -v nginx >/dev/null || skip "nginx not installed"

mkdir -p "$T/root" "$T/up"
chmod 755 "$T" # nginx workers run as nobody
head -c 20000000 /dev/urandom > "$T/root/big"
printf 'hello\n' > "$T/root/small"
yes 'compressible text, line after line' | head -n 200000 > "$T/root/text.txt"

# an upstream for nginx to proxy: chunked streams and a request that is held
hsport=$(free_port)
"$SERVE" --listen "127.0.0.1:$hsport" --root "$T/root" > "$T/serve.log" 2>&1 &
track $!
wait_port "$hsport"

port=$(free_port)
start_nginx "$T/root" "$port" "
  keepalive_requests 1000;
  location /r1 { return 302 /r2; }
  location /r2 { return 301 http://localhost:$port/r3; }
  location /r3 { return 307 /big; }
  location /loop { return 302 /loop; }
  location /rc { keepalive_timeout 0; return 302 /rc2; }
  location /rc2 { keepalive_timeout 0; return 301 http://localhost:$port/big; }
  location /gz/ { alias $T/root/; gzip on; gzip_types text/plain; gzip_min_length 0; }
  location /slow/ { alias $T/root/; limit_rate 1; }
  location /up/ { proxy_pass http://127.0.0.1:$hsport/; proxy_http_version 1.1; proxy_buffering off; }
"
U=http://127.0.0.1:$port

# the whole file; a range; several sequential fetches on one connection
expect_rc 0 "$GET" -o "$T/got" "$U/big"
cmp -s "$T/got" "$T/root/big" || fail "big: bytes differ"
expect_rc 0 "$GET" -r 1000000-1999999 -o "$T/r" "$U/big"
expect_in "status 206"
expect_in "content-range 1000000-1999999/20000000"
cmp -s "$T/r" <(tail -c +1000001 "$T/root/big" | head -c 1000000) || fail "range bytes differ"
expect_rc 0 "$GET" -r 19999990- -o "$T/r" "$U/big"
cmp -s "$T/r" <(tail -c 10 "$T/root/big") || fail "open range bytes differ"
expect_rc 0 "$GET" -n 5 --stats "$U/small"
expect_in "connects 1 reused 4 requests 5"
expect_rc 0 "$GET" -p 4 -n 12 --stats -o "$T/par" "$U/big"
expect_in "connects 4 reused 8"
for f in "$T"/par.*; do cmp -s "$f" "$T/root/big" || fail "parallel fetch $f differs"; done

# redirects: a chain through another host name, a loop, and not following
expect_rc 0 "$GET" -o "$T/red" "$U/r1"
expect_in "redirects 3 url http://localhost:$port/big"
[ "$(echo "$OUT" | grep -c "^status 200")" = 1 ] || fail "redirect statuses: $OUT"
cmp -s "$T/red" "$T/root/big" || fail "redirected body differs"
# redirects on connections the server closes (Connection: close): the Location was read out of the
# closed connection's freed buffer (a crash: SIGSEGV with musl, heap-use-after-free under ASan)
curl -sI "$U/rc" | grep -qi '^connection: close' || fail "nginx keeps /rc's connection open: no test"
expect_rc 0 "$GET" -o "$T/redc" "$U/rc"
expect_in "redirects 2 url http://localhost:$port/big"
cmp -s "$T/redc" "$T/root/big" || fail "redirected body (connection closed) differs"
expect_rc 1 "$GET" "$U/loop"
expect_in "too many redirects (10)"
expect_rc 0 "$GET" --no-redirect "$U/r1"
expect_in "status 302"

# chunked: nginx's gzip (Content-Length dropped) and a chunked upstream through nginx
expect_rc 0 "$GET" -v -H 'Accept-Encoding: gzip' -o "$T/gz" "$U/gz/text.txt"
expect_in "< Transfer-Encoding: chunked"
expect_in "< Content-Encoding: gzip"
gzip -dc "$T/gz" | cmp -s - "$T/root/text.txt" || fail "gzip body differs"
expect_rc 0 "$GET" -v -o "$T/ch" "$U/up/_chunked?n=3000000&step=100000&ms=2"
expect_in "< Transfer-Encoding: chunked"
cmp -s "$T/ch" <(head -c 3000000 <(yes 0123456789abcdefghijklmnopqrstuvwxyz | tr -d '\n')) || fail "chunked upstream differs"
# the consumer pausing all along (backpressure) still gets every byte
expect_rc 0 "$GET" --pause-every 262144 -o "$T/paused" "$U/big"
cmp -s "$T/paused" "$T/root/big" || fail "paused fetch differs"

# errors, named
expect_rc 1 "$GET" --fail --what source "$U/missing"
expect_in "source answered 404 Not Found"
expect_rc 0 "$GET" "$U/missing"
expect_in "status 404"
dead=$(free_port)
expect_rc 1 "$GET" "http://127.0.0.1:$dead/x"
expect_in "connect 127.0.0.1:$dead: Connection refused"
expect_rc 1 "$GET" --first-byte-timeout 0.5 "$U/up/_hold?ms=5000"
expect_in "timeout after 0.5 s waiting for first byte from 127.0.0.1:$port"
expect_rc 1 "$GET" --idle-timeout 0.5 "$U/slow/big"
expect_in "timeout after 0.5 s: no data from 127.0.0.1:$port"
expect_rc 1 "$GET" "https://127.0.0.1:$port/big"
expect_in "https not configured"

# http_proxy: a second nginx forwards whatever it is asked to the first one
pport=$(free_port)
start_nginx "$T/root" "$pport" "location / { proxy_pass http://127.0.0.1:$port; }"
OUT=$(http_proxy="http://127.0.0.1:$pport" "$GET" --proxy -o "$T/px" "http://files.example/big" 2>&1) || fail "via proxy: $OUT"
cmp -s "$T/px" "$T/root/big" || fail "proxied body differs"
grep -q '"GET http://files.example/big HTTP/1.1"' "$T/nginx-$pport/access.log" || fail "proxy did not see the absolute form"
OUT=$(http_proxy="http://127.0.0.1:$pport" no_proxy="example.org,files.example" "$GET" --proxy "http://files.example/big" 2>&1) &&
  fail "no_proxy ignored: $OUT"
[[ $OUT == *"resolve files.example"* ]] || fail "no_proxy: $OUT"
OUT=$(http_proxy="http://127.0.0.1:$pport" "$GET" "http://files.example/big" 2>&1) && fail "proxy used without --proxy: $OUT"

# nginx saw complete transfers
[ "$(nginx_bytes "$port" '/big')" -ge 20000000 ] || fail "nginx access log: $(tail -3 "$T/nginx-$port/access.log")"
pass "df's client against nginx"
