# Helpers of the df proxy integration tests (test/integration/proxy_*.sh): sourced after test/lib.sh.

# start_proxy NAME FLAGS...: df proxy with store $T/NAME and log $T/NAME.log on a free loopback port
# (another one when a concurrent test took it between free_port and bind), piece server on any
# port; sets PP (its port), PX (its pid, tracked) and M (127.0.0.1:PP, the mirror address).
start_proxy() {
  local name=$1 try i; shift
  for try in 1 2 3 4 5; do
    PP=$(free_port)
    "$DF" proxy --listen "127.0.0.1:$PP" --data "$T/$name" --peer-listen 127.0.0.1:0 "$@" > "$T/$name.log" 2>&1 &
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
