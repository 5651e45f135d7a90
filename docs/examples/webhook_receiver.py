"""A small receiver of Unicommerce webhooks, with the Python standard library only.

    python docs/examples/webhook_receiver.py --secret whsec_… --port 8765

It does what every receiver must do (docs/webhooks.md):

1. verify the signature over the raw body, in constant time, and refuse a timestamp
   outside the replay window (5 minutes): 401;
2. answer 2xx to an event id it has already handled, without handling it again (a retry
   or a redelivery);
3. keep, per variant, the highest ``version`` of ``stock.changed`` it has applied, and
   ignore an older or equal one arriving late (still 2xx: it is not an error, and a
   non-2xx answer would only make the sender retry it).

Everything is kept in memory to stay short. A real receiver keeps the seen event ids and
the versions in its database, and updates them in the same transaction as its stock.
``GET /`` shows what this one holds, as JSON. One line per delivery goes to stdout.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import sys
import threading
import time
from collections import OrderedDict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SIGNATURE_HEADER = "Unicommerce-Signature"
REPLAY_WINDOW = 300  # seconds
MAX_BODY = 1_000_000  # bytes


class SignatureError(ValueError):
    pass


def verify(secret: str, header: str | None, body: bytes, *, window: int = REPLAY_WINDOW) -> int:
    """``t=<unix seconds>,v1=<hex>``: v1 = HMAC-SHA256(secret, f"{t}." + raw body)."""
    if not header:
        raise SignatureError("missing signature header")
    timestamp, candidates = None, []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and timestamp is None:
            try:
                timestamp = int(value)
            except ValueError:
                raise SignatureError("malformed timestamp") from None
        elif name == "v1":
            candidates.append(value)
    if timestamp is None:
        raise SignatureError("no timestamp in the signature header")
    if abs(time.time() - timestamp) > window:
        raise SignatureError("timestamp outside the replay window")
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    if not any(hmac.compare_digest(expected.hexdigest(), given) for given in candidates):
        raise SignatureError("signature does not match")
    return timestamp


class Store:
    """What the receiver has applied. Thread-safe: the server answers in threads."""

    def __init__(self, remember: int = 100_000) -> None:
        self.lock = threading.Lock()
        self.remember = remember
        self.seen: OrderedDict[str, None] = OrderedDict()  # event ids, oldest first
        self.stock: dict[str, dict] = {}  # variant id -> the latest stock.changed data
        self.counts = {"applied": 0, "duplicate": 0, "stale": 0, "ignored": 0}

    def apply(self, event: dict) -> str:
        with self.lock:
            outcome = self._apply(event)
            self.counts[outcome] += 1
            return outcome

    def _apply(self, event: dict) -> str:
        if event["id"] in self.seen:
            return "duplicate"
        self.seen[event["id"]] = None
        while len(self.seen) > self.remember:
            self.seen.popitem(last=False)
        if event["type"] != "stock.changed":
            return "ignored"  # a type this receiver does not use: accept, do nothing
        data = event["data"]
        variant = str(data["variant_id"])
        held = self.stock.get(variant)
        if held is not None and data["version"] <= held["version"]:
            return "stale"
        self.stock[variant] = data  # here a real receiver updates its own stock figure
        return "applied"

    def state(self) -> dict:
        with self.lock:
            return {"counts": dict(self.counts), "stock": dict(self.stock)}


def parse_event(body: bytes) -> dict | None:
    """The event, or None when the (signed) body is not one."""
    try:
        event = json.loads(body)
        if not isinstance(event, dict) or not isinstance(event.get("data"), dict):
            return None
        event["id"], event["type"] = str(event["id"]), str(event["type"])
        if event["type"] == "stock.changed":
            event["data"]["version"] = int(event["data"]["version"])
            event["data"]["variant_id"] = int(event["data"]["variant_id"])
    except (ValueError, KeyError, TypeError):
        return None
    return event


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def make_handler(secret: str, store: Store, window: int) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "UnicommerceReceiverExample/1"

        def do_POST(self) -> None:
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if not 0 <= length <= MAX_BODY:
                self.answer(413 if length > MAX_BODY else 400, {"error": "bad body length"})
                return
            body = self.rfile.read(length)  # the raw bytes: verify them, never re-encoded
            try:
                verify(secret, self.headers.get(SIGNATURE_HEADER), body, window=window)
            except SignatureError as error:
                self.answer(401, {"error": str(error)})
                return
            event = parse_event(body)
            if event is None:
                self.answer(400, {"error": "not a Unicommerce event"})
                return
            outcome = store.apply(event)
            data = event["data"]
            say(
                f"{outcome} {event['type']} {event['id']} variant={data.get('variant_id')} "
                f"version={data.get('version')} quantity={data.get('quantity')}"
            )
            self.answer(200, {"status": outcome})

        def do_GET(self) -> None:
            self.answer(200, store.state())

        def answer(self, status: int, document: dict) -> None:
            payload = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args) -> None:
            pass  # one line per delivery is printed by do_POST

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--secret", required=True, help="the endpoint's signing secret")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0: any free port")
    parser.add_argument("--window", type=int, default=REPLAY_WINDOW, help="seconds")
    options = parser.parse_args(argv)
    server = ThreadingHTTPServer(
        (options.host, options.port), make_handler(options.secret, Store(), options.window)
    )
    host, port = server.server_address[:2]
    say(f"listening on http://{host}:{port}/")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
