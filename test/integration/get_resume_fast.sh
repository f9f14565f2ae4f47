#!/usr/bin/env bash
# Resume at full speed (issue 14 item 7): a df get interrupted mid-way (kill -9; SIGINT) and run again
# at once finishes in about the time its missing bytes need at its rate limit; another host is not
# held up by a dead one either. Before, the supernode
# kept the dead process's registration (its transfers holding the supernode's upload slots, its
# pieces claimed) until peer_silence (30 s) passed, so every rerun took ~30 s more.
# run.sh: alone (duration bounds)
. "$(dirname "$0")/../lib.sh"
cd "$T"
mkdir -p www
make_file www/f 8
NP=$(free_port); start_nginx "$T/www" "$NP"
SP=$(free_port); start_supernode sn "$SP"
URL=http://127.0.0.1:$NP/f
RATE=2000000   # 8 MiB at 2 MB/s: ~4.2 s for the whole file; a held-up rerun takes 30 s more

logs() { for f in "$T"/sn.log "$T"/g-*.log; do [ -f "$f" ] && { echo "== $f"; tail -n 30 "$f"; }; done; }
die() { logs; fail "$*"; }

get() { # NAME: the get of this test, in the background; pid in $GPID
  "$DF" get "$URL" -O out --supernode "127.0.0.1:$SP" --data "$T/d" --seed-idle 0 --limit-rate $RATE --log-level info \
    > "g-$1.log" 2>&1 &
  GPID=$!; track $GPID
}

# mid_way: once the get has its task in the store, ~1.5 s more (~3 MB of 8 at the rate limit)
mid_way() {
  for _ in $(seq 200); do
    [ -n "$(find "$T/d/tasks" -name '*.meta' 2>/dev/null)" ] && break
    sleep 0.05
  done
  sleep 1.5
  kill -0 "$GPID" 2>/dev/null || die "the get ended before it could be interrupted"
}

# rerun NAME: run again to the end; prints and checks the time against the missing bytes
rerun() {
  local t0 t1 took
  t0=$(date +%s.%N)
  get "$1"
  wait $GPID || die "$1: the rerun failed"
  t1=$(date +%s.%N)
  [ "$(sha out)" = "$(sha www/f)" ] || die "$1: the output is corrupt"
  grep -q "resumed" "g-$1.log" || die "$1: the rerun did not resume"
  took=$(echo "$t1 - $t0" | bc)
  echo "$1: rerun took $took s (the whole file needs ~4.2 s at this rate)"
  [ "$(echo "$took < 15" | bc)" = 1 ] || die "$1: the rerun took $took s: held up by the dead registration"
}

# kill -9: nothing is said; the new registration from the same store replaces the dead one
case_kill9() {
  rm -rf "$T/d" out
  get kill9
  mid_way
  kill -9 $GPID; wait $GPID 2>/dev/null
  rerun after-kill9
  grep -q "replaced by a new registration from the same store" sn.log || die "the supernode did not replace the dead registration"
}

# SIGINT: the get says leave before it exits (130)
case_sigint() {
  rm -rf "$T/d" out
  get sigint
  mid_way
  left0=$(grep -c " left$" sn.log)
  kill -INT $GPID
  rc=0; wait $GPID || rc=$?
  [ "$rc" = 130 ] || die "SIGINT: the get exited $rc, wanted 130"
  grep -q "interrupted" g-sigint.log || die "SIGINT: the get does not say it was interrupted"
  [ "$(grep -c " left$" sn.log)" -gt "$left0" ] || die "SIGINT: the get did not say leave"
  rerun after-sigint
}

# another host's get killed -9 mid-way: the next downloader is sent to its piece server, which
# refuses; the supernode checks that itself and drops the dead registration at once (its transfers
# held all of the supernode's upload slots, so the other host waited for peer_silence before)
case_other() {
  rm -rf "$T/d" out
  get other-dead
  mid_way
  kill -9 $GPID; wait $GPID 2>/dev/null
  t0=$(date +%s.%N)
  timeout 60 "$DF" get "$URL" -O out-other --supernode "127.0.0.1:$SP" --data "$T/d-other" --seed-idle 0 --log-level info \
    > g-other.log 2>&1 || die "other: the get failed"
  t1=$(date +%s.%N)
  [ "$(sha out-other)" = "$(sha www/f)" ] || die "other: the output is corrupt"
  took=$(echo "$t1 - $t0" | bc)
  echo "other host after a kill -9: $took s"
  grep -q "refuses connections" sn.log || die "other: the supernode did not drop the dead peer"
  [ "$(echo "$took < 10" | bc)" = 1 ] || die "other: the get took $took s: held up by the dead registration"
}

# killed mid-way, then the supernode is gone too: the rerun goes to the source and keeps the pieces it
# has (the source's validators, etag and date, are the same version as the supernode's etag)
case_source() {
  rm -rf "$T/d" out
  get source-dead
  mid_way
  kill -9 $GPID; wait $GPID 2>/dev/null
  kill "$(cat sn.pid)"
  local before
  before=$(nginx_bytes "$NP" /f)
  get after-source
  wait $GPID || die "source: the rerun failed"
  [ "$(sha out)" = "$(sha www/f)" ] || die "source: the output is corrupt"
  grep -q "another version" g-after-source.log && die "source: the rerun started over"
  local sent=$(( $(nginx_bytes "$NP" /f) - before ))
  echo "source: the rerun fetched $sent bytes of 8388608 from the source"
  [ "$sent" -lt 8388608 ] || die "source: the rerun fetched the whole file again ($sent bytes)"
}

for c in ${RESUME_CASES:-kill9 sigint other source}; do "case_$c"; done
pass get_resume_fast
