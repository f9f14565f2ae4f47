#!/usr/bin/env bash
# Resuming a download of more than 32,768 pieces through a supernode: the registration names the
# pieces held in several "have" lines (a line holds at most 8,000 hex digits). Before, the bitmap
# went in one line, the supernode refused the registration ("register: line 5: line longer than
# 8192 bytes") and every resume of the file failed: a 128 GiB file at the default 4 MiB pieces, or
# a smaller one at a smaller piece size (here 768 MiB at 16 KiB: 49,152 pieces).
. "$(dirname "$0")/../lib.sh"
cd "$T"
mkdir -p www
truncate -s 768M www/big # sparse: nginx sends zeros, cheap
printf 'end' >> www/big
NP=$(free_port); start_nginx "$T/www" "$NP"
SP=$(free_port); start_supernode sn "$SP" --piece-size 16k
url=http://127.0.0.1:$NP/big

# the first get stops part-way (Ctrl-C), holding some pieces
timeout -s INT 3 "$DF" get "$url" -O out --supernode "127.0.0.1:$SP" --data "$T/c" --seed-idle 0 --limit-rate 40M \
  > first.log 2>&1
grep -q "interrupted" first.log || fail "the first get was not interrupted part-way: $(tail -2 first.log)"
# the resume registers with what it holds, and finishes from the swarm
DEADLINE=120 expect_rc 0 "$DF" get "$url" -O out --supernode "127.0.0.1:$SP" --data "$T/c" --seed-idle 0
expect_in "resumed:"
expect_in "source 0 B"
cmp -s out www/big || fail "the resumed copy differs"
grep -q "registered again\|registered (handle" sn.log || fail "no registration in the supernode's log"
pass "get_resume_many: a resume naming 49,152 pieces registers and finishes"
