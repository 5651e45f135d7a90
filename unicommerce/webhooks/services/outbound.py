"""The HTTP call of a delivery, made safe for URLs that outsiders chose.

- **One resolution, then exactly those addresses.** The host name is resolved once per
  connection; every address of the answer is checked (``address_allowed``) and the
  socket is connected to those very addresses. A second answer of the resolver is never
  asked for, so a name that answers a public address to the check and this network's to
  the connect (DNS rebinding) reaches nothing. The URL is not rewritten: the Host
  header, TLS's SNI and the certificate check all use the host name, and kept-alive
  connections stay keyed by it.
- **One deadline per delivery** covers resolving, connecting, TLS, sending and every
  byte of the answer. It is enforced here, at each socket operation, so it holds
  whatever pool the Celery worker runs (the threads pool enforces no task time limit):
  a receiver dripping one byte a second is cut at the deadline.
- **A bounded answer**: at most ``max_bytes`` of the body are read; more is not an
  error, the rest is not read (the connection is then closed, not reused).
- **Failures in plain words**: ``DeliveryFailed.message`` says what went wrong for the
  channel's developer, without addresses of our network, exception names or stack
  traces (those go to our log).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ipaddress
import logging
import select
import socket
import ssl
import threading
import time
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import httpcore
import httpx
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

USER_AGENT = "Unicommerce-Webhooks/1"
EXCERPT_CHARS = 500  # what the delivery log keeps of an answer
LOCAL_NAMES = ("localhost", "localhost.localdomain")
LOCAL_SUFFIXES = (".localhost", ".local")


@dataclass(frozen=True)
class Answer:
    status_code: int
    excerpt: str  # the start of the body, as text


class DeliveryFailed(Exception):
    """No HTTP answer; ``message`` is safe to store and show to the channel."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AddressNotAllowed(Exception):
    """The host is (or resolves to) a loopback, private, link-local, multicast or
    reserved address."""


class HostNotFound(Exception):
    """The resolver knows no address for the host."""


class DeadlineExceeded(Exception):
    """The delivery's overall deadline passed."""


# --- Which addresses may be called ---------------------------------------------------


def host_name_allowed(host: str) -> bool:
    """The names that always mean this machine or its network, before any resolving."""
    name = host.lower().rstrip(".")
    return name not in LOCAL_NAMES and not name.endswith(LOCAL_SUFFIXES)


def address_allowed(text: str) -> bool:
    """A public unicast address (an IPv6 address embedding an IPv4 one is judged by it)."""
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0].strip("[]"))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if address.teredo is not None:
            embedded = address.teredo[1]
        if embedded is not None and not address_allowed(str(embedded)):
            return False
    return address.is_global and not (
        address.is_multicast
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_unspecified
    )


# --- The deadline --------------------------------------------------------------------

_state = threading.local()  # httpx's sync client does all socket work in the caller's thread


@contextlib.contextmanager
def _deadline_in(seconds: float) -> Iterator[None]:
    _state.deadline = time.monotonic() + seconds
    try:
        yield
    finally:
        _state.deadline = None


def _past_deadline() -> bool:
    deadline = getattr(_state, "deadline", None)
    return deadline is not None and time.monotonic() >= deadline


def _time_left(timeout: float | None) -> float | None:
    """``timeout`` cut to what is left before the deadline; DeadlineExceeded if nothing."""
    deadline = getattr(_state, "deadline", None)
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise DeadlineExceeded
    return left if timeout is None else min(timeout, left)


@contextlib.contextmanager
def _socket_errors(timed_out: type[Exception], failed: type[Exception]) -> Iterator[None]:
    """Socket errors as httpcore's (httpx maps those to its own), the original kept as
    the cause; a timeout that is the deadline's is DeadlineExceeded."""
    try:
        yield
    except TimeoutError as exc:
        if _past_deadline():
            raise DeadlineExceeded from exc
        raise timed_out(str(exc)) from exc
    except OSError as exc:
        raise failed(str(exc)) from exc


# --- The network backend: checked addresses, deadline-bound streams ------------------

_resolvers: concurrent.futures.ThreadPoolExecutor | None = None
_resolvers_lock = threading.Lock()


