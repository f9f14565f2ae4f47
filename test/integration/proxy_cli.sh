#!/usr/bin/env bash
# df proxy as a command: flags and their errors, --print-config for each engine, the systemd units,
# start-up failures (busy port, a second daemon on the same store), a TLS ClientHello on the plain
# port (skopeo and podman probe TLS first), /v1/status, the hand-off socket's refusals, and a
# graceful stop on SIGTERM.
# run.sh: alone (the TLS ClientHello answer is bounded at 2 s)
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../proxy/lib.sh"
HANDOFF=$top/$B/tools/handoff

expect_rc 0 "$DF" proxy --help; expect_in "--registry"; expect_in "--print-config"; expect_in "[proxy]"
expect_rc 2 "$DF" proxy --registry ftp://x; expect_in "registry 'ftp://x'"
expect_rc 2 "$DF" proxy --registry http://h/some/path; expect_in "has no path"
expect_rc 2 "$DF" proxy --proxy-rule '('; expect_in "--proxy-rule '('"
# shellcheck disable=SC2046
expect_rc 2 "$DF" proxy $(for i in $(seq 33); do printf -- '--proxy-rule r%d ' "$i"; done); expect_in "more than 32 --proxy-rule regexes"
printf '[proxy]\nmitm_host = %s\n' "$(seq -s ' ' 33)" > "$T/many.conf"
expect_rc 2 "$DF" proxy --config "$T/many.conf"; expect_in "more than 32 --mitm-host regexes"
expect_rc 2 "$DF" proxy extra; expect_in "unexpected argument 'extra'"
expect_rc 2 "$DF" proxy --print-config rkt; expect_in "expected containerd, docker or podman"

# --print-config: the exact snippets, with the listen address made dialable and ns names
expect_rc 0 "$DF" proxy --print-config containerd --listen :7000 --registry http://127.0.0.1:5000 \
  --registry https://registry-1.docker.io
