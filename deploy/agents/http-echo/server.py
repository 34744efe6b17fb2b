#!/usr/bin/env python3
"""The example service of the http executor (deploy/agents/http-echo): the agent POSTs each task's payload as
JSON to /run, with the task's identity in X-Conductor-Task-Name, -Namespace, -Attempt, -Deadline and the
agent's in X-Conductor-Agent. A 2xx JSON object is the result; 4xx fails the task (the same request would be
refused again); 5xx fails the attempt, which the task's retry policy retries."""
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        if self.path != "/run":
            return self.answer(404, {"error": f"no such path {self.path}"})
        try:
            payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        except ValueError:
            return self.answer(400, {"error": "the payload is not JSON"})
        self.answer(200, {"echo": payload, "task": self.headers.get("X-Conductor-Task-Name"),
                          "attempt": int(self.headers.get("X-Conductor-Task-Attempt", "0"))})

    def answer(self, status, document):
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "9000"))), Handler).serve_forever()
