#!/usr/bin/env bash
# Sites joined by a WAN (issue 17): three sites in network namespaces (bench/sites.sh), A with the
# source, its supernode and one host, B with NB hosts, C with NC hosts, the sites in a chain A - B - C
# joined by links capped at WAN Mbit/s (inside a site uncapped). Every host gets one SIZE file at
# once, twice: with `df supernode --parent` (B's parent A, C's parent B) and with every site's
# supernode going to the source. Prints the makespan in sites B and C against the time one copy
# takes over the WAN at its rate, and the bytes on each WAN link and from the source as multiples
# of the file. Exits 1 when a copy is wrong or a run does not end within TIMEOUT seconds; 77 without
# root, network namespaces, tc or nginx.
#   SIZE=64M WAN=40 NB=5 NC=3 TIMEOUT=240 bash bench/b_multisite.sh
TEST_DEADLINE=${TEST_DEADLINE:-7200}   # a benchmark bounds its own waits; not the 285 s of a test
. "$(dirname "$0")/../test/lib.sh"
SIZE=${SIZE:-64M}
WAN=${WAN:-40}
NB=${NB:-5}
NC=${NC:-3}
TIMEOUT=${TIMEOUT:-240}
[ -x "$DF" ] || fail "no df binary at $DF (make)"
SUBNET_PREFIX=10.204
NS_PREFIX=dfbench-ms-$$-
# shellcheck source=bench/sites.sh
. "$top/bench/sites.sh"   # skips without root, namespaces, tc or nginx; deletes its namespaces on exit
cd "$T"
mkdir -p www
head -c "$(to_bytes "$SIZE")" /dev/urandom > www/f || fail "cannot write a $SIZE file"
size=$(stat -c %s www/f)
want=$(sha www/f)
SNA=10.204.1.2:8002 SNB=10.204.2.2:8002 SNC=10.204.3.2:8002
hosts=(a1)
for i in $(seq "$NB"); do hosts+=("b$i"); done
for i in $(seq "$NC"); do hosts+=("c$i"); done

# run MODE (parent | source): one distribution on a fresh network; prints the table row
run() {
  local mode=$1 h s n start secs_b secs_c ab bc src
  SITE_HOST_IP=()
  for s in A B C; do site_add $s; done
  site_host_add A src 10.204.1.1
  site_host_add A snA 10.204.1.2
  site_host_add B snB 10.204.2.2
  site_host_add C snC 10.204.3.2
  for h in "${hosts[@]}"; do
    case $h in a*) s=A n=1 ;; b*) s=B n=2 ;; c*) s=C n=3 ;; esac
    site_host_add $s "$h" "10.204.$n.$((10 + ${h#?}))"
  done
  site_link A B "$WAN"
  site_link B C "$WAN"
  site_neighbours
  rm -rf "$T/run" && mkdir -p "$T/run"
  site_nginx src 8080 "$T/www" "$T/run/nginx"
  wait_listen src 8080 || fail "nginx does not listen: $(cat "$T/run/nginx/stderr")"
  local pb=() pc=()
  [ "$mode" = parent ] && pb=(--parent "$SNA") pc=(--parent "$SNB")
  nsx snA "$DF" supernode --listen $SNA --data "$T/run/snA" > "$T/run/snA.log" 2>&1 &
  nsx snB "$DF" supernode --listen $SNB --data "$T/run/snB" "${pb[@]}" > "$T/run/snB.log" 2>&1 &
  nsx snC "$DF" supernode --listen $SNC --data "$T/run/snC" "${pc[@]}" > "$T/run/snC.log" 2>&1 &
  for s in snA snB snC; do wait_listen $s 8002 || fail "$s does not listen: $(cat "$T/run/$s.log")"; done
  ab=$(wan_bytes A B) bc=$(wan_bytes B C) src=$(tx_bytes src)
  start=$(date +%s.%N)
  for h in "${hosts[@]}"; do
    case $h in a*) s=$SNA ;; b*) s=$SNB ;; c*) s=$SNC ;; esac
    nsx "$h" sh -c "'$DF' get http://10.204.1.1:8080/f -O '$T/run/$h.out' --supernode $s --data '$T/run/$h' --seed-idle 30 \
      > '$T/run/$h.log' 2>&1 && date +%s.%N > '$T/run/$h.end'" &
  done
  for h in "${hosts[@]}"; do
    wait_for "$TIMEOUT" "$h's copy ($mode)" test -s "$T/run/$h.end"
    [ "$(sha "$T/run/$h.out")" = "$want" ] || fail "$h's copy differs ($mode)"
  done
  sleep 0.5
  ab=$(( $(wan_bytes A B) - ab )) bc=$(( $(wan_bytes B C) - bc )) src=$(( $(tx_bytes src) - src ))
  secs_b=$(cat "$T"/run/b*.end | awk -v s="$start" '{ if ($1 - s > m) m = $1 - s } END { printf "%.1f", m }')
  secs_c=$(cat "$T"/run/c*.end | awk -v s="$start" '{ if ($1 - s > m) m = $1 - s } END { printf "%.1f", m }')
  [ -n "${KEEP:-}" ] && cp -r "$T/run" "$T/run-$mode"
  net_destroy
  awk -v m="$mode" -v sz="$SIZE" -v w="$WAN" -v f="$size" -v b="$secs_b" -v c="$secs_c" -v ab="$ab" -v bc="$bc" -v src="$src" \
    'BEGIN { one = f * 8 / (w * 1e6);
      printf "| %s | %s | %d | %.1f | %.1f | %.2f | %.1f | %.2f | %.2f | %.2f |\n",
        m == "parent" ? "`--parent` (A <- B <- C)" : "every site from the source", sz, w, one, b, b / one, c, ab / f, bc / f, src / f }'
}

echo "Sites A - B - C joined by ${WAN} Mbit/s links; A: source, supernode, 1 host; B: $NB hosts; C: $NC hosts; all start at once."
echo
echo "| setup | file | WAN Mbit/s | one copy over the WAN s | makespan in B s | B / one copy | makespan in C s | WAN A-B xS | WAN B-C xS | source xS |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
run parent
[ -n "${ONLY_PARENT:-}" ] || run source
