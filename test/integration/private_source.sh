#!/usr/bin/env bash
# A source that wants credentials (a real nginx: `Authorization: Bearer good`, or a signature
# parameter for a presigned-style URL): the supernode hands its file only to registrants the source
# accepts. Host A (good credentials) fetches through the swarm; host B without them is not admitted,
# asks the source itself, gets its 401 and exits 1; host C with good credentials is admitted and
# gets the file from the swarm. A piece server (supernode or seeder) refuses a piece GET without the
# task's piece key, which only an admitted registration receives. The same for a content-addressed
# task (--digest), where a registrant's own URL must be able to speak for the file; the answers to
# one set of credentials are remembered for [supernode] credential_cache seconds, then asked again;
# a public source costs one anonymous probe and no check per registrant.
. "$(dirname "$0")/../lib.sh"
cd "$T"
mkdir -p www/private www/pub www/signed
make_file www/private/blob 6
make_file www/pub/blob 2
make_file www/signed/blob 2
printf 'public, anyone may read this\n' > www/pub/readme
NP=$(free_port)
# checks.log: the one-byte requests that are not revalidations (those carry If-Modified-Since)
start_nginx "$T/www" "$NP" "
  set \$chk 0;
  if (\$http_range = bytes=0-0) { set \$chk 1; }
  if (\$http_if_modified_since) { set \$chk 0; }
  access_log $T/nginx-$NP/access.log combined;
  access_log $T/checks.log combined if=\$chk;
  location /private/ { if (\$http_authorization != 'Bearer good') { return 401; } }
  location /signed/ { if (\$arg_sig != s3cret) { return 403; } }
"
CACHE=3
SP=$(free_port); start_supernode sn "$SP" --credential-cache $CACHE --token tok --log-level debug
S=127.0.0.1:$SP
LOG=$T/nginx-$NP/access.log
URL=http://127.0.0.1:$NP/private/blob
want=$(sha www/private/blob)
size=$(stat -c %s www/private/blob)
# the checks and probes the source said yes to: 304 to the task's ETag, or one byte
checks() { grep "GET $1 HTTP/1.1\"" checks.log | grep -cE '" (304 0|206 1) '; }
logs() { echo "--- sn.log"; tail -n 40 sn.log; echo "--- nginx"; tail -n 20 "$LOG"; }
get() { "$DF" get --supernode "$S" --token tok --seed-idle 0 "$@"; }

# A: good credentials, through the swarm; it keeps seeding
"$DF" get --supernode "$S" --token tok --seed-idle 30 "$URL" -H 'Authorization: Bearer good' -O a.out --data "$T/a" > a.log 2>&1 \
  || { logs; fail "A with good credentials: $(cat a.log)"; }
track_seeder "$T/a"
[ "$(sha a.out)" = "$want" ] || fail "A's copy differs"
OUT=$("$DF" status --supernode "$S" --token tok --json) || fail "status: $OUT"
[[ $OUT == *'"access":"private"'* ]] || fail "the supernode did not learn that the source is private: $OUT"

# B: no credentials: not admitted, the source refuses it too: a clear error, exit 1, no file
expect_rc 1 get "$URL" -O b.out --data "$T/b"
expect_in "401"
[ ! -e b.out ] || fail "B got a file without credentials"
grep -q "not admitted: the source answered 401" sn.log || { logs; fail "the supernode did not refuse B for the source's 401"; }
# ... nor with wrong ones
expect_rc 1 get "$URL" -H 'Authorization: Bearer bad' -O b.out --data "$T/b2"
expect_in "401"

# C: good credentials: admitted, the file from the swarm (nothing more from the source than checks)
sent=$(nginx_bytes "$NP" /private/blob)
expect_rc 0 get "$URL" -H 'Authorization: Bearer good' -O c.out --data "$T/c"
[ "$(sha c.out)" = "$want" ] || fail "C's copy differs"
expect_in "source 0 B"
[ "$(nginx_bytes "$NP" /private/blob)" -le $(( sent + 1 )) ] || fail "C's file came from the source again"

