#!/usr/bin/env bash
# One big file on loopback without caps: `df get` (straight from the source, and through a
# supernode, cold and warm) against curl, from nginx over http and over https (BearSSL against
# nginx with a throwaway certificate). Prints a markdown table; best of RUNS runs each.
#   SIZE=1G RUNS=2 bash bench/b_loopback.sh        (PROTOS="http https" by default)
#
# Each run starts cold where it says so: a new supernode store, a new client store (--seed-idle 0,
# no seeder left behind). Stores and copies live under /tmp/dftest.* (test/lib.sh's scratch dir) and
# go after each run. The ratio is df's rate over curl's writing the same file to the same disk;
# curl to /dev/null is shown too. Numbers only: nothing here passes or fails on speed.
TEST_DEADLINE=${TEST_DEADLINE:-7200}   # a benchmark bounds its own waits; not the 285 s of a test
. "$(dirname "$0")/../test/lib.sh"
SIZE=${SIZE:-1G}
RUNS=${RUNS:-2}
PROTOS=${PROTOS:-http https}
HASHSPEED=$top/$B/tools/hashspeed
[ -x "$DF" ] || fail "no df binary at $DF (make)"
"$DF" get --help >/dev/null 2>&1 || skip "df has no get command"
command -v nginx >/dev/null || skip "nginx not installed"
command -v curl >/dev/null || skip "curl not installed"
command -v openssl >/dev/null || skip "openssl not installed (the throwaway certificate)"
[ -x /usr/bin/time ] || skip "/usr/bin/time not installed (apt-get install time)"

mkdir -p "$T/www"
head -c "$SIZE" /dev/urandom >"$T/www/file" || fail "cannot write a $SIZE file under $T"
bytes=$(stat -c %s "$T/www/file")
cat "$T/www/file" >/dev/null # into the page cache, for every contender alike
sh "$top/test/tools/tls_certs.sh" "$T/pki" >/dev/null 2>&1 || fail "making the throwaway PKI (test/tools/tls_certs.sh)"

hport=$(free_port)
sport=$(free_port)
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
  server { listen 127.0.0.1:$sport ssl; root $T/www; ssl_certificate $T/pki/rsa.crt; ssl_certificate_key $T/pki/rsa.key; }
}
NGX
nginx -c "$T/nginx.conf" -p "$T" 2>"$T/nginx.stderr" &
track $!
wait_port "$hport"
wait_port "$sport"

now() { echo "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }'; }
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
CLK=$(getconf CLK_TCK)

# same_copy FILE: the copy equals the original (cmp: a digest would cost more than the transfer)
same_copy() { cmp -s "$T/www/file" "$1" || fail "$1 differs from the original"; }

# timed_curl OUT URL: seconds for curl to fetch URL into OUT (a file, or /dev/null)
timed_curl() {
  local t0 out=$1 url=$2
  t0=$(now)
  curl -fsS --cacert "$T/pki/ca.crt" -o "$out" "$url" || fail "curl $url failed"
  since "$t0"
}

# timed_get URL SUPERNODE|-: one df get of URL into a new store; prints "SECONDS CPU_S RSS_MB ORIGIN"
# where ORIGIN is df get's own summary of where the bytes came from
timed_get() {
  local url=$1 sn=$2 t0 s origin
  local -a args=(get "$url" -O "$T/out" --data "$T/client" --seed-idle 0 --cacert "$T/pki/ca.crt")
  [ "$sn" != - ] && args+=(--supernode "$sn")
  rm -rf "$T/client" "$T/out"
  t0=$(now)
  /usr/bin/time -f '%U %S %M' -o "$T/get.time" "$DF" "${args[@]}" >"$T/get.log" 2>&1 ||
    fail "df ${args[*]} failed: $(tail -n 3 "$T/get.log")"
  s=$(since "$t0")
  same_copy "$T/out"
  origin=$(grep -o '(peers [^)]*)' "$T/get.log" | tr -d '(),' | tr ' ' '_')
  # through a supernode every byte must have come from it (a fallback to the source is no result)
  [ "$sn" = - ] || [[ $origin == *_source_0_B* ]] ||
    fail "df get via $sn did not get the file from the supernode: $(tail -n 2 "$T/get.log")"
  awk -v s="$s" -v o="${origin:-direct}" '{ printf "%s %.2f %.1f %s\n", s, $1 + $2, $3 / 1024, o }' "$T/get.time"
  rm -rf "$T/client" "$T/out"
}

# best "A B ..." of lines "SECONDS ...": the line with the fewest seconds
best() { sort -g | head -n 1; }

row() { # label seconds_line reference_seconds [note]
  local label=$1 line=$2 ref=$3 s rest
  read -r s rest <<<"$line"
  awk -v l="$label" -v s="$s" -v r="$ref" -v b="$bytes" -v rest="$rest" -v note="${4:-}" 'BEGIN {
    n = split(rest, f, " ")
    cpu = (n >= 1) ? f[1] : "-"; rss = (n >= 2) ? f[2] : "-"; sn = (n >= 4) ? f[4] : "-"
    printf "| %s | %.2f | %d | %.2f | %s | %s | %s |%s\n", l, s, b / s / 1e6, r / s, cpu, rss, sn, note }'
}

