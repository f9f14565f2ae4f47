#!/usr/bin/env bash
# df push in a cluster that sets a token, and in one with mutual TLS (issue 13 item 5): the
# supernode fetches the pusher's file server (/v1/file/...) as it dials any df process, with the
# cluster token and the cluster's TLS identity, so the push works.
. "$(dirname "$0")/../lib.sh"
cd "$T"
sh "$top/test/tools/tls_certs.sh" "$T/pki" >/dev/null 2>&1 || fail "making the test PKI"
make_file f 5
want=$(sha f)

# run_case NAME FLAGS...: a supernode and two hosts with FLAGS, a push to both, both copies checked
run_case() {
  local name=$1 i hp; shift
  local sp; sp=$(free_port)
  start_supernode "sn-$name" "$sp" "$@"
  : > "hosts-$name.txt"
  for i in 1 2; do
    hp=$(free_port)
    "$DF" proxy --listen "127.0.0.1:$(free_port)" --push-listen "127.0.0.1:$hp" --supernode "127.0.0.1:$sp" \
      --data "$T/$name-h$i" --push-dir "$T/$name-h$i/push" "$@" > "$name-h$i.log" 2>&1 &
    track $!
    echo "127.0.0.1:$hp" >> "hosts-$name.txt"
    wait_port "$hp"
  done
  OUT=$(timeout 120 "$DF" push f --group "hosts-$name.txt" --dest x/f.bin --supernode "127.0.0.1:$sp" "$@" 2>&1) \
    || fail "$name: push failed: $OUT
supernode log: $(cat "$T/sn-$name.log")"
  expect_in "2/2 ok"
  for i in 1 2; do
    [ "$(sha "$T/$name-h$i/push/x/f.bin")" = "$want" ] || fail "$name: host $i's copy differs or is missing"
  done
}

echo s3cret > token
chmod 600 token
run_case token --token-file "$T/token"
TLS=(--cert "$T/pki/rsa.crt" --key "$T/pki/rsa.key" --ca "$T/pki/ca.crt")
run_case mtls "${TLS[@]}"
run_case both "${TLS[@]}" --token-file "$T/token"
pass "push_secure: push works with a token, with mutual TLS and with both"
