#!/usr/bin/env bash
# A tool run with --io uring where io_uring is refused for real (a seccomp
# filter on io_uring_setup, applied by ws_uring_refusal_helper before it
# execs the tool): it must say so in exactly one line and exit non-zero.
# usage: tool_refusal.sh HELPER TOOL ARGS...
set -uo pipefail
helper=$1
shift
output=$("$helper" --seccomp --exec "$@" 2>&1 </dev/null)
status=$?
lines=$(printf '%s\n' "$output" | wc -l)
echo "exit status $status, $lines line(s): $output"
if [[ $status -ne 0 && $lines -eq 1 && $output == *"io_uring is not usable here"*EPERM* ]]; then
  echo "ok"
  exit 0
fi
echo "FAIL: expected one line naming io_uring and EPERM, and a non-zero exit status"
exit 1
