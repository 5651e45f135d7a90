"""A local fake of the parts of Twilio's Programmable Messaging API the SMS backend uses,
for tests: a real threaded HTTP server on 127.0.0.1.

- ``POST /2010-04-01/Accounts/<sid>/Messages.json``: form-encoded ``To``, ``Body``,
  ``From`` or ``MessagingServiceSid``, ``StatusCallback``; HTTP basic auth with the
  account SID and auth token (else 401, code 20003). An invalid ``To`` answers 400 code
  21211. The message is recorded (``messages``) and answered 201 as Twilio does.
- ``GET`` of the same URL lists them, newest first, filtered by ``To``, ``From`` and
  ``DateSent>`` / ``DateSent<`` / ``DateSent`` (``YYYY-MM-DD``), ``PageSize`` capped at
  ``max_page_size``, with ``next_page_uri`` for the next page.
- Switches: ``fail_next(status, …)`` answers the next POSTs with a 500, 429 or 400 error
  without recording anything; ``lose_next_answers`` records the message, then answers
  500 (the answer is lost); ``hold(seconds)`` records the next POST's message, then
  holds its answer (a worker can be killed mid-send); ``hold(seconds,
  before_recording=True)`` holds the request before it is processed: if the client is
  gone when the hold ends, it never reached the provider (``dropped``).
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import secrets
import select
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit

E164 = re.compile(r"\+[1-9][0-9]{6,14}")
ERRORS = {
    400: (21211, "The 'To' number is not a valid phone number."),
    429: (20429, "Too Many Requests"),
    500: (20500, "Internal Server Error"),
    503: (20503, "Service Unavailable"),
}


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    headers: dict[str, str]


@dataclass
class Hold:
    seconds: float
    before_recording: bool


@dataclass
class FakeTwilio:
    account_sid: str = "AC" + "0123456789abcdef" * 2
    auth_token: str = "fake-twilio-auth-token"
    max_page_size: int = 1000
    messages: list[dict] = field(default_factory=list)  # oldest first
    requests: list[Request] = field(default_factory=list)
    lose_next_answers: int = 0
    dropped: int = 0  # held POSTs whose client went away before they were processed
    _failures: list[int] = field(default_factory=list)
    _holds: list[Hold] = field(default_factory=list)
    _release: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    # --- running

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def messages_path(self) -> str:
        return f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"

    def start(self) -> FakeTwilio:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_POST(self):
                fake._serve(self, "POST")

            def do_GET(self):
                fake._serve(self, "GET")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()

    # --- switches

    def fail_next(self, *statuses: int) -> None:
        """The next POSTs answer these HTTP errors (500, 429, 400 = 21211), in order."""
        with self._lock:
            self._failures.extend(statuses)

    def hold(self, seconds: float, *, before_recording: bool = False) -> None:
        """Hold the next POST for ``seconds`` (or until ``release()``): after recording
        its message, or before processing it at all."""
        with self._lock:
            self._holds.append(Hold(seconds, before_recording))
        self._release.clear()

    def release(self) -> None:
        self._release.set()

    def add_message(self, *, to: str, body: str, created: datetime, sender: str = "+15005550006"):
        """A message sent earlier (by us or anyone else on the account)."""
        with self._lock:
            return self._record({"To": to, "Body": body, "From": sender}, created)

    # --- what it saw

    def posts(self) -> list[Request]:
        return [request for request in self.requests if request.method == "POST"]

    def gets(self) -> list[Request]:
        return [request for request in self.requests if request.method == "GET"]

    # --- the API

    def _serve(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        url = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length).decode() if length else ""
        request = Request(
            method,
            url.path,
            dict(parse_qsl(url.query)),
            dict(parse_qsl(body)),
            dict(handler.headers.items()),
        )
        with self._lock:
            self.requests.append(request)
            hold = self._holds.pop(0) if method == "POST" and self._holds else None
        if hold and hold.before_recording and not self._wait(handler, hold.seconds):
            with self._lock:
                self.dropped += 1
            return
        with self._lock:
            status, answer = self._answer(request)
        if hold and not hold.before_recording:
            self._wait(handler, hold.seconds)
        data = json.dumps(answer).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except OSError:
            pass  # the client died while we held its answer

    def _wait(self, handler: BaseHTTPRequestHandler, seconds: float) -> bool:
        """Hold for ``seconds`` or until released; False if the client went away."""
        deadline = time.monotonic() + seconds
        while not self._release.is_set() and time.monotonic() < deadline:
            if _client_gone(handler.connection):
                return False
            self._release.wait(0.05)
        return not _client_gone(handler.connection)

    def _answer(self, request: Request) -> tuple[int, dict]:
        if request.path != self.messages_path:
            return 404, _error(404, 20404, "The requested resource was not found")
        if not self._authorised(request.headers.get("Authorization", "")):
            return 401, _error(401, 20003, "Authenticate")
        if request.method == "GET":
            return 200, self._list(request.query)
        if self._failures:
            status = self._failures.pop(0)
            code, text = ERRORS[status]
            return status, _error(status, code, text)
        form = request.form
        if not form.get("To"):
            return 400, _error(400, 21604, "A 'To' phone number is required.")
        if not form.get("Body"):
            return 400, _error(400, 21602, "Message body is required.")
        if not (form.get("From") or form.get("MessagingServiceSid")):
            return 400, _error(400, 21603, "A 'From' phone number is required.")
        if not E164.fullmatch(form["To"]) or form["To"] == "+15005550001":  # Twilio's test
            return 400, _error(400, 21211, f"The 'To' number {form['To']} is not valid.")
        message = self._record(form, datetime.now(UTC))
        if self.lose_next_answers:
            self.lose_next_answers -= 1
            return 500, _error(500, 20500, "Internal Server Error")
        return 201, message

    def _authorised(self, header: str) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return secrets.compare_digest(header, f"Basic {expected}")

    def _record(self, form: dict[str, str], created: datetime) -> dict:
        sid = f"SM{next(self._ids):032x}"
        date = format_datetime(created.astimezone(UTC).replace(microsecond=0), usegmt=False)
        message = {
            "sid": sid,
            "account_sid": self.account_sid,
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "from": form.get("From") or "+15005550006",
            "to": form["To"],
            "body": form["Body"],
            "status": "queued",
            "direction": "outbound-api",
            "num_segments": "1",
            "date_created": date,
            "date_updated": date,
            "date_sent": date,  # the fake delivers at once
            "error_code": None,
            "error_message": None,
            "price": None,
            "api_version": "2010-04-01",
            "uri": f"{self.messages_path[: -len('.json')]}/{sid}.json",
            "_created": created,
        }
        self.messages.append(message)
        return _public(message)

    def _list(self, query: dict[str, str]) -> dict:
        found = [
            message
            for message in reversed(self.messages)
            if query.get("To") in (None, message["to"])
            and query.get("From") in (None, message["from"])
            and _sent_matches(message["_created"].date().isoformat(), query)
        ]
        size = max(1, min(int(query.get("PageSize") or 50), self.max_page_size))
        page = int(query.get("Page") or 0)
        items = found[page * size : (page + 1) * size]
        uri = self.messages_path

        def page_uri(number: int) -> str:
            return f"{uri}?{urlencode({**query, 'PageSize': size, 'Page': number})}"

        more = (page + 1) * size < len(found)
        return {
            "messages": [_public(message) for message in items],
            "page": page,
            "page_size": size,
            "start": page * size,
            "end": page * size + max(len(items) - 1, 0),
            "uri": page_uri(page),
            "first_page_uri": page_uri(0),
            "previous_page_uri": page_uri(page - 1) if page else None,
            "next_page_uri": page_uri(page + 1) if more else None,
        }


def _sent_matches(day: str, query: dict[str, str]) -> bool:
    return (
        day >= query.get("DateSent>", day)
        and day <= query.get("DateSent<", day)
        and day == query.get("DateSent", day)
    )


def _public(message: dict) -> dict:
    return {key: value for key, value in message.items() if not key.startswith("_")}


def _error(status: int, code: int, text: str) -> dict:
    return {
        "code": code,
        "message": text,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _client_gone(connection: socket.socket) -> bool:
    """The client closed its end (a killed process's socket is closed by the kernel)."""
    try:
        readable, _, _ = select.select([connection], [], [], 0)
        return bool(readable) and connection.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True
