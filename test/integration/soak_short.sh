#!/usr/bin/env bash
# The soak (test/soak.sh, make soak), short: 100 distinct files instead of 2,000, same assertions.
TEST_DEADLINE=${TEST_DEADLINE:-285} SOAK_FILES=${SOAK_FILES:-100} exec bash "$(dirname "$0")/../soak.sh"
