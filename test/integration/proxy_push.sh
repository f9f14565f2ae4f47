#!/usr/bin/env bash
# df push to hosts whose df proxy receives it: each proxy listens for pushes on its own port (the
# cluster-facing piece server), fetches the file through the swarm, writes it below its push
# directory only, and the pusher's summary says every host has it.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../proxy/lib.sh"

SP=$(free_port); start_supernode sn "$SP"
HOSTS=()
for i in 1 2 3; do
  pp=$(free_port)
  start_proxy "h$i" --supernode "127.0.0.1:$SP" --push-listen "127.0.0.1:$pp" --push-dir "$T/drop$i"
  HOSTS+=(--host "127.0.0.1:$pp")
done
make_file "$T/f.bin" 6
"$DF" push "$T/f.bin" "${HOSTS[@]}" --dest sub/f.bin --mode 0600 --supernode "127.0.0.1:$SP" --data "$T/pusher" \
  --push-timeout 60 > "$T/push.out" 2>&1 || fail "df push: $(tail -5 "$T/push.out")"
for i in 1 2 3; do
  cmp -s "$T/drop$i/sub/f.bin" "$T/f.bin" || fail "host $i: $(ls -lR "$T/drop$i" 2>&1 | head -5)"
  [ "$(stat -c %a "$T/drop$i/sub/f.bin")" = 600 ] || fail "host $i: mode $(stat -c %a "$T/drop$i/sub/f.bin")"
done
# a destination outside the push directory is refused by every host, and nothing is written
"$DF" push "$T/f.bin" "${HOSTS[@]}" --dest ../escape.bin --supernode "127.0.0.1:$SP" --data "$T/pusher" \
  --push-timeout 60 > "$T/push2.out" 2>&1 && fail "a push outside the push directory succeeded"
[ ! -e "$T/escape.bin" ] || fail "a pushed file escaped the push directory"
pass "proxy push"