expect_in '/etc/containerd/certs.d/127.0.0.1:5000/hosts.toml'
expect_in 'server = "http://127.0.0.1:5000"'
expect_in '[host."http://127.0.0.1:7000"]'
expect_in 'capabilities = ["pull", "resolve"]'
expect_in '/etc/containerd/certs.d/docker.io/hosts.toml'
expect_in 'server = "https://registry-1.docker.io"'
expect_rc 0 "$DF" proxy --print-config podman --registry http://127.0.0.1:5000
expect_in '[[registry.mirror]]'; expect_in 'location = "127.0.0.1:65001"'; expect_in 'insecure = true'
expect_in 'location = "127.0.0.1:5000"'
# a drop-in that only adds the mirror: the system's search list stays
[[ $OUT != *unqualified-search-registries\ =* ]] || fail "the podman snippet sets unqualified-search-registries: $OUT"
expect_in '/etc/containers/registries.conf.d/50-df-proxy.conf'
OUT=$("$DF" proxy --print-config docker 2>/dev/null) || fail "print-config docker"
[ "$(printf '%s' "$OUT" | tr -d ' \n')" = '{"registry-mirrors":["http://127.0.0.1:65001"]}' ] || fail "docker snippet: $OUT"
# the config file's [proxy] registries, and a flag replacing it
printf '[proxy]\nregistries = quay=https://quay.io, http://10.0.0.1:5000\nlisten = 127.0.0.1:7001\n' > "$T/df.conf"
expect_rc 0 "$DF" proxy --config "$T/df.conf" --print-config containerd
# NAME=URL: the directory is the host the images are named after (quay.io/...), not the label
expect_in 'certs.d/quay.io/hosts.toml'; expect_in 'certs.d/10.0.0.1:5000/hosts.toml'; expect_in 'http://127.0.0.1:7001'
[[ $OUT != *certs.d/quay/* ]] || fail "print-config named the directory after the label: $OUT"
expect_rc 0 "$DF" proxy --print-config containerd --registry docker.io=https://mirror.gcr.io --registry hub=https://registry-1.docker.io
expect_in 'certs.d/docker.io/hosts.toml'; expect_in 'server = "https://mirror.gcr.io"'
# an https upstream and --cacert: ca = the CA's absolute path (containerd's fallback verifies with it)
(cd "$T" && printf x > ca.pem && "$DF" proxy --print-config containerd --registry https://r.example --cacert ca.pem) > "$T/ca.out" \
  || fail "print-config with --cacert"
grep -qx "ca = \"$T/ca.pem\"" "$T/ca.out" || fail "no absolute ca line: $(cat "$T/ca.out")"
expect_rc 0 "$DF" proxy --print-config containerd --registry http://r.example:5000 --cacert "$T/ca.pem"
[[ $OUT != *'ca = '* ]] || fail "a ca line for an http upstream: $OUT"
expect_rc 0 "$DF" proxy --config "$T/df.conf" --print-config containerd --registry http://10.9.9.9
[[ $OUT != *quay* ]] || fail "--registry did not replace [proxy] registries: $OUT"

# the systemd units are valid (with ExecStart pointed at this build)
for u in df-proxy df-supernode; do
  [ -f "$top/release/$u.service" ] || fail "release/$u.service missing"
  sed "s#/usr/local/bin/df#$DF#" "$top/release/$u.service" > "$T/$u.service"
done
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify "$T/df-proxy.service" "$T/df-supernode.service" 2>"$T/verify.err" \
    || fail "systemd-analyze verify: $(cat "$T/verify.err")"
fi

# a running proxy
MP=$(free_port)
start_proxy px --metrics-listen "127.0.0.1:$MP"
# [proxy] metrics_listen: /metrics on a port of its own, nothing else there
curl -sf "http://127.0.0.1:$MP/metrics" | grep -q '^df_proxy_requests ' || fail "no /metrics on the metrics listener"
for path in /v1/status /v2/; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MP$path")
  [ "$code" = 404 ] || fail "the metrics listener answered $path with $code"
done
[ -S "$T/px/proxy.sock" ] || fail "no hand-off socket in the data dir"
[ "$(stat -c %a "$T/px/proxy.sock")" = 600 ] || fail "hand-off socket mode $(stat -c %a "$T/px/proxy.sock")"

# busy port, and a second daemon on the same store
expect_rc 1 "$DF" proxy --listen "127.0.0.1:$PP" --data "$T/px2" --peer-listen 127.0.0.1:0 --push-listen ''
expect_in "listen 127.0.0.1:$PP"
P2=$(free_port)
expect_rc 1 "$DF" proxy --listen "127.0.0.1:$P2" --data "$T/px" --peer-listen 127.0.0.1:0 --push-listen ''
expect_in "another df proxy is running"

# a TLS ClientHello gets a plain HTTP 400 and a close at once, never a hang
start=$(date +%s%N)
curl -sk --max-time 5 "https://127.0.0.1:$PP/v2/" > /dev/null 2> "$T/tls.err"; rc=$?
[ "$rc" -ne 28 ] || fail "TLS ClientHello hung until curl's timeout"
[ $(( ($(date +%s%N) - start) / 1000000 )) -lt 2000 ] || fail "TLS ClientHello took over 2 s"
head -c 517 /dev/urandom | sed '1s/^/\x16\x03\x01\x02\x00\x01/' > "$T/hello.bin"
OUT=$(timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PP; cat '$T/hello.bin' >&3; head -c 12 <&3") || fail "no answer to a ClientHello"
[[ $OUT == "HTTP/1.1 400" ]] || fail "a ClientHello got '$OUT', not an HTTP 400"

# no upstream configured: the mirror says so in the registry's error format; stray paths are 404
OUT=$(curl -s -w ' %{http_code}' "http://127.0.0.1:$PP/v2/")
[[ $OUT == *NAME_UNKNOWN*' 404' ]] || fail "/v2/ without an upstream: $OUT"
OUT=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PP/v2/?ns=evil.example%2Fx")
[ "$OUT" = 400 ] || fail "a malformed ns answered $OUT"
OUT=$(curl -s -o /dev/null -w '%{http_code}' -X PUT "http://127.0.0.1:$PP/v2/a/manifests/b")
[ "$OUT" = 405 ] || fail "a push answered $OUT, not 405"
OUT=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PP/index.html")
[ "$OUT" = 404 ] || fail "a stray path answered $OUT"
OUT=$(curl -s "http://127.0.0.1:$PP/v1/status")
[[ $OUT == *"role: proxy"* && $OUT == *"registry-requests: 3"* ]] || fail "status: $OUT"

# the hand-off socket refuses malformed requests with a usage error line
expect_rc 2 "$HANDOFF" "$T/px/proxy.sock" http://127.0.0.1:1/f relative/out; expect_in "error: 2 no absolute output path"
expect_rc 2 "$HANDOFF" "$T/px/proxy.sock" ftp://x/f "$T/o"; expect_in "error: 2 no http(s) url"
expect_rc 2 "$HANDOFF" "$T/px/proxy.sock" http://x/f "$T/o" -d sha256:zz; expect_in "error: 2 digest"
expect_rc 2 "$HANDOFF" "$T/px/proxy.sock" x x --raw $'url: http://h/f\nheader: broken\noutput: /x\n\n'
expect_in "error: 2 a header line"

# SIGTERM: a clean exit that removes the socket
kill -TERM $PX
for _ in $(seq 100); do kill -0 $PX 2>/dev/null || break; sleep 0.05; done
kill -0 $PX 2>/dev/null && fail "df proxy still runs 5 s after SIGTERM"
await $PX 5 "df proxy after SIGTERM"; rc=$RC
[ "$rc" -eq 0 ] || fail "df proxy exited $rc after SIGTERM: $(tail -3 "$T/px.log")"
[ ! -e "$T/px/proxy.sock" ] || fail "the hand-off socket outlived the daemon"
pass "proxy cli"
