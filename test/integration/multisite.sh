#!/usr/bin/env bash
# `df supernode --parent` on loopback (issue 17): a child site's supernode fetches a miss through its
# parent site's swarm, not the source; the checks carry over to that link (cluster token and mutual
# TLS, sha256 piece checksums, a private source's credentials: the child never hands a file to a
# registrant the source refuses); a parent that is down, or one that refuses, sends the child to
# the source with the reason in its log and status; two sites that are each other's parents are a
# loop the parent refuses (508), also when both miss at once. The bytes over a capped link between
# sites are measured by multisite_netns.sh.
. "$(dirname "$0")/../lib.sh"
cd "$T"
mkdir -p www/private
for f in f1 f2 f3 f4 f5 f6; do make_file "www/$f" 2; done
make_file www/private/blob 2
NP=$(free_port)
start_nginx "$T/www" "$NP" "location /private/ { if (\$http_authorization != 'Bearer good') { return 401; } }"
U=http://127.0.0.1:$NP
get() { # NAME SUPERNODE_PORT URL [flags]: a df get (60 s at most) into NAME.out through that supernode
  local n=$1 p=$2 u=$3; shift 3
  timeout -k 5 60 "$DF" get "$u" -O "$n.out" --supernode "127.0.0.1:$p" --data "$T/$n" --seed-idle 0 "$@" > "$n.log" 2>&1
}
# get_rc WANT NAME ...: get, failing unless it exits WANT; its output in $OUT
get_rc() { local want=$1 rc; shift; get "$@"; rc=$?; OUT=$(cat "$1.log"); [ $rc = "$want" ] || fail "get $1 exited $rc, wanted $want: $OUT"; }
same() { [ "$(sha "$1.out")" = "$(sha "www/$2")" ] || fail "$1's copy of $2 differs"; }
json() { "$DF" status --supernode "127.0.0.1:$1" --json "${@:2}"; }
# num JSON KEY: the first number under KEY
num() { grep -o "\"$2\":[0-9]*" <<<"$1" | head -1 | cut -d: -f2; }

# --- a parent A and a child B: B's miss comes through A; the source sends one copy ---
PA=$(free_port); start_supernode snA "$PA"
PB=$(free_port); start_supernode snB "$PB" --parent "127.0.0.1:$PA"
get b1 "$PB" "$U/f1" || fail "b1: $(cat b1.log)"
same b1 f1
get b2 "$PB" "$U/f1" || fail "b2: $(cat b2.log)"
same b2 f1
[ "$(nginx_bytes "$NP" /f1)" = "$(stat -c %s www/f1)" ] || fail "the source sent $(nginx_bytes "$NP" /f1) bytes of f1, not one copy"
OUT=$(json "$PB") || fail "status of B: $OUT"
[ "$(num "$OUT" bytes_from_parent)" = "$(stat -c %s www/f1)" ] || fail "B does not count f1 from its parent: $OUT"
[ "$(num "$OUT" bytes_from_source)" = 0 ] || fail "B counts bytes from the source: $OUT"
OUT=$("$DF" status --supernode "127.0.0.1:$PB") || fail "status: $OUT"
expect_in "from the parent site 2.0 MiB (parent 127.0.0.1:$PA)"
expect_in "parent site through 127.0.0.1:$PA"
curl -s "http://127.0.0.1:$PB/metrics" | grep -q "^df_bytes_from_parent_total $(stat -c %s www/f1)$" ||
  fail "B's /metrics lacks df_bytes_from_parent_total: $(curl -s "http://127.0.0.1:$PB/metrics")"
grep -q "registered" snA.log && grep -q "left" snA.log || fail "B did not register at A and leave when done: $(cat snA.log)"
# a child site's supernode (a registration with `via`) holding every piece is never named as an
# uploader: what it has crossed the link between sites, and must not cross it back
ID=$(printf 'url:%s' "$U/f1" | sha256sum | cut -c1-48)
printf 'task: %s\nurl: %s\nport: 1\nhave: ff\nvia: 0123456789abcdef\n' "$ID" "$U/f1" > reg.child
printf 'task: %s\nurl: %s\nport: 2\n' "$ID" "$U/f1" > reg.peer
sn_post "http://127.0.0.1:$PA/v1/register" reg.child
[ "$code" = 200 ] || fail "a child's registration answered $code: $ans"
sn_post "http://127.0.0.1:$PA/v1/register" reg.peer
[ "$code" = 200 ] && grep -q '^assign: .* super$' <<<"$ans" || fail "a peer's registration answered $code: $ans"
! grep -q '127.0.0.1:1$' <<<"$ans" || fail "A hands out pieces from a child site: $ans"
OUT=$("$DF" status --supernode "127.0.0.1:$PA")
expect_in "child site"

