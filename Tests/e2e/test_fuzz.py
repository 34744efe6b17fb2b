"""Fuzz of request decoding: the server never crashes, every 4xx is a Kubernetes Status, there is no 5xx,
and a rejected request changes nothing.

A fixed seed corpus (malformed JSON, invalid UTF-8, duplicate keys, deep nesting, huge numbers, bodies over
3 MiB, odd paths, query strings, methods and content types, each with the answer a real server gives where
the reference transcripts show it) and hypothesis-generated requests: mutations of valid bodies (structural
and byte-level), random paths, random query strings, random methods, content types and Accept headers.
Requests go over raw HTTP/1.1 (so paths reach the server exactly as written) and, for bodies, HTTP/2 too.

Failures are collected (not raised at the first one) and reported together, deduplicated, with a request
that shows each. FUZZ_SCALE (default 1.0) scales the number of generated examples.
"""
import collections
import copy
import dataclasses
import http.client
import json
import os
import socket
import ssl
import subprocess
import time
import urllib.parse

import httpx
import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from conftest import ROOT, apply_project_crds

SCALE = float(os.environ.get("FUZZ_SCALE", "1.0"))
NS = "fuzz"
SCRATCH = "fuzz-scratch"
TASKS = f"/apis/mcp.io/v1/namespaces/{NS}/tasks"
AGENTS = f"/apis/mcp.io/v1/namespaces/{NS}/agents"
LEASES = f"/apis/coordination.k8s.io/v1/namespaces/{NS}/leases"
NAMESPACES = "/api/v1/namespaces"
CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
MiB = 1024 * 1024
READ_ONLY = {"GET", "HEAD", "OPTIONS"}
MAX_CRASHES = 25  # per test


def n(examples: int) -> int:
    return max(10, int(examples * SCALE))


# ============================================================================================ requests and answers

@dataclasses.dataclass
class Req:
    method: str
    target: str
    body: bytes | None = None
    headers: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    expect: tuple[int, ...] | None = None  # statuses a real server gives (from the reference), when known
    note: str = ""
    http2: bool = False

    def content_type(self) -> str | None:
        return next((v for k, v in self.headers if k.lower() == "content-type"), None)

    def show(self, limit: int = 240) -> str:
        body = "" if self.body is None else f" body({len(self.body)} bytes)={self.body[:limit]!r}"
        headers = "".join(f" [{k}: {v[:80]}]" for k, v in self.headers)
        target = self.target if len(self.target) <= 200 else f"{self.target[:200]}...({len(self.target)} chars)"
        via = " (HTTP/2)" if self.http2 else ""
        note = f"  # {self.note}" if self.note else ""
        return f"{self.method} {target}{via}{headers}{body}{note}"


@dataclasses.dataclass
class Res:
    status: int
    content_type: str
    body: bytes
    unfinished: bool = False  # the body did not end within the read timeout


class NoAnswer(Exception):
    pass


class Crashed(Exception):
    pass


class RawHTTP:
    """HTTP/1.1 over TLS with http.client: the request line is sent exactly as given."""

    def __init__(self, server):
        self.server = server
        self.conn: http.client.HTTPSConnection | None = None

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def _connect(self):
        ctx = ssl.create_default_context(cafile=str(self.server.ca_file))
        ctx.set_alpn_protocols(["http/1.1"])
        self.conn = http.client.HTTPSConnection("127.0.0.1", self.server.port, context=ctx, timeout=10)

    def send(self, req: Req) -> Res:
        last_error = None
        for attempt in range(2):
            if self.conn is None:
                self._connect()
            conn = self.conn
            try:
                conn.putrequest(req.method, req.target, skip_accept_encoding=True)
                conn.putheader("Authorization", f"Bearer {self.server.token}")
                for key, value in req.headers:
                    conn.putheader(key, value)
                if req.body is not None:
                    conn.putheader("Content-Length", str(len(req.body)))
                try:
                    conn.endheaders(req.body)
                except (BrokenPipeError, ConnectionResetError) as e:
                    last_error = e  # the server may have answered early (e.g. 413): read it
                response = conn.getresponse()
                unfinished = False
                try:
                    data = response.read()
                except (socket.timeout, TimeoutError):
                    data, unfinished = b"", True  # a stream (a watch), or a body that never ends
                    self.close()
                if response.will_close and self.conn is not None:
                    self.close()
                return Res(response.status, response.getheader("Content-Type") or "", data, unfinished)
            except http.client.InvalidURL:
                raise
            except (http.client.HTTPException, OSError) as e:
                last_error = e
                self.close()
                if self.server.process.poll() is not None:
                    raise Crashed(f"server exited with {self.server.process.returncode}")
                # an idle keep-alive connection the server closed: try once more on a new one
                if attempt == 0 and isinstance(e, (http.client.RemoteDisconnected, BrokenPipeError,
                                                   ConnectionResetError)):
                    continue
                break
        raise NoAnswer(f"{type(last_error).__name__}: {last_error}")


class H2:
    def __init__(self, server):
        self.server = server
        self.client = server.client(http2=True)

    def close(self):
        self.client.close()

    def send(self, req: Req) -> Res:
        try:
            r = self.client.request(req.method, req.target, content=req.body, headers=dict(req.headers))
        except httpx.HTTPError as e:
            self.client.close()
            self.client = self.server.client(http2=True)
            if self.server.process.poll() is not None:
                raise Crashed(f"server exited with {self.server.process.returncode}")
            raise NoAnswer(f"{type(e).__name__}: {e}")
        return Res(r.status_code, r.headers.get("content-type", ""), r.content)


# ============================================================================================ the harness

