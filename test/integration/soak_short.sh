#!/usr/bin/env bash
# The soak (test/soak.sh, make soak), short: 100 distinct files instead of 2,000. Asserted as in the
# long one: every copy right, no get late or failed, no process died across the kills, the
# supernode's store within its quota (+ one task) and its RSS and descriptors flat. The ASan pass
# runs 60 files: the kills, restarts and evictions are the same, at the sanitizer's 2-3x cost each.
files=100; [[ ${B:-} == *asan* ]] && files=60
TEST_DEADLINE=${TEST_DEADLINE:-285} SOAK_FILES=${SOAK_FILES:-$files} SOAK_LIMITS=${SOAK_LIMITS:-1} \
  exec bash "$(dirname "$0")/../soak.sh"
