#!/usr/bin/env bash
# https sources: df get and the supernode verify nginx's certificate against --cacert (or the system
# bundle), refuse an unknown CA or a certificate for another host with a clear cause, and --insecure
# skips verification with a warning.
. "$(dirname "$0")/../lib.sh"
cd "$T"
sh "$top/test/tools/tls_certs.sh" "$T/pki" >/dev/null 2>&1 || fail "making the test PKI"
mkdir www && head -c 6000000 /dev/urandom > www/big
p_ok=$(free_port); p_wrong=$(free_port)
start_nginx_tls "$T/www" "$p_ok" "$T/pki/rsa.crt" "$T/pki/rsa.key"
start_nginx_tls "$T/www" "$p_wrong" "$T/pki/wrong.crt" "$T/pki/wrong.key"
want=$(sha www/big)

expect_rc 0 "$DF" get "https://127.0.0.1:$p_ok/big" -O a --cacert pki/ca.crt --data d1 --seed-idle 0 -q
[ "$(sha a)" = "$want" ] || fail "https copy differs"
expect_rc 1 "$DF" get "https://127.0.0.1:$p_ok/big" -O b --data d2 --seed-idle 0
expect_in "unknown CA"; [ ! -e b ] || fail "b exists after a failed verification"
expect_rc 1 "$DF" get "https://127.0.0.1:$p_wrong/big" -O c --cacert pki/ca.crt --data d3 --seed-idle 0
expect_in "mismatch"; [ ! -e c ] || fail "c exists"
expect_rc 0 "$DF" get "https://127.0.0.1:$p_wrong/big" -O e --insecure --data d4 --seed-idle 0
expect_in "not verified"; [ "$(sha e)" = "$want" ] || fail "insecure copy differs"

# through a supernode that verifies the source with the test CA
SP=$(free_port); start_supernode sn "$SP" --cacert pki/ca.crt
for i in 1 2 3; do
  "$DF" get "https://127.0.0.1:$p_ok/big" -O "s$i" --supernode "127.0.0.1:$SP" --data "$T/s$i.d" --seed-idle 0 -q &
  echo $! > "s$i.pid"; track "$(cat "s$i.pid")"
done
for i in 1 2 3; do await_ok "$(cat "s$i.pid")" 120 "swarm https get $i"; [ "$(sha "s$i")" = "$want" ] || fail "s$i differs"; done
pass get_https
