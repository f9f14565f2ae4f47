#!/usr/bin/env bash
# The first pull on a host (issue 16 item 5): skopeo copying an image straight from a real registry
# against the same copy through a fresh df proxy and a fresh supernode; and curl against `df get`
# through a cold supernode for one big file from nginx, keeping its copy (--seed-idle 0) and not
# (--no-keep). Prints markdown tables; numbers only.
#   ROUNDS=3 IMG_MB=105 SIZE=512M bash bench/b_firstpull.sh
#   SN_FLAGS="--source-streams 1" PX_FLAGS=... ONLY=image|get: flags for every supernode / df proxy
#   started, and one half of the bench alone (for experiments)
#
# Every df round starts cold: a new supernode and a new proxy (or client) with new, empty store dirs.
# Rounds alternate direct and through-df so the shared machine's noise hits both alike. Only the
# copy is timed (not the start of the daemons, not the check of the copy afterwards).
TEST_DEADLINE=${TEST_DEADLINE:-3600}   # a benchmark bounds its own waits; not the 285 s of a test
. "$(dirname "$0")/../test/lib.sh"
. "$top/test/registry/lib.sh"
. "$top/test/proxy/lib.sh"
ROUNDS=${ROUNDS:-3}
ONLY=${ONLY:-}
read -r -a sn_flags <<<"${SN_FLAGS:-}"
read -r -a px_flags <<<"${PX_FLAGS:-}"
IMG_MB=${IMG_MB:-105}
SIZE=${SIZE:-512M}
[ -x "$DF" ] || fail "no df binary at $DF (make)"
for c in docker-registry skopeo nginx curl; do
  command -v "$c" >/dev/null || skip "$c not installed (bash .ci/install)"
done

