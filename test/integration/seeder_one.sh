#!/usr/bin/env bash
# One seeder per store. Every df get that seeds after it exits used to fork a seeder of its own: a
# host running gets in a loop had one process (a listening port, ~1 MB, a dozen descriptors, its
# registrations) per get for [get] seed_idle (300 s). Now the first seeder listens on the store's
# seeder.sock and the gets after it hand it their tasks: it registers and seeds them all. A get with
# another configuration (here another --filter) is not handed over: it gets its own. A seeder that
# leaves takes its socket with it. The tasks it seeds are served from it to another host.
. "$(dirname "$0")/../lib.sh"
cd "$T"
mkdir -p www
for i in 1 2 3 4 5 6; do make_file "www/f$i" 1; done
NP=$(free_port); start_nginx "$T/www" "$NP"
SP=$(free_port); start_supernode sn "$SP"
seeders() { ps -eo pid=,args= | awk -v df="$DF" -v d="--data $T/st " '$2 == df && index($0, d) { print $1 }'; }
CLEANUPS+=('for p in $(seeders); do kill $p; done')
# the last URL carries a signature (--filter sig): the seeder's log shows it redacted, as the get's
url() { [ "$1" = 5 ] && echo "http://127.0.0.1:$NP/f$1?sig=SECRETSIG" || echo "http://127.0.0.1:$NP/f$1"; }
# the first get seeds for 3 s only; the later ones ask 60, which the seeder then keeps
for i in 1 2 3 4 5; do
  "$DF" get "$(url $i)" -O "out$i" --supernode "127.0.0.1:$SP" --data "$T/st" --seed-idle "$([ $i = 1 ] && echo 3 || echo 60)" \
    --filter sig > "get$i.log" 2>&1 ||
    fail "get $i: $(cat "get$i.log")"
  cmp -s "out$i" "www/f$i" || fail "out$i differs"
done
sleep 5
n=$(seeders | wc -l)
[ "$n" -eq 1 ] || fail "$n seeder processes for one store 5 s after 5 gets: $(seeders | tr '\n' ' ')"
[ -S st/seeder.sock ] || fail "the seeder has no socket"
for i in 2 3 4 5; do grep -q "the store's running seeder seeds it" "get$i.log" || fail "get $i did not hand its seeding over: $(cat "get$i.log")"; done
grep -c "handed over by a df get" st/seeder.log | grep -qx 4 || fail "the seeder did not take 4 tasks: $(cat st/seeder.log)"
grep -q "f5?sig=REDACTED" st/seeder.log || fail "the seeder does not name the handed-over URL redacted: $(cat st/seeder.log)"
! grep -q SECRETSIG st/seeder.log || fail "the seeder logged a handed-over URL's secret: $(grep SECRETSIG st/seeder.log)"
# every task is registered at the supernode by that one seeder's piece server
port=$(sed -n 's/.*seeding .* on port \([0-9]*\) until.*/\1/p' st/seeder.log | head -n 1)
st=$("$DF" status --supernode "127.0.0.1:$SP")
[ "$(grep -c "127.0.0.1:$port " <<< "$st")" -eq 5 ] || fail "the seeder (port $port) is not registered for the 5 tasks: $st"
# another host gets f4: from the seeder, whose task it took over
"$DF" get "http://127.0.0.1:$NP/f4" -O other4 --supernode "127.0.0.1:$SP" --data "$T/other" --seed-idle 0 --filter sig > other.log 2>&1 ||
  fail "the other host's get: $(cat other.log)"
cmp -s other4 www/f4 || fail "the other host's copy differs"
# another configuration: a seeder of its own
"$DF" get "http://127.0.0.1:$NP/f6" -O out6 --supernode "127.0.0.1:$SP" --data "$T/st" --seed-idle 60 --filter other > get6.log 2>&1 ||
  fail "get 6: $(cat get6.log)"
n=$(seeders | wc -l)
[ "$n" -eq 2 ] || fail "a get of another configuration: $n seeders, wanted 2"
# a seeder that leaves removes its socket (the newest seeder holds the name: stop both)
for p in $(seeders); do kill "$p"; done
wait_for 10 "the seeders leave" eval '[ -z "$(seeders)" ]'
[ ! -e st/seeder.sock ] || fail "seeder.sock left behind by the seeders that left"
# and its pid file, which would name another process once the pid is reused
[ ! -e st/seeder.pid ] || fail "seeder.pid left behind by the seeders that left: $(cat st/seeder.pid)"
pass "seeder_one: 5 gets, 1 seeder; another configuration, its own"
