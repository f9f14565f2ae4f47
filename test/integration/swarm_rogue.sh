#!/usr/bin/env bash
# A peer that serves corrupted pieces (df_rogue, a test tool: df whose piece server flips bytes) is
# detected by the checksum the supernode issued, the piece is fetched elsewhere, the file is correct,
# the rogue is no longer used and status says why.
. "$(dirname "$0")/../lib.sh"
ROGUE=$top/$B/tools/df_rogue   # df whose piece server flips bytes (a test tool: make tools)
[ -x "$ROGUE" ] || fail "no $ROGUE (make tools)"
cd "$T"
mkdir -p www
make_file www/f 24
NP=$(free_port); start_nginx "$T/www" "$NP"
SP=$(free_port); start_supernode sn "$SP"
URL=http://127.0.0.1:$NP/f
# the rogue gets the file first (honestly: its downloads are checked), then seeds corrupted bytes
within 120 "$ROGUE" get "$URL" -O rogue.out --supernode "127.0.0.1:$SP" --data "$T/rogue" --seed-idle 60 -q || fail "rogue get"
track_seeder "$T/rogue"
for i in 1 2 3 4; do
  "$DF" get "$URL" -O "out$i" --supernode "127.0.0.1:$SP" --data "$T/p$i" --seed-idle 0 --limit-rate 20M -q > "g$i.log" 2>&1 &
  echo $! > "g$i.pid"; track "$(cat "g$i.pid")"
done
for i in 1 2 3 4; do await_ok "$(cat "g$i.pid")" 120 "get $i"; done
for i in 1 2 3 4; do [ "$(sha "out$i")" = "$(sha www/f)" ] || fail "out$i is corrupt"; done
OUT=$("$DF" status --supernode "127.0.0.1:$SP")
echo "$OUT"
expect_in "blacklisted"
expect_in "checksum"
# --watch redraws until interrupted
frames=$(timeout 1.5 "$DF" status --supernode "127.0.0.1:$SP" --watch 0.3 | grep -c "supernode df")
[ "$frames" -ge 2 ] || fail "status --watch drew $frames frames in 1.5 s"
pass swarm_rogue
