"""NatsTransport against a real nats-server (one node, JetStream).

Each test module gets its own server on free loopback ports, in a temporary
folder; every test uses accounts of its own (mailbox ids are per
installation, so tests do not see each other's envelopes).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from nats_servers import NatsServer, free_port, nats_available
from parley.client import Account, MessageReceived, TransportError
from parley.client.nats_transport import (
    NatsTransport,
    account_mailbox_id,
    mailbox_id,
    parse_nats_url,
)
from parley.client.receiver import receive_batch

pytestmark = pytest.mark.skipif(not nats_available(), reason="nats-server is not installed")

KDF = 2
HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    node = NatsServer(tmp_path_factory.mktemp("nats")).start()
    yield node
    node.stop()


def make(tmp_path: Path, name: str) -> Account:
    return Account.create(tmp_path / f"{name}.db", "pass", kdf_iterations=KDF)


def texts(results) -> list[bytes]:
    return [e.plaintext for events in results for e in events if isinstance(e, MessageReceived)]


def drain(account: Account, transport: NatsTransport, want: int, timeout: float = 20) -> list:
    """Receive until ``want`` messages came (pushed, through wait)."""
    deadline = time.monotonic() + timeout
    got: list = []
    while len(texts(got)) < want and time.monotonic() < deadline:
        deliveries = transport.wait(account.installation_id, limit=100, timeout=1)
        got += receive_batch(account, transport, deliveries)
    return got


@pytest.fixture
def pair(tmp_path, server):
    alice, bob = make(tmp_path, "alice"), make(tmp_path, "bob")
    ta, tb = NatsTransport(server.url), NatsTransport(server.url)
    ta.register(alice.account_id, alice.installation_id)
    tb.register(bob.account_id, bob.installation_id)
    alice.add_contact(bob.contact_code(), "bob")
    bob.add_contact(alice.contact_code(), "alice")
    yield alice, bob, ta, tb
    for t in (ta, tb):
        t.close()
    for a in (alice, bob):
        a.close()


# -- names -------------------------------------------------------------------------------


@pytest.mark.requirement("RELAY-001")
def test_mailbox_ids_carry_no_identifier():
    iid, account = bytes(range(16)), bytes(range(32))
    box, acct = mailbox_id(iid), account_mailbox_id(account)
    assert box == mailbox_id(iid) and len(box) == 32 and box.isalnum()
    assert iid.hex() not in box and account.hex() not in acct and box != acct
    assert mailbox_id(bytes(16)) != box
    with pytest.raises(TransportError):
        mailbox_id(b"short")
    with pytest.raises(TransportError):
        account_mailbox_id(b"x" * 31)


@pytest.mark.requirement("RELAY-001")
def test_subjects_and_names_on_the_server_hold_no_identity(pair, server):
    alice, bob, ta, _tb = pair
    ta.deliver(alice.send("bob", b"hello"), account=bob.account_id)
    ids = (alice.account_id, bob.account_id, alice.installation_id, bob.installation_id)
    secrets_ = [x.hex() for x in ids]
    seen = repr(server.jsz()) + repr(ta._call(ta._js.consumers_info("PARLEY_MAILBOX")))
    seen += repr(ta._call(ta._js.consumers_info("PARLEY_ACCOUNT")))
    assert mailbox_id(bob.installation_id) in seen
    for value in secrets_:
        assert value not in seen and value[:16] not in seen


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:4222",
        "nats://",
        "nats://host:notaport",
        "nats://h:1?replicas=9",
        "nats://h:1?ack_wait=0",
        "nats://h:1?color=red",
        "nats://h:1/path",
        "nats://h:1?ca=/etc/ssl/ca.pem",
        42,
    ],
)
def test_bad_urls_are_refused(url):
    with pytest.raises(TransportError):
        parse_nats_url(url)


def test_url_with_several_servers():
    s = parse_nats_url("nats://u:p@a:1,b,[::1]:3?replicas=3&ack_wait=5")
    assert s.servers == ("nats://u:p@a:1", "nats://u:p@b:4222", "nats://u:p@[::1]:3")
    assert (s.replicas, s.ack_wait) == (3, 5.0)


def test_no_server_is_a_transport_error():
    start = time.monotonic()
    with pytest.raises(TransportError, match="cannot reach"):
        NatsTransport(f"nats://127.0.0.1:{free_port()}", connect_timeout=2)
    assert time.monotonic() - start < 15


# -- exchanging --------------------------------------------------------------------------


@pytest.mark.requirement("RELAY-002")
def test_two_accounts_exchange_both_ways(pair):
    alice, bob, ta, tb = pair
    for i in range(5):
        ta.deliver(alice.send("bob", f"a{i}".encode()), account=bob.account_id)
    assert texts(drain(bob, tb, 5)) == [f"a{i}".encode() for i in range(5)]
    for i in range(3):
        tb.deliver(bob.send("alice", f"b{i}".encode()), account=alice.account_id)
    assert texts(drain(alice, ta, 3)) == [b"b0", b"b1", b"b2"]
    assert tb.pending(bob.installation_id) == 0 and ta.pending(alice.installation_id) == 0
    assert tb.fetch(bob.installation_id) == []


def test_wait_is_woken_by_a_publish(pair):
    alice, bob, ta, tb = pair
    assert tb.wait(bob.installation_id, timeout=0.3) == []  # a standing pull, nothing yet
    start = time.monotonic()
    ta.deliver(alice.send("bob", b"now"), account=bob.account_id)
    got = tb.wait(bob.installation_id, timeout=10)
    assert time.monotonic() - start < 2 and len(got) == 1
    assert texts(receive_batch(bob, tb, got)) == [b"now"]


@pytest.mark.requirement("RELAY-003")
def test_a_republished_envelope_is_stored_once(pair):
    alice, bob, ta, tb = pair
    envelope = alice.send("bob", b"once")
    for _ in range(3):
        ta.deliver(envelope, account=bob.account_id)
    got = tb.fetch(bob.installation_id)
    assert len(got) == 1
    receive_batch(bob, tb, got)
    assert tb.pending(bob.installation_id) == 0


@pytest.mark.requirement("RELAY-004")
def test_unacknowledged_envelope_comes_again_and_is_recognised(tmp_path, server):
    alice, bob = make(tmp_path, "alice"), make(tmp_path, "bob")
    url = server.url + "?ack_wait=1"
    ta, tb = NatsTransport(url), NatsTransport(url)
    ta.register(alice.account_id, alice.installation_id)
    tb.register(bob.account_id, bob.installation_id)
    alice.add_contact(bob.contact_code(), "bob")
    ta.deliver(alice.send("bob", b"crash after commit"), account=bob.account_id)
    first = tb.fetch(bob.installation_id)
    assert texts([bob.receive(first[0].data)]) == [b"crash after commit"]
    tb.close()  # "crashed" after the commit, before the ack
    tb = NatsTransport(url)
    tb.register(bob.account_id, bob.installation_id)
    again = tb.wait(bob.installation_id, timeout=15)
    assert [d.data for d in again] == [first[0].data]
    events = receive_batch(bob, tb, again)[0]
    [message] = [e for e in events if isinstance(e, MessageReceived)]
    assert message.redelivered and message.plaintext == b"crash after commit"
    assert len(bob.history()) == 1
    assert tb.pending(bob.installation_id) == 0
    for x in (ta, tb, alice, bob):
        x.close()


@pytest.mark.requirement("RELAY-002")
def test_no_bundle_copy_reaches_every_installation_of_the_account(tmp_path, server):
    """Alice knows Carol's identity only (no bundle): the copy goes to Carol's
    account subject, and each of Carol's two installations reads it."""
    alice, carol = make(tmp_path, "alice"), make(tmp_path, "carol")
    carol2 = Account.from_link(
        tmp_path / "carol2.db", "pass", carol.export_link(), kdf_iterations=KDF
    )
    transports = {name: NatsTransport(server.url) for name in ("alice", "carol", "carol2")}
    for name, acc in (("alice", alice), ("carol", carol), ("carol2", carol2)):
        transports[name].register(acc.account_id, acc.installation_id)
    with alice.store.transaction():  # a contact from a stale code: identity, no bundle
        alice.store.execute(
            "INSERT INTO accounts (account, identity, name, added_at) VALUES (?,?,?,0)",
            (carol.account_id, carol.identity.to_bytes(), "carol"),
        )
    envelope = alice.send("carol", b"no bundle yet")
    assert transports["alice"].deliver(envelope, account=carol.account_id) == set()
    for name, acc in (("carol", carol), ("carol2", carol2)):
        assert texts(drain(acc, transports[name], 1)) == [b"no bundle yet"]
    with pytest.raises(TransportError, match="recipient account"):
        transports["alice"].deliver(alice.send("carol", b"again"))
    for x in (*transports.values(), alice, carol, carol2):
        x.close()


