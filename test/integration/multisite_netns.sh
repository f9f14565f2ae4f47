#!/usr/bin/env bash
# Three sites in network namespaces (issue 17): A holds the source (nginx), its supernode and two
# hosts; B's supernode has A's as parent, C's has B's (a tree: A <- B <- C). Each site is a bridge,
# the sites are joined by "WAN" links capped at 40 Mbit/s (A-B, B-C), links inside a site are not
# capped (bench/sites.sh). Every host of every site gets one file at once: every copy is right, each
# WAN link carries at most 1.05x the file in TCP payload over the whole run (counted on the WAN veth,
# both ways, less each frame's headers: those are 3-5% of the wire bytes and vary with the kernel's
# batching; what is left over 1.00x is HTTP and TCP retransmissions of segments dropped past the
# counter, which grow when the machine is busy), no child supernode fetched any piece twice (its
# log names every piece given up, duplicated or dropped), the source sends about one copy, and the child supernodes count the file as from their parent site.
# Then A's supernode is stopped: B's next miss falls back to the source, saying why.
# Root namespace untouched: namespaces, veths and bridges of this run only, deleted on exit.
. "$(dirname "$0")/../lib.sh"
SUBNET_PREFIX=10.203            # distinct from the bench's 10.201/16 and push_netns's 10.202/16
NS_PREFIX=dftest-ms-$$-
# shellcheck source=../../bench/sites.sh
. "$top/bench/sites.sh"   # skips without root, namespaces, tc or nginx; deletes its namespaces on exit
cd "$T"

WAN=40
mb=8
[[ $B == *asan* ]] && mb=4
mkdir -p www
make_file www/f "$mb"
make_file www/g 2
size=$(stat -c %s www/f)
want=$(sha www/f)

for s in A B C; do site_add $s; done
site_host_add A src 10.203.1.1
site_host_add A snA 10.203.1.2
site_host_add B snB 10.203.2.2
site_host_add C snC 10.203.3.2
hosts=(a1 a2 b1 b2 b3 c1 c2)
for h in "${hosts[@]}"; do
  case $h in a*) s=A n=1 ;; b*) s=B n=2 ;; c*) s=C n=3 ;; esac
  site_host_add $s "$h" "10.203.$n.$((10 + ${h#?}))"
done
site_link A B $WAN
site_link B C $WAN
site_neighbours

site_nginx src 8080 "$T/www" "$T/nginx"
track $!
wait_listen src 8080 || fail "nginx does not listen in site A: $(cat "$T/nginx/stderr" "$T/nginx/error.log")"
URL=http://10.203.1.1:8080
SNA=10.203.1.2:8002 SNB=10.203.2.2:8002 SNC=10.203.3.2:8002
sn() { # HOST LISTEN [flags]
  local h=$1 l=$2; shift 2
  nsx "$h" "$DF" supernode --listen "$l" --data "$T/$h" "$@" > "$h.log" 2>&1 &
  track $!
  wait_listen "$h" 8002 || fail "$h does not listen: $(cat "$h.log")"
}
sn snA $SNA
sn snB $SNB --parent $SNA
sn snC $SNC --parent $SNB
super_of() { case $1 in a*) echo $SNA ;; b*) echo $SNB ;; c*) echo $SNC ;; esac; }

ab0=$(wan_payload A B) bc0=$(wan_payload B C) wab0=$(wan_bytes A B) src0=$(tx_bytes src)
start=$(date +%s.%N)
for h in "${hosts[@]}"; do
  nsx "$h" "$DF" get "$URL/f" -O "$T/$h.out" --supernode "$(super_of "$h")" --data "$T/$h" --seed-idle 20 > "$h.log" 2>&1 &
  echo $! > "$h.pid"; track $!
done
for h in "${hosts[@]}"; do await_ok "$(cat "$h.pid")" 60 "df get on $h"; done
secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
for h in "${hosts[@]}"; do [ "$(sha "$h.out")" = "$want" ] || fail "$h's copy differs"; done
sleep 0.5 # the last reports and leaves
ab=$(( $(wan_payload A B) - ab0 )) bc=$(( $(wan_payload B C) - bc0 )) wab=$(( $(wan_bytes A B) - wab0 )) src=$(( $(tx_bytes src) - src0 ))
ratio() { awk -v s="$1" -v f="$size" 'BEGIN { printf "%.3f", s / f }'; }
echo "$mb MiB to 7 hosts in 3 sites in $secs s: WAN payload A-B $ab bytes ($(ratio $ab)x; $(ratio $wab)x with frame headers), B-C $bc bytes ($(ratio $bc)x), source sent $src ($(ratio $src)x)"
awk -v s="$ab" -v f="$size" 'BEGIN { exit !(s <= f * 1.05) }' || fail "the A-B link carried $(ratio $ab)x the file"
awk -v s="$bc" -v f="$size" 'BEGIN { exit !(s <= f * 1.05) }' || fail "the B-C link carried $(ratio $bc)x the file"
awk -v s="$ab" -v f="$size" 'BEGIN { exit !(s >= f) }' || fail "the A-B link carried $ab bytes: less than the file, so it is not the link"
awk -v s="$src" -v f="$size" 'BEGIN { exit !(s >= f && s <= f * 1.05) }' || fail "the source sent $(ratio $src)x the file"
for h in snB snC; do
  ! grep -E "asking elsewhere|refetching elsewhere|second copy|dropping the fetch" "$h.log" ||
    fail "$h fetched a piece from its parent site more than once"
done
for h in snB snC; do
  addr=$SNB; [ $h = snC ] && addr=$SNC
  OUT=$(nsx "$h" "$DF" status --supernode "$addr" --json 2>&1) || fail "status of $h: $OUT"
  grep -q "\"bytes_from_parent\":$size," <<<"$OUT" || fail "$h does not count the file from its parent site: $OUT"
  grep -q '"bytes_from_source":0,' <<<"$OUT" || fail "$h counts bytes from the source: $OUT"
done

# A's supernode stops: B's next miss goes to the source (over the WAN), and B says why
host_pkill snA
nsx b1 "$DF" get "$URL/g" -O "$T/b1.g" --supernode $SNB --data "$T/b1" --seed-idle 0 > b1g.log 2>&1 || fail "b1 with snA down: $(cat b1g.log)"
[ "$(sha b1.g)" = "$(sha www/g)" ] || fail "b1's copy of g differs"
OUT=$(nsx snB "$DF" status --supernode $SNB 2>&1)
expect_in "the source instead of the parent site: no parent answered"
grep -q "not through the parent site: no parent answered" snB.log || fail "snB's log does not say why it went to the source"

net_destroy
left=$(our_namespaces)
[ -z "$left" ] || fail "namespaces left behind: $left"
pass "multisite_netns: $mb MiB, 3 sites in $secs s; WAN A-B $(ratio $ab)x, B-C $(ratio $bc)x, source $(ratio $src)x"