declare -A R
for proto in $PROTOS; do
  case $proto in
  http) port=$hport ;;
  https) port=$sport ;;
  *) fail "PROTOS: http or https, not '$proto'" ;;
  esac
  url=$proto://127.0.0.1:$port/file
  nul=() file=() direct=() cold=() warm=()
  for _ in $(seq "$RUNS"); do
    # the contenders take turns (the machine is shared: noise hits them alike); the best run counts
    nul+=("$(timed_curl /dev/null "$url")")
    file+=("$(timed_curl "$T/out" "$url")")
    same_copy "$T/out"
    rm -f "$T/out"
    direct+=("$(timed_get "$url" -)")
    # a fresh supernode: the first get makes it fetch from the source (cold), the second finds the
    # task complete in its store (warm: only the supernode -> client leg and the client's checks)
    snport=$(free_port)
    rm -rf "$T/sn"
    "$DF" supernode --listen "127.0.0.1:$snport" --data "$T/sn" --cacert "$T/pki/ca.crt" >"$T/sn.log" 2>&1 &
    snpid=$!
    track "$snpid"
    wait_port "$snport"
    c0=$(ticks "$snpid")
    line=$(timed_get "$url" "127.0.0.1:$snport")
    c1=$(ticks "$snpid")
    cold+=("$line $(awk -v a="$c0" -v b="$c1" -v hz="$CLK" 'BEGIN { printf "%.2f", (b - a) / hz }')")
    line=$(timed_get "$url" "127.0.0.1:$snport")
    c2=$(ticks "$snpid")
    warm+=("$line $(awk -v a="$c1" -v b="$c2" -v hz="$CLK" 'BEGIN { printf "%.2f", (b - a) / hz }')")
    kill "$snpid" 2>/dev/null
    wait "$snpid" 2>/dev/null
    rm -rf "$T/sn"
  done
  b_nul=$(printf '%s\n' "${nul[@]}" | best)
  b_file=$(printf '%s\n' "${file[@]}" | best)
  R[$proto]=$(
    row "curl -o /dev/null ← nginx" "$b_nul" "$b_file"
    row "curl -o FILE ← nginx (reference)" "$b_file" "$b_file"
    row "df get ← nginx (no supernode)" "$(printf '%s\n' "${direct[@]}" | best)" "$b_file"
    row "df get ← supernode ← nginx, cold supernode" "$(printf '%s\n' "${cold[@]}" | best)" "$b_file"
    row "df get ← supernode, warm (task in its store)" "$(printf '%s\n' "${warm[@]}" | best)" "$b_file"
  )
done

echo "## b_loopback: one $(awk -v b="$bytes" 'BEGIN { printf "%g", b / 1073741824 }') GiB file on loopback, no caps, best of $RUNS"
echo
echo "Machine: $(nproc) cores, $(uname -r); $(nginx -v 2>&1 | sed 's/.*: //'), $(curl --version | head -n 1 | cut -d' ' -f1-2)." \
  "https: nginx with an RSA-2048 throwaway certificate (test/tools/tls_certs.sh), df and curl given its CA."
echo "ratio: the row's rate over curl writing the same file to the same disk (curl -o FILE)."
echo "df get rows start with an empty client store and leave no seeder (--seed-idle 0); cold: a new"
echo "supernode that fetches from nginx while it serves; warm: the same supernode once it has the file."
echo
for proto in $PROTOS; do
  echo "| $proto | s | MB/s | ratio | df get CPU s | df get peak RSS MB | supernode CPU s |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  echo "${R[$proto]}"
  echo
done
if [ -x "$HASHSPEED" ]; then
  read -r xxh md5 sha both _ <<<"$("$HASHSPEED" --row --seconds 0.3)"
  gb=$(awk -v b="$bytes" 'BEGIN { print b / 1e9 }')
  echo "Digest speed on this machine (tools/hashspeed, one core): xxh3-128 $xxh MB/s, MD5 $md5 MB/s," \
    "SHA-256 $sha MB/s, MD5+SHA-256 $both MB/s. A SHA-256 pass over this file costs" \
    "$(awk -v g="$gb" -v m="$sha" 'BEGIN { printf "%.1f", g * 1000 / m }') CPU s: a cold supernode makes one in" \
    "a low-priority thread while it serves (in the supernode CPU column); a client makes one only for a digest it was given."
  echo
fi
echo "Target: df get through a supernode >= 0.8 x curl, over http and over https."
