#!/usr/bin/env bash
# The soak (test/soak.sh, make soak), short: 100 distinct files instead of 2,000. Asserted as in the
# long one: every copy right, no get late or failed, no process died across the kills, the
# supernode's store within its quota (+ one task) and its RSS and descriptors flat. The ASan pass
# runs 60 files: the kills, restarts and evictions are the same, at the sanitizer's 2-3x cost each.
# Under ASan the supernode's RSS is mostly the sanitizer's: freed blocks wait in its quarantine (up
# to 256 MB by default) before they are reused, so RSS follows the bytes freed, not what is live
# (CI: +18 MB within 15 gets, three of them 4 MiB files): that pass allows 64 MiB of growth; the
# release pass keeps the soak's 16 MiB.
files=100 rss=16384; [[ ${B:-} == *asan* ]] && files=60 rss=65536
TEST_DEADLINE=${TEST_DEADLINE:-285} SOAK_FILES=${SOAK_FILES:-$files} SOAK_LIMITS=${SOAK_LIMITS:-1} \
  SOAK_RSS_GROWTH_KB=${SOAK_RSS_GROWTH_KB:-$rss} exec bash "$(dirname "$0")/../soak.sh"
