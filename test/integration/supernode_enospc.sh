#!/usr/bin/env bash
# A supernode whose disk fills (issue 14): it used to fail the task, send every peer's df get to
# exit 1, and keep the failed partial task on disk so every later task failed too. Now, on a 4 MiB
# tmpfs this test mounts: GC first evicts what nobody uses, the failed task's partial data goes, the
# peers fetch from the source with the reason printed; the next try (space freed by GC) is served
# by the supernode again; and once the disk has room again everything works without a restart.
. "$(dirname "$0")/../lib.sh"
cd "$T"
mnt=$T/disk
mkdir -p "$mnt" www
mount -t tmpfs -o size=4m,mode=0755 tmpfs "$mnt" 2>/dev/null || skip "cannot mount a tmpfs (not root?)"
CLEANUPS+=("umount -l '$mnt'")
MB=1048576
head -c $MB /dev/urandom > www/a
head -c $((3 * MB)) /dev/urandom > www/b
NP=$(free_port); start_nginx "$T/www" "$NP"
SP=$(free_port); start_supernode sn "$SP" --data "$mnt/sn" --quota 0
get() { # NAME FILE: df get through the supernode, output NAME, log NAME.log
  timeout 60 "$DF" get "http://127.0.0.1:$NP/$2" -O "$1" --supernode "127.0.0.1:$SP" --data "$T/p-$1" --seed-idle 0 \
    > "$1.log" 2>&1 || { rc=$?; tail -n 20 sn.log >&2; fail "get $2 exited $rc: $(cat "$1.log")"; }
  [ "$(sha "$1")" = "$(sha "www/$2")" ] || fail "$1 differs from www/$2"
}

get a1 a
# fill the disk with a file that is not df's until about 1 MiB is left: b (3 MiB) cannot fit even
# once GC has evicted a
head -c $((3 * MB - $(du -s --block-size=1 "$mnt" | cut -f1))) /dev/zero > "$mnt/filler" 2>/dev/null
df -B1 "$mnt" | tail -1
get b1 b
grep -q "store full" b1.log || fail "the get did not say why it went to the source: $(cat b1.log)"
grep -q "full: GC freed" sn.log || fail "no GC on the full disk: $(tail sn.log)"
grep -q "evicted task" sn.log || fail "GC evicted nothing: $(tail sn.log)"
grep -q "No space left on device" sn.log || fail "the supernode never met the full disk: $(tail sn.log)"
[ -f "$mnt/filler" ] || fail "GC removed a file that is not df's"
[ -z "$(ls "$mnt"/sn/tasks/*/ 2>/dev/null)" ] || fail "the failed task left files: $(ls -l "$mnt"/sn/tasks/*/)"
# space returns: the supernode serves b without a restart (2 s after the failure, it tries again)
rm -f "$mnt/filler"
sleep 2.2
kill -0 "$(cat sn.pid)" || fail "the supernode died"
get b2 b
grep -q "store full" b2.log && fail "b failed again with room on the disk: $(cat b2.log)"
grep -q "supernode 3.0 MiB" b2.log || fail "b2 did not come from the supernode: $(cat b2.log)"
[ "$(grep -c 'complete from the source' sn.log)" -ge 2 ] || fail "the supernode did not complete b: $(grep complete sn.log)"
pass "disk full: GC then the partial task freed, peers sent to the source with the reason, recovery without a restart"
