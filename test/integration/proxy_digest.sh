#!/usr/bin/env bash
# A registry that sends the wrong bytes for a blob (nginx posing as one): df proxy streams the blob
# but holds back the last byte until the whole blob matched its sha256, so the client sees the
# connection cut short, never a complete wrong body; every retry is cut the same way; the good
# blob next to it goes through whole.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../proxy/lib.sh"
command -v curl >/dev/null || skip "curl not installed"

mkdir -p "$T/reg/v2/df/bad/blobs"
make_file "$T/good" 3
make_file "$T/evil" 3
GOOD=sha256:$(sha "$T/good")
LIE=sha256:$(head -c 100 /dev/urandom | sha256sum | cut -d' ' -f1)   # a digest the bytes do not have
cp "$T/good" "$T/reg/v2/df/bad/blobs/$GOOD"
cp "$T/evil" "$T/reg/v2/df/bad/blobs/$LIE"
RP=$(free_port); start_nginx "$T/reg" "$RP" 'default_type application/octet-stream; limit_rate 1m;'
SP=$(free_port); start_supernode sn "$SP" --piece-size 1M
start_proxy px --registry "http://127.0.0.1:$RP" --supernode "127.0.0.1:$SP"

SIZE=$(stat -c %s "$T/evil")
# a retry may meet the failure before any byte went out: then an error status, never a 200
for try in 1 2; do
  code=$(curl -s -o "$T/got" -w '%{http_code}' "http://$M/v2/df/bad/blobs/$LIE"); rc=$?
  got=$(stat -c %s "$T/got" 2>/dev/null || echo 0)
  if [ "$rc" -eq 0 ]; then
    [ "$code" -ge 400 ] && grep -q "does not match its digest" "$T/got" ||
      fail "try $try: a blob that does not match its digest came back complete ($code, $got bytes)"
  fi
  [ "$got" -lt "$SIZE" ] || fail "try $try: all $SIZE bytes of a wrong blob went out (curl $rc)"
done
# without a supernode the engine fetches it itself: the bytes stream out as they land, all but the
# last one, and the connection is cut when the digest fails
PS=$PP
start_proxy direct --registry "http://127.0.0.1:$RP"
curl -s -o "$T/got" "http://$M/v2/df/bad/blobs/$LIE"; rc=$?
got=$(stat -c %s "$T/got" 2>/dev/null || echo 0)
[ "$rc" -ne 0 ] && [ "$got" -lt "$SIZE" ] || fail "direct: curl $rc with $got of $SIZE bytes of a wrong blob"
[ "$got" -gt 0 ] || fail "direct: nothing was streamed before the digest check"
echo "direct: the client got $got of $SIZE bytes, then the connection was cut"
PP=$PS M=127.0.0.1:$PS
[ "$(proxy_stat "$PP" blobs-aborted)" -ge 1 ] || fail "no aborted reply counted: $(curl -s "http://$M/v1/status")"
grep -qi "digest" "$T/px.log" || fail "df proxy did not log the mismatch: $(cat "$T/px.log")"
curl -sf -o "$T/got" "http://$M/v2/df/bad/blobs/$GOOD" || fail "the good blob failed"
cmp -s "$T/got" "$T/good" || fail "the good blob's bytes differ"
pass "proxy digest"
