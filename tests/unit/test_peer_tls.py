"""PEER-4 in pieces: the names a certificate proves, what a node accepts on each port, and the
files a server refuses to start with."""

from __future__ import annotations

import asyncio
import ssl
import time
from pathlib import Path
from typing import Any

import pytest
import trustme

from herdref.herd.config import ConfigError, PeerTlsSettings
from herdref.herd.node import HerdNode, Session
from herdref.herd.peer_tls import certificate_names, check_neighbour_certificate, load_peer_tls

NOW_NS = 1_700_000_000_000_000_000


def at_line(client: bytes = b"kiwi") -> bytes:
    return b"AT Right +0.000000001 %s +34.068930-118.445127 %d.000000000" % (client, time.time())


def node() -> HerdNode:
    return HerdNode("Left", ["Right", "Far"], incarnation="0")


def test_certificate_names_are_the_common_names_and_dns_alt_names() -> None:
    peercert = {
        "subject": ((("organizationName", "herd"),), (("commonName", "Right"),)),
        "subjectAltName": (("DNS", "Right"), ("DNS", "right.example"), ("IP Address", "127.0.0.1")),
    }
    assert certificate_names(peercert) == frozenset({"Right", "right.example"})
    assert certificate_names(None) == frozenset()
    assert certificate_names({}) == frozenset()


def test_the_client_port_of_a_tls_herd_refuses_at_and_peer_but_answers_iamat() -> None:
    herd_node = node()
    session = Session(peer_lines=False)
    line = at_line()
    for refused in (line, b"PEER Right 0123456789abcdef"):
        reaction = herd_node.receive(session, refused, NOW_NS)
        assert reaction.reply == b"? " + refused + b"\n"
        assert reaction.rejected_by == "PEER-4"
        assert reaction.flood_to == ()
    assert session.peer is None
    assert herd_node.table.get(b"kiwi") is None
    reply = herd_node.receive(session, b"IAMAT own +34.068930-118.445127 1700000000.0", NOW_NS).reply
    assert reply is not None and reply.startswith(b"AT Left ")


def test_on_the_peer_port_the_greeting_must_name_the_certificates_server() -> None:
    herd_node = node()
    posing = Session(certificate_names=frozenset({"Far"}))
    greeting = b"PEER Right 0123456789abcdef"
    refused = herd_node.receive(posing, greeting, NOW_NS)
    assert (refused.reply, refused.rejected_by) == (b"? " + greeting + b"\n", "PEER-4")
    assert posing.peer is None
    # Before an accepted greeting, a flood on the peer port is refused too.
    line = at_line()
    early = herd_node.receive(posing, line, NOW_NS)
    assert (early.reply, early.rejected_by) == (b"? " + line + b"\n", "PEER-4")
    assert herd_node.table.get(b"kiwi") is None

    genuine = Session(certificate_names=frozenset({"Right"}))
    assert herd_node.receive(genuine, greeting, NOW_NS).reply is None
    assert genuine.peer == "Right"
    flood = herd_node.receive(genuine, line, NOW_NS)
    assert flood.reply is None
    assert flood.flood_to == ("Far",)  # FLOOD-3: not back to Right
    assert herd_node.table.get(b"kiwi") == line


def test_an_open_herd_session_still_takes_at_from_anyone() -> None:
    # FLOOD-6 is unchanged without TLS: the default Session allows floods.
    herd_node = node()
    line = at_line()
    assert herd_node.receive(Session(), line, NOW_NS).flood_to == ("Right", "Far")


def write_files(directory: Path) -> PeerTlsSettings:
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(directory / "ca.crt"))
    for name in ("Left", "Right"):
        issued = ca.issue_cert(name, common_name=name)
        issued.cert_chain_pems[0].write_to_path(str(directory / f"{name}.crt"))
        issued.private_key_pem.write_to_path(str(directory / f"{name}.key"))
    return PeerTlsSettings(directory / "{name}.crt", directory / "{name}.key", directory / "ca.crt")


def test_good_files_make_a_server_and_a_client_context(tmp_path: Path) -> None:
    tls = load_peer_tls(write_files(tmp_path), "Left")
    assert tls.server_context.verify_mode.name == "CERT_REQUIRED"
    assert tls.client_context.verify_mode.name == "CERT_REQUIRED"
    assert tls.client_context.check_hostname is False  # the name check is check_neighbour_certificate


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("Left.crt", "cannot read peers.tls_cert"),
        ("Left.key", "cannot read peers.tls_key"),
        ("ca.crt", "cannot read peers.tls_ca"),
    ],
)
def test_a_missing_file_is_a_config_error_naming_its_key(tmp_path: Path, damage: str, message: str) -> None:
    settings = write_files(tmp_path)
    (tmp_path / damage).unlink()
    with pytest.raises(ConfigError, match=message):
        load_peer_tls(settings, "Left")


def test_a_key_of_another_certificate_is_a_config_error(tmp_path: Path) -> None:
    settings = write_files(tmp_path)
    (tmp_path / "Left.key").write_bytes((tmp_path / "Right.key").read_bytes())
    with pytest.raises(ConfigError, match="not a usable certificate and key") as caught:
        load_peer_tls(settings, "Left")
    assert "PRIVATE KEY" not in str(caught.value)


class _Transport(asyncio.BaseTransport):
    def __init__(self, peercert: dict[str, Any]) -> None:
        super().__init__()
        self._peercert = peercert

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._peercert if name == "peercert" else default


def test_a_link_accepts_only_a_certificate_that_names_the_neighbour() -> None:
    right = {"subject": ((("commonName", "Right"),),)}
    check_neighbour_certificate(_Transport(right), "Right")
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate names Right, not Far"):
        check_neighbour_certificate(_Transport(right), "Far")
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate names no name, not Right"):
        check_neighbour_certificate(_Transport({}), "Right")