class Fuzzer:
    """Sends requests, checks every answer, checks that a rejected write changed nothing, collects failures.

    Storage is fingerprinted by the resourceVersion of lists (one list when the server's list
    resourceVersion is global, as etcd's revision is; else one list per kind). Before a write the
    fingerprint is known; after a rejected one it must be the same."""

    def __init__(self, server):
        self.server = server
        self.raw = RawHTTP(server)
        self.h2 = H2(server)
        self.meter = RawHTTP(server)
        self.failures: dict[tuple, list[str]] = {}
        self.statuses: collections.Counter = collections.Counter()
        self.sent = 0
        self.crashes = 0
        self.restarts = 0
        self.slowest = []
        self.fingerprint_paths = [f"{p}?limit=1" for p in ("/apis/mcp.io/v1/tasks", "/apis/mcp.io/v1/agents",
                                                          NAMESPACES, CRD_PATH, "/apis/coordination.k8s.io/v1/leases")]
        self.baseline = self.fingerprint()

    def detect_global_resource_version(self) -> bool:
        """True when a write to one kind moves every list's resourceVersion (as etcd's revision does)."""
        before = self.fingerprint()
        with self.server.client() as c:
            r = c.post(LEASES, json={"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                                     "metadata": {"generateName": "probe-"}, "spec": {"holderIdentity": "probe"}})
            assert r.status_code == 201, r.text
        after = self.fingerprint()
        if before[0] != after[0]:
            self.fingerprint_paths = self.fingerprint_paths[:1]
        self.baseline = self.fingerprint()
        return len(self.fingerprint_paths) == 1

    def fingerprint(self) -> tuple:
        out = []
        for path in self.fingerprint_paths:
            try:
                r = self.meter.send(Req("GET", path))
                value = json.loads(r.body)["metadata"]["resourceVersion"] if r.status == 200 else r.status
            except Exception as e:
                value = type(e).__name__
            out.append(value)
        return tuple(out)

    def settle(self) -> None:
        """After an accepted write the server may write more by itself (a CRD's status): wait until quiet."""
        deadline = time.monotonic() + 3
        last = self.fingerprint()
        while time.monotonic() < deadline:
            time.sleep(0.05)
            now = self.fingerprint()
            if now == last:
                break
            last = now
        self.baseline = last

    def fail(self, kind: str, detail: str, req: Req, res: Res | None = None, extra: str = "") -> None:
        shown = req.show(1500 if kind == "CRASH" else 240)
        if res is not None:
            shown += f"\n        -> {res.status} {res.content_type} {res.body[:300]!r}"
        if extra:
            shown += f"\n        {extra}"
        examples = self.failures.setdefault((kind, detail), [])
        if len(examples) < 3:
            examples.append(shown)

    def begin(self) -> None:
        self.slowest = []
        self.crashes = 0
        self.failures.clear()
        self.statuses.clear()
        self.sent = 0
        self.ensure_alive()
        with self.server.client() as c:
            for name in SEEDS:  # an earlier test may have lost some (reported there)
                if c.get(f"{TASKS}/{name}").status_code == 404:
                    c.post(TASKS, json=task(name))
        self.baseline = self.fingerprint()

    def ensure_alive(self) -> None:
        if self.server.process.poll() is not None:
            self.raw.close()
            self.meter.close()
            self.h2.close()
            self.restarts += 1
            # the first crash printed its backtrace; later ones only their fatal error (a backtrace takes seconds)
            os.environ["SWIFT_BACKTRACE"] = "enable=no"
            self.server.start()
            self.h2 = H2(self.server)
            self.baseline = self.fingerprint()

    def dying(self) -> bool:
        """After a dropped connection: is the server going down? (Swift's backtracer keeps a crashing
        process alive for seconds.) Waits for it to exit when it no longer answers."""
        if self.server.process.poll() is not None:
            return True
        try:
            with httpx.Client(verify=self.server.tls(), timeout=3) as c:
                if c.get(f"{self.server.url}/readyz").status_code == 200:
                    return False
        except httpx.HTTPError:
            pass
        try:
            self.server.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.server.stop()  # hung: stop it (ours) and say so
            return True
        return True

    # -- one request
    def exercise(self, req: Req) -> Res | None:
        if self.crashes >= MAX_CRASHES:
            return None  # reported already; each crash costs seconds (backtrace, restart)
        self.ensure_alive()
        write = req.method.upper() not in READ_ONLY
        log_offset = self.server.log_path.stat().st_size
        started = time.monotonic()
        try:
            res = (self.h2 if req.http2 else self.raw).send(req)
            self.slowest.append((time.monotonic() - started, req.show()[:160]))
            self.slowest = sorted(self.slowest, reverse=True)[:5]
        except http.client.InvalidURL:
            return None  # http.client refuses to send it; nothing to learn
        except (Crashed, NoAnswer) as e:
            if self.dying():
                with open(self.server.log_path, "rb") as log:
                    log.seek(log_offset)
                    fatal, frames = crash_summary(log.read().decode(errors="replace"))
                self.fail("CRASH", fatal, req, extra="\n        ".join(frames))
                self.crashes += 1
                if self.crashes >= MAX_CRASHES:
                    self.fail("CRASH", f"{MAX_CRASHES} crashes: the rest of this test was not sent", req)
                self.ensure_alive()
            else:
                self.fail("no answer (connection closed or timed out)", str(e).split(":")[0], req)
                if write:
                    self.settle()
            return None
        self.sent += 1
        self.statuses[res.status] += 1
        self.check(req, res)
        if write:
            if res.status >= 400:
                now = self.fingerprint()
                if now != self.baseline:
                    self.fail("rejected request changed storage", f"{res.status}", req, res,
                              extra=f"list resourceVersions {self.baseline} -> {now}")
                    self.baseline = now
            elif req.target.startswith((CRD_PATH, NAMESPACES)):
                self.settle()  # the server writes on its own after these (a CRD's status, a namespace's deletion)
            else:
                self.baseline = self.fingerprint()
        return res

    def check(self, req: Req, res: Res) -> None:
        if res.status >= 500:
            reason = ""
            try:
                reason = json.loads(res.body).get("reason", "")
            except Exception:
                pass
            self.fail("5xx", f"{res.status} {reason}", req, res)
            return
        if res.unfinished and "watch" not in req.target:
            self.fail("answer never finished (no Content-Length or end of chunks; connection left open)",
                      f"{res.status}", req, res)
        if req.expect is not None and res.status not in req.expect:
            self.fail("unexpected status", f"want {req.expect} got {res.status} ({req.note})", req, res)
        if res.status < 400 or req.method == "HEAD":
            return
        if not req.target.startswith(("/", "https://", "*")):
            return  # not a request-target at all: Go's HTTP server (under kube-apiserver) answers text/plain too
        problem = status_problem(res)
        if problem:
            self.fail("4xx that is not a valid Status", f"{res.status}: {problem}", req, res)

    def send_generated(self, strategy, examples: int, http2: bool = False) -> None:
        """Sends the requests a hypothesis strategy draws (`examples`, scaled by FUZZ_SCALE), then reports."""
        self.begin()
        count = n(examples)

        @settings(max_examples=count, **SETTINGS)
        @given(req=strategy)
        def run(req):
            self.exercise(dataclasses.replace(req, http2=True) if http2 else req)

        run()
        self.finish(minimum_sent=count // 2)

    def finish(self, minimum_sent: int = 0) -> None:
        self.ensure_alive()
        with self.server.client() as c:
            ready = c.get("/readyz")
        if ready.status_code != 200:
            self.failures[("readyz", str(ready.status_code))] = [ready.text[:300]]
        summary = f"{self.sent} requests answered; statuses: {dict(sorted(self.statuses.items()))}; slowest: " + \
            "; ".join(f"{t:.2f}s {shown}" for t, shown in self.slowest[:3])
        print(summary)
        if self.failures:
            lines = [summary]
            for (kind, detail), examples in sorted(self.failures.items()):
                lines.append(f"* {kind}: {detail}")
                lines.extend(f"    {e}" for e in examples)
            pytest.fail("\n".join(lines), pytrace=False)
        assert self.sent >= minimum_sent or self.crashes, summary


def crash_summary(log: str) -> tuple[str, list[str]]:
    """The fatal error line and the project's frames of the crashed thread, from Swift's backtrace."""
    lines = log.splitlines()
    fatal = next((l.strip() for l in lines if "Fatal error" in l or "Precondition failed" in l),
                 next((l.strip() for l in lines if "Program crashed" in l), "server exited (no message in its log)"))
    frames, in_crashed = [], False
    for line in lines:
        if "crashed:" in line and line.startswith("Thread"):
            in_crashed = True
        elif in_crashed and "/Sources/" in line and " in conductor at " in line:
            frames.append(line.split(" in conductor at ")[0].split("]")[-1].strip().split(" ", 1)[-1].strip()
                          + " at " + line.split(" in conductor at ")[1].replace(str(ROOT) + "/", ""))
            if len(frames) >= 6:
                break
        elif in_crashed and line.startswith("Thread"):
            break
    return fatal, frames


def status_problem(res: Res) -> str | None:
    """Why an error answer is not a Kubernetes Status (None when it is one)."""
    if not res.body:
        return "empty body"
    try:
        if res.content_type.startswith("application/yaml"):
            status = yaml.safe_load(res.body)
        else:
            if not res.content_type.startswith("application/json"):
                return f"Content-Type {res.content_type!r}"
            status = json.loads(res.body)
    except Exception as e:
        return f"body does not parse ({type(e).__name__})"
    if not isinstance(status, dict):
        return "body is not an object"
    problems = []
    if status.get("kind") != "Status":
        problems.append(f"kind={status.get('kind')!r}")
    if status.get("apiVersion") != "v1":
        problems.append(f"apiVersion={status.get('apiVersion')!r}")
    if status.get("code") != res.status:
        problems.append(f"code={status.get('code')!r}")
    if status.get("status") != "Failure":
        problems.append(f"status={status.get('status')!r}")
    if not isinstance(status.get("reason"), str) or not status.get("reason"):
        problems.append(f"reason={status.get('reason')!r}")
    if not isinstance(status.get("message", ""), str):
        problems.append("message is not a string")
    return ", ".join(problems) or None


# ============================================================================================ fixture

def task(name: str | None = None, **spec) -> dict:
    meta = {"name": name} if name else {"generateName": "fz-"}
    meta["labels"] = {"team": "fuzz"}
    return {"apiVersion": "mcp.io/v1", "kind": "Task", "metadata": meta,
            "spec": {"requiredCapabilities": ["echo"], "priority": 5, "payload": {"text": "hello", "n": 1},
                     "deadline": "2030-06-10T12:00:00Z", "retryPolicy": {"maxRetries": 2}, **spec}}


SEEDS = [f"seed-{i}" for i in range(5)]


@pytest.fixture(scope="module", autouse=True)
def short_backtraces():
    """A crashing server prints only its crashed thread (the full backtrace takes many seconds)."""
    old = os.environ.get("SWIFT_BACKTRACE")
    os.environ["SWIFT_BACKTRACE"] = "threads=crashed,registers=none,images=none,limit=24,top=0"
    yield
    if old is None:
        os.environ.pop("SWIFT_BACKTRACE", None)
    else:
        os.environ["SWIFT_BACKTRACE"] = old


@pytest.fixture(scope="module")
def fuzz(apiserver):
    with apiserver.client() as c:
        apply_project_crds(c)
        for name in (NS, SCRATCH):
            r = c.post(NAMESPACES, json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
            assert r.status_code == 201, r.text
        for name in SEEDS:
            r = c.post(TASKS, json=task(name))
            assert r.status_code == 201, r.text
        r = c.post(AGENTS, json={"apiVersion": "mcp.io/v1", "kind": "Agent", "metadata": {"name": "seed-agent"},
                                 "spec": {"capabilities": ["echo"]}})
        assert r.status_code == 201, r.text
    f = Fuzzer(apiserver)
    f.detect_global_resource_version()
    yield f
    f.raw.close()
    f.meter.close()
    f.h2.close()


# ============================================================================================ the fixed corpus

JSON = [("Content-Type", "application/json")]
MERGE = [("Content-Type", "application/merge-patch+json")]
JPATCH = [("Content-Type", "application/json-patch+json")]


def dumps(obj) -> bytes:
    return json.dumps(obj).encode()


def nested(depth: int, kind: str = "array") -> bytes:
    if kind == "array":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


def with_payload_bytes(raw_payload: bytes, name: str | None = None) -> bytes:
    return dumps(task(name, payload="@@")).replace(b'"@@"', raw_payload)


def with_priority_bytes(raw_number: bytes) -> bytes:
    return dumps(task(None, priority="@@")).replace(b'"@@"', raw_number)


def corpus_bodies() -> list[Req]:
    """Bodies that a real API server rejects with a 4xx (expect: what the reference shows, where it does)."""
    reqs = []

    def post(body: bytes, note: str, expect=None, target=TASKS, headers=JSON):
        reqs.append(Req("POST", target, body, list(headers), expect, note))

    post(b"{not json", "malformed JSON (reference: 400)", (400,))
    for body in (b"", b"null", b"[]", b"123", b'"task"', b"true", b"{}", b"{", b"}", b"[", b"\x00", b" ",
                 b'{"apiVersion":"mcp.io/v1"}', b'{"kind":"Task"}', b'{"apiVersion":1,"kind":2}',
                 b'{"apiVersion":"mcp.io/v1","kind":"Task"}', b'{"apiVersion":"mcp.io/v1","kind":"Task","metadata":5}',
                 b'{"apiVersion":"mcp.io/v1","kind":"Task","metadata":{}}',
                 b'{"apiVersion":"mcp.io/v1","kind":"Task","metadata":{"name":""}}',
                 b'{"apiVersion":"mcp.io/v1","kind":"Task","metadata":{"name":5}}',
                 b'{"apiVersion":"mcp.io/v1","kind":"Task","metadata":{"name":null}}',
                 b'{"apiVersion":"mcp.io/v1","kind":"Task","metadata":{"name":"x","labels":[]}}',
                 b'{"apiVersion":"mcp.io/v1","kind":"Task","metadata":{"name":"x","labels":{"a":1}}}',
                 b'{"apiVersion":"mcp.io/v1","kind":"Task","metadata":{"name":"x","finalizers":"f"}}',
                 b'{"apiVersion":"mcp.io/v1","kind":"Task","metadata":{"name":"x","namespace":"other"}}',
                 b'{"apiVersion":"mcp.io/v1","kind":"Task","metadata":{"name":"x"},"spec":[]}',
                 b'{"apiVersion":"mcp.io/v1","kind":"Task","metadata":{"name":"x"},"spec":"s"}',
                 b'{"apiVersion":"mcp.io/v1","kind":"Task","metadata":{"name":"x"},"spec":{"priority":"5"}}',
                 b'{"apiVersion":"mcp.io/v1","kind":"Task","metadata":{"name":"x"},"spec":{"payload":[1]}}',
                 b'{"apiVersion":"mcp.io/v1","kind":"Task","metadata":{"name":"x"},"spec":{"requiredCapabilities":"a"}}',
                 b'{"apiVersion":"mcp.io/v1","kind":"Task","metadata":{"name":"x"},"spec":{"requiredCapabilities":[1]}}',
                 b'{"apiVersion":"mcp.io/v1","kind":"Task","metadata":{"name":"x"},"spec":{"retryPolicy":{"maxRetries":-1}}}',
                 b'{"apiVersion":"mcp.io/v1","kind":"Task","metadata":{"name":"x"},"spec":{"deadline":"tomorrow"}}',
                 b'{"apiVersion":"mcp.io/v1","kind":"Task","metadata":{"name":"x"},"spec":{"idempotencyKey":"' +
                 b"k" * 300 + b'"}}',
                 b'{"apiVersion":"mcp.io/v1","kind":"Task","metadata":{"name":"x"},"spec":{"resources":{"cpu":"lots"}}}',
                 b'{"apiVersion":"mcp.io/v1","kind":"Task","metadata":{"name":"x"},"status":{"phase":"Exploded"},'
                 b'"spec":{"priority":0}}'):
            post(body, "invalid body")
    post(dumps(task("bad-kind") | {"kind": "Agent"}), "kind mismatch (reference: 422)", (400, 422))
    post(dumps(task("bad-version") | {"apiVersion": "mcp.io/v2"}), "apiVersion mismatch", (400, 422))
    post(dumps(task("Bad_Name")), "invalid name (reference: 422)", (422,))
    post(dumps(task("a" * 254)), "name too long", (422,))
    post(dumps(task("bad-priority", priority=11)), "priority above maximum (reference: 422)", (422,))
    post(dumps(task("bad-enum", retryPolicy={"backoffStrategy": "random"})), "enum (reference: 422)", (422,))
    reqs.append(Req("POST", TASKS + "?fieldValidation=Strict", dumps(task("strict", unknownField=1)), JSON,
                    (400,), "unknown field, Strict (reference: 400)"))
    # invalid UTF-8, inside a string and outside
    for bad in (b"\xff", b"\xfe\xff", b"\xc3\x28", b"\xa0\xa1", b"\xe2\x28\xa1", b"\xf0\x28\x8c\xbc",
                b"\xed\xa0\x80", b"\xc0\xaf", b"\xf8\x88\x80\x80\x80", b"\xe2\x82"):
        post(dumps(task("utf8-@@")).replace(b"@@", bad), f"invalid UTF-8 {bad!r} in the name")
        post(dumps(task(None, payload={"text": "@@"})).replace(b"@@", bad), f"invalid UTF-8 {bad!r} in the payload")
        post(bad + dumps(task(None)), f"invalid UTF-8 {bad!r} before the body")
    post(dumps(task(None)).replace(b'"hello"', b'"\\ud800"'), "lone surrogate escape")
    post(dumps(task(None)).replace(b'"hello"', b'"\\u00"'), "short unicode escape")
    post(dumps(task(None)).replace(b'"hello"', b'"\\x41"'), "invalid escape")
    post(dumps(task(None)).replace(b'"hello"', b'"a\x01b"'), "control character in a string")
    post(b"\xef\xbb\xbf" + dumps(task("bom")), "UTF-8 byte order mark")
    post(dumps(task("trailing")) + b"garbage", "trailing garbage")
    post(dumps(task("two")) + dumps(task("objects")), "two objects")
    # duplicate keys
    post(b'{"apiVersion":"mcp.io/v1","kind":"Task","kind":"Agent","metadata":{"name":"dup-kind"}}', "duplicate kind")
    post(b'{"apiVersion":"mcp.io/v1","kind":"Task","metadata":{"name":"dup-a","name":"Bad_Name"}}',
         "duplicate name, second invalid")
    reqs.append(Req("POST", TASKS + "?fieldValidation=Strict",
                    b'{"apiVersion":"mcp.io/v1","kind":"Task","metadata":{"name":"dup-b"},"spec":{"priority":1,'
                    b'"priority":2}}', JSON, (400, 422), "duplicate field, Strict"))
    # deep nesting
    for depth in (10_001, 100_000, 1_000_000):
        post(with_payload_bytes(nested(depth)), f"payload nested {depth} arrays deep")
        post(with_payload_bytes(nested(depth, "object")), f"payload nested {depth} objects deep")
        post(with_payload_bytes(b"[" * depth), f"payload of {depth} unclosed arrays")
    post(nested(1_000_000), "body of 1e6 nested arrays")
    # numbers
    for number in (b"1e400", b"-1e400", b"123456789012345678901234567890", b"-9223372036854775809",
                   b"9223372036854775808", b"18446744073709551616", b"0.5", b"-0", b"1e2", b"NaN", b"Infinity",
                   b"-Infinity", b"0x10", b"01", b"1.", b".5", b"-", b"+1", b"1e", b"9" * 5000, b"1" + b"0" * 400):
        post(with_priority_bytes(number), f"priority {number[:20]!r}")
        post(with_payload_bytes(b'{"n":' + number + b"}"), f"payload number {number[:20]!r}")
    # sizes: the request limit is 3 MiB (a real server answers 413 RequestEntityTooLarge above it)
    big = dumps(task("big", payload={"blob": "@@"}))
    filler = 3 * MiB + 1 - (len(big) - 4)
    post(big.replace(b"@@", b"x" * filler), "3 MiB + 1 byte body (reference server: 413)", (413,))
    post(b"x" * (3 * MiB + 1), "3 MiB + 1 byte of garbage (reference server: 413)", (413,))
    post(b" " * (4 * MiB), "4 MiB of spaces", (413,))
    return reqs


def corpus_patches() -> list[Req]:
    reqs = []
    seed = f"{TASKS}/seed-1"
    reqs.append(Req("PATCH", seed, dumps({"spec": {"priority": 3}}),
                    [("Content-Type", "application/strategic-merge-patch+json")], (415,),
                    "strategic merge patch on a custom resource (reference: 415)"))
    reqs.append(Req("PATCH", seed, dumps([{"op": "test", "path": "/spec/priority", "value": 99}]), JPATCH, (422,),
                    "JSON patch test op fails (reference: 422)"))
    reqs.append(Req("PATCH", f"{TASKS}/nope/status", dumps({"status": {"phase": "Running"}}), MERGE, (404,),
                    "patch of a missing object (reference: 404)"))
    reqs.append(Req("PATCH", f"{seed}/status", dumps({"status": {"phase": "Exploded"}}), MERGE, (422,),
                    "status enum (reference: 422)"))
    reqs.append(Req("PATCH", seed, dumps({"metadata": {"resourceVersion": "1"}, "spec": {"priority": 2}}), MERGE,
                    (409,), "stale resourceVersion in a patch (reference: 409)"))
    for body in (b"", b"null", b"[]", b"5", b'"x"', b"{", b"[{]", b'{"spec":[]}', b'{"metadata":"x"}',
                 b'{"metadata":{"name":"other"}}', b'{"metadata":{"namespace":"other"}}', b'{"kind":"Agent"}',
                 b'{"apiVersion":"v9"}', b'{"metadata":{"uid":"not-the-uid"}}', b'{"spec":{"priority":0}}',
                 b'{"metadata":{"creationTimestamp":"yesterday"}}', b'{"metadata":{"labels":{"a b":"c"}}}',
                 b'{"metadata":{"finalizers":[1]}}', b'{"spec":{"payload":"not an object"}}'):
        reqs.append(Req("PATCH", seed, body, MERGE, None, "bad merge patch"))
    for ops in ([{"op": "explode", "path": "/spec"}], [{"op": "add"}], [{"path": "/spec"}], {"op": "add"},
                [{"op": "remove", "path": "/metadata"}], [{"op": "remove", "path": "/metadata/name"}],
                [{"op": "replace", "path": "/metadata/name", "value": "renamed"}],
                [{"op": "replace", "path": "/kind", "value": "Agent"}],
                [{"op": "add", "path": "spec/priority", "value": 1}],
                [{"op": "add", "path": "/spec/requiredCapabilities/99999999999999999999", "value": "x"}],
                [{"op": "add", "path": "/spec/requiredCapabilities/-1", "value": "x"}],
                [{"op": "add", "path": "/spec/requiredCapabilities/5", "value": "x"}],
                [{"op": "remove", "path": "/spec/nothing/deeper"}],
                [{"op": "replace", "path": "/spec/~2", "value": 1}],
                [{"op": "move", "from": "/spec", "path": "/spec/payload/inner"}],
                [{"op": "copy", "from": "/nowhere", "path": "/spec/payload/x"}],
                [{"op": "add", "path": "/spec/priority", "value": 11}],
                [{"op": "add", "path": "/spec/priority"}],
                [{"op": "test", "path": "/spec/priority"}],
                [1, 2, 3], [[]], [None]):
        reqs.append(Req("PATCH", seed, dumps(ops), JPATCH, None, "bad JSON patch"))
    # a copy bomb: each op doubles an array (a real server limits the accumulated copy size)
    ops = [{"op": "add", "path": "/spec/payload/bomb", "value": ["b" * 100]}]
    ops += [{"op": "copy", "from": "/spec/payload/bomb", "path": "/spec/payload/bomb/-"} for _ in range(20)]
    ops += [{"op": "test", "path": "/spec/priority", "value": 99}]
    reqs.append(Req("PATCH", seed, dumps(ops), JPATCH, None, "JSON patch copy bomb, ends in a failing test"))
    reqs.append(Req("PATCH", seed, dumps([{"op": "test", "path": "/spec/priority", "value": 99}] * 20000), JPATCH,
                    None, "20000 operations"))
    # update without or with a stale resourceVersion
    reqs.append(Req("PUT", seed, dumps(task("seed-1")), JSON, (409, 422), "update without resourceVersion"))
    stale = task("seed-1")
    stale["metadata"]["resourceVersion"] = "1"
    reqs.append(Req("PUT", seed, dumps(stale), JSON, (409,), "update with a stale resourceVersion"))
    reqs.append(Req("PUT", seed, dumps(task("seed-2")), JSON, (400, 422), "update: name differs from the URL"))
    reqs.append(Req("PUT", f"{TASKS}/nope", b"{not json", JSON, (400,), "update with malformed JSON"))
    # delete
    reqs.append(Req("DELETE", f"{TASKS}/nope", None, [], (404,), "delete of a missing object"))
    reqs.append(Req("DELETE", seed, dumps({"preconditions": {"resourceVersion": "1"}}), JSON, (409,),
                    "delete precondition fails (reference: 409)"))
    reqs.append(Req("DELETE", seed, dumps({"preconditions": {"uid": "not-the-uid"}}), JSON, (409,),
                    "delete uid precondition fails"))
    reqs.append(Req("DELETE", seed, b"{not json", JSON, (400,), "delete with malformed options"))
    # (each at another seed: a server that wrongly accepts one deletes its target)
    reqs.append(Req("DELETE", f"{TASKS}/seed-2", dumps({"propagationPolicy": "Sideways"}), JSON, (400, 422),
                    "delete with an invalid propagationPolicy"))
    reqs.append(Req("DELETE", f"{TASKS}/seed-3?gracePeriodSeconds=abc", None, [], (400,), "gracePeriodSeconds=abc"))
    reqs.append(Req("DELETE", f"{TASKS}/seed-0?dryRun=Bogus", None, [], (400, 422), "dryRun=Bogus"))
    return reqs


def corpus_targets() -> list[Req]:
    """Paths, queries, methods and content types."""
    reqs = []
    get = lambda target, note, expect=None: reqs.append(Req("GET", target, None, [], expect, note))
    for target in ("/api/v1/namespaces/fuzz/../../../etc/passwd", "/apis/mcp.io/v1/namespaces/fuzz/tasks/%2e%2e",
                   "/apis/mcp.io/v1/namespaces/fuzz/tasks/..", "/apis/mcp.io/v1/namespaces/fuzz/tasks/.",
                   "/apis/mcp.io/v1/namespaces/fuzz%2Ftasks", "/apis/mcp.io/v1/namespaces/fuzz/tasks/seed-0%2Fstatus",
                   "/apis/mcp.io/v1/namespaces/fuzz/tasks/seed-0/status/extra",
                   "/apis/mcp.io/v1/namespaces/fuzz/tasks/seed-0/scale",
                   "/apis/mcp.io/v1/namespaces/fuzz/tasks/seed-0/unknown",
                   "/apis/mcp.io/v1/namespaces/fuzz/tasks/" + "a" * 300,
                   "/apis/mcp.io/v1/namespaces/" + "b" * 20000 + "/tasks",
                   "/apis/mcp.io/v1/namespaces/fuzz/tasks/" + "%41" * 3000,
                   "/apis/nope.io/v1/things", "/apis/nope.io/v1", "/apis/nope.io", "/apis/mcp.io/v2/namespaces/fuzz/tasks",
                   "/apis/mcp.io/v1/namespaces/fuzz/widgets", "/api/v1/namespaces/fuzz/pods", "/api/v2",
                   "/apis/mcp.io/v1/tasks/seed-0", "/apis/mcp.io/v1/namespaces//tasks", "//api//v1//namespaces",
                   "/%00", "/api/v1/namespaces/%ff", "/api/v1/namespaces/%zz", "/api/v1/namespaces/%",
                   "/api/v1/namespaces/%%", "/api/v1/namespaces/Fuzz", "/api/v1/namespaces/fuzz/tasks",
                   "/apis/mcp.io/v1/namespaces/fuzz/tasks/%E2%9C%93", "/apis/mcp.io/v1/namespaces/fuzz/tasks/a%20b",
                   "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/nope",
                   "/apis/coordination.k8s.io/v1/namespaces/fuzz/leases/nope", "/nope", "/api/v1/nope",
                   "/apis/mcp.io/v1/namespaces/fuzz/tasks?%zz=1", "/apis/mcp.io/v1/namespaces/fuzz/tasks?a=%zz",
                   "/openapi/v3/apis/nope.io/v1", "/openapi/v3/apis/mcp.io/v9"):
        get(target, "odd path")
    get(f"{TASKS}/missing", "get: NotFound (reference: 404)", (404,))
    # query strings
    for query, expect in (("limit=abc", (400,)), ("limit=-1", None), ("limit=99999999999999999999", None),
                          ("continue=garbage", (400,)), ("continue=eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ", (400,)),
                          ("limit=1&continue=%zz", None), ("resourceVersion=abc", (400, 422)),
                          ("resourceVersionMatch=Exact", (400, 422)), ("resourceVersionMatch=Bogus&resourceVersion=1", (400, 422)),
                          ("labelSelector=!!!", (400,)), ("labelSelector=a%20in%20(b", (400,)),
                          ("labelSelector=" + "a" * 70000 + "=b", (400,)),
                          ("fieldSelector=spec.priority%3D5", (400,)), ("fieldSelector=status.phase%3D%3DRunning%3D%3Dx", None),
                          ("fieldSelector=nonsense", (400,)), ("timeoutSeconds=abc", (400,)),
                          ("allowWatchBookmarks=maybe", None), ("pretty=bogus", None),
                          ("sendInitialEvents=true", (400, 422)), ("limit=1&limit=2", None), ("=", None), ("&&&", None),
                          ("a=" + "%FF" * 10, None), ("%00=%00", None)):
        get(f"{TASKS}?{query}", f"list with ?{query[:40]}", expect)
    for query in ("fieldValidation=Bogus", "dryRun=Bogus", "fieldManager=" + "m" * 200, "fieldManager=%01"):
        reqs.append(Req("POST", f"{TASKS}?{query}", dumps(task(None)), JSON, (400, 422), f"create with ?{query[:30]}"))
    # watches that end by themselves
    for query in ("watch=true&resourceVersion=abc&timeoutSeconds=1", "watch=true&resourceVersion=1&timeoutSeconds=1",
                  "watch=true&fieldSelector=spec.priority%3D5&timeoutSeconds=1",
                  "watch=true&labelSelector=!!!&timeoutSeconds=1", "watch=true&timeoutSeconds=-1",
                  "watch=maybe&timeoutSeconds=1", "watch=1&resourceVersion=0&timeoutSeconds=1",
                  "watch=true&sendInitialEvents=true&timeoutSeconds=1",
                  "watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=false&timeoutSeconds=1"):
        get(f"{TASKS}?{query}", f"watch with ?{query[:50]}")
    # methods
    for method, target, body in (("PUT", TASKS, dumps(task("put-collection"))), ("POST", f"{TASKS}/seed-0", dumps(task("x"))),
                                 ("PATCH", TASKS, b"{}"), ("POST", f"{TASKS}/seed-0/status", b"{}"),
                                 ("DELETE", f"{TASKS}/seed-0/status", None), ("TRACE", TASKS, None),
                                 ("FOO", TASKS, None), ("FOO", f"{TASKS}/seed-0", b"{}"), ("get", TASKS, None),
                                 ("PROPFIND", "/", None), ("CONNECT", TASKS, None), ("OPTIONS", TASKS, None),
                                 ("OPTIONS", "*", None), ("POST", "/api/v1/namespaces/fuzz", b"{}"),
                                 ("POST", "/apis/mcp.io/v1", b"{}"), ("DELETE", "/apis/mcp.io/v1", None),
                                 ("POST", "/version", b"{}"), ("PUT", "/readyz", b"{}"),
                                 ("X" * 200, TASKS, None)):
        reqs.append(Req(method, target, body, JSON if body is not None else [], None, f"{method[:10]} on {target[-30:]}"))
    # content types and Accept headers
    valid = dumps(task(None))
    for ctype, expect in (("text/plain", (415,)), ("application/xml", (415,)), ("application/x-www-form-urlencoded", (415,)),
                          ("multipart/form-data; boundary=x", (415,)), ("application/merge-patch+json", (415,)),
                          ("application/json-patch+json", (415,)), ("application/apply-patch+yaml", (415,)),
                          ("application/vnd.kubernetes.protobuf", (415,)), ("", None), ("application/json;;", None),
                          ("*/*", None), ("application/json; charset=utf-16", None), ("\u00e9/\u00e9", None),
                          ("application/yaml", None)):
        body = valid if ctype != "application/yaml" else b"apiVersion: mcp.io/v1\nkind: Task\nmetadata: {generateName: y-}\nspec: [\n"
        reqs.append(Req("POST", TASKS, body, [("Content-Type", ctype)], expect, f"create as {ctype!r}"))
    for accept, expect in (("application/xml", (406,)), ("text/html", (406,)), ("image/png", (406,)),
                           ("application/json;as=Bogus;v=v1;g=meta.k8s.io", (406,)), ("application/json;as=Table;v=v9;g=meta.k8s.io", (406,))):
        reqs.append(Req("GET", TASKS, None, [("Accept", accept)], expect, f"Accept {accept}"))
        reqs.append(Req("POST", TASKS, b"{not json", JSON + [("Accept", accept)], None, f"bad body, Accept {accept}"))
    reqs.append(Req("POST", TASKS, valid, JSON + [("Content-Encoding", "gzip")], None, "Content-Encoding gzip, plain body"))
    reqs.append(Req("GET", TASKS, None, [("Authorization", "Bearer wrong")], None, "second Authorization header"))
    # deletecollection is namespaced: a real server answers 405 on the all-namespaces path (last: it may delete)
    reqs.append(Req("DELETE", "/apis/mcp.io/v1/tasks", None, [], (405,), "deletecollection across namespaces"))
    return reqs


def test_fixed_corpus(fuzz):
    fuzz.begin()
    reqs = corpus_bodies() + corpus_patches() + corpus_targets()
    for req in reqs:
        fuzz.exercise(req)
    # the same bodies over HTTP/2
    for req in corpus_bodies():
        fuzz.exercise(dataclasses.replace(req, http2=True))
    fuzz.finish(minimum_sent=len(reqs) // 2)


def test_rejected_batch_changes_nothing(fuzz):
    """A batch of requests that a real server rejects: afterwards every list has the same resourceVersion
    and every seed object is as it was."""
    fuzz.begin()
    with fuzz.server.client() as c:
        before = {name: c.get(f"{TASKS}/{name}").json() for name in SEEDS}
    rejected = [r for r in corpus_bodies() + corpus_patches() if r.expect and all(s >= 400 for s in r.expect)]
    # other names than the corpus test's (a server that wrongly accepted those would answer 409 here)
    rejected = [dataclasses.replace(r, body=r.body.replace(b'"name": "', b'"name": "b-').replace(b'"name":"', b'"name":"b-'))
                if r.method == "POST" and r.body else r for r in rejected]
    assert len(rejected) >= 20
    fingerprint = fuzz.fingerprint()
    for req in rejected:
        fuzz.exercise(req)
    fuzz.finish(minimum_sent=len(rejected))
    assert fuzz.fingerprint() == fingerprint, "storage changed during a batch of rejected requests"
    with fuzz.server.client() as c:
        after = {name: c.get(f"{TASKS}/{name}").json() for name in SEEDS}
    assert after == before


def test_dry_run_changes_nothing(fuzz):
    """dryRun=All runs the whole request, answers as if it were done, and stores nothing (kubectl --dry-run=server)."""
    fuzz.begin()
    for req in (Req("POST", f"{TASKS}?dryRun=All", dumps(task("dry-run")), JSON, (201,), "create, dry run"),
                Req("PATCH", f"{TASKS}/seed-4?dryRun=All", dumps({"spec": {"priority": 9}}), MERGE, (200,), "patch, dry run"),
                Req("PATCH", f"{TASKS}/seed-4/status?dryRun=All", dumps({"status": {"phase": "Running"}}), MERGE, (200,),
                    "status patch, dry run"),
                Req("DELETE", f"{TASKS}/seed-4?dryRun=All", None, [], (200,), "delete, dry run")):
        before = fuzz.fingerprint()
        res = fuzz.exercise(req)
        if res is not None and res.status < 400 and fuzz.baseline != before:
            fuzz.fail("dry run changed storage", req.note, req, res, extra=f"{before} -> {fuzz.baseline}")
    with fuzz.server.client() as c:
        assert c.get(f"{TASKS}/dry-run").status_code == 404
        assert c.get(f"{TASKS}/seed-4").status_code == 200
    fuzz.finish()


def test_size_caps(fuzz):
    """Payload and result are capped at 256 KiB, and the error says so (DESIGN.md, Limits)."""
    fuzz.begin()
    over = 300 * 1024
    for req in (Req("POST", TASKS, dumps(task("payload-cap", payload={"blob": "y" * over})), JSON, (400, 413, 422),
                    "payload over 256 KiB"),
                Req("PATCH", f"{TASKS}/seed-0/status", dumps({"status": {"result": {"blob": "z" * over}}}), MERGE,
                    (400, 413, 422), "result over 256 KiB")):
        res = fuzz.exercise(req)
        if res is not None and res.status in req.expect:
            message = json.loads(res.body).get("message", "")
            if "256" not in message:
                fuzz.fail("size cap error does not say what the cap is", req.note, req, res)
    res = fuzz.exercise(Req("POST", TASKS, dumps(task("payload-200k", payload={"blob": "y" * (200 * 1024)})), JSON,
                            (201,), "payload of 200 KiB, under the cap"))
    fuzz.finish()


# ============================================================================================ hypothesis strategies

KEYS = ["apiVersion", "kind", "metadata", "name", "namespace", "generateName", "labels", "annotations", "spec",
        "status", "priority", "payload", "finalizers", "resourceVersion", "uid", "deletionTimestamp",
        "ownerReferences", "managedFields", "requiredCapabilities", "retryPolicy", "maxRetries", "phase", "op",
        "path", "value", "from", "$patch", "creationTimestamp", "generation", "items"]

json_scalars = (st.none() | st.booleans() | st.integers(-(2 ** 70), 2 ** 70) |
                st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30) |
                st.sampled_from(["", "mcp.io/v1", "Task", "Agent", "v1", "Running", "Bad_Name", "2030-06-10T12:00:00Z",
                                 "x" * 300, "\u0000", "\ud7ff\ue000", "\U0001F600"]))
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) |
    st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=12), children, max_size=4),
    max_leaves=12)

