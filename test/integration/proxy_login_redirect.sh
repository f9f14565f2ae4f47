#!/usr/bin/env bash
# df proxy's authorize-before-serve check against an origin that redirects: a real nginx in front of
# the registry sends blob requests (GET and HEAD) with credentials to blob storage (307, the way
# registries on object storage answer) and requests without credentials to a login page (302 to an
# HTML page that answers 200). Only a 2xx authorizes: a redirect is followed (with a one-byte GET, as
# a presigned storage URL is signed for GET) and must end at the blob, not at a page. A client with
# credentials gets the layer through the swarm; one without never gets the layer's bytes, even once
# the layer is in the host's store (any 3xx used to authorize). A blob HEAD is answered like its GET.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../registry/lib.sh"
. "$(dirname "$0")/../proxy/lib.sh"
command -v curl >/dev/null || skip "curl not installed"

make_test_image "$T/img" df/login:v1 4
RP=$(free_port); start_registry "$RP"
push_image "$T/img" df/login:v1 "$RP" || fail "push: $OUT"
BP=$(free_port); start_nginx "$(registry_dir "$RP")/storage" "$BP" "default_type application/octet-stream;"
FP=$(free_port)
start_nginx "$T" "$FP" "
  proxy_http_version 1.1; proxy_set_header Host \$http_host;
  location ~ \"^/v2/.+/blobs/sha256:(?<hex>(?<pre>[0-9a-f]{2})[0-9a-f]{62})\$\" {
    if (\$http_authorization = '') { return 302 /login; }
    return 307 http://127.0.0.1:$BP/docker/registry/v2/blobs/sha256/\$pre/\$hex/data;
  }
  location = /login { default_type text/html; return 200 '<html><body>please log in</body></html>\n'; }
  location / { proxy_pass http://127.0.0.1:$RP; }"
SP=$(free_port); start_supernode sn "$SP"
start_proxy px --registry "http://127.0.0.1:$FP" --supernode "127.0.0.1:$SP"
BIG=$IMG_BIG
BLOB=$T/img/blobs/sha256/${BIG#sha256:}
logs() { echo "--- px.log"; tail -n 30 "$T/px.log"; echo "--- front"; tail -n 20 "$(access_log "$FP")"; }

# without credentials, before anything is stored: the login page, not the blob
code=$(curl -s -o "$T/anon0" -w '%{http_code}' "http://$M/v2/df/login/blobs/$BIG")
cmp -s "$T/anon0" "$BLOB" && { logs; fail "a client without credentials got the layer (HTTP $code)"; }
grep -q "please log in" "$T/anon0" || { logs; fail "a client without credentials did not get the origin's login page: HTTP $code"; }

# with credentials: the redirect to storage is followed, answers 2xx: the layer goes through the swarm
curl -sf -u someone:secret -o "$T/blob" "http://$M/v2/df/login/blobs/$BIG" || { logs; fail "blob with credentials"; }
cmp -s "$T/blob" "$BLOB" || fail "blob bytes differ"
[ "$(proxy_stat "$PP" blobs-p2p)" -ge 1 ] || { logs; fail "the authorized blob did not go through the swarm: $(curl -s "http://$M/v1/status")"; }

# a HEAD of the blob: answered by df like its GET (200, the length, the digest), never the origin's
# 307 to storage (a client doing HEAD would then go to the storage itself)
curl -s -I -u someone:secret "http://$M/v2/df/login/blobs/$BIG" | tr -d '\r' > "$T/head"
head -n1 "$T/head" | grep -q ' 200' || { logs; fail "blob HEAD answered $(cat "$T/head")"; }
grep -qi "^content-length: $(stat -c %s "$BLOB")$" "$T/head" || fail "blob HEAD length: $(cat "$T/head")"
grep -qi "^docker-content-digest: $BIG$" "$T/head" || fail "blob HEAD digest: $(cat "$T/head")"
grep -qi '^location:' "$T/head" && fail "blob HEAD carried a Location: $(cat "$T/head")"
[ "$(proxy_stat "$PP" blob-heads)" -eq 1 ] || fail "blob-heads: $(curl -s "http://$M/v1/status")"
# without credentials: the origin's own answer (its redirect to the login page), never the length
code=$(curl -s -I -o "$T/head0" -w '%{http_code}' "http://$M/v2/df/login/blobs/$BIG")
[ "$code" = 302 ] || fail "a blob HEAD without credentials answered $code: $(cat "$T/head0")"

# the layer is in the host's store now: still the login page without credentials
denied=$(proxy_stat "$PP" blobs-denied)
code=$(curl -s -o "$T/anon1" -w '%{http_code}' "http://$M/v2/df/login/blobs/$BIG")
cmp -s "$T/anon1" "$BLOB" && { logs; fail "a stored layer went to a client without credentials (HTTP $code)"; }
grep -q "please log in" "$T/anon1" || { logs; fail "no login page for a client without credentials: HTTP $code"; }
code=$(curl -s -o "$T/anon2" -w '%{http_code}' -H 'Range: bytes=0-99' "http://$M/v2/df/login/blobs/$BIG")
cmp -s "$T/anon2" <(head -c 100 "$BLOB") && { logs; fail "a ranged request without credentials got the layer's bytes"; }
[ "$(proxy_stat "$PP" blobs-denied)" -ge $(( denied + 2 )) ] || fail "the refusals were not counted as denied: $(curl -s "http://$M/v1/status")"
pass "proxy login redirect"
