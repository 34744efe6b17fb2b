#!/usr/bin/env python3
"""The example capability of `conductor agent`'s command executor (deploy/agents/echo).

A command-executor program reads the task's payload (a JSON object) on standard input and writes its result
(a JSON object) on standard output. The task's identity is in CONDUCTOR_TASK_NAME, CONDUCTOR_TASK_NAMESPACE,
CONDUCTOR_TASK_ATTEMPT and CONDUCTOR_TASK_DEADLINE. Lines `progress: <current>/<total> <message>` on standard
error become the Task's status.progress; other standard error is the program's own log, and its end is the
task's message when the program exits non-zero.

Payload: {"message": "...", "steps": 3, "delaySeconds": 0.5}: echoes the message after `steps` steps of
`delaySeconds` each, reporting progress at each one.
"""
import json
import os
import sys
import time


def main() -> int:
    payload = json.load(sys.stdin)
    steps = int(payload.get("steps", 0))
    delay = float(payload.get("delaySeconds", 0))
    for step in range(1, steps + 1):
        time.sleep(delay)
        print(f"progress: {step}/{steps} step {step} of {steps}", file=sys.stderr, flush=True)
    json.dump({
        "echo": payload.get("message"),
        "task": os.environ.get("CONDUCTOR_TASK_NAME"),
        "attempt": int(os.environ.get("CONDUCTOR_TASK_ATTEMPT", "0")),
    }, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
