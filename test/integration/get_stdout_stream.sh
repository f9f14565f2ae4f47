#!/usr/bin/env bash
# df get -O - writes standard output in order while the download runs (swarm/streamout.c), so a
# pipe's reader works along: during a rate-limited get the reader has its first bytes long before
# the end; the output is the file byte for byte. The last byte is held until the digest checked:
# with a wrong --digest the reader gets a strict prefix and df exits non-zero. A reader that
# goes away ends the get with "Broken pipe", at once, not after the download. Downloaded while its
# reader still sleeps, the get runs its loop until the stream drained: a SIGINT ends it at once.
. "$(dirname "$0")/../lib.sh"
mkdir -p "$T/www"
make_file "$T/www/f" 8
size=$(stat -c %s "$T/www/f")
NP=$(free_port)
start_nginx "$T/www" "$NP"
SP=$(free_port)
start_supernode sn "$SP" --piece-size 256k
url=http://127.0.0.1:$NP/f
get() { timeout -k 5 60 "$DF" get "$url" -O - --supernode "127.0.0.1:$SP" --seed-idle 0 "$@"; }
now() { date +%s.%N; }

# the whole file, straight
get --data "$T/c1" > "$T/out1" 2> "$T/get1.log" || fail "df get -O - failed: $(tail -3 "$T/get1.log")"
cmp -s "$T/www/f" "$T/out1" || fail "df get -O - wrote other bytes ($(stat -c %s "$T/out1") of $size)"

# at 2 MB/s (~4 s): when does the reader get its first bytes?
t0=$(now)
get --data "$T/c2" --limit-rate 2M 2> "$T/get2.log" |
  { head -c 4096 > "$T/first"; now > "$T/t_first"; cat > "$T/rest"; }
t1=$(now)
cat "$T/first" "$T/rest" | cmp -s "$T/www/f" - || fail "the streamed output differs"
ratio=$(awk -v a="$t0" -v f="$(cat "$T/t_first")" -v b="$t1" 'BEGIN { printf "%.2f", (f - a) / (b - a) }')
echo "first 4 KiB after $(awk -v a="$t0" -v f="$(cat "$T/t_first")" 'BEGIN { printf "%.2f", f - a }') s of $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s ($ratio)"
# before: nothing until the whole file was in the store (ratio ~1)
awk -v r="$ratio" 'BEGIN { exit !(r < 0.5) }' || fail "the first bytes came at $ratio of the get's time: not streamed"

# a wrong digest, found by the supernode (mid-way) and by df get itself at the end (no supernode):
# a strict prefix of the file, then a non-zero exit naming the digest
bad=sha256:$(printf '%064d' 0)
for how in sn direct; do
  if [ $how = sn ]; then
    get --data "$T/c3$how" --digest "$bad" > "$T/out3" 2> "$T/get3.log" && fail "a get with a wrong digest exited 0"
  else
    timeout -k 5 60 "$DF" get "$url" -O - --seed-idle 0 --data "$T/c3$how" --digest "$bad" > "$T/out3" 2> "$T/get3.log" &&
      fail "a get with a wrong digest (no supernode) exited 0"
  fi
  got=$(stat -c %s "$T/out3")
  [ "$got" -lt "$size" ] || fail "with a wrong digest ($how) the reader got all $got bytes"
  grep -qi "digest" "$T/get3.log" || fail "the error ($how) does not name the digest: $(cat "$T/get3.log")"
  cmp -s "$T/out3" <(head -c "$got" "$T/www/f") || fail "the $got bytes before the failure ($how) differ"
done

# the reader leaves after 1000 bytes: the get ends with the cause, before its download would have
t0=$(now)
set +o pipefail
get --data "$T/c4" --limit-rate 2M 2> "$T/get4.log" | head -c 1000 > /dev/null
rc=${PIPESTATUS[0]}
took=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
[ "$rc" -ne 0 ] || fail "df get exited 0 after its reader went away"
grep -q "Broken pipe" "$T/get4.log" || fail "no 'Broken pipe' in: $(cat "$T/get4.log")"
awk -v t="$took" 'BEGIN { exit !(t < 3.5) }' || fail "the get went on for $took s after its reader left (the whole download takes ~4 s)"
# the download is done but the reader has not read yet (it sleeps): the get keeps its loop running
# while the stream drains (it keeps serving peers), so a SIGINT then ends it at once, saying so
peers_done() { "$DF" status --supernode "127.0.0.1:$SP" --json 2>/dev/null | grep -q '"peers_done": *[1-9]'; }
(echo "$BASHPID" > "$T/g5.pid"; exec "$DF" get "$url" -O - --supernode "127.0.0.1:$SP" --seed-idle 0 --data "$T/c5") \
  2> "$T/get5.log" | sleep 30 & # a reader that never reads
