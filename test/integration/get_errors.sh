#!/usr/bin/env bash
# df get's failure modes: each a one-line error naming the cause, a documented exit code, and no file
# under the final name. Also the fallback to the source when no supernode answers.
. "$(dirname "$0")/../lib.sh"
cd "$T"
mkdir -p www
make_file www/f 3
NP=$(free_port); start_nginx "$T/www" "$NP"
DEAD=$(free_port)   # nothing listens here
SP=$(free_port); start_supernode sn "$SP"

# usage errors
expect_rc 2 "$DF" get;                    expect_in "URL"
expect_rc 2 "$DF" get a b;                expect_in "one URL"
expect_rc 2 "$DF" get ftp://x/y -O o;     expect_in "ftp"
expect_rc 2 "$DF" get "http://x/a b" -O o; expect_in "write a space as %20" # the cause, not only "not a URL"
expect_rc 2 "$DF" get "http://x:99999/a" -O o; expect_in "bad port"
expect_rc 2 "$DF" get http://x/y --md5 zz -O o; expect_in "md5"
expect_rc 2 "$DF" get http://x/y --digest sha1:00 -O o; expect_in "digest"
# a supernode address that can never work stops the get (it went to the source, as every host would)
expect_rc 2 "$DF" get "http://127.0.0.1:$NP/f" -O o0 --supernode sn1 --data d0; expect_in "HOST:PORT"
[ ! -e o0 ] || fail "o0 exists after a malformed --supernode"

# source 404, through the supernode and straight
expect_rc 1 "$DF" get "http://127.0.0.1:$NP/missing" -O o1 --supernode "127.0.0.1:$SP" --data d1 --seed-idle 0
expect_in "404 Not Found"; [ ! -e o1 ] || fail "o1 exists after a 404"
[ "$(printf '%s\n' "$OUT" | grep -c .)" -le 2 ] || fail "404 error is not short: $OUT"
# at the supernode a source's 404 is a normal answer: logged INFO, not ERROR
grep -q 'INFO .*/missing.*404 Not Found' sn.log || fail "the supernode did not log the 404 as INFO: $(cat sn.log)"
grep -q '^[^ ]* *ERROR' sn.log && fail "the supernode logged an ERROR for a 404: $(grep ERROR sn.log)"
expect_rc 1 "$DF" get "http://127.0.0.1:$NP/missing" -O o2 --data d2 --seed-idle 0
expect_in "404 Not Found"; [ ! -e o2 ] || fail "o2 exists after a 404"

# source refusing connections
expect_rc 1 "$DF" get "http://127.0.0.1:$DEAD/f" -O o3 --data d3 --seed-idle 0
expect_in "refused"; [ ! -e o3 ] || fail "o3 exists"

# digest mismatch: exit 3, no file
expect_rc 3 "$DF" get "http://127.0.0.1:$NP/f" -O o4 --md5 00000000000000000000000000000000 --supernode "127.0.0.1:$SP" --data d4 --seed-idle 0
expect_in "digest"; [ ! -e o4 ] || fail "o4 exists after a digest mismatch"
expect_rc 3 "$DF" get "http://127.0.0.1:$NP/f" -O o5 --digest "sha256:$(printf '0%.0s' $(seq 64))" --data d5 --seed-idle 0
[ ! -e o5 ] || fail "o5 exists after a digest mismatch"
# the right digest passes
expect_rc 0 "$DF" get "http://127.0.0.1:$NP/f" -O o6 --digest "sha256:$(sha www/f)" --supernode "127.0.0.1:$SP" --data d6 --seed-idle 0 -q
[ "$(sha o6)" = "$(sha www/f)" ] || fail "o6 differs"
# ... also as people paste it: the algorithm in capitals, the hex too, blanks around
expect_rc 0 "$DF" get "http://127.0.0.1:$NP/f" -O o6b --digest " SHA256:$(sha www/f | tr a-f A-F) " --data d6 --seed-idle 0 -q
[ "$(sha o6b)" = "$(sha www/f)" ] || fail "o6b differs"
expect_rc 2 "$DF" get "http://127.0.0.1:$NP/f" -O o6c --digest "SHA1:$(sha www/f)" --data d6 --seed-idle 0
expect_in "expected sha256:HEX"

# long URLs (presigned ones run to kilobytes): up to 8179 bytes through the supernode (it refused
# more than 4095, and the get failed), longer ones refused naming the limit (it said "'' is not a
# URL"), and an error keeps its cause after the URL (the message was cut inside the URL)
long=$(head -c 6000 /dev/zero | tr '\0' a)
expect_rc 0 "$DF" get "http://127.0.0.1:$NP/f?sig=$long" -O olong --supernode "127.0.0.1:$SP" --data dlong --seed-idle 0 -q
[ "$(sha olong)" = "$(sha www/f)" ] || fail "olong differs"
grep -q "registered" sn.log || fail "the long URL did not go through the supernode"
expect_rc 2 "$DF" get "http://127.0.0.1:$NP/f?sig=$long$long" -O olong2 --data dlong --seed-idle 0
expect_in "a URL of 12029 bytes: df takes at most 8179"
expect_rc 1 "$DF" get "http://127.0.0.1:$NP/missing?sig=$long" -O olong3 --supernode "127.0.0.1:$SP" --data dlong --seed-idle 0
expect_in "source answered 404 Not Found"

# no supernode: a warning, then straight from the source
expect_rc 0 "$DF" get "http://127.0.0.1:$NP/f" -O o7 --supernode "127.0.0.1:$DEAD" --data d7 --seed-idle 0
expect_in "supernode"; [ "$(sha o7)" = "$(sha www/f)" ] || fail "o7 differs"
# ... unless told not to
expect_rc 4 "$DF" get "http://127.0.0.1:$NP/f" -O o8 --supernode "127.0.0.1:$DEAD" --no-back-to-source --data d8 --seed-idle 0
expect_in "supernode"; [ ! -e o8 ] || fail "o8 exists"

# -O - writes to stdout
within 60 "$DF" get "http://127.0.0.1:$NP/f" -O - --data d9 --seed-idle 0 -q > o9 || fail "get -O - failed"
[ "$(sha o9)" = "$(sha www/f)" ] || fail "stdout copy differs"
# default output name: the URL's basename in the current directory
mkdir dflt && (cd dflt && "$DF" get "http://127.0.0.1:$NP/f" --data ../d10 --seed-idle 0 -q) || fail "get without -O"
[ "$(sha dflt/f)" = "$(sha www/f)" ] || fail "default-named copy differs"
# a user whose default store place cannot be made (a HOME it may not write): the cause and the way
# out (--data), before anything is fetched
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
  # a copy of df that user may run (the checkout may be in a folder only root may enter)
  mkdir -p "$T/bin" && cp "$DF" "$T/bin/df" && chmod 711 "$T" "$T/bin" && chmod 755 "$T/bin/df"
  OUT=$(cd / && setpriv --reuid=65534 --regid=65534 --clear-groups env -u XDG_CACHE_HOME HOME=/nonexistent \
    "$T/bin/df" get "http://127.0.0.1:$NP/f" -O /dev/null 2>&1); rc=$?
  [ "$rc" = 1 ] || fail "get with an unwritable default store: rc $rc: $OUT"
  expect_in "cannot create the store root: Permission denied (give --data DIR, a folder this user may write)"
fi
pass get_errors
