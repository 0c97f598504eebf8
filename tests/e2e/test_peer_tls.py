"""TLS between servers end to end (PEER-4): real ``herdref serve`` processes, real sockets, a
throwaway CA and per-server certificates made with ``trustme``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import ssl
import time
from pathlib import Path
from typing import Any

import pytest
import trustme

from herdref.herd.config import LinkMode, PeerTlsSettings, dump_config, load_config

from .herd_harness import Herd, exchange, running_herd, wait_until, write_herd_file

NAMES = ["Bailey", "Bona", "Campbell", "Clark", "Jaquez"]
LINKS = [
    ("Clark", "Jaquez"),
    ("Clark", "Bona"),
    ("Campbell", "Bailey"),
    ("Campbell", "Bona"),
    ("Campbell", "Jaquez"),
    ("Bona", "Bailey"),
]


def write_certificates(directory: Path, names: list[str], *, ca: trustme.CA | None = None) -> trustme.CA:
    """``tls/ca.crt`` and ``tls/<name>.crt``/``.key`` per server, each naming the server."""
    ca = ca if ca is not None else trustme.CA()
    folder = directory / "tls"
    folder.mkdir(exist_ok=True)
    ca.cert_pem.write_to_path(str(folder / "ca.crt"))
    for name in names:
        issued = ca.issue_cert(name, common_name=name)
        issued.cert_chain_pems[0].write_to_path(str(folder / f"{name}.crt"))
        issued.private_key_pem.write_to_path(str(folder / f"{name}.key"))
    return ca


def tls_settings(directory: Path) -> PeerTlsSettings:
    """The files :func:`write_certificates` writes in ``directory``."""
    folder = directory / "tls"
    return PeerTlsSettings(folder / "{name}.crt", folder / "{name}.key", folder / "ca.crt")


def tls_herd_file(
    directory: Path,
    *,
    mode: LinkMode,
    names: list[str] = NAMES,
    links: list[tuple[str, str]] = LINKS,
    tls: bool = True,
    secret: bool = False,
) -> Path:
    peers: dict[str, Any] = {"peer_tls": tls_settings(directory)} if tls else {}
    if secret:  # PEER-3 on top of PEER-4: the greeting over TLS carries the HMAC proof too
        peers["peer_secret_file"] = directory / "peer-secret"
        peers["peer_secret_file"].write_bytes(b"an example shared secret for the herd\n")
    return write_herd_file(directory, names=names, links=links, mode=mode, peer_ports=tls, **peers)


def forged_at(client: str) -> bytes:
    return f"AT Bona +0.000000001 {client} -33.86+151.21 {time.time():.9f}".encode()


def log_of(herd: Herd, name: str) -> bytes:
    path = herd.config.log_dir / f"{name}.log"
    return path.read_bytes() if path.exists() else b""


@pytest.mark.parametrize(
    ("mode", "secret"), [("persistent", False), ("ephemeral", False), ("persistent", True)]
)
def test_the_herd_floods_over_tls_and_the_client_port_refuses_at(
    tmp_path: Path, mode: str, secret: bool
) -> None:
    write_certificates(tmp_path, NAMES)
    with running_herd(tls_herd_file(tmp_path, mode=mode, secret=secret)) as herd:
        at_line = herd.iamat("Clark", "kiwi")
        for name in NAMES:
            herd.wait_for_record(name, "kiwi", at_line)
        # The floods went over the TLS peer ports: Bailey only hears of Clark through Bona or
        # Campbell, and their greetings arrived on Bailey's TLS listener.
        wait_until(lambda: b" PEER-IN Bona " in log_of(herd, "Bailey"), what="Bona greeted Bailey")
        assert b"peers over TLS on" in log_of(herd, "Bailey")
        # A client's AT and PEER lines on the plain client port are refused (PEER-4), stored
        # nowhere, and flooded nowhere.
        line = forged_at("forged")
        greeting = b"PEER Bona 0123456789abcdef"
        address = herd.config.servers["Clark"]
        reply = exchange(address.host, address.port, greeting + b"\n" + line + b"\n")
        assert reply == b"? " + greeting + b"\n? " + line + b"\n"
        after = herd.iamat("Clark", "after-forgery")
        for name in NAMES:
            herd.wait_for_record(name, "after-forgery", after)
            assert herd.stored_at_line(name, "forged") is None


def test_a_plain_connection_to_the_peer_port_is_not_a_peer(tmp_path: Path) -> None:
    write_certificates(tmp_path, ["Left", "Right"])
    path = tls_herd_file(tmp_path, mode="persistent", names=["Left", "Right"], links=[("Left", "Right")])
    with running_herd(path) as herd:
        address = herd.config.servers["Right"]
        assert address.peer_port is not None
        # No TLS handshake, no service: the plain line is never read as a line at all.
        received = b""
        with socket.create_connection((address.host, address.peer_port), timeout=5) as connection:
            connection.sendall(forged_at("plain") + b"\n")
            connection.shutdown(socket.SHUT_WR)
            with contextlib.suppress(ConnectionResetError):
                while chunk := connection.recv(4096):
                    received += chunk
        assert not received.startswith((b"?", b"AT"))
        assert herd.stored_at_line("Right", "plain") is None
        # The only lines about client 'plain' are that WHATSAT and its '?' (logged or not yet,
        # as the log's writer goes): the forged line was never read.
        mentions = [line for line in log_of(herd, "Right").splitlines() if b"plain" in line]
        assert all(b"WHATSAT plain 1 0" in line for line in mentions), mentions


@pytest.mark.parametrize("mode", ["persistent", "ephemeral"])
def test_a_certificate_from_another_ca_cannot_join(tmp_path: Path, mode: str) -> None:
    names = ["Left", "Right"]
    write_certificates(tmp_path, names)
    path = tls_herd_file(tmp_path, mode=mode, names=names, links=[("Left", "Right")])
    # The intruder runs Right with a certificate that names Right but comes from another CA
    # (its own CA file trusts that CA, so only the honest server's check can stop it).
    intruder_dir = tmp_path / "intruder"
    intruder_dir.mkdir()
    write_certificates(intruder_dir, names)
    intruder_path = intruder_dir / "herd.toml"
    intruder_config = dataclasses.replace(
        load_config(path), log_dir=intruder_dir / "logs", peer_tls=tls_settings(intruder_dir)
    )
    intruder_path.write_text(dump_config(intruder_config), encoding="utf-8")
    honest, intruder = Herd(path), Herd(intruder_path)
    try:
        honest.start("Left")
        intruder.start("Right")
        at_line = intruder.iamat("Right", "planted")
        # Both ends log the failed link, with what TLS refused.
        wait_until(lambda: b"LINK Right unreachable TLS" in log_of(honest, "Left"), what="Left's link fails")
        wait_until(lambda: b"LINK Left unreachable TLS" in log_of(intruder, "Right"), what="Right's fails")
        # Its flood is not accepted: Left never stores it, even while new floods go on.
        for attempt in range(3):
            intruder.iamat("Right", f"planted-{attempt}")
        assert honest.stored_at_line("Left", "planted") is None
        assert b"PEER-IN" not in log_of(honest, "Left")
        assert at_line.startswith(b"AT Right ")
    finally:
        honest.stop_all()
        intruder.stop_all()


def test_a_certificate_for_another_server_cannot_pose_as_the_neighbour(tmp_path: Path) -> None:
    names = ["Left", "Right"]
    ca = write_certificates(tmp_path, names)
    path = tls_herd_file(tmp_path, mode="persistent", names=names, links=[("Left", "Right")])
    with running_herd(path) as herd:
        address = herd.config.servers["Left"]
        assert address.peer_port is not None
        # A certificate the CA issued for a server outside this herd: TLS accepts it, but its
        # greeting as Right is refused (PEER-4) and so is its flood.
        stranger = ca.issue_cert("Stranger", common_name="Stranger")
        context = ssl.create_default_context(cafile=str(tmp_path / "tls" / "ca.crt"))
        context.check_hostname = False
        stranger.configure_cert(context)
        greeting = b"PEER Right 0123456789abcdef"
        line = forged_at("posed")
        raw = socket.create_connection((address.host, address.peer_port), timeout=5)
        with context.wrap_socket(raw) as connection:
            connection.sendall(greeting + b"\n" + line + b"\n")
            received = b""
            while received.count(b"\n") < 2:
                chunk = connection.recv(4096)
                assert chunk, received
                received += chunk
        assert received == b"? " + greeting + b"\n? " + line + b"\n"
        assert herd.stored_at_line("Left", "posed") is None


def test_the_persistent_link_reconnects_after_a_neighbour_restart(tmp_path: Path) -> None:
    names = ["Left", "Right"]
    write_certificates(tmp_path, names)
    path = tls_herd_file(tmp_path, mode="persistent", names=names, links=[("Left", "Right")])
    with running_herd(path) as herd:
        first = herd.iamat("Left", "before")
        herd.wait_for_record("Right", "before", first)
        herd.kill("Right")
        herd.start("Right")
        # CATCHUP-1 over the new TLS connection: the restarted server relearns the record...
        herd.wait_for_record("Right", "before", first)
        # ...and floods flow both ways again.
        second = herd.iamat("Right", "after")
        herd.wait_for_record("Left", "after", second)
        third = herd.iamat("Left", "later")
        herd.wait_for_record("Right", "later", third)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("remove-key", b"cannot read peers.tls_key"),
        ("garbage-ca", b"peers.tls_ca"),
        ("swap-key", b"not a usable certificate and key"),
    ],
)
def test_unusable_tls_files_are_one_line_on_stderr_and_exit_2(
    tmp_path: Path, damage: str, message: bytes
) -> None:
    write_certificates(tmp_path, ["Left", "Right"])
    path = tls_herd_file(tmp_path, mode="persistent", names=["Left", "Right"], links=[("Left", "Right")])
    folder = tmp_path / "tls"
    if damage == "remove-key":
        (folder / "Left.key").unlink()
    elif damage == "garbage-ca":
        (folder / "ca.crt").write_text("not a certificate\n")
    else:
        (folder / "Left.key").write_bytes((folder / "Right.key").read_bytes())
    status, stderr = Herd(path).refused_start("Left")
    assert status == 2
    assert stderr.count(b"\n") == 1 and message in stderr, stderr