# --- a private source: the parent checks the child's registrant's credentials, the child its own ---
get p1 "$PB" "$U/private/blob" -H 'Authorization: Bearer good' || fail "p1 with credentials: $(cat p1.log)"
same p1 private/blob
OUT=$(json "$PB")
[ "$(num "$OUT" bytes_from_source)" = 0 ] || fail "the private file did not come through the parent: $OUT"
get_rc 1 p2 "$PB" "$U/private/blob"
expect_in "401"
[ ! -e p2.out ] || fail "B handed the private file to a host without credentials"
grep -q "not admitted: the source answered 401" snB.log || fail "B did not refuse p2 for the source's 401"
# a task a registrant without credentials creates: the parent's source refuses it too, and nobody gets it
get_rc 1 p3 "$PB" "$U/private/blob?x=1"
[ ! -e p3.out ] || fail "a private file reached a host without credentials"
grep -q "blob?x=1): source answered 401" snA.log || fail "A fetched for B's registrant without credentials"
sn_alive snA "the private source"; sn_alive snB "the private source"

# --- the parent down: the child goes to the source, and says why ---
PD=$(free_port)
PC=$(free_port); start_supernode snC "$PC" --parent "127.0.0.1:$PD"
get c1 "$PC" "$U/f2" || fail "c1 with the parent down: $(cat c1.log)"
same c1 f2
OUT=$("$DF" status --supernode "127.0.0.1:$PC")
expect_in "the source instead of the parent site: no parent answered"
grep -q "not through the parent site: no parent answered" snC.log || fail "C's log does not say why: $(cat snC.log)"
OUT=$(json "$PC")
[ "$(num "$OUT" bytes_from_source)" = "$(stat -c %s www/f2)" ] || fail "C does not count f2 from the source: $OUT"
# two parents, the first in hash order down for some tasks: each fails over to the live one
PE=$(free_port); start_supernode snE "$PE" --parent "127.0.0.1:$PD,127.0.0.1:$PA"
for f in f3 f4; do get "e$f" "$PE" "$U/$f" || fail "e$f: $(cat "e$f.log")"; same "e$f" "$f"; done
OUT=$(json "$PE")
[ "$(num "$OUT" bytes_from_source)" = 0 ] || fail "E went to the source with one parent alive: $OUT"

