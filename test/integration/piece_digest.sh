#!/usr/bin/env bash
# [security] piece_digest = sha256: the supernode's assignments carry "sha256:HEX" sums; a swarm of
# sha256 peers gets correct copies; a rogue seeder's forged pieces are caught by the SHA-256 and it
# is blacklisted; a sha256 peer refuses a supernode that only gives xxh3 sums, naming the cause; an
# xxh3 peer takes sha256 sums; after a supernode restart the sums are recomputed from its store; a
# bad value exits 2 naming the key.
. "$(dirname "$0")/../lib.sh"
ROGUE=$top/$B/tools/df_rogue   # df whose piece server flips bytes (a test tool: make tools)
[ -x "$ROGUE" ] || fail "no $ROGUE (make tools)"
cd "$T"
command -v curl >/dev/null || skip "curl not installed"

# a bad value names the key, from a flag and from a file
expect_rc 2 "$DF" supernode --piece-digest md5 --listen 127.0.0.1:1
expect_in "piece-digest"; expect_in "not one of xxh3, sha256"
printf '[security]\npiece_digest = SHA-256\n' > bad.conf
expect_rc 2 "$DF" config --config bad.conf
expect_in "bad.conf:2: [security] piece_digest"

mkdir -p www
make_file www/f 16
want=$(sha www/f)
NP=$(free_port); start_nginx "$T/www" "$NP"
URL=http://127.0.0.1:$NP/f
SP=$(free_port); start_supernode sn "$SP" --piece-digest sha256

# the wire: a registration's assignments name SHA-256 sums
OUT=$(curl -sS --data-binary $'task: '"$want"$'\nurl: '"$URL"$'\ndigest: sha256:'"$want"$'\nport: 9\n' "http://127.0.0.1:$SP/v1/register")
handle=$(sed -n 's/^peer: //p' <<<"$OUT")
secret=$(sed -n 's/^secret: //p' <<<"$OUT")
[ -n "$handle" ] && [ -n "$secret" ] || fail "register: $OUT"
# the answer may come before the first piece: ask for work (held until there is some)
grep -q '^assign:' <<<"$OUT" || OUT=$(curl -sS --data-binary '' "http://127.0.0.1:$SP/v1/work?task=$want&peer=$handle&secret=$secret")
grep -Eq '^assign: [0-9]+ [0-9]+ sha256:[0-9a-f]{64} [0-9]+ super$' <<<"$OUT" || fail "no sha256 assignment in: $OUT"
grep -Eq '^assign: [0-9]+ [0-9]+ [0-9a-f]{32} ' <<<"$OUT" && fail "an xxh3 sum in a sha256 supernode's answer: $OUT"
# that registration holds no pieces: let it go so the scheduler does not wait on it
curl -sS -X POST "http://127.0.0.1:$SP/v1/leave?task=$want&peer=$handle&secret=$secret" > /dev/null

# an xxh3 peer (the default) takes sha256 sums; it then seeds forged bytes (df_rogue, a test tool)
"$ROGUE" get "$URL" -O rogue.out --supernode "127.0.0.1:$SP" --data "$T/rogue" --seed-idle 60 -q \
  || fail "an xxh3 peer against a sha256 supernode"
track_seeder "$T/rogue"
[ "$(sha rogue.out)" = "$want" ] || fail "the rogue's own copy differs"

# sha256 peers: all copies right, the rogue's pieces refused by their SHA-256
for i in 1 2 3; do
  "$DF" get "$URL" -O "out$i" --supernode "127.0.0.1:$SP" --data "$T/p$i" --seed-idle 0 --limit-rate 12M \
    --piece-digest sha256 > "g$i.log" 2>&1 &
  echo $! > "g$i.pid"; track "$(cat "g$i.pid")"
done
for i in 1 2 3; do await_ok "$(cat "g$i.pid")" 120 "sha256 get $i"; done
for i in 1 2 3; do [ "$(sha "out$i")" = "$want" ] || fail "out$i is corrupt"; done
cat g1.log g2.log g3.log | grep -q "does not match the supernode's sha256" || fail "no peer caught a forged piece: $(cat g*.log)"
OUT=$("$DF" status --supernode "127.0.0.1:$SP")
echo "$OUT"
expect_in "sha256 piece checksums"
expect_in "blacklisted"
expect_in "checksum"

# a sha256 peer refuses an xxh3 supernode (no silent downgrade), and says why
XP=$(free_port); start_supernode snx "$XP"
expect_rc 1 "$DF" get "$URL" -O refused.out --supernode "127.0.0.1:$XP" --data "$T/p4" --seed-idle 0 --piece-digest sha256
expect_in "hands out xxh3 piece checksums"
expect_in "piece_digest = sha256 here"
[ ! -e refused.out ] || fail "a refused download wrote its output"

# a restart: the SHA-256 sums are not stored; they are recomputed from the store's copy
kill "$(cat sn.pid)"; await "$(cat sn.pid)" 20 "the supernode after SIGTERM"
start_supernode sn "$SP" --piece-digest sha256
within 120 "$DF" get "$URL" -O out5 --supernode "127.0.0.1:$SP" --data "$T/p5" --seed-idle 0 --piece-digest sha256 -q \
  || fail "sha256 get after a supernode restart"
[ "$(sha out5)" = "$want" ] || fail "out5 is corrupt"
OUT=$(curl -sS "http://127.0.0.1:$SP/v1/status?format=json")
grep -Eq '"pieces_rehashed":[1-9]' <<<"$OUT" || fail "no sums recomputed after the restart: $OUT"
pass "piece_digest"
