#!/usr/bin/env bash
# An https registry with a private CA. (1) A supernode that lacks the CA fails every task
# ("certificate verify failed"): df proxy still serves the blob (from the upstream) but says so with
# a WARN naming the cause, and df status shows it. (2) With df proxy down, containerd falls back to
# the registry only when its hosts.toml carries the CA: the one --print-config prints (ca = the
# CA's absolute path) and the one --install writes (the CA copied beside it, ca relative) both pull
# with ctr while nothing listens on the mirror port; the same file without its ca line does not.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../registry/lib.sh"
. "$(dirname "$0")/../proxy/lib.sh"
command -v curl >/dev/null || skip "curl not installed"
command -v openssl >/dev/null || skip "openssl not installed"
# a private CA and the registry's certificate (EC: made in milliseconds, unlike tls_certs.sh's RSA)
mkdir -p "$T/pki" && (
  cd "$T/pki" &&
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt -days 2 \
    -subj "/CN=df test private CA" -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign &&
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout reg.key -out reg.csr -subj /CN=registry &&
  printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' > reg.ext &&
  openssl x509 -req -in reg.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile reg.ext -out reg.crt
) > "$T/pki.log" 2>&1 || fail "making the test PKI: $(cat "$T/pki.log")"

make_test_image "$T/img" df/test:v1 2
RP=$(free_port); start_registry "$RP"
push_image "$T/img" df/test:v1 "$RP" || fail "push: $OUT"
NP=$(free_port)
start_nginx_tls "$T" "$NP" "$T/pki/reg.crt" "$T/pki/reg.key" \
  "location / { proxy_pass http://127.0.0.1:$RP; proxy_set_header Host \$http_host; proxy_http_version 1.1; }"
REG=127.0.0.1:$NP
SP=$(free_port); start_supernode sn "$SP"          # no --cacert: it cannot verify the registry
start_proxy px --registry "https://$REG" --cacert "$T/pki/ca.crt" --supernode "127.0.0.1:$SP"

# (1) the blob still arrives, from the upstream; the cause is a WARN and in df status
curl -sf -o "$T/blob" "http://$M/v2/df/test/blobs/$IMG_BIG" || fail "blob through df proxy"
cmp -s "$T/blob" "$T/img/blobs/sha256/${IMG_BIG#sha256:}" || fail "blob bytes differ"
grep -q 'WARN .*supernode failed the task.*certificate verify failed' "$T/px.log" ||
  fail "no WARN naming the supernode's failure: $(grep -i 'supernode\|registry' "$T/px.log")"
expect_rc 0 "$DF" status --proxy "$M"
expect_in "blobs-supernode-failed: 1"
expect_in "last-supernode-failure: supernode 127.0.0.1:$SP: "
expect_in "certificate verify failed"
expect_rc 0 "$DF" status --proxy "$M" --json
expect_in '"last_supernode_failure":'

# (2) containerd with df proxy down: the mirror's port is dead, the registry needs the CA
start_containerd
DEAD=$(free_port)
H=$T/printed/$REG
mkdir -p "$H"
expect_rc 0 "$DF" proxy --print-config containerd --registry "https://$REG" --cacert "$T/pki/ca.crt" --listen "127.0.0.1:$DEAD"
expect_in "ca = \"$T/pki/ca.crt\""
printf '%s\n' "$OUT" | awk -v f="# /etc/containerd/certs.d/$REG/hosts.toml" '$0 == f {on = 1; next} on' > "$H/hosts.toml"
grep -q "^server = \"https://$REG\"" "$H/hosts.toml" || fail "no server line in the printed hosts.toml: $(cat "$H/hosts.toml")"
CTR_HOSTS_DIR=$T/printed ctr_fetch "$REG" df/test:v1 || fail "ctr with the printed hosts.toml and df proxy down: $OUT"
[ "$PULLED_MANIFEST" = "$IMG_MANIFEST" ] || fail "ctr pulled $PULLED_MANIFEST"
# the control: without its ca line the same file cannot fall back (what the snippet used to print)
mkdir -p "$T/noca/$REG"
grep -v '^ca = ' "$H/hosts.toml" > "$T/noca/$REG/hosts.toml"
CTR_HOSTS_DIR=$T/noca ctr_fetch "$REG" df/test:v1 && fail "ctr pulled without the CA: the fallback test proves nothing"
[[ $OUT == *x509* || $OUT == *certificate* ]] || fail "ctr without the CA failed otherwise: $OUT"

# --install under a root: the CA is copied beside hosts.toml, named relative, and works the same
expect_rc 0 "$DF" proxy --install containerd --root "$T/root" --registry "https://$REG" --cacert "$T/pki/ca.crt" \
  --listen "127.0.0.1:$DEAD"
D=$T/root/etc/containerd/certs.d
grep -qx 'ca = "df-upstream-ca.crt"' "$D/$REG/hosts.toml" || fail "installed hosts.toml: $(cat "$D/$REG/hosts.toml")"
cmp -s "$D/$REG/df-upstream-ca.crt" "$T/pki/ca.crt" || fail "the CA was not copied beside hosts.toml"
CTR_HOSTS_DIR=$D ctr_fetch "$REG" df/test:v1 || fail "ctr with the installed hosts.toml and df proxy down: $OUT"
[ "$PULLED_MANIFEST" = "$IMG_MANIFEST" ] || fail "ctr pulled $PULLED_MANIFEST"
pass "proxy private CA"
