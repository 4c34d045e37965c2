"""Every HTTP request PlantOps sends to a service on the internet (an LLM provider, Discord,
any later notification channel) goes through `send`. No Flask here.

Each request has:
- one total deadline for name lookup, connect, TLS, headers and body together (a watchdog
  shuts the socket when it passes, so a server dripping a byte at a time cannot hold a
  thread past it);
- a cap on the response body;
- a slot in a `Gate`: a small per-process bound on requests in flight, so web threads are
  never all waiting on the internet. Past the bound the caller gets `Busy` at once;
- unless the policy allows private addresses: the name is resolved once, refused when any
  address is not a public unicast one, and the connection goes to that vetted address
  (no second lookup, so no DNS rebinding), with the original Host header and TLS
  certificate checks against the name. Redirects are never followed.
"""

import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from urllib.parse import urlsplit

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
READ_CHUNK = 64 * 1024

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

NAT64 = ipaddress.ip_network("64:ff9b::/96")
NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")


class OutboundError(Exception):
    """`kind` is one of timeout, unreachable, blocked, too_large, busy, bad_url, error.
    The message never contains the URL (a webhook's path is its secret)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class Busy(OutboundError):
    def __init__(self) -> None:
        super().__init__("busy", "too many outbound requests in flight")


@dataclass(frozen=True)
class Policy:
    """`allow_private`: any address may be called (development and tests); otherwise only
    public ones, except hosts in `allowed_hosts` (lower case), which the operator listed."""

    deadline_seconds: float
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    allow_private: bool = False
    allowed_hosts: frozenset[str] = frozenset()

    def vets(self, hostname: str) -> bool:
        return not self.allow_private and hostname.lower() not in self.allowed_hosts


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str] | http.client.HTTPMessage  # the latter: case-insensitive
    body: bytes


@dataclass
class Gate:
    """At most `total` requests in flight in this process, and at most `per_key` for one key
    (one account), so a single account cannot take every slot."""

    total: int
    per_key: int
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _in_flight: Counter = field(default_factory=Counter, repr=False)

    @contextmanager
    def slot(self, key: object) -> Iterator[None]:
        with self._lock:
            if self._in_flight.total() >= self.total or self._in_flight[key] >= self.per_key:
                raise Busy()
            self._in_flight[key] += 1
        try:
            yield
        finally:
            with self._lock:
                self._in_flight[key] -= 1
                if self._in_flight[key] <= 0:
                    del self._in_flight[key]

    def in_flight(self) -> int:
        with self._lock:
            return self._in_flight.total()


_gates: dict[tuple[str, int, int], Gate] = {}
_gates_lock = threading.Lock()


def shared_gate(name: str, total: int, per_key: int) -> Gate:
    """This process's gate called `name` (one per name and size)."""
    with _gates_lock:
        return _gates.setdefault((name, total, per_key), Gate(total, per_key))


def is_public(address: IPAddress) -> bool:
    """A public unicast address: not loopback, private, link-local, unique-local, site-local,
    multicast, unspecified or reserved, also when an IPv4 address hides inside an IPv6 one
    (IPv4-mapped, IPv4-compatible, 6to4, Teredo, NAT64)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None or address in NAT64 or int(address) >> 32 == 0:
            return is_public(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))  # only the IPv4 part is dialled
        tunnelled = address.sixtofour or (address.teredo[1] if address.teredo else None)
        if (tunnelled is not None and not is_public(tunnelled)) or address in NAT64_LOCAL or address.is_site_local:
            return False
    return address.is_global and not (
        address.is_multicast
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_unspecified
        or address.is_reserved
    )


def literal_address(host: str) -> IPAddress | None:
    """The address a host written as a number means to the resolver, in every form it accepts
    (`127.1`, `0x7f.0.0.1`, `0177.0.0.1`, `2130706433`, `[::1]`), else None for a name."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def resolve(host: str, port: int, timeout: float) -> list[tuple]:
    """getaddrinfo's (family, sockaddr) pairs for `host`, within `timeout` seconds.

    getaddrinfo cannot be interrupted, so it runs in a thread of its own; a lookup that
    outlives the deadline is left to finish there and its answer is dropped.
    """
    outcome: dict = {}

    def lookup() -> None:
        try:
            outcome["infos"] = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as error:
            outcome["error"] = error

    thread = threading.Thread(target=lookup, name="outbound-resolve", daemon=True)
    thread.start()
    thread.join(max(timeout, 0.0))
    if "infos" in outcome:
        return [(family, sockaddr) for family, _, _, _, sockaddr in outcome["infos"]]
    if "error" in outcome:
        raise OutboundError("unreachable", "the name could not be resolved")
    raise OutboundError("timeout", "the name lookup did not finish in time")