def _resolve(host: str, port: int, *, allow_private: bool) -> list[tuple]:
    """Every address of ``host``, each checked, from ONE call of the resolver (run
    aside, so that a hanging resolver is bound by the deadline too)."""
    if not allow_private and not host_name_allowed(host):
        raise AddressNotAllowed(host)
    global _resolvers
    with _resolvers_lock:
        if _resolvers is None:
            _resolvers = concurrent.futures.ThreadPoolExecutor(
                max_workers=8, thread_name_prefix="webhook-resolver"
            )
    future = _resolvers.submit(
        socket.getaddrinfo, host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    try:
        infos = future.result(timeout=_time_left(None))
    except concurrent.futures.TimeoutError:
        raise DeadlineExceeded from None
    except (socket.gaierror, UnicodeError) as exc:
        raise HostNotFound(host) from exc
    if not infos:
        raise HostNotFound(host)
    if not allow_private and not all(address_allowed(info[4][0]) for info in infos):
        raise AddressNotAllowed(host)
    return infos


def _open_connection(
    family: int, kind: int, proto: int, sockaddr: tuple, timeout: float | None
) -> socket.socket:
    """A TCP connection to exactly ``sockaddr`` (an address, not a name: no resolving)."""
    sock = socket.socket(family, kind, proto)
    try:
        sock.settimeout(timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.connect(sockaddr)
    except BaseException:
        sock.close()
        raise
    return sock


def _is_readable(sock: socket.socket) -> bool:
    """An idle kept-alive socket that is readable was closed by the receiver."""
    if sock.fileno() == -1:
        return True
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    return bool(select.select([sock], [], [], 0)[0])


class _Stream(httpcore.NetworkStream):
    """A socket whose every operation ends at the delivery's deadline."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with _socket_errors(httpcore.ReadTimeout, httpcore.ReadError):
            self._sock.settimeout(_time_left(timeout))
            return self._sock.recv(max_bytes)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        with _socket_errors(httpcore.WriteTimeout, httpcore.WriteError):
            while buffer:
                self._sock.settimeout(_time_left(timeout))
                sent = self._sock.send(buffer)
                buffer = buffer[sent:]

    def close(self) -> None:
        self._sock.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        # server_hostname is the URL's host name: SNI and the certificate check use it.
        try:
            with _socket_errors(httpcore.ConnectTimeout, httpcore.ConnectError):
                self._sock.settimeout(_time_left(timeout))
                sock = ssl_context.wrap_socket(self._sock, server_hostname=server_hostname)
        except BaseException:
            self.close()
            raise
        return _Stream(sock)

    def get_extra_info(self, info: str) -> typing.Any:
        if info == "ssl_object" and isinstance(self._sock, ssl.SSLSocket):
            return self._sock
        if info == "client_addr":
            return self._sock.getsockname()
        if info == "server_addr":
            return self._sock.getpeername()
        if info == "socket":
            return self._sock
        if info == "is_readable":
            return _is_readable(self._sock)
        return None


class _CheckedBackend(httpcore.SyncBackend):
    def __init__(self, *, allow_private: bool) -> None:
        self.allow_private = allow_private

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        infos = _resolve(host, port, allow_private=self.allow_private)
        failure: OSError | None = None
        for family, kind, proto, _name, sockaddr in infos:
            try:
                sock = _open_connection(family, kind, proto, sockaddr, _time_left(timeout))
            except OSError as exc:  # the next address, as a browser would
                failure = exc
                continue
            for option in socket_options or ():
                sock.setsockopt(*option)
            return _Stream(sock)
        with _socket_errors(httpcore.ConnectTimeout, httpcore.ConnectError):
            raise typing.cast(OSError, failure)


class _Transport(httpx.HTTPTransport):
    """httpx's transport on a pool whose connections are made by _CheckedBackend
    (httpx 0.28 takes no network backend as an argument: its pool is replaced)."""

    def __init__(self, *, allow_private: bool, verify: ssl.SSLContext | bool, limits) -> None:
        super().__init__(trust_env=False, limits=limits)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=_CheckedBackend(allow_private=allow_private),
        )


def client_build(*, allow_private: bool, verify: ssl.SSLContext | bool = True) -> httpx.Client:
    return httpx.Client(
        transport=_Transport(
            allow_private=allow_private,
            verify=verify,
            limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
        ),
        follow_redirects=False,
        trust_env=False,  # no proxy from the environment: the checked address is called
        headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"},
    )


_clients: dict[bool, httpx.Client] = {}
_clients_lock = threading.Lock()


def _client(allow_private: bool) -> httpx.Client:
    with _clients_lock:
        if allow_private not in _clients:
            _clients[allow_private] = client_build(allow_private=allow_private)
        return _clients[allow_private]


# --- The call ------------------------------------------------------------------------


def post(
    url: str,
    *,
    content: bytes,
    headers: Mapping[str, str],
    timeout: float,
    deadline: float,
    max_bytes: int,
    allow_private: bool,
) -> Answer:
    """POST ``content``; the answer's status and the start of its body.

    ``timeout``: the longest pause (connecting: at most 3 s); ``deadline``: the whole
    call. Raises DeliveryFailed when there is no HTTP answer within them."""
    with _deadline_in(deadline):
        try:
            client = _client(allow_private)
            request = client.build_request(
                "POST",
                url,
                content=content,
                headers=dict(headers),
                # Waiting for a free connection of our pool: at most the deadline too.
                timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0), pool=deadline),
            )
            response = client.send(request, stream=True)
            try:
                body = _read_at_most(response, max_bytes)
            finally:
                response.close()
        except Exception as exc:
            raise DeliveryFailed(failure_message(exc, timeout=timeout, deadline=deadline)) from exc
    return Answer(response.status_code, _excerpt(body, response.charset_encoding))


def _read_at_most(response: httpx.Response, max_bytes: int) -> bytes:
    """At most ``max_bytes`` of the body as sent (no decompression: nothing asked for
    it, and a compressed answer could inflate without bound)."""
    received = bytearray()
    for chunk in response.iter_raw():
        received += chunk[: max_bytes - len(received)]
        if len(received) >= max_bytes:
            break
    return bytes(received)


def _excerpt(body: bytes, charset: str | None) -> str:
    try:
        text = body[: EXCERPT_CHARS * 4].decode(charset or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        text = body[: EXCERPT_CHARS * 4].decode("utf-8", errors="replace")
    return text.replace("\x00", "\ufffd")[:EXCERPT_CHARS]  # PostgreSQL text holds no NUL


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def failure_message(exc: BaseException, *, timeout: float, deadline: float) -> str:
    """What went wrong, in words for the channel's developer: no address, no exception."""
    chain = list(_causes(exc))

    def found(*kinds: type[BaseException]) -> bool:
        return any(isinstance(item, kinds) for item in chain)

    if found(AddressNotAllowed):
        return _(
            "The URL's host is or resolves to an address that is not allowed "
            "(this network, a private or a reserved address)."
        )
    if found(HostNotFound):
        return _("The URL's host name could not be resolved.")
    if found(DeadlineExceeded):
        return _("Timed out after %(seconds)g s (the time limit of a delivery).") % {
            "seconds": deadline
        }
    if found(httpx.PoolTimeout):
        return _("Our senders were all busy; the delivery will be tried again.")
    if found(httpx.ConnectTimeout):
        return _("Could not connect within %(seconds)g s.") % {"seconds": min(timeout, 3.0)}
    if found(httpx.TimeoutException):
        return _("Timed out: the receiver sent nothing for %(seconds)g s.") % {"seconds": timeout}
    if found(ssl.SSLCertVerificationError):
        return _("The receiver's TLS certificate is not valid for this host name.")
    if found(ssl.SSLError):
        return _("The TLS handshake with the receiver failed.")
    if found(ConnectionRefusedError):
        return _("Connection refused.")
    if found(httpx.ConnectError):
        return _("Could not connect to the receiver.")
    if found(httpx.RemoteProtocolError):
        return _("The receiver closed the connection without a valid HTTP answer.")
    if found(httpx.ReadError, httpx.WriteError):
        return _("The connection to the receiver broke during the delivery.")
    if found(httpx.UnsupportedProtocol, httpx.InvalidURL):
        return _("The URL cannot be called.")
    logger.exception("webhook delivery failed unexpectedly")
    return _("The delivery failed on our side; it will be tried again.")
