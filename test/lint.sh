#!/usr/bin/env bash
# make lint: the shipped C (main.c cmd core net store swarm) in .clang-format's style, and none of the
# calls we do not use (unbounded copies, unchecked number parsing, shell-outs, hidden global state).
set -u
cd "$(dirname "$0")/.."
rc=0
mapfile -t files < <(git ls-files 'main.c' 'cmd/*.[ch]' 'core/*.[ch]' 'net/*.[ch]' 'store/*.[ch]' 'swarm/*.[ch]')
# why each is banned: sprintf/vsprintf/strcpy/strcat/gets write without a bound; strncpy leaves no NUL;
# atoi/atol/atoll cannot report junk or overflow (core/proto's proto_u64, strtol with checks);
# strtok keeps hidden state (strtok_r); system/popen go through a shell; alloca has no failure.
banned='(^|[^_a-zA-Z0-9>.])(sprintf|vsprintf|strcpy|strcat|strncpy|gets|atoi|atol|atoll|strtok|system|popen|alloca)[[:space:]]*\('
if hits=$(grep -nE "$banned" "${files[@]}" | grep -vE '^[^:]+:[0-9]+:[[:space:]]*(/?\*|//)'); then
	echo "lint: banned calls:" >&2
	echo "$hits" >&2
	rc=1
fi
if [ "${LINT_FORMAT:-1}" = 1 ]; then
	if ! command -v clang-format >/dev/null; then
		echo "lint: clang-format not installed (apt-get install clang-format)" >&2
		rc=1
	else
		bad=()
		for f in "${files[@]}"; do
			clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
		done
		if [ ${#bad[@]} -gt 0 ]; then
			echo "lint: not in .clang-format's style (clang-format -i FILE): ${bad[*]}" >&2
			rc=1
		fi
	fi
fi
[ $rc = 0 ] && echo "lint: ${#files[@]} files clean"
exit $rc
