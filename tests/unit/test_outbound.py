"""app.outbound against real local servers: deadlines, size caps, the gate, the SSRF guard."""

import ipaddress
import socket
import ssl
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from app import outbound
from tests.fixtures.services import Reply

OPEN = outbound.Policy(deadline_seconds=1.0, allow_private=True)
GUARDED = outbound.Policy(deadline_seconds=1.0)


def send(url, policy=OPEN, gate=None, **kwargs):
    return outbound.send("GET", url, policy=policy, gate=gate or outbound.Gate(4, 4), **kwargs)


@pytest.mark.parametrize("mode", ["headers", "body"])
def test_a_dripping_server_is_cut_off_at_the_total_deadline(drip_server, mode):
    server = drip_server(mode, interval=0.1)  # each read is quick; only the total is long
    started = time.monotonic()
    with pytest.raises(outbound.OutboundError) as raised:
        send(server.url + "/v1/models")
    elapsed = time.monotonic() - started
    assert raised.value.kind == "timeout"
    assert 0.9 < elapsed < 1.5
    deadline = time.monotonic() + 2
    while not server.held and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.held  # the connection is closed, not left dripping
    assert server.held[0] < 1.6


@pytest.mark.parametrize("mode", ["huge", "declared"])
def test_a_huge_answer_is_refused_after_the_cap(drip_server, mode):
    server = drip_server(mode)
    policy = outbound.Policy(deadline_seconds=5.0, max_body_bytes=256 * 1024, allow_private=True)
    started = time.monotonic()
    with pytest.raises(outbound.OutboundError) as raised:
        send(server.url, policy)
    assert raised.value.kind == "too_large"
    assert time.monotonic() - started < 2
    assert server.sent_bytes < 64 * 1024 * 1024  # it stopped reading long before the server's 1 GB


def test_an_answer_within_the_limits_is_returned_with_its_headers(recording_server):
    recording_server.queue(Reply(200, {"ok": True}, headers={"Retry-After": "3"}))
    response = send(recording_server.url + "/v1/models?x=1", headers={"Authorization": "Bearer k"})
    assert (response.status, response.body) == (200, b'{"ok": true}')
    assert response.headers.get("retry-after") == "3"
    sent = recording_server.requests[-1]
    assert (sent.path, sent.headers["Authorization"]) == ("/v1/models?x=1", "Bearer k")


def test_the_gate_refuses_past_its_bound_and_per_key(recording_server):
    gate = outbound.Gate(total=2, per_key=1)
    with gate.slot("alice"):
        with pytest.raises(outbound.Busy):
            send(recording_server.url, gate=gate, key="alice")
        with gate.slot("bob"), pytest.raises(outbound.Busy):
            send(recording_server.url, gate=gate, key="carol")
    assert gate.in_flight() == 0
    assert send(recording_server.url, gate=gate, key="alice").status == 204
    assert len(recording_server.requests) == 1


def test_a_slot_is_given_back_when_the_request_fails(drip_server):
    gate = outbound.Gate(total=1, per_key=1)
    with pytest.raises(outbound.OutboundError):
        send(drip_server("body", 0.1).url, gate=gate)
    assert gate.in_flight() == 0


