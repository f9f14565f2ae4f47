#!/usr/bin/env bash
# `df supernode --parent` on loopback (issue 17), the checks of a file that crosses sites: a
# content-addressed task (--digest) through the parent, public (the source sends one copy, the
# child counts it from the parent) and private (a registrant without credentials gets nothing
# through a child, also when the parent holds the file); a wrong expected digest (exit 3 naming the
# digest, no output file, the child's task failed and started over 2 s later, and no second copy
# from the source); the source changing while a file is on its way through the parent, which then
# goes (the output is the new version whole, or exit 3 for the old digest; never a mix); and
# pieces handed to the site's hosts as they land (a host holds pieces while its site's supernode
# still lacks some). multisite.sh has the rest.
. "$(dirname "$0")/../lib.sh"
command -v jq >/dev/null || skip "jq not installed"
cd "$T"
mkdir -p www/private www/slow
make_file www/f1 2
make_file www/private/blob 2
make_file www/other 1
NP=$(free_port)
# /slow/: 1 MiB/s per connection, so a file takes seconds through the sites
start_nginx "$T/www" "$NP" "location /private/ { if (\$http_authorization != 'Bearer good') { return 401; } }
  location /slow/ { limit_rate 1m; }"
U=http://127.0.0.1:$NP
get() { # NAME SUPERNODE_PORT URL [flags]: a df get (60 s at most) into NAME.out through that supernode
  local n=$1 p=$2 u=$3; shift 3
  timeout -k 5 60 "$DF" get "$u" -O "$n.out" --supernode "127.0.0.1:$p" --data "$T/$n" --seed-idle 0 "$@" > "$n.log" 2>&1
}
# get_rc WANT NAME ...: get, failing unless it exits WANT; its output in $OUT
get_rc() { local want=$1 rc; shift; get "$@"; rc=$?; OUT=$(cat "$1.log"); [ $rc = "$want" ] || fail "get $1 exited $rc, wanted $want: $OUT"; }
same() { [ "$(sha "$1.out")" = "$(sha "www/$2")" ] || fail "$1's copy of $2 differs"; }
json() { "$DF" status --supernode "127.0.0.1:$1" --json; }
# task PORT URL KEY: KEY of the supernode's task for URL (the first one)
task() { json "$1" | jq -r --arg u "$2" --arg k "$3" '[.tasks[] | select(.url == $u)][0][$k]'; }
size() { stat -c %s "www/$1"; }

PA=$(free_port); start_supernode snA "$PA"
PB=$(free_port); start_supernode snB "$PB" --parent "127.0.0.1:$PA"

# --- a content-addressed task through the parent: the source sends one copy ---
D1=sha256:$(sha www/f1)
get_rc 0 d1 "$PB" "$U/f1" --digest "$D1"
same d1 f1
get_rc 0 d2 "$PB" "$U/f1" --digest "$D1"
same d2 f1
[ "$(nginx_bytes "$NP" /f1)" = "$(size f1)" ] || fail "the source sent $(nginx_bytes "$NP" /f1) bytes of f1, not one copy"
[ "$(task "$PB" "$U/f1" bytes_from_parent)" = "$(size f1)" ] || fail "B does not count f1 from its parent: $(json "$PB")"
[ "$(task "$PB" "$U/f1" bytes_from_source)" = 0 ] || fail "B fetched f1 from the source: $(json "$PB")"
[ "$(task "$PB" "$U/f1" state)" = complete ] || fail "B's task of f1 is not complete: $(json "$PB")"

# --- a private content-addressed task: credentials checked on both sides of the link ---
DP=sha256:$(sha www/private/blob)
get_rc 0 p1 "$PB" "$U/private/blob" --digest "$DP" -H 'Authorization: Bearer good'
same p1 private/blob
[ "$(task "$PB" "$U/private/blob" bytes_from_source)" = 0 ] || fail "the private file did not come through the parent: $(json "$PB")"
[ "$(task "$PB" "$U/private/blob" bytes_from_parent)" = "$(size private/blob)" ] || fail "B does not count the private file from its parent"
# B holds it: a registrant without credentials is not admitted, and the source refuses it too
get_rc 1 p2 "$PB" "$U/private/blob" --digest "$DP"
expect_in "401"
[ ! -e p2.out ] || fail "B handed the private file to a host without credentials"
grep -q "not admitted: the source answered 401" snB.log || fail "B did not refuse p2 for the source's 401"
# a child that lacks it, its task created by a registrant without credentials: the parent holds the
# file but does not admit the child's registration, the source refuses the child, nobody gets it
PC=$(free_port); start_supernode snC "$PC" --parent "127.0.0.1:$PA"
# bytes of the file the source sent (its 2xx answers; a 401 has a body too)
sent() { awk -v p="$1" '$7 ~ p && $9 ~ /^2/ {s += $10} END {print s+0}' "$T/nginx-$NP/access.log"; }
sent=$(sent /private/blob)
get_rc 1 p3 "$PC" "$U/private/blob" --digest "$DP"
expect_in "401"
[ ! -e p3.out ] || fail "a private file reached a host without credentials through C"
grep -q "not admitted: the source answered 401" snA.log || fail "A admitted C's registrant without credentials: $(cat snA.log)"
[ "$(task "$PC" "$U/private/blob" bytes_from_parent)" = 0 ] || fail "C got private pieces from A without credentials: $(json "$PC")"
[ "$(sent /private/blob)" = "$sent" ] || fail "the source sent the private file for a registrant without credentials"
sn_alive snA "the private source"; sn_alive snC "the private source"