track $!
wait_for 10 "the get's pid" test -s "$T/g5.pid"
gp=$(cat "$T/g5.pid")
track "$gp"
wait_for 20 "the supernode to see the get done" peers_done
t0=$(now)
kill -INT "$gp"
for _ in $(seq 100); do kill -0 "$gp" 2>/dev/null || break; sleep 0.05; done
kill -0 "$gp" 2>/dev/null && fail "df get still runs 5 s after SIGINT while its reader sleeps"
grep -q "interrupted (signal 2) while writing to stdout" "$T/get5.log" || fail "no interruption message: $(cat "$T/get5.log")"
echo "interrupted while draining after $(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }') s"

# A source of unknown length (chunked: nginx running the file through SSI drops Content-Length and
# ranges) streams too, a piece at a time, the last byte held for the digest as ever; before, nothing
# came until the end. 20 MiB + 1 byte (a short last piece) and exactly 8 MiB (the body's end, not a
# short piece, tells the length), with no supernode and through one.
mkdir -p "$T/dyn/dyn"
head -c $((20 << 20)) "$T/www/f" "$T/www/f" "$T/www/f" > "$T/dyn/dyn/a"; printf x >> "$T/dyn/dyn/a"
head -c $((8 << 20)) "$T/www/f" > "$T/dyn/dyn/b"
DP=$(free_port)
start_nginx "$T/dyn" "$DP" "location /dyn/ { ssi on; ssi_types *; }"
hdr=$(curl -sS -D - -o /dev/null "http://127.0.0.1:$DP/dyn/a")
[[ $hdr != *Content-Length* && $hdr == *chunked* ]] || fail "the SSI source is not chunked: $hdr"
for how in direct sn; do
  sn=(); [ $how = sn ] && sn=(--supernode "127.0.0.1:$SP")
  t0=$(now)
  timeout -k 5 60 "$DF" get "http://127.0.0.1:$DP/dyn/a" -O - "${sn[@]}" --seed-idle 0 --data "$T/d6$how" --limit-rate 8M \
    2> "$T/get6$how.log" | { head -c 4096 > "$T/first6"; now > "$T/t_first6"; cat > "$T/rest6"; }
  t1=$(now)
  cat "$T/first6" "$T/rest6" | cmp -s "$T/dyn/dyn/a" - || fail "chunked ($how): the streamed output differs"
  r=$(awk -v a="$t0" -v f="$(cat "$T/t_first6")" -v b="$t1" 'BEGIN { printf "%.2f", (f - a) / (b - a) }')
  echo "chunked ($how): first 4 KiB at $r of $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s"
  awk -v r="$r" 'BEGIN { exit !(r < 0.5) }' || fail "chunked ($how): the first bytes came at $r of the get's time: not streamed"
  timeout -k 5 60 "$DF" get "http://127.0.0.1:$DP/dyn/b" -O - "${sn[@]}" --seed-idle 0 --data "$T/d7$how" > "$T/out7" 2> "$T/get7.log" ||
    fail "chunked 8 MiB ($how): $(cat "$T/get7.log")"
  cmp -s "$T/dyn/dyn/b" "$T/out7" || fail "chunked 8 MiB ($how): wrote $(stat -c %s "$T/out7") other bytes"
  timeout -k 5 60 "$DF" get "http://127.0.0.1:$DP/dyn/b" -O - "${sn[@]}" --seed-idle 0 --data "$T/d8$how" --digest "$bad" \
    > "$T/out8" 2> "$T/get8.log" && fail "chunked ($how): a get with a wrong digest exited 0"
  got=$(stat -c %s "$T/out8")
  [ "$got" -lt $((8 << 20)) ] || fail "chunked ($how): with a wrong digest the reader got all $got bytes"
  cmp -s "$T/out8" <(head -c "$got" "$T/dyn/dyn/b") || fail "chunked ($how): the $got bytes before the failure differ"
done

pass "streamed; first bytes at $ratio of the get; held last byte; reader gone after ${took} s; chunked streams too"
