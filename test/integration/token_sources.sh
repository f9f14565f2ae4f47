#!/usr/bin/env bash
# Where the cluster token comes from, and what df refuses (issue 13 item 13): DF_TOKEN and
# --token-file keep it off the command line (--token on argv works but warns: ps shows it to every
# local user); a token file every local user may write is refused, one they may read is warned
# about; a token longer than CONFIG_TOKEN_MAX (512 bytes) is refused when the configuration is read
# (exit 2), from every source, instead of being cut in a fixed header buffer; 512 bytes work end to
# end. /metrics is the one supernode endpoint served without the token (docs/SECURITY.md), also
# alone on [supernode] metrics_listen.
. "$(dirname "$0")/../lib.sh"
cd "$T"
mkdir -p www
head -c 300000 /dev/urandom > www/f
NP=$(free_port); start_nginx "$T/www" "$NP"
URL=http://127.0.0.1:$NP/f
want=$(sha www/f)
tok512=$(head -c 384 /dev/urandom | base64 -w0)          # exactly 512 bytes
tok513=${tok512}x
[ ${#tok512} -eq 512 ] || fail "test token is ${#tok512} bytes"
# get FLAGS: df get of URL through the supernode into a fresh outN (N counted in a file, so that
# OUT=$(get ...) counts too); got_file: that outN is the source's file
echo 0 > "$T/n"
get() { local n=$(( $(cat "$T/n") + 1 )); echo $n > "$T/n"
  "$DF" get "$URL" -O "out$n" --supernode "127.0.0.1:$SP" --data "d$n" --seed-idle 0 --no-back-to-source "$@"; }
got_file() { local n; n=$(cat "$T/n"); [ "$(sha "out$n")" = "$want" ] || fail "out$n differs from the source"; }
no_file() { local n; n=$(cat "$T/n"); [ ! -e "out$n" ] || fail "out$n written with a refused token"; }

# --- the token file: private is quiet, readable warns, writable is refused ---
printf '%s\n' "$tok512" > tokfile; chmod 600 tokfile
SP=$(free_port); MP=$(free_port); start_supernode sn "$SP" --token-file "$T/tokfile" --metrics-listen "127.0.0.1:$MP"
grep -q "every local user" "$T/sn.log" && fail "a 0600 token file was warned about: $(cat "$T/sn.log")"
grep -q "open mode" "$T/sn.log" && fail "supernode with a token claims open mode"

expect_rc 0 get --token-file "$T/tokfile"; got_file
[[ $OUT == *"every local user"* ]] && fail "df get warned about a private token file: $OUT"

cp tokfile tokread; chmod 644 tokread
expect_rc 0 get --token-file "$T/tokread"; got_file
expect_in "token file $T/tokread: every local user may read it (mode 0644)"

cp tokfile tokwrite; chmod 666 tokwrite
expect_rc 2 get --token-file "$T/tokwrite"
expect_in "token file $T/tokwrite: every local user may write it (mode 0666)"
no_file
expect_rc 2 "$DF" supernode --listen "127.0.0.1:$(free_port)" --data "$T/sn-w" --token-file "$T/tokwrite"
expect_in "may write it"

# --- DF_TOKEN: no flag needed, nothing on argv, no warning ---
OUT=$(DF_TOKEN=$tok512 get 2>&1); rc=$?
[ $rc -eq 0 ] || fail "df get with DF_TOKEN exited $rc: $OUT"; got_file
[[ $OUT == *"visible to every local user"* ]] && fail "DF_TOKEN warned as if on argv: $OUT"
OUT=$(DF_TOKEN=$tok512 "$DF" status --supernode "127.0.0.1:$SP" 2>&1) || fail "df status with DF_TOKEN: $OUT"
expect_in "task"
expect_rc 1 get; expect_in "401"     # and without any token: refused

# --token-file on the command line wins over DF_TOKEN; DF_TOKEN wins over the config file
OUT=$(DF_TOKEN=wrong get --token-file "$T/tokfile" 2>&1) || fail "--token-file did not win over DF_TOKEN: $OUT"
got_file
printf '[security]\ntoken = wrong\n' > wrong.conf
OUT=$(DF_TOKEN=$tok512 get --config "$T/wrong.conf" 2>&1) || fail "DF_TOKEN did not win over the config file: $OUT"
got_file
OUT=$(DF_TOKEN=wrong get --token "$tok512" 2>&1) || fail "--token did not win over DF_TOKEN: $OUT"
got_file

# --- --token on argv: works, warns ---
expect_rc 0 get --token "$tok512"; got_file
expect_in "--token on the command line is visible to every local user"

# --- over the maximum: refused at configuration time, from every source ---
expect_rc 2 get --token "$tok513"; expect_in "longer than the 512"
no_file
OUT=$(DF_TOKEN=$tok513 get 2>&1); rc=$?
[ $rc -eq 2 ] || fail "DF_TOKEN of 513 bytes: exit $rc, wanted 2: $OUT"
expect_in "DF_TOKEN: the token is 513 bytes, longer than the 512"
printf '%s\n' "$tok513" > toklong; chmod 600 toklong
expect_rc 2 get --token-file "$T/toklong"; expect_in "token file $T/toklong: the token is longer than the 512"
printf '[security]\ntoken = %s\n' "$tok513" > long.conf
expect_rc 2 get --config "$T/long.conf"; expect_in "long.conf:2: [security] token: the token is 513 bytes"
expect_rc 2 "$DF" supernode --listen "127.0.0.1:$(free_port)" --data "$T/sn-l" --token "$tok513"
expect_in "longer than the 512"
# a token with a control character would split the header line: refused too
expect_rc 2 get --token $'ab\r\nX-Evil: 1'; expect_in "control character"

# --- /metrics is the one endpoint without the token; status is not ---
code=$(curl -s -o "$T/metrics" -w '%{http_code}' "http://127.0.0.1:$SP/metrics")
[ "$code" = 200 ] || fail "/metrics answered $code without a token"
grep -q '^df_tasks ' "$T/metrics" || fail "/metrics has no df_tasks: $(cat "$T/metrics")"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$SP/v1/status")
[ "$code" = 401 ] || fail "/v1/status answered $code without a token"
# [supernode] metrics_listen: the same counters on a port of their own, and nothing else there
curl -sf "http://127.0.0.1:$MP/metrics" | grep -q '^df_tasks ' || fail "no /metrics on the metrics listener"
for path in /v1/status /v1/register /pieces/x; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MP$path")
  [ "$code" = 404 ] || fail "the metrics listener answered $path with $code"
done

kill -0 "$(cat "$T/sn.pid")" || fail "supernode died: $(cat "$T/sn.log")"
pass "token from DF_TOKEN and --token-file, argv warned, bad files and long tokens refused"
