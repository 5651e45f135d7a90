"""Misbehaving receivers for the outbound tests, real sockets on 127.0.0.1: one that
only records whether anything connected, one that drips its answer, one that answers
without end, and an HTTPS one with a certificate for a host name."""

from __future__ import annotations

import select
import socket
import ssl
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

TLS = Path(__file__).parent / "tls"  # a test CA and a certificate for hooks.example.test
TLS_HOST = "hooks.example.test"


class Listener:
    """A listening socket that accepts nothing by itself: ``reached()`` says whether any
    connection was made to it (a completed handshake waits in the backlog)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]

    def reached(self) -> bool:
        return bool(select.select([self.sock], [], [], 0.2)[0])

    def close(self) -> None:
        self.sock.close()


def read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head


class RawServer:
    """Answers each connection with ``answer(conn)`` in a thread of its own."""

    def __init__(self, answer: Callable[[socket.socket], None]) -> None:
        self.answer = answer
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.requests = 0
        self.done = threading.Event()
        self.stopping = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            read_request(conn)
            self.requests += 1
            try:
                self.answer(conn)
            except OSError:  # the sender hung up
                pass
            finally:
                self.done.set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/stock"

    def stop(self) -> None:
        self.stopping.set()
        self.sock.close()


def dripping(part: str, *, every: float = 1.0, count: int = 30) -> Callable:
    """An answer whose headers (``part="headers"``) or body (``"body"``) come one byte
    every ``every`` seconds: ``count`` seconds in all, never a pause long enough for a
    read timeout."""

    def answer(conn: socket.socket) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if part == "headers":
            head = (
                b"HTTP/1.1 200 OK\r\nX-Slow: " + b"." * count + b"\r\nContent-Length: 2\r\n\r\nok"
            )
            drip = head[:-6]
            conn.sendall(b"")
            for byte in drip:
                conn.sendall(bytes([byte]))
                time.sleep(every)
            conn.sendall(head[len(drip) :])
        else:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % count)
            for _ in range(count):
                conn.sendall(b".")
                time.sleep(every)

    return answer


class Endless:
    """An answer of ``total`` bytes (far more than anyone should read), starting with a
    NUL byte; ``sent`` counts what the socket took before the sender hung up."""

    def __init__(self, status: int = 200, total: int = 1 << 30) -> None:
        self.status = status
        self.total = total
        self.sent = 0

    def __call__(self, conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 %d OK\r\nContent-Length: %d\r\n\r\n" % (self.status, self.total))
        chunk = b"queued\x00" + b"x" * (65536 - 7)
        while self.sent < self.total:
            conn.sendall(chunk)
            self.sent += len(chunk)
            chunk = b"x" * 65536


class TlsReceiver:
    """HTTPS on 127.0.0.1 with the certificate of ``hooks.example.test``; records the
    SNI name each handshake asked for and each request's Host header."""

    def __init__(self) -> None:
        self.server_names: list[str | None] = []
        self.hosts: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.hosts.append(self.headers["Host"])
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(TLS / "hooks.pem", TLS / "hooks.key")
        context.sni_callback = lambda sock, name, ctx: self.server_names.append(name)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def client_context() -> ssl.SSLContext:
    """What a sender trusting only the test CA uses."""
    return ssl.create_default_context(cafile=str(TLS / "ca.pem"))
