#!/usr/bin/env bash
# The release promise: df alone in an empty directory (no /lib, no /etc) runs under chroot.
. "$(dirname "$0")/../lib.sh"
[ "$(id -u)" = 0 ] || skip "chroot needs root"
if ! file "$DF" | grep -q "statically linked"; then
  # the sanitizer build is dynamic by nature; the promise is about the release (musl) binary
  case $DF in */build/asan/*) skip "the ASan build is not static";; esac
  fail "$DF is not statically linked: $(file "$DF")"
fi
mkdir -p "$T/root"
cp "$DF" "$T/root/df"
[ "$(ls "$T/root")" = df ] || fail "chroot dir not empty"
OUT=$(chroot "$T/root" /df --version 2>&1) || fail "df --version under chroot: $OUT"
expect_in "df "
OUT=$(chroot "$T/root" /df --help 2>&1) || fail "df --help under chroot: $OUT"
expect_in "Commands:"
OUT=$(chroot "$T/root" /df config 2>&1) || fail "df config under chroot: $OUT"
expect_in "built-in defaults"
pass chroot