BAD_UTF8 = [b"\xff", b"\xfe", b"\xc3\x28", b"\xa0\xa1", b"\xe2\x28\xa1", b"\xf0\x28\x8c\xbc", b"\xed\xa0\x80",
            b"\xc0\xaf", b"\xe2\x82", b"\x00"]
NUMBERS = [b"1e400", b"-1e400", b"123456789012345678901234567890", b"0.5", b"-0", b"1E2", b"NaN", b"Infinity",
           b"01", b"1.", b"-", b"9" * 400, b"9223372036854775808", b"-9223372036854775809", b"5.0", b"1e-400"]


def body_bases() -> list[tuple[str, str, list, object]]:
    """(method, target, headers, valid body) that the mutations start from."""
    agent = {"apiVersion": "mcp.io/v1", "kind": "Agent", "metadata": {"generateName": "fa-"},
             "spec": {"capabilities": ["echo", "sum"], "resources": {"cpu": "2", "memory": "4Gi", "gpu": False},
                      "tags": ["zone-a"], "maxConcurrentTasks": 2,
                      "capabilityDetails": [{"name": "echo", "description": "d",
                                             "inputSchema": {"type": "object", "properties": {"x": {"type": "string"}}}}]}}
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "widgets.fuzz.io"},
           "spec": {"group": "fuzz.io", "scope": "Namespaced",
                    "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
                    "versions": [{"name": "v1", "served": True, "storage": True,
                                  "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                                      "spec": {"type": "object", "properties": {
                                          "size": {"type": "integer", "minimum": 0, "default": 1},
                                          "tags": {"type": "array", "items": {"type": "string"}},
                                          "blob": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}}}}}]}}
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"generateName": "fl-"},
             "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15, "renewTime": "2026-11-25T10:00:00.000000Z"}}
    status = {"status": {"phase": "Running", "assignedAgent": "a", "attempt": 1, "progress": {"current": 1, "total": 2},
                         "conditions": [{"type": "Running", "status": "True", "reason": "Started", "message": "m",
                                         "lastTransitionTime": "2026-11-25T10:00:00Z"}]}}
    return [
        ("POST", TASKS, JSON, task(None)),
        ("POST", TASKS + "?fieldValidation=Strict", JSON, task(None)),
        ("PUT", f"{TASKS}/seed-1", JSON, task("seed-1")),
        ("PATCH", f"{TASKS}/seed-2", MERGE, {"metadata": {"labels": {"x": "y"}}, "spec": {"priority": 4}}),
        ("PATCH", f"{TASKS}/seed-2/status", MERGE, status),
        ("PATCH", f"{TASKS}/seed-3", JPATCH, [{"op": "replace", "path": "/spec/priority", "value": 3},
                                               {"op": "add", "path": "/metadata/labels/y", "value": "z"}]),
        ("POST", AGENTS, JSON, agent),
        ("POST", NAMESPACES, JSON, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"generateName": "fz-"}}),
        ("POST", LEASES, JSON, lease),
        ("POST", CRD_PATH, JSON, crd),
        ("DELETE", f"{TASKS}/nope", JSON, {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"}),
    ]


def paths_of(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from paths_of(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from paths_of(v, prefix + (i,))


def set_at(root, path, new):
    if not path:
        return new
    parent = root
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = new
    return root


def delete_at(root, path):
    if not path:
        return root
    parent = root
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    return root


@st.composite
def mutated_body(draw, bases=None):
    bases = bases or body_bases()
    method, target, headers, base = draw(st.sampled_from(bases))
    value = copy.deepcopy(base)
    notes = []
    # structural mutations on the parsed value
    for _ in range(draw(st.integers(0, 3))):
        paths = list(paths_of(value))
        path = draw(st.sampled_from(paths))
        op = draw(st.sampled_from(["replace", "delete", "add", "wrong-type", "placeholder"]))
        if op == "replace" or (op == "delete" and not path):
            value = set_at(value, path, draw(json_values))
        elif op == "delete":
            value = delete_at(value, path)
        elif op == "add":
            node = value
            for key in path:
                node = node[key]
            if isinstance(node, dict):
                node[draw(st.sampled_from(KEYS) | st.text(max_size=8))] = draw(json_values)
            elif isinstance(node, list):
                node.insert(draw(st.integers(0, len(node))), draw(json_values))
        elif op == "wrong-type":
            value = set_at(value, path, draw(st.sampled_from([[], {}, "", 0, 1.5, True, None, [[[]]], {"a": {}}])))
        else:
            value = set_at(value, path, "@@")
        notes.append(f"{op}@{'/'.join(map(str, path))}")
    text = json.dumps(value, ensure_ascii=draw(st.booleans()),
                      indent=draw(st.sampled_from([None, None, 0, 2])))
    data = bytearray(text.encode("utf-8", "surrogatepass"))
    # what replaces a placeholder: invalid UTF-8, a weird number, deep nesting
    while b'"@@"' in data:
        kind = draw(st.sampled_from(["utf8", "number", "nest", "string"]))
        if kind == "utf8":
            raw = b'"a' + draw(st.sampled_from(BAD_UTF8)) + b'b"'
        elif kind == "number":
            raw = draw(st.sampled_from(NUMBERS))
        elif kind == "nest":
            raw = nested(draw(st.sampled_from([100, 1000, 10_001, 100_000])), draw(st.sampled_from(["array", "object"])))
        else:
            raw = b'"' + b"x" * draw(st.sampled_from([0, 1, 253, 254, 64 * 1024, 300 * 1024])) + b'"'
        data = data.replace(b'"@@"', raw, 1)
        notes.append(f"placeholder={kind}")
    # byte-level mutations
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.sampled_from(["flip", "truncate", "insert", "erase", "dup-key", "bad-utf8", "repeat"]))
        if not data:
            break
        pos = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "truncate":
            del data[pos:]
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8) | st.sampled_from([b"{", b"}", b"[", b"]", b'"', b",",
                                                                                   b":", b"\\", b"\\u", b"null"]))
        elif op == "erase":
            del data[pos:pos + draw(st.integers(1, 16))]
        elif op == "dup-key":
            brace = data.find(b"{")
            if brace >= 0:
                key = draw(st.sampled_from(["apiVersion", "kind", "metadata", "spec", "status", "name"]))
                data[brace + 1:brace + 1] = json.dumps(key).encode() + b":" + json.dumps(draw(json_values)).encode() + b","
        elif op == "bad-utf8":
            data[pos:pos] = draw(st.sampled_from(BAD_UTF8))
        else:
            end = min(len(data), pos + draw(st.integers(1, 32)))
            data[pos:pos] = data[pos:end] * draw(st.integers(2, 50))
        notes.append(op)
    return Req(method, target, bytes(data), list(headers), None, "mutation: " + ",".join(notes))


