#!/usr/bin/env bash
# The Makefile's promise that ./df is the static musl binary: a sanitizer build (make SAN=1, as
# `make check` and developers run it) builds build/asan/df and leaves ./df alone, so a benchmark or a
# host given ./df never gets the ASan build; the default build copies build/musl/df to ./df.
# Dry runs only (make -n -B: every command printed, none run).
. "$(dirname "$0")/../lib.sh"
command -v make >/dev/null || skip "make not installed"
cd "$top"
# not the variables of a make that runs this test (make asan passes SAN=1 B=build/asan down)
dry() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES -u SAN -u B make -n -B "$@"; }
san=$(dry SAN=1 B=build/asan all 2>&1) || fail "make -n SAN=1: $(tail -n 3 <<<"$san")"
grep -q "build/asan/df" <<<"$san" || fail "make SAN=1 does not build build/asan/df"
! grep -qE '^cp .* df$' <<<"$san" || fail "make SAN=1 copies its build to ./df: $(grep -E '^cp ' <<<"$san")"
def=$(dry all 2>&1) || fail "make -n: $(tail -n 3 <<<"$def")"
grep -qE '^cp build/musl/df df$' <<<"$def" || fail "make does not copy build/musl/df to ./df: $(grep -E '^cp ' <<<"$def")"
pass
