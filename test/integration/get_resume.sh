#!/usr/bin/env bash
# Resume: kill -9 a df get half way, run the same command again: it fetches only what is missing,
# with a supernode and without one. The other peers of a swarm finish regardless.
. "$(dirname "$0")/../lib.sh"
cd "$T"
mkdir -p www
make_file www/big 32
NP=$(free_port); start_nginx "$T/www" "$NP"
SP=$(free_port); start_supernode sn "$SP"
URL=http://127.0.0.1:$NP/big
size=$(stat -c %s www/big)

# a peer that finishes while another is killed
"$DF" get "$URL" -O other --supernode "127.0.0.1:$SP" --data "$T/o" --seed-idle 10 -q > other.log 2>&1 &
opid=$!; track $opid

resume_case() { # name, extra flags...
  local name=$1; shift
  "$DF" get "$URL" -O "$name" --data "$T/$name.d" --seed-idle 0 --limit-rate 8M "$@" > "$name.log1" 2>&1 &
  local pid=$!; track $pid
  # wait until a quarter of the file is in the store, then kill -9
  for _ in $(seq 200); do
    [ "$(du -sk "$T/$name.d" 2>/dev/null | cut -f1)" -gt $(( size / 4096 )) ] && break
    sleep 0.05
  done
  kill -9 $pid; wait $pid 2>/dev/null
  [ ! -e "$name" ] || fail "$name exists under its final name after kill -9"
  within 120 "$DF" get "$URL" -O "$name" --data "$T/$name.d" --seed-idle 0 "$@" > "$name.log2" 2>&1 || fail "$name: rerun failed: $(cat "$name.log2")"
  [ "$(sha "$name")" = "$(sha www/big)" ] || fail "$name differs after resume"
  grep -q "resumed" "$name.log2" || fail "$name: rerun does not say it resumed: $(cat "$name.log2")"
  fetched=$(grep -o 'fetched [0-9]*' "$name.log2" | grep -o '[0-9]*' | tail -1)
  [ -n "$fetched" ] || fail "$name: no 'fetched N' in summary: $(cat "$name.log2")"
  [ "$fetched" -lt "$size" ] || fail "$name: rerun fetched $fetched bytes, the whole file is $size"
  echo "$name: rerun fetched $fetched of $size bytes"
}
resume_case viasuper --supernode "127.0.0.1:$SP"
resume_case direct
await_ok $opid 120 "the other peer"
track_seeder "$T/o"
[ "$(sha other)" = "$(sha www/big)" ] || fail "other peer's copy differs"
pass get_resume
