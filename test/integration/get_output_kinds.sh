#!/usr/bin/env bash
# df get's -O is checked before the download (swarm/outpath.c): a missing or wrong folder, or a
# folder as the output, fail at once (exit 2) instead of after the whole file came; a FIFO or a
# character device is written into, never replaced by a regular file (`-O /dev/null` as root
# replaced the null device); a symbolic link keeps pointing where it did and its target gets the
# bytes, also when the target does not exist yet; /dev/stdout writes to whatever standard output is;
# a filesystem without room for the file (the output's or the store's) fails the get once the
# length is known.
. "$(dirname "$0")/../lib.sh"
cd "$T"
mkdir -p www out
make_file www/f 4
NP=$(free_port); start_nginx "$T/www" "$NP"
SP=$(free_port); start_supernode sn "$SP"
url=http://127.0.0.1:$NP/f
n=0
# get OUT FLAGS...: df get of the 4 MiB file at 1 MiB/s (~4 s) into OUT, in a store of its own
get() {
  local o=$1; shift
  n=$((n + 1))
  timeout -k 5 60 "$DF" get "$url" -O "$o" --supernode "127.0.0.1:$SP" --seed-idle 0 --data "$T/c$n" --limit-rate 1M "$@"
}
now() { date +%s.%N; }

# refused at once: each case would take ~4 s if the check came after the download
for o in "$T/nowhere/x" "$T/out" "$T/www/f/x" ""; do
  t0=$(now)
  expect_rc 2 get "$o"
  took=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
  awk -v t="$took" 'BEGIN { exit !(t < 2) }' || fail "-O '$o' failed only after $took s (the download takes ~4 s)"
  expect_in "output"
done
expect_rc 2 get "$T/nowhere/x"; expect_in "No such file or directory"
expect_rc 2 get "$T/out"; expect_in "is a directory"
ln -s nowhere/x dangling
expect_rc 2 get dangling; expect_in "nowhere"
[ -z "$(ls "$T/out")" ] || fail "files left in the folder given as -O: $(ls "$T/out")"

# a folder on a filesystem without room for the file: said once the length is known, not after the
# download (a 1 MiB tmpfs, mounted as root; the whole download takes ~4 s)
mkdir -p tiny
if mount -t tmpfs -o size=1m tmpfs tiny 2>/dev/null; then
  CLEANUPS+=("umount -l '$T/tiny'")
  t0=$(now)
  expect_rc 1 get tiny/f
  took=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
  expect_in "has 1.0 MiB free, the file is 4.0 MiB"
  awk -v t="$took" 'BEGIN { exit !(t < 2) }' || fail "no room for -O was found after $took s (the download takes ~4 s)"
  [ -z "$(ls tiny)" ] || fail "files left on the full filesystem: $(ls tiny)"
  # the store itself on that filesystem (-O elsewhere, or standard output): the same, before the
  # store fills it (it wrote until ENOSPC, then failed with "writing piece N", the disk left full)
  for o in "$T/out/g" -; do
    t0=$(now)
    OUT=$(timeout -k 5 60 "$DF" get "$url" -O "$o" --supernode "127.0.0.1:$SP" --seed-idle 0 --data "$T/tiny/store" \
      --limit-rate 1M 2>&1 >/dev/null) && fail "df get -O $o with its store on a full filesystem succeeded: $OUT"
    took=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
    expect_in "store $T/tiny/store has"
    expect_in "free, the file needs"
    awk -v t="$took" 'BEGIN { exit !(t < 2) }' || fail "no room in the store was found after $took s"
    used=$(du -sk tiny | cut -f1)
    [ "$used" -le 512 ] || fail "the store filled the filesystem: ${used} KiB used ($OUT)"
  done
  [ ! -e out/g ] || fail "a failed get left its output"
else
  echo "mount not permitted here: the full filesystem case is not run"
fi

# a FIFO: its reader gets the file, the FIFO stays a FIFO
mkfifo fifo
cat fifo > from_fifo &
reader=$!
get fifo > get_fifo.log 2>&1 || fail "df get -O FIFO failed: $(tail -3 get_fifo.log)"
wait "$reader"
[ -p fifo ] || fail "the FIFO was replaced: $(ls -l fifo)"
cmp -s www/f from_fifo || fail "the FIFO's reader got $(stat -c %s from_fifo) other bytes"

# /dev/stdout: links the kernel follows to a pipe ("pipe:[N]", no path) or to a file (a link of
# our own to /proc/self/fd/1, as /dev/stdout is: a regression would replace only ours)
ln -s /proc/self/fd/1 stdout
get stdout 2> get_dev_stdout.log | cat > from_pipe || fail "df get -O /dev/stdout | cat failed: $(tail -3 get_dev_stdout.log)"
cmp -s www/f from_pipe || fail "-O /dev/stdout into a pipe gave $(stat -c %s from_pipe) other bytes"
get stdout > to_file 2> get_dev_stdout2.log || fail "df get -O /dev/stdout > FILE failed: $(tail -3 get_dev_stdout2.log)"
cmp -s www/f to_file || fail "-O /dev/stdout into a file gave $(stat -c %s to_file) other bytes"
[ -L stdout ] || fail "the link to /proc/self/fd/1 was replaced: $(ls -l stdout)"

# a character device (the null device's numbers, made here: the machine's own is never at risk)
if mknod null c 1 3 2>/dev/null; then
  get null > get_null.log 2>&1 || fail "df get -O (a null device) failed: $(tail -3 get_null.log)"
  [ -c null ] || fail "the character device was replaced: $(ls -l null)"
else
  echo "mknod not permitted here: the character device case is not run"
fi

# symbolic links: to an existing file, and to one that does not exist yet
echo old > target
ln -s target link
get link > get_link.log 2>&1 || fail "df get -O LINK failed: $(tail -3 get_link.log)"
[ -L link ] && [ "$(readlink link)" = target ] || fail "the link was replaced: $(ls -l link)"
cmp -s www/f target || fail "the link's target did not get the file"
ln -s out/new link2
get link2 > get_link2.log 2>&1 || fail "df get -O LINK2 failed: $(tail -3 get_link2.log)"
[ -L link2 ] || fail "the dangling link was replaced: $(ls -l link2)"
cmp -s www/f out/new || fail "the dangling link's target was not created with the file"
echo "ok"
