#!/usr/bin/env bash
# The release binary carries no test-only behaviour (issue 13 item 15): DF_TEST_CORRUPT_PIECES=1 once
# made any df serve corrupted pieces; now only the test tool df_rogue does, and df ignores the
# variable: a seeder started with it serves the true bytes.
. "$(dirname "$0")/../lib.sh"
cd "$T"
mkdir -p www
make_file www/f 2
want=$(sha www/f)
! grep -q DF_TEST_CORRUPT_PIECES "$DF" || fail "$DF still knows DF_TEST_CORRUPT_PIECES"
NP=$(free_port); start_nginx "$T/www" "$NP"
SP=$(free_port); start_supernode sn "$SP" --piece-size 262144
DF_TEST_CORRUPT_PIECES=1 "$DF" get "http://127.0.0.1:$NP/f" -O a --digest "sha256:$want" --supernode "127.0.0.1:$SP" \
  --data "$T/d" --seed-idle 60 -q || fail "get"
track_seeder "$T/d"
# the seeder's piece server: the address it registered with
pport=$(grep -o 'peer 127.0.0.1:[0-9]* registered' "$T/sn.log" | head -1 | grep -o ':[0-9]*' | tr -d :)
[ -n "$pport" ] || fail "no peer address in the supernode's log: $(cat "$T/sn.log")"
grep -q "corrupt" "$T/d/seeder.log" && fail "the seeder says it serves corrupted pieces: $(cat "$T/d/seeder.log")"
# piece servers serve a task only with its piece key: a registration's answer carries it
OUT=$(curl -sS --data-binary $'task: '"$want"$'\nurl: http://127.0.0.1:'"$NP"$'/f\ndigest: sha256:'"$want"$'\nport: 9\n' \
  "http://127.0.0.1:$SP/v1/register")
key=$(sed -n 's/^piece-key: //p' <<<"$OUT")
[ -n "$key" ] || fail "no piece key in the registration answer: $OUT"
for n in 0 3 7; do
  code=$(curl -sS -o "piece$n" -w '%{http_code}' -H "X-DF-Piece-Key: $key" "http://127.0.0.1:$pport/v1/piece/$want/$n") || fail "piece $n"
  [ "$code" = 200 ] || fail "piece $n: the seeder answered $code: $(head -c 200 "piece$n")"
  cmp -s "piece$n" <(tail -c +$(( n * 262144 + 1 )) www/f | head -c 262144) || fail "piece $n served by a seeder with DF_TEST_CORRUPT_PIECES=1 differs from the file"
done
pass "release_hooks: df ignores DF_TEST_CORRUPT_PIECES"
