#!/usr/bin/env bash
# df get's hand-off to the host's df proxy over its unix socket (what the handoff tool sends is what
# df get sends): the daemon downloads through the swarm, streams length and progress lines, exports
# the file and reports done with bytes by origin; the same file again comes from the store; a bad
# digest is exit code 3; a client of another user is refused; a client that leaves early does not
# stop the download.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../proxy/lib.sh"
HANDOFF=$top/$B/tools/handoff
[ -x "$HANDOFF" ] || fail "no $HANDOFF (make tools)"

NG=$(free_port)
mkdir -p "$T/www"
make_file "$T/www/f.bin" 12
make_file "$T/www/g.bin" 2
start_nginx "$T/www" "$NG" 'limit_rate 20m;'
SP=$(free_port); start_supernode sn "$SP" --piece-size 1M
start_proxy px --supernode "127.0.0.1:$SP"
SOCK=$T/px/proxy.sock
URL=http://127.0.0.1:$NG

mkdir -p "$T/out"
within 60 "$HANDOFF" "$SOCK" "$URL/f.bin" "$T/out/f.bin" -H 'X-Test: 1' > "$T/h1" 2>&1 || fail "hand-off: $(cat "$T/h1")"
cmp -s "$T/out/f.bin" "$T/www/f.bin" || fail "the exported file differs"
grep -q '^task: ' "$T/h1" || fail "no task line: $(cat "$T/h1")"
grep -q "^length: $((12 * 1048576))$" "$T/h1" || fail "no length line: $(cat "$T/h1")"
grep -q '^progress: [0-9]* ' "$T/h1" || fail "no progress line: $(cat "$T/h1")"
grep -q "^done: $((12 * 1048576)) " "$T/h1" || fail "no done line: $(cat "$T/h1")"
# again: from the store, the source untouched
before=$(grep -c '"GET /f.bin' "$T/nginx-$NG/access.log")
within 60 "$HANDOFF" "$SOCK" "$URL/f.bin" "$T/out/f2.bin" > "$T/h2" 2>&1 || fail "second hand-off: $(cat "$T/h2")"
cmp -s "$T/out/f2.bin" "$T/www/f.bin" || fail "the second export differs"
[ "$(grep -c '"GET /f.bin' "$T/nginx-$NG/access.log")" -eq "$before" ] || fail "the second hand-off went to the source"
# an output the daemon cannot write: an error line, exit code 2, before anything is downloaded
within 60 "$HANDOFF" "$SOCK" "$URL/g.bin" "$T/nowhere/g.bin" > "$T/h6" 2>&1; rc=$?
[ "$rc" -eq 2 ] && grep -q '^error: 2 .*nowhere.*No such file' "$T/h6" || fail "export to a missing folder: rc $rc, $(cat "$T/h6")"
! grep -q '"GET /g.bin' "$T/nginx-$NG/access.log" || fail "g.bin was fetched for an output folder that is not there"
# nor is a FIFO there replaced by a regular file (df get writes such outputs itself)
mkfifo "$T/out/fifo"
within 60 "$HANDOFF" "$SOCK" "$URL/g.bin" "$T/out/fifo" > "$T/h7" 2>&1; rc=$?
[ "$rc" -eq 2 ] && grep -q 'not a regular file' "$T/h7" && [ -p "$T/out/fifo" ] || fail "hand-off to a FIFO: rc $rc, $(cat "$T/h7")"
# nor does a filesystem without room for the file wait for the download to say so (root: a tmpfs)
mkdir -p "$T/tiny"
if mount -t tmpfs -o size=1m tmpfs "$T/tiny" 2>/dev/null; then
  CLEANUPS+=("umount -l '$T/tiny'")
  within 60 "$HANDOFF" "$SOCK" "$URL/f.bin" "$T/tiny/f.bin" > "$T/h8" 2>&1; rc=$?
  [ "$rc" -eq 1 ] && grep -q '^error: 1 .*has 1.0 MiB free, the file is 12.0 MiB' "$T/h8" || fail "hand-off to a full disk: rc $rc, $(cat "$T/h8")"
  ! grep -q '^progress\|^done' "$T/h8" || fail "lines after the error: $(cat "$T/h8")"
fi
# a wrong digest: exit code 3, no file
within 60 "$HANDOFF" "$SOCK" "$URL/g.bin" "$T/out/g.bin" -d "sha256:$(sha "$T/www/f.bin")" > "$T/h3" 2>&1; rc=$?
[ "$rc" -eq 3 ] || fail "a wrong digest gave exit code $rc: $(cat "$T/h3")"
[ ! -e "$T/out/g.bin" ] || fail "a file that failed its digest was exported"
# the right digest: content-addressed
within 60 "$HANDOFF" "$SOCK" "$URL/g.bin" "$T/out/g.bin" -d "sha256:$(sha "$T/www/g.bin")" > "$T/h4" 2>&1 || fail "digest hand-off: $(cat "$T/h4")"
cmp -s "$T/out/g.bin" "$T/www/g.bin" || fail "the digest hand-off differs"
# another user: refused by credentials (the socket's mode 0600 and the store's 0700 already keep them
# out; open both to see)
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
  # the store df made is 0700 as well: let the other user through to the socket for this check
  chmod 666 "$SOCK"; chmod 711 "$(dirname "$SOCK")"
  OUT=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$HANDOFF" "$SOCK" "$URL/g.bin" /tmp/never 2>&1); rc=$?
  chmod 600 "$SOCK"; chmod 700 "$(dirname "$SOCK")"
  [ "$rc" -eq 2 ] && [[ $OUT == *"error: 2 refused"* ]] || fail "another user's hand-off: rc $rc, $OUT"
fi
# a client that leaves at once: the download still completes in the daemon (and seeds)
make_file "$T/www/h.bin" 4
timeout 0.2 "$HANDOFF" "$SOCK" "$URL/h.bin" "$T/out/h.bin" > /dev/null 2>&1
for _ in $(seq 100); do
  [ "$(curl -s "http://$M/v1/status" >/dev/null; grep -c '"GET /h.bin' "$T/nginx-$NG/access.log")" -ge 1 ] && break
  sleep 0.05
done
within 60 "$HANDOFF" "$SOCK" "$URL/h.bin" "$T/out/h.bin" > "$T/h5" 2>&1 || fail "hand-off after an early leave: $(cat "$T/h5")"
cmp -s "$T/out/h.bin" "$T/www/h.bin" || fail "h.bin differs"
[ "$(proxy_stat "$PP" handoffs)" -ge 5 ] || fail "hand-offs counted: $(curl -s "http://$M/v1/status")"

# df get itself: finds the daemon's socket under the data dir, hands the job over, returns when the
# file is there; relative -O paths are the caller's; errors keep their exit codes
before=$(proxy_stat "$PP" handoffs)
make_file "$T/www/k.bin" 3
(cd "$T/out" && "$DF" get "$URL/k.bin" -O k.bin --data "$T/px") > "$T/g1" 2>&1 || fail "df get hand-off: $(cat "$T/g1")"
cmp -s "$T/out/k.bin" "$T/www/k.bin" || fail "k.bin differs"
grep -q "through the host's df proxy" "$T/g1" || fail "df get did not say it used the host's df proxy: $(cat "$T/g1")"
[ "$(proxy_stat "$PP" handoffs)" -gt "$before" ] || fail "the daemon counted no hand-off from df get"
# the file is the caller's: its umask sets the mode, not the daemon's (a private download under
# umask 077 came out 0644, readable by every local user); both the copy as pieces land and the one
# at the end (a file already complete in the store)
for u in 077 027 000; do
  for f in k.bin m$u.bin; do
    [ -e "$T/www/$f" ] || make_file "$T/www/$f" 2
    rm -f "$T/out/u$u-$f"
    (umask "$u"; cd "$T/out" && "$DF" get "$URL/$f" -O "u$u-$f" --data "$T/px") > "$T/gu" 2>&1 || fail "df get (umask $u): $(cat "$T/gu")"
    grep -q "through the host's df proxy" "$T/gu" || fail "df get (umask $u) was no hand-off: $(cat "$T/gu")"
    want=$(printf '%o' $((0666 & ~8#$u)))
    got=$(stat -c %a "$T/out/u$u-$f")
    [ "$got" = "$want" ] || fail "hand-off of $f under umask $u: mode $got, wanted $want"
  done
done
within 120 "$DF" get "$URL/k.bin" -O "$T/out/k3.bin" --data "$T/px" --digest "sha256:$(sha "$T/www/f.bin")" > "$T/g3" 2>&1; rc=$?
[ $rc -eq 3 ] || fail "df get via the daemon with a wrong digest: rc $rc, $(cat "$T/g3")"
# df status asks a host's df proxy too (text and JSON)
OUT=$("$DF" status --proxy "$M") || fail "df status --proxy: $OUT"
expect_in "role: proxy"
# ... read for a person first: what the host did, in sentences (the counters follow)
[[ $(head -n1 <<<"$OUT") == "df proxy "*", up "* ]] || fail "df status --proxy does not start with a summary: $OUT"
expect_in "registry mirror: "
grep -q '^df get hand-offs: [1-9][0-9]* (' <<<"$OUT" || fail "df status --proxy does not count the hand-offs: $OUT"
OUT=$("$DF" status --proxy "$M" --json) || fail "df status --proxy --json: $OUT"
expect_in '"role":"proxy"'
curl -s "http://$M/metrics" | grep -q '^df_proxy_handoffs [0-9]' || fail "df proxy /metrics: $(curl -s "http://$M/metrics")"
# with the daemon gone, df get runs the engine itself
kill "$PX"; await "$PX" 20 "df proxy after SIGTERM"
within 120 "$DF" get "$URL/k.bin" -O "$T/out/k2.bin" --data "$T/px" --seed-idle 0 > "$T/g2" 2>&1 || fail "df get without the daemon: $(cat "$T/g2")"
cmp -s "$T/out/k2.bin" "$T/www/k.bin" || fail "k2.bin differs"
grep -q "through the host's df proxy" "$T/g2" && fail "df get claims a hand-off with the daemon gone"
pass "proxy hand-off"
