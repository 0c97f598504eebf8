"""Peer authentication (PEER-3): the HMAC greeting, its replay protection, and the node's
rules for AT and PEER lines with and without a shared secret."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pytest

from herdref.herd.config import ConfigError, parse_config
from herdref.herd.node import HerdNode, Session
from herdref.herd.peer_auth import DEFAULT_WINDOW_NS, PeerAuthenticator, load_secret

SECRET = b"correct horse battery staple"
NOW = 1_795_000_000 * 1_000_000_000
NONCE = b"0123456789abcdef0123456789abcdef"
AT_LINE = b"AT Bona +0.000000001 forged +1+2 1700000000.5"


def authenticator(secret: bytes = SECRET) -> PeerAuthenticator:
    return PeerAuthenticator(secret)


def greeting_fields(
    *, sender: bytes = b"Bona", receiver: bytes = b"Clark", now_ns: int = NOW, nonce: bytes = NONCE
) -> list[bytes]:
    line = authenticator().greeting(sender, receiver, b"inc1", now_ns=now_ns, nonce=nonce)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    return line.split()


def test_the_proof_is_hmac_sha256_over_the_documented_message() -> None:
    fields = greeting_fields()
    assert fields[:5] == [b"PEER", b"Bona", b"inc1", b"%d" % NOW, NONCE]
    message = b"herdref-peer-v1\nBona\nClark\ninc1\n%d\n%s" % (NOW, NONCE)
    assert fields[5] == hmac.new(SECRET, message, hashlib.sha256).hexdigest().encode()


def test_a_genuine_greeting_verifies_once() -> None:
    receiver = authenticator()
    assert receiver.verify(greeting_fields(), b"Clark", now_ns=NOW + 5) is None
    assert receiver.verify(greeting_fields(), b"Clark", now_ns=NOW + 6) == "replayed"
    assert receiver.remembered() == 1


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        (1, b"Bailey", "wrong proof"),  # another sender
        (2, b"inc2", "wrong proof"),  # another incarnation
        (3, b"%d" % (NOW + 1), "wrong proof"),  # another time
        (4, b"f" * 32, "wrong proof"),  # another nonce
        (5, b"0" * 64, "wrong proof"),  # a made-up proof
        (5, b"0" * 63, "malformed"),  # malformed proof
        (4, b"xyz", "malformed"),  # malformed nonce
        (3, b"-5", "malformed"),  # malformed time
    ],
)
def test_any_changed_field_breaks_the_proof(field: int, value: bytes, reason: str) -> None:
    fields = greeting_fields()
    fields[field] = value
    assert authenticator().verify(fields, b"Clark", now_ns=NOW) == reason


def test_a_greeting_for_another_receiver_or_under_another_secret_fails() -> None:
    assert authenticator().verify(greeting_fields(receiver=b"Jaquez"), b"Clark", now_ns=NOW) == "wrong proof"
    assert authenticator(b"another secret of enough length").verify(
        greeting_fields(), b"Clark", now_ns=NOW
    ) == ("wrong proof")


def test_greetings_outside_the_window_are_refused_both_ways() -> None:
    receiver = authenticator()
    assert (
        receiver.verify(greeting_fields(), b"Clark", now_ns=NOW + DEFAULT_WINDOW_NS + 1)
        == "outside the window"
    )
    assert (
        receiver.verify(greeting_fields(), b"Clark", now_ns=NOW - DEFAULT_WINDOW_NS - 1)
        == "outside the window"
    )
    assert receiver.verify(greeting_fields(), b"Clark", now_ns=NOW + DEFAULT_WINDOW_NS) is None


def test_remembered_nonces_are_forgotten_once_they_cannot_pass_the_window() -> None:
    receiver = authenticator()
    for index in range(100):
        nonce = b"%032x" % index
        assert receiver.verify(greeting_fields(nonce=nonce, now_ns=NOW + index), b"Clark", now_ns=NOW) is None
    assert receiver.remembered() == 100
    later = NOW + 3 * DEFAULT_WINDOW_NS
    assert receiver.verify(greeting_fields(nonce=b"a" * 32, now_ns=later), b"Clark", now_ns=later) is None
    assert receiver.remembered() == 1


def test_the_secret_never_shows_in_repr_or_greeting() -> None:
    receiver = authenticator()
    assert SECRET not in repr(receiver).encode()
    assert SECRET not in b" ".join(greeting_fields())


def test_load_secret_strips_white_space_and_refuses_short_or_missing_files(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_bytes(b"  " + SECRET + b"\n")
    assert load_secret(path) == SECRET
    path.write_bytes(b"short\n")
    with pytest.raises(ConfigError, match="fewer than 16"):
        load_secret(path)
    with pytest.raises(ConfigError, match="cannot read"):
        load_secret(tmp_path / "missing")


# ---- the node --------------------------------------------------------------------------------


def node(*, secret: bool) -> HerdNode:
    return HerdNode(
        "Clark", ["Bona", "Jaquez"], incarnation="c1", peer_auth=authenticator() if secret else None
    )


def test_open_mode_takes_at_from_anyone() -> None:
    clark = node(secret=False)
    reaction = clark.receive(Session(), AT_LINE, NOW)
    assert reaction.reply is None and reaction.flood_to == ("Bona", "Jaquez")
    assert clark.table.get(b"forged") == AT_LINE


def test_with_a_secret_at_from_an_unproved_connection_is_refused_and_not_stored() -> None:
    clark = node(secret=True)
    session = Session()
    reaction = clark.receive(session, AT_LINE, NOW)
    assert reaction.reply == b"? " + AT_LINE + b"\n" and reaction.rejected_by == "PEER-3"
    assert clark.table.get(b"forged") is None
    # The plain three-field greeting proves nothing, so it opens nothing.
    assert clark.receive(session, b"PEER Bona b1", NOW).reply == b"? PEER Bona b1\n"
    assert clark.receive(session, AT_LINE, NOW).rejected_by == "PEER-3"
    # Clients keep working as usual.
    assert clark.receive(session, b"IAMAT phone +1+2 1", NOW).reply is not None


def test_with_a_secret_a_proved_neighbour_floods_and_a_replay_does_not() -> None:
    clark = node(secret=True)
    bona = HerdNode("Bona", ["Clark"], incarnation="inc1", peer_auth=authenticator())
    greeting = bona.peer_greeting("Clark", now_ns=NOW, nonce=NONCE).rstrip(b"\n")
    session = Session()
    assert clark.receive(session, greeting, NOW).reply is None
    assert session.peer == "Bona"
    reaction = clark.receive(session, AT_LINE, NOW)
    assert reaction.reply is None and reaction.flood_to == ("Jaquez",)  # FLOOD-3: not back to Bona
    assert clark.table.get(b"forged") == AT_LINE
    # The same greeting on another connection is a replay.
    replayed = Session()
    assert clark.receive(replayed, greeting, NOW + 1).rejected_by == "PEER-3"
    assert replayed.peer is None
    # A valid proof from a server that is not a neighbour is still refused (PEER-2).
    bailey = HerdNode("Bailey", ["Clark"], peer_auth=authenticator())
    stranger = bailey.peer_greeting("Clark", now_ns=NOW, nonce=b"b" * 32).rstrip(b"\n")
    assert clark.receive(Session(), stranger, NOW).rejected_by == "PEER-2"


def test_with_a_secret_the_greeting_needs_its_neighbour() -> None:
    with pytest.raises(ValueError, match="names the neighbour"):
        node(secret=True).peer_greeting()
    assert node(secret=False).peer_greeting() == b"PEER Clark c1\n"


def test_the_herd_file_names_the_secret_file_and_refuses_unknown_peer_keys(tmp_path: Path) -> None:
    herd = '[servers]\nA = { port = 1 }\n[peers]\nsecret_file = "peer-secret"\n'
    assert parse_config(herd, base_dir=tmp_path).peer_secret_file == tmp_path / "peer-secret"
    with pytest.raises(ConfigError, match="secret_fiel"):
        parse_config('[servers]\nA = { port = 1 }\n[peers]\nsecret_fiel = "x"\n')
