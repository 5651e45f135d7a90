"""A webhook receiver for tests: a real HTTP server on 127.0.0.1 in a thread, recording
every call, with scripted answers (fail the first N calls, answer slowly, hang)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from unicommerce.webhooks import signing


@dataclass
class Call:
    headers: dict[str, str]
    body: bytes
    received_at: float

    @property
    def document(self) -> dict:
        return json.loads(self.body)

    @property
    def event_id(self) -> str:
        return self.headers[signing.EVENT_ID_HEADER]


@dataclass
class Receiver:
    fail_first: int = 0  # answer 500 to this many calls first
    status: int = 200
    delay: float = 0.0  # seconds before answering
    hang: threading.Event | None = None  # if given, calls wait until it is set…
    hang_calls: int = 10**9  # …for this many first calls only
    calls: list[Call] = field(default_factory=list)
    secret: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body leave in separate writes: without TCP_NODELAY, Nagle and
            # the client's delayed ACK add ~40 ms to every answer on a kept-alive socket.
            disable_nagle_algorithm = True

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                call = Call(dict(self.headers.items()), body, time.time())
                with receiver._lock:
                    receiver.calls.append(call)
                    number = len(receiver.calls)
                if receiver.hang is not None and number <= receiver.hang_calls:
                    receiver.hang.wait(30)
                if receiver.delay:
                    time.sleep(receiver.delay)
                status = 500 if number <= receiver.fail_first else receiver.status
                answer = b"ok" if status < 300 else b"nope"
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:  # the sender gave up waiting (a timeout test)
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.hang is not None:
            self.hang.set()
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hooks/stock"

    def documents(self) -> list[dict]:
        with self._lock:
            return [call.document for call in self.calls]

    def event_ids(self) -> list[str]:
        with self._lock:
            return [call.event_id for call in self.calls]

    def latest_quantities(self) -> dict[str, tuple[int, int]]:
        """What a careful receiver ends up with: per SKU, the (version, quantity) of the
        highest version seen, whatever the arrival order."""
        latest: dict[str, tuple[int, int]] = {}
        for document in self.documents():
            data = document["data"]
            seen = latest.get(data["sku"])
            if seen is None or data["version"] > seen[0]:
                latest[data["sku"]] = (data["version"], data["quantity"])
        return latest