def test_garbage_is_refused(pair):
    alice, bob, ta, tb = pair
    with pytest.raises(TransportError, match="not an envelope"):
        ta.deliver(b"\x00garbage", account=bob.account_id)
    with pytest.raises(TransportError):
        tb.ack(bob.installation_id, "$JS.ACK.PARLEY_MAILBOX.someone-else.1.1.1.1.0")
    with pytest.raises(TransportError):
        tb.ack(bob.installation_id, "not a handle")
    with pytest.raises(TransportError, match="register"):
        tb.fetch(alice.installation_id)
    ta.put(bob.installation_id, b"not an envelope at all")  # a relay carries any bytes
    results = receive_batch(bob, tb, tb.fetch(bob.installation_id))
    assert [type(e).__name__ for e in results[0]] == ["UndecryptableMessage"]


@pytest.mark.requirement("RELAY-002", "RELAY-004")
def test_two_processes_exchange_through_nats(tmp_path, server):
    """Alice and Bob, each in a process of its own, send 20 messages each way."""
    alice, bob = make(tmp_path, "alice"), make(tmp_path, "bob")
    alice.add_contact(bob.contact_code(), "bob")
    bob.add_contact(alice.contact_code(), "alice")
    alice.close()
    bob.close()
    env = dict(os.environ, PYTHONPATH=str(HERE))
    peer_script = str(HERE / "nats_peer.py")
    procs = [
        subprocess.Popen(
            [sys.executable, peer_script, str(tmp_path / f"{me}.db"), me, peer, server.url, "20"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for me, peer in (("alice", "bob"), ("bob", "alice"))
    ]
    outs = [p.communicate(timeout=240) for p in procs]
    for (out, err), p in zip(outs, procs, strict=True):
        assert p.returncode == 0, err
        assert out.rstrip().endswith("DONE"), out + err
    for (out, _), other in zip(outs, ("bob", "alice"), strict=True):
        got = [line for line in out.splitlines() if line.startswith("GOT ")]
        assert sorted(got) == sorted(f"GOT {other} {i} fresh" for i in range(20))


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1, signed by its own key (the test's CA)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "parley test relay")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "relay.pem", tmp_path / "relay.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@pytest.mark.requirement("PRIV-003")
def test_tls_relay(tmp_path):
    """tls://: the relay's certificate is checked against the given CA; a client
    that does not trust it, or that speaks plain NATS, does not get in."""
    cert, key = self_signed(tmp_path)
    node = NatsServer(tmp_path / "tls", tls=(cert, key)).start()
    try:
        url = f"tls://127.0.0.1:{node.port}?ca={cert}"
        alice, bob = make(tmp_path, "alice"), make(tmp_path, "bob")
        ta, tb = NatsTransport(url), NatsTransport(url)
        ta.register(alice.account_id, alice.installation_id)
        tb.register(bob.account_id, bob.installation_id)
        alice.add_contact(bob.contact_code(), "bob")
        alice.send("bob", b"over TLS")
        alice.flush_outbox(ta)
        assert texts(drain(bob, tb, 1)) == [b"over TLS"]
        with pytest.raises(TransportError, match="cannot reach"):
            NatsTransport(f"tls://127.0.0.1:{node.port}", connect_timeout=3)  # system CAs
        with pytest.raises(TransportError, match="cannot reach"):
            NatsTransport(f"nats://127.0.0.1:{node.port}", connect_timeout=3)
        for x in (ta, tb, alice, bob):
            x.close()
    finally:
        node.stop()