SETTINGS = dict(deadline=None, database=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                                       HealthCheck.large_base_example], print_blob=False)


def test_mutated_bodies_http1(fuzz):
    fuzz.send_generated(mutated_body(), 600)


def test_mutated_bodies_http2(fuzz):
    fuzz.send_generated(mutated_body(), 250, http2=True)


@st.composite
def top_level_values(draw):
    """Any JSON value at all, to any body endpoint."""
    method, target, headers, _ = draw(st.sampled_from(body_bases()))
    value = draw(json_values)
    return Req(method, target, json.dumps(value).encode("utf-8", "surrogatepass"), list(headers), None, "any JSON value")


def test_arbitrary_json_values(fuzz):
    fuzz.send_generated(top_level_values(), 250)


# -- paths, queries, methods, headers

SEGMENTS = ["api", "apis", "v1", "v2", "namespaces", SCRATCH, "tasks", "agents", "status", "mcp.io", "nope.io",
            "coordination.k8s.io", "leases", "events", "apiextensions.k8s.io", "openapi", "v3", "version", "readyz",
            "livez", "healthz", "metrics", "seed-0", "..", ".", "", "%2F", "%2f", "%2E%2E", "%00", "%zz", "%", "%ff",
            "%C0%AF", "%E2%9C%93", "a b", "tasks.mcp.io", "scale", "finalize", "binding", "proxy", "log", "exec",
            ";", "?", "#", "~", "*"]