def vetted_addresses(host: str, port: int, policy: Policy, timeout: float) -> list[tuple]:
    """Resolve `host` and, when the policy vets it, refuse it if ANY address is not public."""
    addresses = resolve(host, port, timeout)
    if policy.vets(host):
        for _, sockaddr in addresses:
            if not is_public(ipaddress.ip_address(sockaddr[0].split("%")[0])):
                raise OutboundError("blocked", "the address is local or private")
    return addresses


def send(
    method: str,
    url: str,
    *,
    policy: Policy,
    gate: Gate,
    key: object = None,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
) -> Response:
    """Send one request and read the whole answer, or raise OutboundError (Busy when `gate`
    has no free slot for `key`)."""
    deadline = Deadline(policy.deadline_seconds)
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise OutboundError("bad_url", "the URL has a malformed port") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundError("bad_url", "only http and https URLs can be called")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    with gate.slot(key):
        addresses = vetted_addresses(parts.hostname, port, policy, deadline.remaining())
        with deadline.watch() as watchdog:
            sock = _connect(addresses, deadline, watchdog)
            connection = _connection(parts.scheme, parts.hostname, port, sock, deadline)
            try:
                return _exchange(connection, method, target, headers or {}, body, policy.max_body_bytes, deadline)
            finally:
                connection.close()


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends = time.monotonic() + seconds
        self.expired = threading.Event()

    def remaining(self) -> float:
        return max(self.ends - time.monotonic(), 0.0)

    def check(self) -> None:
        if self.expired.is_set() or self.remaining() <= 0:
            raise self.timeout()

    def timeout(self) -> OutboundError:
        return OutboundError("timeout", f"no complete answer within {self.seconds:g} seconds")

    @contextmanager
    def watch(self) -> Iterator["Watchdog"]:
        watchdog = Watchdog(self)
        try:
            yield watchdog
        except (OSError, http.client.HTTPException) as error:
            if self.expired.is_set() or self.remaining() <= 0 or isinstance(error, TimeoutError):
                raise self.timeout() from None
            raise OutboundError("unreachable", f"the connection failed ({type(error).__name__})") from None
        finally:
            watchdog.cancel()


class Watchdog:
    """Shuts the socket down when the deadline passes: a blocked read then returns at once."""

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline
        self.sock: socket.socket | None = None
        self.timer = threading.Timer(deadline.remaining(), self._fire)
        self.timer.daemon = True
        self.timer.start()

    def guard(self, sock: socket.socket) -> None:
        self.sock = sock
        if self.deadline.expired.is_set():
            self._shut()

    def _fire(self) -> None:
        self.deadline.expired.set()
        self._shut()

    def _shut(self) -> None:
        if self.sock is not None:
            with suppress(OSError):
                socket.socket.shutdown(self.sock, socket.SHUT_RDWR)  # the raw fd, also under TLS

    def cancel(self) -> None:
        self.timer.cancel()


def _connect(addresses: list[tuple], deadline: Deadline, watchdog: Watchdog) -> socket.socket:
    last_error: OSError = OSError("no address")
    for family, sockaddr in addresses:
        deadline.check()
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(deadline.remaining())
        watchdog.guard(sock)
        try:
            sock.connect(sockaddr)
        except OSError as error:
            sock.close()
            last_error = error
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    raise last_error


class _PinnedConnection(http.client.HTTPConnection):
    """An HTTP connection over a socket we already opened to the vetted address."""

    def __init__(self, host: str, port: int, sock: socket.socket, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.sock = sock

    def connect(self) -> None:  # the socket is already connected; never dial again
        raise http.client.HTTPException("connection already closed")


def _connection(scheme: str, hostname: str, port: int, sock: socket.socket, deadline: Deadline) -> _PinnedConnection:
    if scheme == "https":
        context = ssl.create_default_context()
        # SNI and the certificate check use the name the user gave, not the address we dialled.
        sock = context.wrap_socket(sock, server_hostname=hostname)
    return _PinnedConnection(hostname, port, sock, deadline.remaining())


def _exchange(
    connection: _PinnedConnection,
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes | None,
    max_body_bytes: int,
    deadline: Deadline,
) -> Response:
    connection.request(method, target, body=body, headers=dict(headers))
    with connection.getresponse() as response:
        declared = response.getheader("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > max_body_bytes:
            raise OutboundError("too_large", "the answer is too large")
        body = _read_body(response, max_body_bytes, deadline)
        return Response(response.status, response.msg, body)  # msg: case-insensitive headers


def _read_body(response: http.client.HTTPResponse, max_body_bytes: int, deadline: Deadline) -> bytes:
    chunks, size = [], 0
    while True:
        deadline.check()
        chunk = response.read1(READ_CHUNK) if not response.isclosed() else b""
        if not chunk:
            break
        size += len(chunk)
        if size > max_body_bytes:
            raise OutboundError("too_large", "the answer is too large")
        chunks.append(chunk)
    deadline.check()  # a shut socket also ends the body early: that is the deadline, not the end
    return b"".join(chunks)
