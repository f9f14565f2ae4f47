#!/usr/bin/env bash
# curl against df's HTTP server (test/tools/httpserve): keep-alive, Range, HEAD, 404, chunked and
# growing streams, uploads (with length and chunked), long-poll, malformed and slow requests, and a
# graceful stop on SIGTERM that lets the request in flight finish.
. "$(dirname "$0")/../lib.sh"
SERVE=$top/$B/tools/httpserve
[ -x "$SERVE" ] || fail "no $SERVE (make tools)"
command -v curl >/dev/null || skip "curl not installed"

mkdir -p "$T/root" "$T/up"
head -c 3000000 /dev/urandom > "$T/root/big"
printf 'hello\n' > "$T/root/small"
port=$(free_port)
"$SERVE" --listen "127.0.0.1:$port" --root "$T/root" --upload "$T/up" --head-timeout 1 > "$T/serve.log" 2>&1 &
pid=$!
track $pid
wait_port "$port"
U=http://127.0.0.1:$port

# whole file, and its bytes
curl -fsS -o "$T/got" "$U/big" || fail "GET big"
cmp -s "$T/got" "$T/root/big" || fail "GET big: bytes differ"

# keep-alive: three requests, one connection
OUT=$(curl -fsS -o /dev/null -o /dev/null -o /dev/null -w '%{num_connects}\n' "$U/small" "$U/small" "$U/big")
[ "$(echo "$OUT" | paste -sd' ')" = "1 0 0" ] || fail "keep-alive: connects per request '$OUT'"

# Range: first, middle, suffix, open; unsatisfiable; several ranges get the whole file
curl -fsS -r 0-99 -o "$T/r1" "$U/big" && cmp -s "$T/r1" <(head -c 100 "$T/root/big") || fail "range 0-99"
curl -fsS -r 1000000-1999999 -o "$T/r2" "$U/big" &&
  cmp -s "$T/r2" <(tail -c +1000001 "$T/root/big" | head -c 1000000) || fail "range middle"
curl -fsS -r -500 -o "$T/r3" "$U/big" && cmp -s "$T/r3" <(tail -c 500 "$T/root/big") || fail "range suffix"
curl -fsS -r 2999990- -o "$T/r4" "$U/big" && cmp -s "$T/r4" <(tail -c 10 "$T/root/big") || fail "range open"
OUT=$(curl -sS -o /dev/null -w '%{http_code} %{size_download}' -r 0-1 "$U/small"); [ "$OUT" = "206 2" ] || fail "206: $OUT"
OUT=$(curl -sS -o /dev/null -w '%{http_code}' -r 5000000- "$U/big"); [ "$OUT" = 416 ] || fail "416: $OUT"
OUT=$(curl -sS -o /dev/null -w '%{http_code} %{size_download}' -r 0-1,5-6 "$U/big"); [ "$OUT" = "200 3000000" ] || fail "multi-range: $OUT"

# HEAD: the length, no body
OUT=$(curl -fsS -I "$U/big" | tr -d '\r')
[[ $OUT == *"Content-Length: 3000000"* && $OUT == *"Accept-Ranges: bytes"* ]] || fail "HEAD: $OUT"

# 404, 405
OUT=$(curl -sS -o /dev/null -w '%{http_code}' "$U/missing"); [ "$OUT" = 404 ] || fail "404: $OUT"
OUT=$(curl -sS -o /dev/null -w '%{http_code}' -X DELETE "$U/small"); [ "$OUT" = 405 ] || fail "405: $OUT"

# a chunked stream produced over time, and a file streamed while it grows
pattern() { head -c "$1" <(yes 0123456789abcdefghijklmnopqrstuvwxyz | tr -d '\n'); }
curl -fsS -D "$T/h" -o "$T/c" "$U/_chunked?n=1000000&step=65536&ms=2" || fail "chunked GET"
grep -qi '^transfer-encoding: chunked' "$T/h" || fail "not chunked: $(cat "$T/h")"
cmp -s "$T/c" <(pattern 1000000) || fail "chunked body differs"
: > "$T/root/grow"
( for i in $(seq 20); do head -c 50000 /dev/urandom >> "$T/root/grow"; sleep 0.02; done ) &
curl -fsS -m 60 -o "$T/g" "$U/_grow/grow?size=1000000" || fail "grow GET"
await $! 30 "the growing writer"
cmp -s "$T/g" "$T/root/grow" || fail "grow body differs"

