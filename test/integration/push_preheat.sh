#!/usr/bin/env bash
# df push --preheat URL waits until the supernode holds the file. Sixteen preheats one after the
# other: by then the supernode's whole status is well over the 4 KB df push reads of an answer, so
# the wait must ask for its own task (/v1/status?format=json&task=ID); reading the whole status, the
# later preheats never saw their task complete and hung. Each file reaches the supernode once.
. "$(dirname "$0")/../lib.sh"
cd "$T"
mkdir -p www
for i in $(seq 16); do head -c $((100000 + i)) /dev/urandom > "www/f$i"; done
NP=$(free_port); start_nginx "$T/www" "$NP"
SP=$(free_port); start_supernode sn "$SP"
for i in $(seq 16); do
  OUT=$(within 20 "$DF" push --preheat "http://127.0.0.1:$NP/f$i" --supernode "127.0.0.1:$SP" 2>&1) || fail "preheat $i: $OUT"
  expect_in "preheated http://127.0.0.1:$NP/f$i"
done
size=$(curl -s "http://127.0.0.1:$SP/v1/status?format=json" | wc -c)
[ "$size" -gt 4096 ] || fail "the status is only $size bytes: the test proves nothing"
for i in $(seq 16); do
  [ "$(nginx_bytes "$NP" "/f$i\$")" -eq $((100000 + i)) ] || fail "f$i reached the supernode $(nginx_bytes "$NP" "/f$i\$") bytes"
done
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$SP/v1/status?format=json&task=nothex")
[ "$code" = 400 ] || fail "a bad task= got $code"
pass "16 preheats; the status grew to $size bytes"