segment = (st.sampled_from(SEGMENTS) | st.text(max_size=20) |
           st.integers(1, 12).map(lambda k: "s" * (1 << k)) |  # up to 4 KiB
           st.lists(st.sampled_from(["%", "2", "F", "f", "0", "z", "/", "."]), max_size=6).map("".join))


def encode_segment(s: str) -> str:
    return urllib.parse.quote(s, safe="%:@!$&'()*+,;=~.-_")


@st.composite
def random_targets(draw):
    segs = draw(st.lists(segment, min_size=0, max_size=9))
    path = "/" + "/".join(encode_segment(s) for s in segs)
    shape = draw(st.sampled_from(["plain", "plain", "plain", "double-slash", "trailing", "relative", "absolute"]))
    if shape == "double-slash":
        path = "/" + path
    elif shape == "trailing":
        path += "/"
    elif shape == "relative":
        path = path.lstrip("/") or "x"
    elif shape == "absolute":
        path = f"https://127.0.0.1{path}"
    if draw(st.booleans()):
        path += "?" + draw(random_queries())
    return path


QUERY_KEYS = ["limit", "continue", "labelSelector", "fieldSelector", "resourceVersion", "resourceVersionMatch",
              "timeoutSeconds", "allowWatchBookmarks", "dryRun", "fieldManager", "fieldValidation", "pretty",
              "propagationPolicy", "gracePeriodSeconds", "orphanDependents", "force", "includeUninitialized",
              "as", "export", "exact", "sendInitialEvents"]
