"""A small real webhook receiver for the sandbox tests: an HTTP server on 127.0.0.1 that records
every delivery and answers as a test scripts it (status, delay, redirect)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    """One request as the receiver saw it (`at` on the monotonic clock)."""

    at: float
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    answered: int

    @property
    def event_name(self) -> str:
        return str(self.body["event_name"])

    @property
    def event_id(self) -> str:
        return str(self.body["meta"]["event_id"])

    @property
    def attempt(self) -> int:
        return int(self.body["meta"]["attempt"])


@dataclass(frozen=True)
class Answer:
    """What to answer one request with: a status after `sleep` seconds."""

    status: int = 200
    sleep: float = 0.0


class Receiver:
    """Records deliveries; `script` answers the next requests in order, then `default`."""

    def __init__(self, server: ThreadingHTTPServer) -> None:
        self._server = server
        self._cv = threading.Condition()
        self.received: list[Received] = []
        self.script: list[Answer] = []
        self.default = Answer()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks/personio"

    def next_answer(self) -> Answer:
        with self._cv:
            return self.script.pop(0) if self.script else self.default

    def record(self, item: Received) -> None:
        with self._cv:
            self.received.append(item)
            self._cv.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """At least `count` requests (all received so far), or AssertionError after `timeout`."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"expected {count} deliveries within {timeout} s, got "
                        f"{[r.event_name for r in self.received]}"
                    )
                self._cv.wait(left)
            return list(self.received)

    def quiet_for(self, seconds: float) -> list[Received]:
        """Everything received once nothing more arrived for `seconds`."""
        time.sleep(seconds)
        with self._cv:
            return list(self.received)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        receiver = self.server.receiver
        answer = receiver.next_answer()
        arrived = time.monotonic()
        if answer.sleep:
            time.sleep(answer.sleep)
        try:
            body = json.loads(raw)
        except ValueError:
            body = {"unparsable": raw.decode(errors="replace")}
        receiver.record(
            Received(arrived, self.path, dict(self.headers.items()), body, answer.status)
        )
        self.send_response(answer.status)
        if 300 <= answer.status < 400:
            self.send_header("Location", receiver.url + "/moved")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: Receiver


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    server = _Server(("127.0.0.1", 0), _Handler)
    receiver = Receiver(server)
    server.receiver = receiver
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
