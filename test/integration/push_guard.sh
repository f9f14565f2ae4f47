#!/usr/bin/env bash
# The push receiver writes only where it checked (issue 13 items 9, 10, 14): a folder of the
# destination swapped for a symlink while the host downloads does not redirect the file outside
# the push directory; a refused destination leaves no folder behind; setuid/setgid/sticky modes are
# refused unless the host allows them ([proxy] push_special_modes); a --dest with a newline is
# refused by df push instead of being cut.
. "$(dirname "$0")/../lib.sh"
cd "$T"
make_file f 8
want=$(sha f)
SP=$(free_port); start_supernode sn "$SP"
start_host() { # NAME RATE [flags]
  local name=$1 rate=$2 hp; shift 2
  hp=$(free_port)
  "$DF" proxy --listen "127.0.0.1:$(free_port)" --push-listen "127.0.0.1:$hp" --supernode "127.0.0.1:$SP" \
    --data "$T/$name" --push-dir "$T/$name/push" --limit-rate "$rate" "$@" > "$name.log" 2>&1 &
  track $!
  wait_port "$hp"
  echo "127.0.0.1:$hp" > "$name.addr"
}
push_to() { # NAME ARGS...: output in $OUT, exit code in $RC
  local name=$1; shift
  OUT=$(timeout 120 "$DF" push f --host "$(cat "$name.addr")" --supernode "127.0.0.1:$SP" "$@" 2>&1); RC=$?
}
start_host slow 2M
mkdir -p outside/sub

# the race: the host checked race/sub when the request came; then race is replaced by a link
timeout 120 "$DF" push f --host "$(cat slow.addr)" --dest race/sub/f.bin --supernode "127.0.0.1:$SP" > race.out 2>&1 &
pp=$!; track $pp
for _ in $(seq 200); do [ -d slow/push/race/sub ] && break; sleep 0.05; done
[ -d slow/push/race/sub ] || fail "the host never made race/sub: $(cat slow.log)"
mv slow/push/race slow/push/race.moved
ln -s "$T/outside" slow/push/race
wait $pp; rc=$?
[ ! -e outside/sub/f.bin ] || fail "the pushed file was written outside the push directory (through the swapped link)"
[ $rc -eq 0 ] || fail "push exited $rc: $(cat race.out)"
[ "$(sha slow/push/race.moved/sub/f.bin)" = "$want" ] || fail "the file is not in the folder that was checked"

# refused destinations leave nothing behind
push_to slow --dest a/../../x
[ $RC -ne 0 ] || fail "a/../../x was accepted"
expect_in "refused"
[ ! -e slow/push/a ] || fail "a refused destination left slow/push/a behind"

# modes: setuid refused by default, with a clear error; plain modes fine
push_to slow --dest suid.bin --mode 4755
[ $RC -ne 0 ] || fail "mode 4755 was accepted by a host that does not allow it: $OUT"
expect_in "setuid"
[ ! -e slow/push/suid.bin ] || fail "a refused mode left a file"
push_to slow --dest sticky.bin --mode 1777
[ $RC -ne 0 ] || fail "mode 1777 was accepted"
push_to slow --dest ok.bin --mode 0750
[ $RC -eq 0 ] || fail "mode 0750 refused: $OUT"
[ "$(stat -c %a slow/push/ok.bin)" = 750 ] || fail "ok.bin has mode $(stat -c %a slow/push/ok.bin)"
start_host lax 0 --push-special-modes
push_to lax --dest suid.bin --mode 4755
[ $RC -eq 0 ] || fail "mode 4755 refused by a host that allows it: $OUT"
[ "$(stat -c %a lax/push/suid.bin)" = 4755 ] || fail "suid.bin has mode $(stat -c %a lax/push/suid.bin)"

# a newline in --dest is refused by the pusher, not cut
push_to slow --dest $'nl.bin\nmode: 4755'
[ $RC -eq 2 ] || fail "a --dest with a newline exited $RC: $OUT"
expect_in "control character"
ls slow/push | grep -q '^nl' && fail "a --dest with a newline wrote $(ls slow/push)"
pass "push_guard: writes stay where they were checked; special modes and control characters refused"