now() { echo "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }'; }
stats() { # "s1 s2 ...": min median max
  tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { printf "%.2f %.2f %.2f", v[1], v[int((NR + 1) / 2)], v[NR] }'
}

# --- the image: one big layer of IMG_MB MiB of random bytes, one small layer, a config (3 blobs)
make_test_image "$T/img" df/bench:v1 "$IMG_MB" >/dev/null
RP=$(free_port); start_registry "$RP"
REG=127.0.0.1:$RP
push_image "$T/img" df/bench:v1 "$RP" || fail "push: $OUT"
img_bytes=$IMG_BYTES
for f in "$T/registry-$RP"/storage -; do [ "$f" = - ] || find "$f" -type f -exec cat {} + >/dev/null; done # page cache

# pull_once MIRROR: seconds for skopeo to copy the image into a new dir (MIRROR empty: straight)
pull_once() {
  local conf=$REG_CT/bench-registries.conf t0 s
  registries_conf "$conf" "$REG" "$1"
  reg_authfile "" "$REG" ${1:+"$1"}
  rm -rf "$T/pulled"
  sync # the last round's dirty pages are written back before, not during, this one's clock
  t0=$(now)
  OUT=$(reg_skopeo --registries-conf "$conf" --policy "$REG_CT/policy.json" copy --src-authfile "$REG_AUTHFILE" \
    "docker://$REG/df/bench:v1" "dir:$T/pulled" 2>&1) || fail "skopeo copy (mirror '${1:-none}'): $OUT"
  s=$(since "$t0")
  cmp -s "$T/pulled/${IMG_BIG#sha256:}" "$T/img/blobs/sha256/${IMG_BIG#sha256:}" || fail "the pulled big layer differs"
  rm -rf "$T/pulled"
  echo "$s"
}

# cpu_s PID: the CPU seconds (user + system) process PID has used so far
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$1/stat"; }
direct=() viadf=() sncpu=() pxcpu=()
for r in $([ "$ONLY" = get ] || seq "$ROUNDS"); do
  direct+=("$(pull_once "")")
  SP=$(free_port)
  rm -rf "$T/sn$r" "$T/px$r"
  start_supernode "sn$r" "$SP" "${sn_flags[@]}"
  start_proxy "px$r" --registry "http://$REG" --supernode "127.0.0.1:$SP" "${px_flags[@]}"
  viadf+=("$(pull_once "$M")")
  sncpu+=("$(cpu_s "$(cat "$T/sn$r.pid")")") pxcpu+=("$(cpu_s "$PX")")
  [ "$(proxy_stat "$PP" blobs-p2p)" -ge 1 ] || fail "round $r: no blob went through the swarm: $(curl -s "http://$M/v1/status")"
  kill "$PX" "$(cat "$T/sn$r.pid")" 2>/dev/null
  wait "$PX" "$(cat "$T/sn$r.pid")" 2>/dev/null
  rm -rf "$T/sn$r" "$T/px$r"
done
read -r dmin dmed dmax <<<"$(stats <<<"${direct[*]}")"
read -r fmin fmed fmax <<<"$(stats <<<"${viadf[*]}")"

curls=() csyncs=() gets=() nokeep=() curlpipe=() getpipe=()
if [ "$ONLY" != image ]; then
# --- one big file: curl against df get through a cold supernode (as bench/b_loopback.sh's http rows)
mkdir -p "$T/www"
head -c "$SIZE" /dev/urandom >"$T/www/file" || fail "cannot write a $SIZE file under $T"
bytes=$(stat -c %s "$T/www/file")
want=$(sha256sum "$T/www/file" | cut -d' ' -f1)
cat "$T/www/file" >/dev/null
hport=$(free_port)
cat >"$T/nginx.conf" <<NGX
daemon off;
worker_processes 1;
pid $T/nginx.pid;
error_log $T/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $T; proxy_temp_path $T; fastcgi_temp_path $T; uwsgi_temp_path $T; scgi_temp_path $T;
  sendfile on; keepalive_requests 10000;
  server { listen 127.0.0.1:$hport; root $T/www; }
}
NGX
nginx -c "$T/nginx.conf" -p "$T" 2>"$T/nginx.stderr" &
track $!
wait_port "$hport"
url=http://127.0.0.1:$hport/file
# cold_get NAME FLAGS...: one df get with FLAGS through a new supernode NAME; its seconds in $took
# (not echoed: in a $(...) subshell a fail would not end the bench, nor its trap stop the supernode)
cold_get() {
  local sn=$1 sp t0
  shift
  sp=$(free_port)
  rm -rf "$T/$sn" "$T/client"
  start_supernode "$sn" "$sp" "${sn_flags[@]}"
  t0=$(now)
  "$DF" get "$url" -O "$T/out" --data "$T/client" "$@" --supernode "127.0.0.1:$sp" >"$T/get.log" 2>&1 ||
    fail "df get $* through the supernode failed: $(tail -n 3 "$T/get.log")"
  took=$(since "$t0")
  grep -q 'source 0 B' "$T/get.log" || fail "df get $* did not get the file from the supernode: $(tail -n 2 "$T/get.log")"
  cmp -s "$T/www/file" "$T/out" || fail "df get $*: the file differs"
  kill "$(cat "$T/$sn.pid")" 2>/dev/null
  wait "$(cat "$T/$sn.pid")" 2>/dev/null
  rm -rf "$T/$sn" "$T/client" "$T/out"
}
for r in $(seq "$ROUNDS"); do
  rm -f "$T/out"
  t0=$(now)
  curl -fsS -o "$T/out" "$url" || fail "curl $url failed"
  curls+=("$(since "$t0")")
  cmp -s "$T/www/file" "$T/out" || fail "curl's copy differs"
  rm -f "$T/out"
  # the same with the file on disk at the end, as df get leaves it (it fsyncs before the rename)
  t0=$(now)
  curl -fsS -o "$T/out" "$url" && sync "$T/out" || fail "curl $url && sync failed"
  csyncs+=("$(since "$t0")")
  rm -f "$T/out"
  cold_get "gsn$r" --seed-idle 0
  gets+=("$took")
  cold_get "ksn$r" --no-keep # the store's file becomes the output (no copy)
  nokeep+=("$took")
  # into a pipe: curl | sha256sum against df get -O - | sha256sum (a cold supernode)
  t0=$(now)
  h=$(curl -fsS "$url" | sha256sum | cut -d' ' -f1)
  curlpipe+=("$(since "$t0")")
  [ "$h" = "$want" ] || fail "curl | sha256sum: $h, not $want"
  sp=$(free_port)
  rm -rf "$T/psn$r" "$T/client"
  start_supernode "psn$r" "$sp" "${sn_flags[@]}"
  t0=$(now)
  h=$("$DF" get "$url" -O - --data "$T/client" --seed-idle 0 --supernode "127.0.0.1:$sp" 2>"$T/get.log" | sha256sum | cut -d' ' -f1)
  getpipe+=("$(since "$t0")")
  [ "$h" = "$want" ] || fail "df get -O - | sha256sum: $h, not $want: $(tail -n 2 "$T/get.log")"
  kill "$(cat "$T/psn$r.pid")" 2>/dev/null
  wait "$(cat "$T/psn$r.pid")" 2>/dev/null
  rm -rf "$T/psn$r" "$T/client"
