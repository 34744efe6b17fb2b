#!/usr/bin/env python3
"""Names the tests that started and never ended in a Swift Testing event stream (version 0, one JSON record
per line), with how long each had run when the stream stopped: what a run stopped at its deadline was waiting on."""
import json
import sys


def unfinished(lines):
    started = {}
    last = None
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue  # the last line may be cut off mid-write
        if record.get("kind") != "event":
            continue
        event = record["payload"]
        last = event["instant"]["absolute"]
        test = event.get("testID")
        if event["kind"] == "testStarted":
            started[test] = last
        elif event["kind"] in ("testEnded", "testSkipped"):
            started.pop(test, None)
    return [(test, last - began) for test, began in started.items()]


def main(path):
    with open(path, encoding="utf-8") as stream:
        tests = unfinished(stream)
    if not tests:
        print("  (none: every test that started ended)")
    # A suite stays unfinished while any of its tests is: the functions first, the longest running first.
    for test, running in sorted(tests, key=lambda pair: ("/" not in pair[0], -pair[1])):
        print(f"  {test}  (running {running:.0f} s)")


if __name__ == "__main__":
    main(sys.argv[1])