QUERY_VALUES = ["", "0", "1", "-1", "500", "99999999999999999999", "true", "false", "All", "Strict", "Warn", "Ignore",
                "NotOlderThan", "Exact", "Background", "Foreground", "Orphan", "a=b", "a!=b", "a in (b,c)", "!a",
                "status.phase=Running", "metadata.name=seed-0", "spec.priority=5", "=", "==", ",", "(", "%zz", "%00",
                "x" * 5000]


@st.composite
def random_queries(draw):
    pairs = draw(st.lists(st.tuples(st.sampled_from(QUERY_KEYS) | st.text(max_size=10),
                                    st.sampled_from(QUERY_VALUES) | st.text(max_size=20)), max_size=5))
    out = []
    for key, value in pairs:
        if key.lower() in ("watch", "follow"):
            continue
        if draw(st.booleans()):
            out.append(urllib.parse.quote_plus(key) + "=" + urllib.parse.quote_plus(value))
        else:
            out.append(encode_segment(key) + "=" + encode_segment(value).replace("%25", "%"))
    return "&".join(out)


METHODS = ["GET", "GET", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "FOO", "get",
           "PROPFIND", "M-SEARCH"]
CONTENT_TYPES = [None, "application/json", "application/json; charset=utf-8", "application/yaml",
                 "application/merge-patch+json", "application/json-patch+json", "application/strategic-merge-patch+json",
                 "application/apply-patch+yaml", "application/vnd.kubernetes.protobuf", "text/plain", "", "*/*",
                 "application/json;;", "application/x-www-form-urlencoded", "multipart/form-data"]
