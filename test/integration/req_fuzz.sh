#!/usr/bin/env bash
# Request-level fuzzing of the running binaries (issue 13 item 18): a supernode (with a token), a
# seeding df get's piece server, and a df proxy (its registry mirror / HTTP proxy front, its piece
# server and its push receiver) take a bounded stream of random and mutated requests
# (test/tools/req_fuzz.py: valid heads with garbage bodies, mutated registrations, reports, pushes,
# broken framing, cut and slow requests; with the token, a wrong one and none) for a fixed time.
# Then every process must be alive and still do its job: a df get through the supernode and the
# fuzzed seeder gets the right bytes, the proxy answers its status, and a push lands.
#
# Short in make test/check (REQ_FUZZ_SECONDS: 20 s in the ASan pass, where the memory errors that
# request fuzzing finds show; 8 s in the musl pass, a smoke test of the same); a long run, e.g. 30 minutes:
#   REQ_FUZZ_SECONDS=1800 B=build/asan bash test/integration/req_fuzz.sh
# The seed is printed; REQ_FUZZ_SEED=N repeats a run (up to the servers' timing).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../proxy/lib.sh"
command -v python3 >/dev/null || skip "python3 not installed (.ci/install installs it)"
if [[ $B == *asan* ]]; then SECS=${REQ_FUZZ_SECONDS:-20}; else SECS=${REQ_FUZZ_SECONDS:-8}; fi
SEED=${REQ_FUZZ_SEED:-$(( (RANDOM << 15) | RANDOM ))}
echo "req_fuzz: seed $SEED, $SECS s (repeat: REQ_FUZZ_SEED=$SEED REQ_FUZZ_SECONDS=$SECS B=$B bash test/integration/req_fuzz.sh)"
cd "$T"

logs() { for f in "$T"/*.log "$T"/d1/seeder.log; do [ -f "$f" ] && { echo "--- $f"; tail -n 40 "$f"; }; done; }
die() { logs >&2; fail "$*"; }

TOK=$(head -c 24 /dev/urandom | base64 -w0 | tr '+/' '-_')
(umask 077; printf '%s\n' "$TOK" > token)
mkdir -p www
make_file www/f 3
want=$(sha www/f)
NP=$(free_port); start_nginx "$T/www" "$NP"
URL=http://127.0.0.1:$NP/f
SP=$(free_port); start_supernode sn "$SP" --token-file "$T/token"
SNPID=$(cat "$T/sn.pid")

# a seeding df get: its piece server is one target, and it serves the check download afterwards
"$DF" get "$URL" -O out1 --supernode "127.0.0.1:$SP" --token-file "$T/token" --data "$T/d1" --seed-idle 600 \
  > get1.log 2>&1 || die "first df get failed: $(cat get1.log)"
track_seeder "$T/d1"
SEEDPID=$(cat "$T/d1/seeder.pid" 2>/dev/null) || die "no seeder pid"
for _ in $(seq 100); do grep -q 'port [0-9]' "$T/d1/seeder.log" 2>/dev/null && break; sleep 0.1; done
SEEDPORT=$(grep -o 'port [0-9]*' "$T/d1/seeder.log" | grep -o '[0-9]*$' | head -1)
[ -n "$SEEDPORT" ] || die "no seeder port"
TASK=$(DF_TOKEN=$TOK "$DF" status --supernode "127.0.0.1:$SP" --json | grep -o '"id":"[0-9a-f]*"' | head -1 | cut -d'"' -f4)
[ -n "$TASK" ] || die "no task id from df status"

# df proxy: mirror of the nginx "registry" (answers 404 to /v2/: the mirror's error paths), piece
# server, push receiver; the same token
PUSHPORT=$(free_port)
start_proxy px --supernode "127.0.0.1:$SP" --token-file "$T/token" --registries "http://127.0.0.1:$NP" \
  --push-listen "127.0.0.1:$PUSHPORT" --push-dir "$T/push"
PXPID=$PX
wait_port "$PUSHPORT"
PXPIECE=$(proxy_stat "$PP" piece-port)
[ "$PXPIECE" -gt 0 ] || die "no piece port from the proxy's status"

python3 "$top/test/tools/req_fuzz.py" --seed "$SEED" --seconds "$SECS" --token="$TOK" \
  --allow "127.0.0.1:$NP" --allow "127.0.0.1:1" --task "$TASK" --digest "sha256:$want" \
  "supernode=127.0.0.1:$SP" "piece=127.0.0.1:$SEEDPORT" "front=127.0.0.1:$PP" "piece=127.0.0.1:$PXPIECE" \
  "push=127.0.0.1:$PUSHPORT" > fuzz.out 2>&1; rc=$?
cat fuzz.out

# every process is alive ...
for p in "supernode:$SNPID" "seeder:$SEEDPID" "proxy:$PXPID"; do
  pid=${p#*:}
  kill -0 "$pid" 2>/dev/null && continue
  st=$(wait "$pid" 2>/dev/null; echo $?)   # our child (not the seeder): its exit status, 128+N for signal N
  die "${p%%:*} (pid $pid) died under request fuzzing (exit status $st; seed $SEED)"
done
[ $rc -eq 0 ] || die "req_fuzz.py: exit $rc (seed $SEED)"
grep -E "AddressSanitizer|runtime error|Segmentation" "$T"/*.log "$T"/d1/seeder.log && die "a sanitizer report (seed $SEED)"

# ... and still serves: a df get through the supernode gets the right bytes (from the fuzzed seeder
# or the supernode), the proxy answers, and a push lands
"$DF" get "$URL" -O out2 --supernode "127.0.0.1:$SP" --token-file "$T/token" --data "$T/d2" --seed-idle 0 \
  --no-back-to-source > get2.log 2>&1 || die "df get after fuzzing failed (seed $SEED): $(cat get2.log)"
[ "$(sha out2)" = "$want" ] || die "df get after fuzzing: wrong bytes (seed $SEED)"
code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PP/v1/status")
[ "$code" = 200 ] || die "proxy /v1/status answered $code after fuzzing"
curl -s -m 60 -H "X-DF-Token: $TOK" --data-binary "$(printf 'url: %s\ndigest: sha256:%s\ndest: after/f\nmode: 0600\n' "$URL" "$want")" \
  "http://127.0.0.1:$PUSHPORT/v1/push" > push.out || die "push after fuzzing: curl failed"
grep -q '^ok: ' push.out || die "push after fuzzing: $(cat push.out)"
[ "$(sha push/after/f)" = "$want" ] || die "pushed file differs"
# a malformed push body is refused with its cause (its lines after a bad one were dropped silently)
code=$(curl -s -m 10 -o body.out -w '%{http_code}' -H "X-DF-Token: $TOK" \
  --data-binary "$(printf 'url: %s\ndigest: sha256:%s\nbad line\ndest: x\n' "$URL" "$want")" "http://127.0.0.1:$PUSHPORT/v1/push")
[ "$code" = 400 ] && grep -q malformed body.out || die "malformed push body: $code $(cat body.out)"
[ ! -e push/x ] || die "a malformed push wrote push/x"
pass "req_fuzz: $SECS s of fuzzed requests (seed $SEED), every process alive and serving"