# uploads: with a length, chunked, and with Expect: 100-continue
OUT=$(curl -fsS -T "$T/root/big" "$U/_upload/a") && [ "$OUT" = "stored 3000000" ] || fail "upload: $OUT"
cmp -s "$T/up/a" "$T/root/big" || fail "upload bytes differ"
OUT=$(curl -fsS -H 'Transfer-Encoding: chunked' -T "$T/root/big" "$U/_upload/b") || fail "chunked upload"
cmp -s "$T/up/b" "$T/root/big" || fail "chunked upload bytes differ"
OUT=$(curl -fsS -H 'Expect: 100-continue' --data-binary @"$T/root/small" "$U/_upload/c") || fail "expect upload"
cmp -s "$T/up/c" "$T/root/small" || fail "expect upload bytes differ"

# long-poll answered later
OUT=$(curl -fsS "$U/_hold?ms=300") && [ "$OUT" = "held 300 ms" ] || fail "hold: $OUT"

# raw abuse: malformed, oversized, negative length, smuggling, slow
raw() { # raw BYTES: sends them, prints the answer (until the server closes, at most 5 s)
  exec 3<>"/dev/tcp/127.0.0.1/$port" || fail "connect"
  printf '%b' "$1" >&3
  timeout 5 cat <&3
  exec 3<&-
}
OUT=$(raw 'GARBAGE\r\n\r\n' | head -n1); [[ $OUT == "HTTP/1.1 400 "* ]] || fail "garbage: $OUT"
OUT=$(raw 'GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n' | head -n1); [[ $OUT == "HTTP/1.1 400 "* ]] || fail "obs-fold: $OUT"
OUT=$(raw 'POST /_upload/x HTTP/1.1\r\nContent-Length: -1\r\n\r\n' | head -n1); [[ $OUT == "HTTP/1.1 400 "* ]] || fail "negative length: $OUT"
OUT=$(raw 'POST /_upload/x HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n' | head -n1)
[[ $OUT == "HTTP/1.1 400 "* ]] || fail "CL+TE: $OUT"
OUT=$(raw "GET /$(head -c 20000 /dev/zero | tr '\0' a) HTTP/1.1\r\n\r\n" | head -n1)
[[ $OUT == "HTTP/1.1 431 "* ]] || fail "huge head: $OUT"
OUT=$(raw 'GET /small HTTP/1.1\r\nHost: x\r\n' | head -n1); [[ $OUT == "HTTP/1.1 408 "* ]] || fail "slow head: $OUT"
OUT=$(raw 'GET /small HTTP/1.1\r\n\r\nGET /small HTTP/1.1\r\nConnection: close\r\n\r\n' | grep -c '^hello')
[ "$OUT" = 2 ] || fail "pipelined: $OUT"
# a slow but steady client still gets its file
OUT=$(curl -fsS --limit-rate 500k -o "$T/slow" -w '%{http_code}' "$U/big") && cmp -s "$T/slow" "$T/root/big" || fail "slow reader: $OUT"

# the server is still healthy after all that
OUT=$(curl -fsS "$U/_stats") || fail "stats"
[[ $OUT == *"requests "* ]] || fail "stats: $OUT"

# graceful stop: a request in flight is answered, new connections are refused, exit 0
requests() { curl -fsS "$U/_stats" | awk '/^requests/ {print $2}'; }
r0=$(requests)
curl -fsS -o "$T/held" "$U/_hold?ms=700" &
cpid=$!
for i in $(seq 100); do # until the held request is in (each poll counts itself too)
  [ $(( $(requests) - r0 - i )) -ge 1 ] && break
  sleep 0.02
done
kill -TERM $pid
refused=
for _ in $(seq 40); do
  curl -s -m 2 -o /dev/null "$U/small" || { refused=1; break; }
  sleep 0.05
done
[ -n "$refused" ] || fail "still accepting 2 s after SIGTERM"
await_ok $cpid 30 "the held request during graceful stop"
[ "$(cat "$T/held")" = "held 700 ms" ] || fail "held answer: $(cat "$T/held")"
for _ in $(seq 50); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
kill -0 $pid 2>/dev/null && fail "httpserve did not stop"
await_ok $pid 10 "httpserve"
grep -q "stopped" "$T/serve.log" || fail "no stop message: $(cat "$T/serve.log")"
grep -q "Sanitizer\|runtime error" "$T/serve.log" && fail "sanitizer report: $(cat "$T/serve.log")"
pass "curl against df's server"