ACCEPTS = [None, None, "application/json", "*/*", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
           "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io", "application/yaml", "application/xml",
           "text/html", "application/json;as=Table;v=v1;g=meta.k8s.io", "nonsense", "application/*"]


@st.composite
def random_requests(draw):
    method = draw(st.sampled_from(METHODS))
    target = draw(random_targets())
    body = None
    if method not in ("GET", "HEAD", "get") or draw(st.integers(0, 9)) == 0:
        body = draw(st.sampled_from([None, b"{}", dumps(task(None)), b"{not json", b"[]",
                                     dumps([{"op": "add", "path": "/x", "value": 1}])]))
    headers = []
    ctype = draw(st.sampled_from(CONTENT_TYPES))
    if ctype is not None:
        headers.append(("Content-Type", ctype))
    accept = draw(st.sampled_from(ACCEPTS))
    if accept is not None:
        headers.append(("Accept", accept))
    if method == "DELETE":
        # never delete the namespaces, CRDs or seeds for real (nor a whole collection): aim at a missing name
        target = target.split("?")[0].rstrip("/") + "/nope-" + str(draw(st.integers(0, 9)))
    return Req(method, target, body, headers, None, "random request")


@st.composite
def valid_targets_random_query(draw):
    method, base, body = draw(st.sampled_from([
        ("GET", TASKS, None), ("GET", f"{TASKS}/seed-0", None), ("GET", "/apis/mcp.io/v1/tasks", None),
        ("GET", NAMESPACES, None), ("GET", CRD_PATH, None), ("GET", f"{TASKS}/seed-0/status", None),
        ("POST", TASKS, dumps(task(None))), ("PATCH", f"{TASKS}/seed-4", b'{"metadata":{"labels":{"q":"1"}}}'),
        ("DELETE", f"{TASKS}/nope", None), ("GET", "/apis/mcp.io/v1", None), ("GET", "/openapi/v3", None),
        ("GET", AGENTS, None), ("GET", LEASES, None)]))
    headers = [("Content-Type", "application/merge-patch+json" if method == "PATCH" else "application/json")] \
        if body else []
    accept = draw(st.sampled_from(ACCEPTS))
    if accept:
        headers.append(("Accept", accept))
    return Req(method, f"{base}?{draw(random_queries())}", body, headers, None, "random query")


def test_random_paths_methods_headers(fuzz):
    fuzz.send_generated(random_requests(), 500)


def test_random_query_strings(fuzz):
    fuzz.send_generated(valid_targets_random_query(), 300)


def test_server_survived(fuzz):
    """The same process answered everything (a crash restarts it and is reported where it happened; this
    checks that no restart was needed at all) and is ready."""
    assert fuzz.restarts == 0, f"the server crashed and was restarted {fuzz.restarts} times"
    assert fuzz.server.process.poll() is None
    with fuzz.server.client() as c:
        assert c.get("/readyz").status_code == 200
        for name in SEEDS:
            assert c.get(f"{TASKS}/{name}").status_code in (200, 404)