done
fi
read -r cmin cmed cmax <<<"$(stats <<<"${curls[*]}")"
read -r smin smed smax <<<"$(stats <<<"${csyncs[*]}")"
read -r gmin gmed gmax <<<"$(stats <<<"${gets[*]}")"
read -r nmin nmed nmax <<<"$(stats <<<"${nokeep[*]}")"
read -r pmin pmed pmax <<<"$(stats <<<"${curlpipe[*]}")"
read -r qmin qmed qmax <<<"$(stats <<<"${getpipe[*]}")"

echo "## b_firstpull: the first pull on a host, loopback, $ROUNDS rounds each"
echo
echo "Machine: $(nproc) cores (shared), $(uname -r); docker-registry $(docker-registry --version 2>/dev/null | awk '{print $NF}'), $(skopeo --version)."
echo "Image: $(awk -v b="$img_bytes" 'BEGIN { printf "%.0f", b / 1e6 }') MB in 3 blobs (one big layer, one small, a config);"
echo "skopeo copy docker:// → dir:. Through df: a new supernode and a new df proxy (empty stores) every round."
echo "ratio: median over the direct median (target: image ≤ 1.25x; df get ≥ 0.9x curl's rate, i.e. time ≤ 1.11x)."
echo
echo "| first pull | min s | median s | max s | ratio |"
echo "|---|---:|---:|---:|---:|"
if [ "$ONLY" != get ]; then
echo "| skopeo ← registry (direct) | $dmin | $dmed | $dmax | 1.00 |"
echo "| skopeo ← df proxy ← supernode ← registry, all cold | $fmin | $fmed | $fmax | $(awk -v a="$fmed" -v b="$dmed" 'BEGIN { printf "%.2f", a / b }') |"
fi
if [ "$ONLY" != image ]; then
echo "| curl -o FILE ← nginx, $(awk -v b="$bytes" 'BEGIN { printf "%.0f MB", b / 1e6 }') | $cmin | $cmed | $cmax | 1.00 |"
echo "| curl -o FILE && sync FILE (on disk, as df get leaves it) | $smin | $smed | $smax | $(awk -v a="$smed" -v b="$cmed" 'BEGIN { printf "%.2f", a / b }') |"
echo "| df get --seed-idle 0 ← cold supernode ← nginx | $gmin | $gmed | $gmax | $(awk -v a="$gmed" -v b="$cmed" 'BEGIN { printf "%.2f", a / b }') (rate $(awk -v a="$gmed" -v b="$cmed" 'BEGIN { printf "%.2f", b / a }')x curl) |"
echo "| df get --no-keep ← cold supernode ← nginx | $nmin | $nmed | $nmax | $(awk -v a="$nmed" -v b="$cmed" 'BEGIN { printf "%.2f", a / b }') (rate $(awk -v a="$nmed" -v b="$cmed" 'BEGIN { printf "%.2f", b / a }')x curl) |"
echo "| curl URL \| sha256sum | $pmin | $pmed | $pmax | 1.00 |"
echo "| df get URL -O - \| sha256sum ← cold supernode | $qmin | $qmed | $qmax | $(awk -v a="$qmed" -v b="$pmed" 'BEGIN { if (b > 0) printf "%.2f", a / b }') |"
fi
echo
[ "$ONLY" = get ] || echo "CPU s used per pull through df (whole life, start included): supernode ${sncpu[*]}; df proxy ${pxcpu[*]}."
echo "Rounds (s): direct ${direct[*]}; through df ${viadf[*]}; curl ${curls[*]}; curl && sync ${csyncs[*]}; df get ${gets[*]}; df get --no-keep ${nokeep[*]}; curl | sha256sum ${curlpipe[*]}; df get -O - | sha256sum ${getpipe[*]}."