# pieces: no piece key, no piece, from the supernode and from A's seeder; the key comes with an
# admitted registration only
ID=$(printf 'url:%s' "$URL" | sha256sum | cut -c1-48)
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'X-DF-Token: tok' "http://$S/v1/piece/$ID/0")
[ "$code" = 403 ] || fail "the supernode served a piece without the key: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'X-DF-Token: tok' -H "X-DF-Piece-Key: 0123456789abcdef0123456789abcdef" "http://$S/v1/piece/$ID/0")
[ "$code" = 403 ] || fail "the supernode served a piece with a wrong key: $code"
pport=$(grep -o 'port [0-9]*' "$T/a/seeder.log" | grep -o '[0-9]*$' | head -1)
[ -n "$pport" ] || fail "no seeder port in $T/a/seeder.log"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'X-DF-Token: tok' "http://127.0.0.1:$pport/v1/piece/$ID/0")
[ "$code" = 403 ] || fail "A's seeder served a piece without the key: $code"
reg() { curl -s -m 60 -o reg.out -w '%{http_code}' -H 'X-DF-Token: tok' --data-binary "$1" "http://$S/v1/register"; }
code=$(reg "task: $ID
url: $URL
port: 1
")
[ "$code" = 403 ] || fail "a registration without credentials answered $code: $(cat reg.out)"
! grep -q piece-key reg.out || fail "a refused registration carried the piece key"
code=$(reg "task: $ID
url: $URL
header: Authorization: Bearer good
port: 1
")
[ "$code" = 200 ] || fail "a registration with credentials answered $code: $(cat reg.out)"
KEY=$(sed -n 's/^piece-key: //p' reg.out)
[ ${#KEY} = 32 ] || fail "no piece key in the answer: $(cat reg.out)"
for at in "$S" "127.0.0.1:$pport"; do
  curl -sf -H 'X-DF-Token: tok' -H "X-DF-Piece-Key: $KEY" -o piece "http://$at/v1/piece/$ID/0" || fail "piece with the key from $at"
  cmp -s piece <(head -c "$(stat -c %s piece)" www/private/blob) || fail "piece 0 from $at differs"
done

# the credential cache: one check per credential set per $CACHE s
sleep $(( CACHE + 1 ))
n0=$(checks /private/blob)
for _ in 1 2; do
  code=$(reg "task: $ID
url: $URL
header: Authorization: Bearer good
port: 1
")
  [ "$code" = 200 ] || fail "registration answered $code: $(cat reg.out)"
done
[ "$(checks /private/blob)" = $(( n0 + 1 )) ] || fail "two registrations within ${CACHE}s: $(( $(checks /private/blob) - n0 )) checks, wanted 1"
sleep $(( CACHE + 1 ))
code=$(reg "task: $ID
url: $URL
header: Authorization: Bearer good
port: 1
")
[ "$code" = 200 ] || fail "registration after the cache expired answered $code: $(cat reg.out)"
[ "$(checks /private/blob)" = $(( n0 + 2 )) ] || fail "after ${CACHE}s the source was not asked again"
# the task is due for revalidation by now: a registrant the source refuses is refused at once and
# does not make the supernode revalidate on its behalf (its 401 looked like "the source changed")
sent=$(nginx_bytes "$NP" /private/blob)
code=$(reg "task: $ID
url: $URL
port: 1
")
[ "$code" = 403 ] || { logs; fail "a registration without credentials of a task due for revalidation answered $code: $(cat reg.out)"; }
sleep 1
[ "$(nginx_bytes "$NP" /private/blob)" -le $(( sent + 400 )) ] || fail "a refused registrant made the supernode fetch the file again"
! grep -q "the source changed" sn.log || fail "a refused registrant made the task look changed: $(grep changed sn.log)"

# content-addressed: the same private file by digest
DG=sha256:$want
expect_rc 0 get "$URL" --digest "$DG" -H 'Authorization: Bearer good' -O da.out --data "$T/da"
[ "$(sha da.out)" = "$want" ] || fail "digest A's copy differs"
expect_rc 1 get "$URL" --digest "$DG" -O db.out --data "$T/db"
expect_in "401"
[ ! -e db.out ] || fail "a digest task went to a host without credentials"
# a URL that cannot speak for the file (a public one on the same server) admits nobody
code=$(reg "task: $want
url: http://127.0.0.1:$NP/pub/readme
digest: $DG
port: 1
")
[ "$code" = 403 ] || fail "a digest registration naming a public URL answered $code: $(cat reg.out)"
expect_rc 0 get "$URL" --digest "$DG" -H 'Authorization: Bearer good' -O dc.out --data "$T/dc"
[ "$(sha dc.out)" = "$want" ] || fail "digest C's copy differs"
expect_in "source 0 B"

# a presigned-style URL whose signature --filter drops from the task id: a wrong signature (or
# none) is not admitted to the task a good one created
SU=http://127.0.0.1:$NP/signed/blob
expect_rc 0 get "$SU?sig=s3cret" --filter sig -O sa.out --data "$T/sa"
[ "$(sha sa.out)" = "$(sha www/signed/blob)" ] || fail "signed A's copy differs"
expect_rc 1 get "$SU?sig=forged" --filter sig -O sb.out --data "$T/sb"
expect_in "403"
expect_rc 1 get "$SU" --filter sig -O sb.out --data "$T/sb2"
expect_in "403"
[ ! -e sb.out ] || fail "a host without the signature got the file"
expect_rc 0 get "$SU?sig=s3cret" --filter sig -O sc.out --data "$T/sc"
expect_in "source 0 B"

# a public source: one anonymous probe, no check per registrant
PU=http://127.0.0.1:$NP/pub/blob
for h in pa pb pc; do expect_rc 0 get "$PU" -O $h.out --data "$T/$h"; done
[ "$(checks /pub/blob)" = 1 ] || fail "a public source was checked $(checks /pub/blob) times, wanted 1 (the probe)"
OUT=$("$DF" status --supernode "$S" --token tok --json)
[[ $OUT == *'"access":"public"'* ]] || fail "the public source is not marked public: $OUT"

# a restarted supernode hands out the same piece keys (its secret is kept in its store, 0600), so
# the keys its seeders hold stay good across the restart
[ "$(stat -c %a "$T/sn/piece-key.secret")" = 600 ] || fail "piece-key.secret is not 0600"
kill "$(cat "$T/sn.pid")"; wait "$(cat "$T/sn.pid")" 2>/dev/null || true
start_supernode sn "$SP" --credential-cache $CACHE --token tok --log-level debug
code=$(reg "task: $ID
url: $URL
header: Authorization: Bearer good
port: 1
")
[ "$code" = 200 ] || fail "a registration after the restart answered $code: $(cat reg.out)"
[ "$(sed -n 's/^piece-key: //p' reg.out)" = "$KEY" ] || fail "the piece key changed with the restart"
pass "private source"
