"""Graceful shutdown with open watches: SIGTERM ends every watch, the streams finish cleanly, and the process
exits 0 promptly. (The HTTP server's graceful shutdown waits for every response in flight, and a watch never
ends by itself: before the store's watches were ended at shutdown, SIGTERM hung until the process was killed.)
"""
import json
import signal
import threading
import time

import pytest

from conftest import create_namespace

DEADLINE = 2.0  # seconds from SIGTERM to exit
NAMESPACES = "/api/v1/namespaces"


class Watch(threading.Thread):
    """Reads a watch stream to its end in the background, noting each event and how the stream ended."""

    def __init__(self, server, path: str, http2: bool):
        super().__init__(daemon=True)
        self.server, self.path, self.http2 = server, path, http2
        self.events: list[dict] = []
        self.first_event = threading.Event()
        self.ended_cleanly = False
        self.error: BaseException | None = None

    def run(self):
        try:
            with self.server.client(http2=self.http2) as c:
                with c.stream("GET", self.path) as r:
                    assert r.status_code == 200, r.read()
                    for line in r.iter_lines():
                        if line:
                            self.events.append(json.loads(line))
                            self.first_event.set()
            self.ended_cleanly = True
        except BaseException as e:  # reported by the test
            self.error = e
        finally:
            self.first_event.set()


def new_namespace(server, name: str) -> str:
    """Creates a namespace; answers its resourceVersion."""
    with server.client() as c:
        return create_namespace(c, name)["metadata"]["resourceVersion"]


def test_sigterm_with_open_watches_exits_promptly(fresh_apiserver):
    server = fresh_apiserver
    new_namespace(server, "watched")
    # One watch of each kind a client holds: HTTP/2 and HTTP/1.1, from the current state and with bookmarks,
    # and one across all namespaces of a namespaced resource.
    watches = [Watch(server, f"{NAMESPACES}?watch=true", http2=True),
               Watch(server, f"{NAMESPACES}?watch=true&allowWatchBookmarks=true", http2=False),
               Watch(server, "/apis/coordination.k8s.io/v1/leases?watch=true&sendInitialEvents=true"
                             "&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan", http2=True)]
    for w in watches:
        w.start()
    for w in watches:
        assert w.first_event.wait(10), f"no event on {w.path}"
        assert w.error is None, w.error

    sent = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    code = server.process.wait(timeout=10)
    took = time.monotonic() - sent
    assert code == 0, server.log_path.read_text()[-2000:]
    assert took < DEADLINE, f"exit took {took:.2f}s"

    for w in watches:
        w.join(timeout=DEADLINE)
        assert not w.is_alive(), f"the watch {w.path} did not end"
        assert w.error is None and w.ended_cleanly, f"{w.path}: {w.error!r}"
    assert watches[0].events[0]["type"] == "ADDED"
    assert watches[2].events[-1]["type"] == "BOOKMARK"  # the initial-events-end bookmark


@pytest.mark.parametrize("http2", [True, False])
def test_sigterm_while_idle_and_after_a_watch_closed(fresh_apiserver, http2):
    """No watch open (one came and went): shutdown is as prompt, and the data survives the restart."""
    server = fresh_apiserver
    version = new_namespace(server, "kept")
    with server.client(http2=http2) as c:
        r = c.get(NAMESPACES, params={"watch": "true", "resourceVersion": version, "timeoutSeconds": "1"})
        assert r.status_code == 200
    sent = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=10) == 0
    assert time.monotonic() - sent < DEADLINE
    server.start()
    with server.client() as c:
        assert c.get(f"{NAMESPACES}/kept").status_code == 200
