#!/usr/bin/env bash
# Secrets in URLs: a presigned-style URL (X-Amz-Signature, X-Amz-Credential, X-Amz-Security-Token,
# a --filter parameter, a token) fetched through a supernode. Its signature and the rest never show
# in df status (text and JSON), in the metadata files of the supernode's and the peer's stores, in
# any log (debug level, a detached seeder's too), or in the error message of a failed download; they
# show as REDACTED. The supernode still fetches with the real URL (nginx sees the secrets).
. "$(dirname "$0")/../lib.sh"
cd "$T"
mkdir -p www
make_file www/blob 1
NP=$(free_port); start_nginx "$T/www" "$NP"
SP=$(free_port); start_supernode sn "$SP" --log-level debug
S=127.0.0.1:$SP
Q='X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDSECRETCRED%2F20260101&X-Amz-Security-Token=SECRETSESSION'
Q="$Q&X-Amz-Signature=SECRETSIGNATURE&mysig=SECRETFILTERED&token=SECRETTOKEN&v=1"
URL="http://127.0.0.1:$NP/blob?$Q"
SECRETS='SECRETCRED\|SECRETSESSION\|SECRETSIGNATURE\|SECRETFILTERED\|SECRETTOKEN'
leaks() { grep -rla "$SECRETS" "$@" 2>/dev/null; }

"$DF" get "$URL" --filter mysig,X-Amz-Signature,X-Amz-Credential,X-Amz-Security-Token -O got --supernode "$S" \
  --data "$T/a" --seed-idle 0 --log-level debug > get.log 2>&1 || fail "get: $(cat get.log)"
[ "$(sha got)" = "$(sha www/blob)" ] || fail "the copy differs"
grep -q "SECRETSIGNATURE" "$T/nginx-$NP/access.log" || fail "the source never saw the real URL"

OUT=$("$DF" status --supernode "$S") || fail "status: $OUT"
[[ $OUT == *"X-Amz-Signature=REDACTED"* ]] || fail "status does not show the signature redacted: $OUT"
[[ $OUT == *"mysig=REDACTED"* && $OUT == *"token=REDACTED"* && $OUT == *"v=1"* ]] || fail "status: $OUT"
if grep -q "$SECRETS" <<< "$OUT"; then fail "df status shows a secret: $OUT"; fi
OUT=$(curl -s "http://$S/v1/status?format=json")
[[ $OUT == *"X-Amz-Credential=REDACTED"* ]] || fail "/v1/status JSON does not show the credential redacted: $OUT"
if grep -q "$SECRETS" <<< "$OUT"; then fail "/v1/status shows a secret: $OUT"; fi

# the task's metadata, at the supernode and at the peer: the URL is stored redacted
meta=$(find "$T/sn" "$T/a" -type f ! -name '*.data' | head -50)
[ -n "$meta" ] || fail "no metadata files"
grep -qa "X-Amz-Signature=REDACTED" $(find "$T/sn" -type f) || fail "the supernode's metadata lacks the redacted URL"
L=$(leaks "$T/sn" "$T/a") && fail "a secret was written to the store: $L"
L=$(leaks sn.log get.log) && fail "a secret was logged: $L: $(grep -h "$SECRETS" sn.log get.log | head -3)"

# a get that seeds afterwards, with a password in the URL too: the detached seeder's log (in the
# store) names the URL redacted (it wrote the whole URL, secrets and password included)
"$DF" get "http://user:SECRETTOKEN@127.0.0.1:$NP/blob?$Q" --filter mysig -O got2 --supernode "$S" --data "$T/s" \
  --seed-idle 2 > get2.log 2>&1 || fail "get (seeding): $(cat get2.log)"
track_seeder "$T/s"
for _ in $(seq 50); do [ -s "$T/s/seeder.log" ] && break; sleep 0.1; done
grep -q "seeding http://REDACTED@" "$T/s/seeder.log" || fail "no seeder log line naming the URL redacted: $(cat "$T/s/seeder.log")"
L=$(leaks "$T/s" get2.log) && fail "a secret was written by the seeding get: $L: $(grep -h "$SECRETS" "$T/s/seeder.log" get2.log | head -3)"

# a failed download names the URL redacted
expect_rc 1 "$DF" get "http://127.0.0.1:$NP/missing?$Q" --filter mysig -O nothing --supernode "$S" --data "$T/b" --seed-idle 0
expect_in "X-Amz-Signature=REDACTED"
if grep -q "$SECRETS" <<< "$OUT"; then fail "the error message shows a secret: $OUT"; fi
L=$(leaks sn.log "$T/b") && fail "a secret was written for the failed download: $L"
pass "redact"
