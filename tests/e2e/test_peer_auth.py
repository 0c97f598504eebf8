"""Peer authentication end to end (PEER-3), and the Places API key never leaving a server
(PLACES-6): real ``herdref serve`` processes, real sockets.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from herdref.herd.config import PlacesSettings
from herdref.places.fixture import run_fixture_in_thread

from .herd_harness import Herd, exchange, running_herd, wait_until, write_herd_file

NAMES = ["Bailey", "Bona", "Campbell", "Clark", "Jaquez"]
SECRET = b"an example shared secret for the herd"


def herd_file(directory: Path, *, mode: str, secret: bool) -> Path:
    secret_file = None
    if secret:
        secret_file = directory / "peer-secret"
        secret_file.write_bytes(SECRET + b"\n")
    return write_herd_file(directory, mode=mode, peer_secret_file=secret_file)


def forge(herd: Herd, at: str, client: str) -> tuple[bytes, bytes]:
    """A client sends an AT line of its own making to ``at``; returns the line and the reply."""
    line = f"AT Bona +0.000000001 {client} -33.86+151.21 {time.time():.9f}".encode()
    address = herd.config.servers[at]
    return line, exchange(address.host, address.port, line + b"\n")


@pytest.mark.parametrize("mode", ["persistent", "ephemeral"])
def test_with_a_secret_the_herd_floods_and_refuses_forged_at(tmp_path: Path, mode: str) -> None:
    with running_herd(herd_file(tmp_path, mode=mode, secret=True)) as herd:
        # Peers prove themselves, so floods work as ever, in both link modes.
        at_line = herd.iamat("Clark", "genuine")
        for name in NAMES:
            herd.wait_for_record(name, "genuine", at_line)
        # A client's AT line is refused with '?' (PEER-3) and stored nowhere.
        line, reply = forge(herd, "Clark", "forged")
        assert reply == b"? " + line + b"\n"
        # Pretending to be a peer with the plain greeting does not help either.
        address = herd.config.servers["Clark"]
        pretend = b"PEER Bona 0123456789abcdef\n" + line + b"\n"
        assert (
            exchange(address.host, address.port, pretend)
            == b"? PEER Bona 0123456789abcdef\n? " + line + b"\n"
        )
        # A flood that happens after the forgery proves the links carried what they had.
        after = herd.iamat("Clark", "after-forgery")
        for name in NAMES:
            herd.wait_for_record(name, "after-forgery", after)
            assert herd.stored_at_line(name, "forged") is None
        # A restarted server proves itself with its new incarnation and catches up.
        herd.kill("Jaquez")
        herd.start("Jaquez")
        herd.wait_for_record("Jaquez", "genuine", at_line)


def test_a_captured_greeting_cannot_be_replayed(tmp_path: Path) -> None:
    with running_herd(herd_file(tmp_path, mode="ephemeral", secret=True)) as herd:
        at_line = herd.iamat("Clark", "carried")
        herd.wait_for_record("Jaquez", "carried", at_line)
        log_path = herd.config.log_dir / "Jaquez.log"
        # The greeting Clark sent Jaquez, as anyone watching the wire (or the log) saw it.
        wait_until(lambda: b" PEER Clark " in log_path.read_bytes(), what="Clark's greeting in Jaquez's log")
        greeting = next(
            line.split(b" ", 3)[3]
            for line in log_path.read_bytes().splitlines()
            if line.split(b" ")[1:2] == [b"IN"] and b" PEER Clark " in line
        )
        assert len(greeting.split()) == 6
        line, _ = forge(herd, "Jaquez", "replayed")
        address = herd.config.servers["Jaquez"]
        reply = exchange(address.host, address.port, greeting + b"\n" + line + b"\n")
        assert reply == b"? " + greeting + b"\n? " + line + b"\n"  # PEER-3, then PEER-3
        assert herd.stored_at_line("Jaquez", "replayed") is None


def test_without_a_secret_at_from_anyone_is_a_flood(tmp_path: Path) -> None:
    # The open, spec-compatible herd (FLOOD-6): the same forgery is accepted and flooded.
    with running_herd(herd_file(tmp_path, mode="persistent", secret=False)) as herd:
        line, reply = forge(herd, "Clark", "forged")
        assert reply == b""
        for name in NAMES:
            herd.wait_for_record(name, "forged", line)


def test_an_unreadable_secret_file_is_one_line_on_stderr_and_exit_2(tmp_path: Path) -> None:
    path = herd_file(tmp_path, mode="persistent", secret=True)
    (tmp_path / "peer-secret").write_bytes(b"short")
    status, stderr = Herd(path).refused_start("Clark")
    assert status == 2
    assert stderr.count(b"\n") == 1 and b"peers.secret_file" in stderr


# ---- PLACES-6 --------------------------------------------------------------------------------

API_KEY = "herdref-test-key-7f3a9c21e5d84b06"


@pytest.fixture
def places_fixture() -> Iterator[str]:
    handle = run_fixture_in_thread()
    try:
        yield handle.base_url
    finally:
        handle.close()


@pytest.mark.parametrize("provider", ["new", "legacy"])
def test_the_places_api_key_is_in_no_reply_and_no_log(
    tmp_path: Path, places_fixture: str, provider: str
) -> None:
    places = PlacesSettings(provider=provider, base_url=places_fixture)
    config = write_herd_file(tmp_path, names=["Left", "Right"], links=[("Left", "Right")], places=places)
    outputs = []
    with running_herd(config, env={"HERDREF_PLACES_API_KEY": API_KEY}) as herd:
        at_line = herd.iamat("Left", "kiwi", "+34.068930-118.445127")
        herd.wait_for_record("Right", "kiwi", at_line)
        for name in ("Left", "Right"):
            for command in (
                b"WHATSAT kiwi 10 5\n",
                b"WHATSAT kiwi 50 20\n",
                b"WHATSAT kiwi 1 0\n",
                b"WHATSAT x 1 1\n",
            ):
                reply = herd.send(name, command)
                assert reply.startswith((at_line + b"\n", b"? ")), reply[:200]
                outputs.append(reply)
        assert any(reply.startswith(at_line + b"\n{") for reply in outputs)
        # Stop the servers here to read what each wrote to stderr as well.
        for process in herd.processes.values():
            process.terminate()
            process.wait(10)
            assert process.stderr is not None
            outputs.append(process.stderr.read())
    logs = [path.read_bytes() for path in sorted((tmp_path / "logs").iterdir())]
    assert len(logs) == 2 and all(logs)
    key = API_KEY.encode()
    for text in [*outputs, *logs]:
        assert key not in text
        assert key.hex().encode() not in text
