#!/usr/bin/env bash
# df push --image of a private image, the engines' way: a Bearer-token front (nginx: WWW-Authenticate
# realm/service, a token server that wants basic credentials, blob GETs redirected to storage that
# needs none) before the real registry with htpasswd; and the htpasswd registry itself (Basic).
# Credentials from --creds, --auth-file, $REGISTRY_AUTH_FILE and $DOCKER_CONFIG. After the push
# onto three hosts, pulls with credentials through each host's df proxy cost the storage no blob
# bytes, and a client without the credentials gets no blob from any of them.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../registry/lib.sh"
. "$(dirname "$0")/../proxy/lib.sh"

make_test_image "$T/img" df/private:v1 4
RP=$(free_port); start_registry "$RP" auth
push_image "$T/img" df/private:v1 "$RP" "$REG_CREDS" || fail "push: $OUT"
B64=$(printf %s "$REG_CREDS" | base64 -w0)
# the front: tokens for the credentials only; blobs by 307 to a storage server (no credentials)
BP=$(free_port); start_nginx "$(registry_dir "$RP")/storage" "$BP" "default_type application/octet-stream;"
NP=$(free_port)
CHALLENGE="Bearer realm=\"http://127.0.0.1:$NP/token\",service=\"df-test\""
start_nginx "$T" "$NP" "
  proxy_http_version 1.1; proxy_buffering off; proxy_set_header Host \$http_host;
  proxy_set_header Authorization 'Basic $B64';
  location = /token {
    if (\$http_authorization != 'Basic $B64') { return 401; }
    default_type application/json; return 200 '{\"token\": \"tok-good\", \"expires_in\": 300}';
  }
  location ~ \"^/v2/.+/blobs/sha256:(?<hex>(?<pre>[0-9a-f]{2})[0-9a-f]{62})\$\" {
    if (\$http_authorization != 'Bearer tok-good') { add_header WWW-Authenticate '$CHALLENGE' always; return 401; }
    if (\$request_method = GET) { return 307 http://127.0.0.1:$BP/docker/registry/v2/blobs/sha256/\$pre/\$hex/data; }
    proxy_pass http://127.0.0.1:$RP;
  }
  location /v2/ {
    if (\$http_authorization != 'Bearer tok-good') { add_header WWW-Authenticate '$CHALLENGE' always; return 401; }
    proxy_pass http://127.0.0.1:$RP;
  }"
FRONT=127.0.0.1:$NP
BLOG=$(access_log "$BP")
BLOBS="$IMG_CONFIG $IMG_BIG $IMG_SMALL"
storage_bytes() { local d n=0; for d in $BLOBS; do n=$((n + $(blob_bytes "$BLOG" "$d"))); done; echo "$n"; }

SP=$(free_port); start_supernode sn "$SP"
start_mirror_hosts 3 --registry "http://$FRONT" --supernode "127.0.0.1:$SP"
export HOME=$T/home
mkdir -p "$HOME"
PUSH=("$DF" push --supernode "127.0.0.1:$SP")

echo "set-up: ${SECONDS}s"
# 1. no credentials anywhere: refused, naming what is missing
expect_rc 1 "${PUSH[@]}" --image "$FRONT/df/private:v1" --group "$T/hosts.txt"
expect_in "token server of $FRONT answered 401"
expect_in "wants credentials"
expect_rc 1 "${PUSH[@]}" --image "$FRONT/df/private:v1" --creds "$REG_USER:wrong"
expect_in "credentials were refused"

# 2. --creds onto three hosts: the storage sends each blob once (redirects followed)
expect_rc 0 "${PUSH[@]}" --image "$FRONT/df/private:v1" --group "$T/hosts.txt" --creds "$REG_CREDS"
expect_in "3/3 ok, 0 failed; 3 blobs"
expect_in "credentials from --creds"
sent_once "$BLOG" "$T/img" $BLOBS
grep -rqF "tok-good" "$T"/h?.log "$T"/sn.log "$T"/sn "$T"/h? && fail "the token is in a log or a store"
grep -rqF "$B64" "$T"/h?.log "$T"/sn.log "$T"/sn "$T"/h? && fail "the credentials are in a log or a store"
sleep 0.3
before=$(storage_bytes)

