#!/usr/bin/env bash
# A task is not "unused" while a registration waits for its access check (issue 14). A private
# source's task is handed to each new set of credentials only after the source accepted them; a
# check the source is slow to answer parks the registration on the task. Before the fix task_idle
# (here 1 s), the held-task limit and GC counted such a task as unused and forgot it: the parked
# registrant got "503 supernode stopping" from a supernode that was not stopping. Now the check
# runs to its end and the registrant gets the source's verdict.
. "$(dirname "$0")/../lib.sh"
cd "$T"
command -v curl >/dev/null || skip "curl not installed"
command -v python3 >/dev/null || skip "python3 not installed"

# a port that accepts connections and never answers: the source's slow reply (nginx gives up, 504)
BH=$(free_port)
python3 -c 'import socket,sys,time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64); time.sleep(120)' "$BH" &
track $!
wait_port "$BH"

mkdir -p www
make_file www/f 1
NP=$(free_port)
# private: no Authorization, 401; with X-Slow the answer takes 6 s (then 504)
start_nginx "$T/www" "$NP" "location /f { proxy_read_timeout 6s; if (\$http_authorization = \"\") { return 401; } if (\$http_x_slow) { proxy_pass http://127.0.0.1:$BH; } }"
URL=http://127.0.0.1:$NP/f
SP=$(free_port); start_supernode sn "$SP" --task-idle 1
SN=http://127.0.0.1:$SP

expect_rc 0 "$DF" get "$URL" -O out0 --header "Authorization: Basic dTpw" --supernode "127.0.0.1:$SP" \
  --data "$T/p0" --seed-idle 0
[ "$(sha out0)" = "$(sha www/f)" ] || fail "first df get: wrong bytes"
id=$(curl -sS "$SN/v1/status?format=json" | grep -o '"id":"[0-9a-f]*"' | head -n1 | cut -d'"' -f4)
[ -n "$id" ] || fail "no task in the supernode's status"

# new credentials (X-Slow is part of them): the source must be asked, and it is slow
printf 'task: %s\nurl: %s\nport: 9\nheader: Authorization: Basic dTpw\nheader: X-Slow: 1\n' "$id" "$URL" > reg.body
read -r code secs < <(curl -sS -m 30 -o ans -w '%{http_code} %{time_total}\n' --data-binary @reg.body \
  "$SN/v1/register" 2>curl.err || echo "000 30")
ans=$(cat ans 2>/dev/null)
[[ $ans != *"supernode stopping"* ]] ||
  fail "the task was forgotten while a registration waited for its access check: $code after $secs s: $ans"
[ "$code" = 403 ] || fail "the slow check should end in the source's 504 (403 to the registrant): $code after $secs s: $ans $(cat curl.err)"
[[ $ans == *504* ]] || fail "the refusal does not name the source's answer: $ans"
sn_alive sn "the slow access check"
pass "sn_gated_idle"
