#!/usr/bin/env bash
# The Swift tests, with a deadline for the whole run. Every wait inside a test has a deadline of its own, so a
# run that outlives this one holds a test that hangs: rather than hold CI for hours, stop the run and name the
# tests that started and never ended, read from Swift Testing's event stream.
# SWIFT_TEST_TIME_LIMIT (seconds, default 1200; a run takes about 2 minutes here) changes the deadline; further
# arguments go to `swift test` (`--filter X`).
set -uo pipefail
cd "$(dirname "$0")/.."

limit="${SWIFT_TEST_TIME_LIMIT:-1200}"
events="$(mktemp --suffix=.jsonl)"
trap 'rm -f "$events"' EXIT

swift build --build-tests || exit $?
timeout --kill-after=30 "$limit" swift test --skip-build \
    --experimental-event-stream-output "$events" --experimental-event-stream-version 0 "$@"
status=$?
# 124: the deadline passed; 137: the run ignored SIGTERM and was killed.
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    echo "swift test did not end within ${limit} s (SWIFT_TEST_TIME_LIMIT); what never ended:" >&2
    python3 scripts/unfinished-tests.py "$events" >&2
fi
exit "$status"