echo "push: ${SECONDS}s"
# 3. pulls with the credentials through each host's df proxy: from its store
for i in 1 2 3; do
  skopeo_pull "$FRONT" df/private:v1 "$T/out$i" "${MIRRORS[$((i - 1))]}" "$REG_CREDS" || fail "skopeo through host $i: $OUT"
  [ "$PULLED_MANIFEST" = "$IMG_MANIFEST" ] || fail "host $i pulled $PULLED_MANIFEST"
done
sleep 0.3
[ "$(storage_bytes)" -eq "$before" ] || fail "pulls through the hosts cost the storage $(( $(storage_bytes) - before )) blob bytes"

# 4. a client without the credentials (or with a bad token) gets the registry's 401, not the blob
for i in 1 2 3; do
  for auth in "" "Authorization: Bearer tok-bad"; do
    code=$(curl -s -o "$T/leak" -w '%{http_code}' ${auth:+-H "$auth"} "http://${MIRRORS[$((i - 1))]}/v2/df/private/blobs/$IMG_BIG")
    [ "$code" = 401 ] || fail "host $i answered $code to a blob GET with '${auth:-no credentials}'"
    cmp -s "$T/leak" "$T/img/blobs/sha256/${IMG_BIG#sha256:}" && fail "host $i served the private blob to '${auth:-no credentials}'"
  done
  [ "$(proxy_stat "${MIRRORS[$((i - 1))]#*:}" blobs-denied)" -ge 2 ] || fail "host $i counted no denial"
done

echo "pulls: ${SECONDS}s"
# 5. credentials from files: --auth-file (containers auth.json), $REGISTRY_AUTH_FILE, $DOCKER_CONFIG
printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$FRONT" "$B64" > "$T/auth.json"
expect_rc 0 "${PUSH[@]}" --image "$FRONT/df/private:v1" --auth-file "$T/auth.json"
expect_in "credentials from $T/auth.json"
printf '{"auths": {"%s/df": {"auth": "%s"}, "%s": {"auth": "%s"}}}\n' "$FRONT" "$B64" "$FRONT" \
  "$(printf %s "$REG_USER:wrong" | base64 -w0)" > "$T/ns.json"
REGISTRY_AUTH_FILE=$T/ns.json expect_rc 0 "${PUSH[@]}" --image "$FRONT/df/private:v1"
expect_in "credentials from $T/ns.json"   # the namespace's entry is more specific than the host's
mkdir -p "$T/docker"
printf '{"auths": {"http://%s/v1/": {"auth": "%s"}}, "credsStore": "none"}\n' "$FRONT" "$B64" > "$T/docker/config.json"
DOCKER_CONFIG=$T/docker expect_rc 0 "${PUSH[@]}" --image "$FRONT/df/private:v1"
expect_in "credentials from $T/docker/config.json"
printf '{"auths": {"%s": {"auth": "not base64!"}}}\n' "$FRONT" > "$T/bad.json"
expect_rc 1 "${PUSH[@]}" --image "$FRONT/df/private:v1" --auth-file "$T/bad.json"
expect_in "not base64"

# 6. the htpasswd registry itself: Basic. Another image: a private blob the supernode fetched from
# the front is not handed to a registration naming another origin (docs/SECURITY.md)
( make_test_image "$T/img2" df/basic:v1 1 ) || fail "make_test_image"
push_image "$T/img2" df/basic:v1 "$RP" "$REG_CREDS" || fail "push: $OUT"
expect_rc 1 "${PUSH[@]}" --image "127.0.0.1:$RP/df/basic:v1"
expect_in "wants credentials (Basic)"
expect_rc 0 "${PUSH[@]}" --image "127.0.0.1:$RP/df/basic:v1" --creds "$REG_CREDS"
expect_in "preheated 127.0.0.1:$RP/df/basic@"
echo "private image: storage sent each blob once; 3 hosts pulled with 0 storage blob bytes; no blob without credentials"
pass "push image auth"