# --- a wrong expected digest through the parent: exit 3 naming the digest, no output file ---
DW=sha256:$(sha www/other)
get_rc 3 w1 "$PB" "$U/f1" --digest "$DW"
expect_in "digest mismatch"
expect_in "${DW#sha256:}"
[ ! -e w1.out ] || fail "w1.out exists after a digest mismatch"
ID=$(json "$PB" | jq -r --arg d "$DW" '[.tasks[] | select(.state == "failed" and (.error | contains($d)))][0].id')
[ "$ID" != null ] || fail "B has no failed task naming $DW: $(json "$PB")"
[ "$(json "$PB" | jq -r --arg i "$ID" '.tasks[] | select(.id == $i) | .pieces_at_supernode')" = 0 ] ||
  fail "B kept the pieces of a file that failed its digest: $(json "$PB")"
n=$(grep -c "digest mismatch" snB.log)
# within 2 s a registration gets the failure; after, the task starts over (and fails again)
get_rc 3 w2 "$PB" "$U/f1" --digest "$DW"
expect_in "${DW#sha256:}"
[ "$(grep -c "digest mismatch" snB.log)" = "$n" ] || fail "B fetched the failed task again within 2 s"
sleep 2.2
before=$(sent /f1)
get_rc 3 w3 "$PB" "$U/f1" --digest "$DW"
expect_in "${DW#sha256:}"
# the parent site's verdict is the child's: the source's file is not that digest, and fetching it
# again across the link (B from the source) would only find the same
[ $(( $(sent /f1) - before )) = "$(size f1)" ] || fail "the source sent $(( $(sent /f1) - before )) bytes of f1 for one failing attempt, not one copy (A's)"
! grep -q "not through the parent site: digest mismatch" snB.log || fail "B went to the source after its parent's digest mismatch: $(cat snB.log)"
[ "$(grep -c "digest mismatch" snB.log)" -gt "$n" ] || fail "B did not start the failed task over after 2 s: $(cat snB.log)"
[ ! -e w2.out ] && [ ! -e w3.out ] || fail "an output file after a digest mismatch"
sn_alive snA "a digest mismatch"; sn_alive snB "a digest mismatch"

# --- pieces handed to the site's hosts as they land: one atomic status of B shows a host of B
# holding pieces while B still lacks some (the source sends at 1 MiB/s: seconds) ---
make_file www/slow/h 4
get h1 "$PB" "$U/slow/h" & h1=$!
# early: the first status in which B's task of slow/h is incomplete and a peer of B holds pieces
early() {
  json "$PB" | jq -e --arg u "$U/slow/h" '[.tasks[] | select(.url == $u)][0] |
    select(.pieces > 0 and .pieces_at_supernode < .pieces and ([.peers[].pieces] | max // 0) > 0)' > early.json
}
seen=0
while kill -0 $h1 2>/dev/null; do
  early && { seen=1; break; }
  sleep 0.1
done
await_ok $h1 60 "h1"
same h1 slow/h
[ $seen = 1 ] || fail "no status of B showed its host with pieces before B had the whole file: $(json "$PB")"
[ "$(task "$PB" "$U/slow/h" bytes_from_source)" = 0 ] || fail "B fetched slow/h from the source: $(json "$PB")"
[ "$(sent /slow/h)" = "$(size slow/h)" ] || fail "the source sent $(sent /slow/h) bytes of slow/h, not one copy"

# --- the source changes while a file is on its way through the parent, and the parent goes: the
# child takes the rest from the source, which has another version now. Never a mix: a URL-keyed
# task starts over and delivers the new version whole; a content-addressed one of the old version
# fails with exit 3 naming its digest, and no output file ---
for k in byurl bydigest; do
  PG=$(free_port); start_supernode "snG$k" "$PG"
  PH=$(free_port); start_supernode "snH$k" "$PH" --parent "127.0.0.1:$PG" --parent-retry 0
  make_file "www/slow/$k" 4
  cp -p "www/slow/$k" "$k.old"
  flags=(); [ $k = bydigest ] && flags=(--digest "sha256:$(sha "$k.old")")
  get "c$k" "$PH" "$U/slow/$k" "${flags[@]}" & pid=$!
  has() { [ "$(task "$PH" "$U/slow/$k" pieces_at_supernode)" -gt 2 ] 2>/dev/null; }
  wait_for 30 "H has part of slow/$k" has
  make_file "$k.new" 4
  touch -d "@$(( $(stat -c %Y "$k.old") + 10 ))" "$k.new"   # another ETag (nginx: mtime and size)
  cp -p "$k.new" "www/slow/$k.tmp" && mv "www/slow/$k.tmp" "www/slow/$k"
  kill "$(cat "snG$k.pid")"
  await $pid 60 "c$k"
  grep -q "not through the parent site" "snH$k.log" || fail "H did not go to the source when G went: $(cat "snH$k.log")"
  grep -q "the source changed; starting over" "snH$k.log" || fail "H did not see the new version: $(cat "snH$k.log")"
  if [ $k = byurl ]; then
    [ "$RC" = 0 ] || fail "c$k exited $RC: $(cat "c$k.log")"
    [ "$(sha "c$k.out")" = "$(sha "$k.new")" ] || fail "c$k's output is not the new version whole"
    # its registration named pieces of the old version: H must not count its pieces of the new
    # one as the host's (they were never handed out: a 30 s stall, then the source)
    ! grep -q "no piece arrived" "c$k.log" || fail "c$k waited for pieces H thought it had: $(cat "c$k.log")"
  else
    [ "$RC" = 3 ] || fail "c$k exited $RC, wanted 3: $(cat "c$k.log")"
    grep -q "digest mismatch.*$(sha "$k.old")" "c$k.log" || fail "c$k's error does not name the digest: $(cat "c$k.log")"
    [ ! -e "c$k.out" ] || fail "c$k left an output file after a digest mismatch"
  fi
  sn_alive "snH$k" "a source that changed"
done

pass "multisite_digest"
