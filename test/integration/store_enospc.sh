#!/usr/bin/env bash
# The store on a disk that says no: a 1 MiB tmpfs this test mounts (as root), or RLIMIT_FSIZE where
# mounting is refused. A full disk gives a clear error naming the file; what was written before
# stays right and reopens; a task that cannot be created leaves nothing behind; an export that
# cannot be written leaves no partial file; space freed makes the store work again; a read-only
# filesystem is named as such.
. "$(dirname "$0")/../lib.sh"
TOOL=$top/$B/tools/store_tool
[ -x "$TOOL" ] || fail "no $TOOL (make tools)"
mnt=$T/full out=$T/out
mkdir -p "$mnt" "$out"
# STORE_ENOSPC_MODE=rlimit tries the fallback where mounting works too
if [ "${STORE_ENOSPC_MODE:-}" != rlimit ] && mount -t tmpfs -o size=1m,mode=0755 tmpfs "$mnt" 2>/dev/null; then
  CLEANUPS+=("umount -l '$mnt'")
  mount -t tmpfs -o size=128k,mode=0755 tmpfs "$out" || fail "second tmpfs mount"
  CLEANUPS+=("umount -l '$out'")
  mode=tmpfs why="No space left on device" len=4194304  # a 4 MiB task on a 1 MiB disk
  limit() { shift; "$@"; }
else
  # the limit refuses a known length past it at creation: grow with an unknown length instead
  mode=rlimit why="File too large" len=-1
  limit() { ( ulimit -f "$1"; shift; "$@" ); }  # KiB per file (bash counts in 1024-byte blocks)
fi
root=$mnt/store

# a complete task that fits, to export later
expect_rc 2 "$TOOL" fill "$root" cc 204800 16384
# a task bigger than the disk: the error names the data file and the cause
expect_rc 0 limit 512 "$TOOL" fill "$root" aa $len 65536
expect_in "$root/tasks/aa/aa.data"; expect_in "$why"
wrote=$(echo "$OUT" | sed -n 's/^wrote \([0-9]*\) pieces.*/\1/p')
[ "${wrote:-0}" -gt 0 ] || fail "no piece fit before the disk filled: $OUT"
# what was written reopens and is right, piece by piece
expect_rc 0 limit 512 "$TOOL" verify "$root"; expect_in "verified 2 tasks"
# a task that cannot be created leaves no file behind
expect_rc 1 limit 512 "$TOOL" create "$root" bb 1048576 65536
expect_in "$why"; expect_in "$root/tasks/bb/bb."
[ -z "$(ls -A "$root/tasks/bb" 2>/dev/null)" ] || fail "files left behind: $(ls -A "$root/tasks/bb")"
# an export that does not fit: an error naming the target, no partial file under any name
[ $mode = tmpfs ] || { out=$T/exp; mkdir -p "$out"; }
umask 077  # not the data file's mode: a copy, not a link
expect_rc 1 limit 128 "$TOOL" export "$root" cc "$out/cc.bin"
umask 022
expect_in "$out/cc.bin"; expect_in "$why"
[ -z "$(ls -A "$out")" ] || fail "export left files: $(ls -A "$out")"
# space freed: the store works again, and the export goes through
expect_rc 0 "$TOOL" remove "$root" aa
expect_rc 2 "$TOOL" fill "$root" dd 262144 16384
expect_rc 0 "$TOOL" verify "$root"; expect_in "verified 2 tasks"
expect_rc 0 "$TOOL" export "$root" cc "$T/cc-ok.bin"
[ "$(stat -c %s "$T/cc-ok.bin")" = 204800 ] || fail "exported size $(stat -c %s "$T/cc-ok.bin")"
# a read-only filesystem is refused at open, by name
if [ $mode = tmpfs ]; then
  mount -o remount,ro "$mnt" || fail "remount ro"
  expect_rc 1 "$TOOL" open "$root"; expect_in "$root"; expect_in "Read-only file system"
fi
pass "$mode: full disk, failed create, failed export, recovery and read-only all behave"
