#!/usr/bin/env bash
# Limits that are settings (docs/LIMITS.md): at the limit they work, past it they are an error that
# names the limit, before anything runs; never a silent cut.
. "$(dirname "$0")/../lib.sh"
cd "$T"
# [get] supernode: 8 entries are fine, 9 are refused (they were silently cut to 8)
eight=$(seq -s, 1 8 | sed 's/\([0-9]\)/127.0.0.1:1\1/g')
printf '[get]\nsupernode = %s\n' "$eight" > eight.conf
expect_rc 0 "$DF" config --config eight.conf; expect_in "supernode = $eight"
expect_rc 2 "$DF" get http://127.0.0.1:1/f --supernode "$eight,127.0.0.1:19"; expect_in "at most 8"
printf '[get]\nsupernode = %s,127.0.0.1:19\n' "$eight" > nine.conf
expect_rc 2 "$DF" config --config nine.conf; expect_in "nine.conf:2"; expect_in "at most 8"
# [supernode] source_streams: 16 is the most
expect_rc 2 "$DF" supernode --listen 127.0.0.1:0 --data "$T/sn" --source-streams 17; expect_in "1 to 16"
# --header: 32 are fine (the get then fails on the closed port, not on the headers), 33 are refused
h32=(); for i in $(seq 32); do h32+=(--header "X-$i: v"); done
expect_rc 1 "$DF" get http://127.0.0.1:1/f -O out "${h32[@]}" --data "$T/p"
expect_rc 2 "$DF" get http://127.0.0.1:1/f -O out "${h32[@]}" --header "X-33: v" --data "$T/p"; expect_in "too many --header"
# [store] quota: a share past 100% or a bad size names the value
expect_rc 2 "$DF" gc --data "$T/p" --quota 101%; expect_in "101%"
expect_rc 2 "$DF" gc --data "$T/p" --quota 5Q; expect_in "5Q"
# df gc on a folder that holds no store says so, and makes nothing there (it made a new store)
expect_rc 2 "$DF" gc --data "$T/typo/store"; expect_in "no df store there"
[ ! -e "$T/typo" ] || fail "df gc made $T/typo"
pass "supernode lists, source streams, headers and quotas: at the limit they work, past it a named error"
