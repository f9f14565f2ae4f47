# Helpers of the df proxy integration tests (test/integration/proxy_*.sh): sourced after test/lib.sh.

# start_proxy NAME FLAGS...: df proxy with store $T/NAME and log $T/NAME.log on a free loopback port
# (another one when a concurrent test took it between free_port and bind), piece server on any
# port, no push receiver unless FLAGS give --push-listen; sets PP (its port), PX (its pid, tracked)
# and M (127.0.0.1:PP, the mirror address).
start_proxy() {
  local name=$1 try i; shift
  for try in 1 2 3 4 5; do
    PP=$(free_port)
    "$DF" proxy --listen "127.0.0.1:$PP" --data "$T/$name" --peer-listen 127.0.0.1:0 --push-listen '' "$@" > "$T/$name.log" 2>&1 &
    PX=$!
    track $PX
    for i in $(seq 300); do
      if ss -Htln "sport = :$PP" | grep -q .; then M=127.0.0.1:$PP; return 0; fi
      kill -0 $PX 2>/dev/null || break
      sleep 0.05
    done
    kill $PX 2>/dev/null; wait $PX 2>/dev/null
    grep -q "listen 127.0.0.1:$PP" "$T/$name.log" || fail "df proxy $name did not start: $(tail -5 "$T/$name.log")"
  done
  fail "df proxy $name: no free port in 5 tries"
}

# proxy_stat PORT KEY: one counter of the df proxy on PORT's /v1/status (0 when absent)
proxy_stat() { curl -s "http://127.0.0.1:$1/v1/status" | awk -v k="$2:" '$1 == k {n = $2} END {print n + 0}'; }

# sent_once LOG DIR DIGEST...: fails unless the server whose access log is LOG sent each blob's bytes
# exactly once (the supernode fetches a layer with several range requests: bytes, not requests, say
# whether a layer went out once). DIR is the OCI layout the blobs' sizes come from.
sent_once() {
  local log=$1 dir=$2 d size n; shift 2
  for d in "$@"; do
    size=$(stat -c %s "$dir/blobs/sha256/${d#sha256:}") || fail "sent_once: no blob $d in $dir"
    n=$(wait_count "$size" blob_bytes "$log" "$d")
    [ "$n" -eq "$size" ] || fail "$(basename "$(dirname "$log")") sent $n bytes of $d ($size bytes) in $(blob_served "$log" "$d") GETs"
  done
}

# start_mirror_hosts N FLAGS...: N df proxy hosts (start_proxy h1..hN with FLAGS and a push receiver
# each), their push addresses in $T/hosts.txt (for df push --group) and their mirror addresses in
# the array MIRRORS (MIRRORS[0] is h1's).
start_mirror_hosts() {
  local n=$1 i port; shift
  : > "$T/hosts.txt"
  MIRRORS=()
  for i in $(seq "$n"); do
    port=$(free_port)
    start_proxy "h$i" "$@" --push-listen "127.0.0.1:$port"
    wait_port "$port"
    echo "127.0.0.1:$port" >> "$T/hosts.txt"
    MIRRORS+=("$M")
  done
}