# --- a loop: X and Y are each other's parents ---
PX=$(free_port); PY=$(free_port)
start_supernode snX "$PX" --parent "127.0.0.1:$PY"
start_supernode snY "$PY" --parent "127.0.0.1:$PX"
get x1 "$PX" "$U/f5" || fail "x1 in a loop: $(cat x1.log)"
same x1 f5
grep -q "a loop of sites" snX.log || fail "X did not refuse the loop: $(cat snX.log)"
grep -q "not through the parent site: .*loop" snY.log || fail "Y does not say why it went to the source: $(cat snY.log)"
# both miss at once: each has made the task and asked the other before it hears of the other's
# request. Played here with P frozen while Q (P's child) registers its task there, then a registration
# reaching Q that came through P's site: Q asks P again with that site below it, and P sees itself
# on the path and refuses, so Q goes to the source instead of waiting for P (which waited for Q:
# until the 30 s timeout when both miss at once)
PP=$(free_port); start_supernode snP "$PP"
PQ=$(free_port); start_supernode snQ "$PQ" --parent "127.0.0.1:$PP"
siteP=$("$DF" status --supernode "127.0.0.1:$PP" | sed -n 's/^site \([0-9a-f]*\).*/\1/p')
[ ${#siteP} = 16 ] || fail "no site id in P's status"
kill -STOP "$(cat snP.pid)"
get q1 "$PQ" "$U/f6" & q1=$!
sleep 0.5
printf 'task: %s\nurl: %s\nport: 1\nvia: %s\n' "$(printf 'url:%s' "$U/f6" | sha256sum | cut -c1-48)" "$U/f6" "$siteP" > reg.via
sn_post "http://127.0.0.1:$PQ/v1/register" reg.via & reg=$!
sleep 0.5
kill -CONT "$(cat snP.pid)"
await_ok $q1 20 "q1"; await_ok $reg 20 "a registration through P's site"
same q1 f6
grep -q "a loop of sites" snP.log || fail "P did not refuse Q's registration naming P below Q: $(cat snP.log)"
grep -q "not through the parent site: .*loop" snQ.log || fail "Q does not say why it went to the source: $(cat snQ.log)"
sn_alive snX "the loop"; sn_alive snY "the loop"

# --- token and mutual TLS on the link to the parent; sha256 piece checksums ---
sh "$top/test/tools/tls_certs.sh" "$T/pki" >/dev/null 2>&1 || fail "making the test PKI"
TLS=(--cert "$T/pki/rsa.crt" --key "$T/pki/rsa.key" --ca "$T/pki/ca.crt")
echo tok > tokf; chmod 600 tokf
PS=$(free_port); start_supernode snS "$PS" "${TLS[@]}" --token-file "$T/tokf" --piece-digest sha256
PT=$(free_port); start_supernode snT "$PT" "${TLS[@]}" --token-file "$T/tokf" --piece-digest sha256 --parent "127.0.0.1:$PS"
get t1 "$PT" "$U/f3" "${TLS[@]}" --token-file "$T/tokf" --piece-digest sha256 || fail "t1 over TLS: $(cat t1.log)"
same t1 f3
OUT=$(json "$PT" "${TLS[@]}" --token-file "$T/tokf")
[ "$(num "$OUT" bytes_from_parent)" = "$(stat -c %s www/f3)" ] || fail "T's file did not come through S over TLS: $OUT"
# a child with another token is refused by the parent (401) and says so
echo other > tok2; chmod 600 tok2
PW=$(free_port); start_supernode snW "$PW" "${TLS[@]}" --token-file "$T/tok2" --parent "127.0.0.1:$PS"
get w1 "$PW" "$U/f4" "${TLS[@]}" --token-file "$T/tok2" || fail "w1: $(cat w1.log)"
same w1 f4
grep -q "not through the parent site: .*401" snW.log || fail "W does not say the parent refused its token: $(cat snW.log)"
# a child that requires sha256 sums refuses a parent that hands out xxh3
PV=$(free_port); start_supernode snV "$PV" --piece-digest sha256 --parent "127.0.0.1:$PA"
get v1 "$PV" "$U/f5" --piece-digest sha256 || fail "v1: $(cat v1.log)"
same v1 f5
grep -q "not through the parent site: .*xxh3 piece checksums" snV.log || fail "V took xxh3 sums from its parent: $(cat snV.log)"
# --- a straggler in the parent site near the end: the child waits for the piece's deadline (5 s +
# 256 KiB at 64 KiB/s) instead of asking a second uploader, so the piece crosses the link between
# sites once (a peer's rule for late pieces near the end asked again after 2 s) ---
ROGUE=$top/$B/tools/roguepeer
[ -x "$ROGUE" ] || fail "$ROGUE missing (make tools)"
make_file www/f7 2
get a7 "$PA" "$U/f7" || fail "a7: $(cat a7.log)"
"$ROGUE" --supernode "127.0.0.1:$PA" --url "$U/f7" --mode hang1 --file "$T/www/f7" > rogue.log 2>&1 &
track $!
for _ in $(seq 100); do grep -q "claiming all" rogue.log && break; sleep 0.1; done
grep -q "claiming all" rogue.log || fail "the straggler never registered: $(cat rogue.log)"
PL=$(free_port); start_supernode snL "$PL" --parent "127.0.0.1:$PA" --log-level info
get l1 "$PL" "$U/f7" || fail "l1: $(cat l1.log)"
same l1 f7
grep -q "hang1" rogue.log || fail "the straggler was never asked (the test proves nothing): $(cat rogue.log)"
! grep -q "late near the end" snL.log || fail "L asked a second uploader in the parent site for a late piece: $(cat snL.log)"
grep -q "too slow" snL.log || fail "L does not say why it gave the straggler's piece up: $(cat snL.log)"
pass "multisite"
