#!/usr/bin/env bash
# Exports never alias the store (issue 13 items 4 and 14): every `df get -O` and every pushed file is
# a file of its own (no inode shared with the store or another export), with the user's umask mode,
# while the store df creates is private (0700 folders, 0600 files). A chmod of one export changes
# nothing else; a user's edit of an exported file survives the next df get of the same URL and
# never reaches the store (whose copy peers are served); a push after an edit of the pushed file
# puts the right bytes back.
. "$(dirname "$0")/../lib.sh"
cd "$T"
umask 022
mkdir -p www
make_file www/f 6
want=$(sha www/f)
NP=$(free_port); start_nginx "$T/www" "$NP"
SP=$(free_port); start_supernode sn "$SP"
URL=http://127.0.0.1:$NP/f
get() { "$DF" get "$URL" -O "$1" --supernode "127.0.0.1:$SP" --data "$T/st" --seed-idle 0 -q || fail "get $1"; }
get a.out
get b.out
data=$(ls "$T"/st/tasks/*/*.data)
[ -f "$data" ] || fail "no data file in the store"
ino() { stat -c %i "$1"; }
[ "$(ino a.out)" != "$(ino "$data")" ] || fail "a.out is the store's data file (hard link)"
[ "$(ino a.out)" != "$(ino b.out)" ] || fail "a.out and b.out are one inode"
for f in a.out b.out "$data"; do [ "$(stat -c %h "$f")" = 1 ] || fail "$f has $(stat -c %h "$f") links"; done
[ "$(stat -c %a a.out)" = 644 ] || fail "a.out has mode $(stat -c %a a.out), wanted 644 (umask 022)"
# the store df created is its owner's alone
[ "$(stat -c %a "$T/st")" = 700 ] || fail "store root has mode $(stat -c %a "$T/st")"
[ "$(stat -c %a "$(dirname "$data")")" = 700 ] || fail "task folder has mode $(stat -c %a "$(dirname "$data")")"
[ "$(stat -c %a "$data")" = 600 ] || fail "data file has mode $(stat -c %a "$data")"
[ "$(stat -c %a "${data%.data}.meta")" = 600 ] || fail "metadata file has mode $(stat -c %a "${data%.data}.meta")"
# chmod of one export
chmod 600 a.out
[ "$(stat -c %a b.out)" = 644 ] || fail "chmod a.out changed b.out to $(stat -c %a b.out)"
[ "$(stat -c %a "$data")" = 600 ] || fail "chmod a.out changed the store to $(stat -c %a "$data")"
# an edit of one export: not reverted by the next get, never in the store
printf 'EDITED BY THE USER' | dd of=a.out bs=1 seek=4096 conv=notrunc status=none
edited=$(sha a.out)
get c.out
[ "$(sha a.out)" = "$edited" ] || fail "the next df get reverted the user's edit of a.out"
[ "$(sha c.out)" = "$want" ] || fail "c.out is not the source's file"
[ "$(sha b.out)" = "$want" ] || fail "b.out changed with a.out"
[ "$(sha "$data")" = "$want" ] || fail "the user's edit reached the store"

# push: the pushed file is the host's own; an edit of it is repaired by the next push
HP=$(free_port)
"$DF" proxy --listen "127.0.0.1:$(free_port)" --push-listen "127.0.0.1:$HP" --supernode "127.0.0.1:$SP" \
  --data "$T/h" --push-dir "$T/h/push" > h.log 2>&1 &
track $!
wait_port "$HP"
push() { OUT=$("$DF" push www/f --host "127.0.0.1:$HP" --dest p.bin --supernode "127.0.0.1:$SP" 2>&1) || fail "push: $OUT; host log: $(cat h.log)"; }
push
p=$T/h/push/p.bin
hdata=$(ls "$T"/h/tasks/*/*.data)
[ "$(sha "$p")" = "$want" ] || fail "the pushed file differs"
[ "$(stat -c %h "$p")" = 1 ] && [ "$(ino "$p")" != "$(ino "$hdata")" ] || fail "the pushed file shares the host store's inode"
printf 'EDITED ON THE HOST' | dd of="$p" bs=1 seek=100 conv=notrunc status=none
[ "$(sha "$hdata")" = "$want" ] || fail "an edit of the pushed file reached the host's store"
push
[ "$(sha "$p")" = "$want" ] || fail "a push after an edit reported ok but left the edited bytes: $OUT"
pass "export_alias: exports are files of their own; the store is private"
