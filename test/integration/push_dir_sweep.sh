#!/usr/bin/env bash
# A df proxy killed (-9, a power cut) in the middle of a push leaves its temporary copy
# (.NAME.df-PID-N) next to the destination in its push directory; only a later push to the same
# path removed it, so a destination never pushed again kept it for ever. df proxy now sweeps its
# whole push directory at start and every hour: a temporary file of a pid that is gone and whose
# lock nobody holds (a df in another pid namespace, whose pid this one cannot see, holds it while
# it writes) is removed; the user's own files, a locked one, a live pid's and whatever lies behind
# a symbolic link are not.
. "$(dirname "$0")/../lib.sh"
cd "$T"
P=$T/h/push
mkdir -p "$P/rel/deep/er" "$T/outside"
sleep 0 & dead=$!
wait "$dead"
kill -0 "$dead" 2>/dev/null && skip "pid $dead was reused at once"
old() { : > "$1"; touch -d '2 hours ago' "$1"; }
old "$P/rel/.big.bin.df-$dead-1"             # removed
old "$P/.top.df-$dead-7"                     # removed
old "$P/rel/deep/er/.x.tar.gz.df-$dead-12"   # removed
: > "$P/rel/.fresh.bin.df-$dead-2"           # removed: no lock held on it, whatever its age
: > "$P/rel/.held.bin.df-$dead-4"            # kept: its lock held (a df in another pid namespace)
exec 9< "$P/rel/.held.bin.df-$dead-4"
flock -n -x 9 || fail "cannot lock the held file"
old "$P/rel/.live.bin.df-$$-3"               # kept: its pid runs
old "$P/rel/notatemp.df-$dead-1"             # kept: no leading dot
old "$P/rel/.df-$dead-1"                     # kept: no name before .df-
old "$P/rel/.user.file"                      # kept: the user's
old "$T/outside/.x.df-$dead-1"               # kept: behind a symbolic link
ln -s "$T/outside" "$P/link"

PP=$(free_port)
"$DF" proxy --listen "127.0.0.1:$(free_port)" --push-listen "127.0.0.1:$PP" --push-dir "$P" --data "$T/h" \
  > proxy.log 2>&1 &
track $!
wait_port "$PP"
swept() { [ "$(grep -c 'left by an interrupted df' proxy.log)" -ge 4 ]; }
wait_for 10 "the push directory's sweep" swept
for f in "$P/rel/.big.bin.df-$dead-1" "$P/.top.df-$dead-7" "$P/rel/deep/er/.x.tar.gz.df-$dead-12" \
  "$P/rel/.fresh.bin.df-$dead-2"; do
  [ ! -e "$f" ] || fail "$f is still there"
done
for f in "$P/rel/.held.bin.df-$dead-4" "$P/rel/.live.bin.df-$$-3" "$P/rel/notatemp.df-$dead-1" \
  "$P/rel/.df-$dead-1" "$P/rel/.user.file" "$T/outside/.x.df-$dead-1"; do
  [ -e "$f" ] || fail "$f was removed"
done
grep -q "removed .big.bin.df-$dead-1, left by an interrupted df (pid $dead)" proxy.log || fail "no log line: $(cat proxy.log)"
pass "push_dir_sweep: a killed proxy's stale push temporaries go at start; locked, live, the user's and linked ones stay"