class CountingListener:
    """Counts TCP connections to 127.0.0.1:port (it never answers)."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.close()


def hosts_file_loopback_names():
    names = []
    for line in Path("/etc/hosts").read_text().splitlines():
        fields = line.split("#")[0].split()
        if fields and ipaddress.ip_address(fields[0]).is_loopback:
            names += fields[1:]
    return names


LOOPBACK_FORMS = [
    "127.0.0.1",
    "2130706433",
    "0x7f000001",
    "0x7f.0.0.1",
    "0177.0.0.1",
    "127.1",
    "0",
    "0.0.0.0",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[::127.0.0.1]",
    *hosts_file_loopback_names(),
]


def reaches_unguarded(listener, host):
    """Without the guard, does this spelling reach the listener on 127.0.0.1?"""
    with pytest.raises(outbound.OutboundError):  # the listener never answers
        send(f"http://{host}:{listener.port}/", outbound.Policy(1.0, allow_private=True))
    deadline = time.monotonic() + 1
    while listener.accepted == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    return listener.accepted == 1


@pytest.mark.parametrize("host", LOOPBACK_FORMS)
def test_every_spelling_of_a_local_address_is_refused_before_connecting(host):
    listener = CountingListener()
    if host != "[::127.0.0.1]":  # IPv4-compatible: refused, though Linux would not route it to 127.0.0.1
        assert reaches_unguarded(listener, host)
    before = listener.accepted
    with pytest.raises(outbound.OutboundError) as raised:
        send(f"http://{host}:{listener.port}/v1/models", GUARDED)
    assert raised.value.kind == "blocked"
    time.sleep(0.05)
    assert listener.accepted == before


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
        "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255", "192.0.2.1", "198.18.0.1",
        "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "fec0::1", "ff02::1", "2001:db8::1",
        "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::127.0.0.1", "::10.0.0.1", "2002:7f00:1::1", "2002:a00:1::",
        "64:ff9b::7f00:1", "64:ff9b::a00:1", "64:ff9b:1::1", "2001:0:4136:e378:8000:63bf:80ff:fffe",
    ],
)  # fmt: skip
def test_non_public_addresses_in_every_ipv4_and_ipv6_form_are_refused(address):
    assert not outbound.is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]
)
def test_public_unicast_addresses_are_allowed(address):
    assert outbound.is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("host", ["[::1]", "[fe80::1]", "[fc00::1]", "[::]"])
def test_ipv6_local_literals_are_refused_before_connecting(host):
    with pytest.raises(outbound.OutboundError) as raised:
        send(f"http://{host}:80/", GUARDED)
    assert raised.value.kind == "blocked"


def test_a_host_on_the_operators_list_may_be_local(recording_server):
    port = recording_server.server.server_port
    policy = outbound.Policy(deadline_seconds=1.0, allowed_hosts=frozenset({"localhost"}))
    assert send(f"http://localhost:{port}/", policy).status == 204
    with pytest.raises(outbound.OutboundError):
        send(f"http://127.0.0.1:{port}/", policy)


def test_the_vetted_address_is_dialled_without_a_second_lookup(recording_server, monkeypatch):
    """A rebinding name answers a good address once and a different one later: the
    connection goes to the first, and the Host header keeps the name."""
    port = recording_server.server.server_port
    answers = iter(["127.0.0.1", "127.0.0.2"])
    lookups = []
    real = socket.getaddrinfo

    def rebinding(host, *args, **kwargs):
        if host != "rebind.example":
            return real(host, *args, **kwargs)
        lookups.append(host)
        return real(next(answers), *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    assert send(f"http://rebind.example:{port}/v1").status == 204
    assert lookups == ["rebind.example"]
    assert recording_server.requests[-1].headers["Host"] == f"rebind.example:{port}"


def test_a_redirect_to_a_private_address_is_returned_not_followed(recording_server):
    listener = CountingListener()
    recording_server.queue(Reply(302, headers={"Location": f"http://127.0.0.1:{listener.port}/admin"}))
    response = send(recording_server.url + "/v1/models")
    assert response.status == 302
    time.sleep(0.1)
    assert listener.accepted == 0


def test_a_name_that_does_not_resolve_is_unreachable():
    with pytest.raises(outbound.OutboundError) as raised:
        send("http://no-such-host.invalid/", GUARDED)
    assert raised.value.kind == "unreachable"


def test_literal_addresses_are_read_the_way_the_resolver_reads_them():
    assert str(outbound.literal_address("0x7f.0.0.1")) == "127.0.0.1"
    assert str(outbound.literal_address("2130706433")) == "127.0.0.1"
    assert str(outbound.literal_address("[::1]")) == "::1"
    assert outbound.literal_address("api.openai.com") is None


def self_signed(tmp_path, name):
    """A certificate for DNS name `name` (its own CA) and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture
def tls_server(tmp_path, monkeypatch):
    """An HTTPS server on 127.0.0.1 with a certificate for tls.example (trusted for this
    test), reachable as tls.example; it records the SNI names it was asked for."""
    cert, key = self_signed(tmp_path, "tls.example")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    real = socket.getaddrinfo
    monkeypatch.setattr(
        socket, "getaddrinfo", lambda host, *a, **k: real("127.0.0.1" if host.endswith(".example") else host, *a, **k)
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    names = []
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    listener = socket.create_server(("127.0.0.1", 0))

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            try:
                with context.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(65536)
                    tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            except OSError:
                conn.close()

    threading.Thread(target=serve, daemon=True).start()
    yield listener.getsockname()[1], names
    listener.close()


def test_tls_checks_the_certificate_against_the_name_while_dialling_the_vetted_address(tls_server):
    port, names = tls_server
    policy = outbound.Policy(deadline_seconds=2.0, allowed_hosts=frozenset({"tls.example", "wrong.example"}))
    assert send(f"https://tls.example:{port}/", policy).body == b"ok"
    assert names == ["tls.example"]
    with pytest.raises(outbound.OutboundError) as raised:
        send(f"https://wrong.example:{port}/", policy)  # same address, a name the certificate is not for
    assert raised.value.kind == "unreachable"
