#!/usr/bin/env bash
# Tasks in memory bounded by the descriptor limit, not only by time: under `ulimit -n 128` (a
# quarter: 32 tasks) and a task_idle of 10 minutes, 150 distinct tasks through one supernode all
# succeed and its descriptors stay flat, because the least recently used idle tasks are forgotten
# early (make soak ran out of descriptors at ~500 tasks inside task_idle before).
ulimit -n 128 || exit 77
export TASKS=${TASKS:-150} EVERY=${EVERY:-50} TASK_IDLE=600 IDLE_SAMPLE=0 TIMEOUT=${TIMEOUT:-200}
if [[ ${B:-} == *asan* ]]; then
  export MAX_RSS_MB=${MAX_RSS_MB:-100000} RSS_SLACK_MB=${RSS_SLACK_MB:-100000}
fi
exec bash "$(dirname "$0")/../../bench/b_tasks.sh"
