"""``herdref serve`` listens before its heavy imports: the course graders query a server half
a second after starting it, which on a loaded machine is less than Python needs to import
asyncio. A connection made while the server is still starting is answered once it runs."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from herdref.checker.ports import port_open
from herdref.herd.config import load_config
from herdref.protocol import At, parse_line

from .herd_harness import exchange, wait_until, write_herd_file

#: Runs ``herdref serve`` with the import of asyncio held at a gate: the child writes
#: ``reached`` when it gets there, and goes on once ``release`` exists.
_GATED_SERVE = """
import importlib.abc, os, sys, time
gate = sys.argv[1]

class Gate(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "asyncio":
            open(os.path.join(gate, "reached"), "w").close()
            while not os.path.exists(os.path.join(gate, "release")):
                time.sleep(0.005)
            sys.meta_path.remove(self)
        return None

sys.meta_path.insert(0, Gate())
from herdref.tools.cli import main
sys.exit(main(["serve", *sys.argv[2:]]))
"""


@pytest.fixture
def gated_server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path, Path]]:
    herd_file = write_herd_file(tmp_path, names=["Solo"], links=[], peer_ports=True)
    gate = tmp_path / "gate"
    gate.mkdir()
    server = subprocess.Popen(
        [sys.executable, "-c", _GATED_SERVE, str(gate), "Solo", "--config", str(herd_file), "-q"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield server, gate, herd_file
    finally:
        (gate / "release").touch()
        server.terminate()
        server.wait(10)
        if server.stderr is not None:
            server.stderr.close()


def test_both_ports_listen_before_asyncio_is_imported_and_early_clients_are_answered(
    gated_server: tuple[subprocess.Popen[bytes], Path, Path],
) -> None:
    server, gate, herd_file = gated_server
    address = load_config(herd_file).servers["Solo"]
    assert address.peer_port is not None
    wait_until((gate / "reached").exists, deadline_s=20, what="serve reached the asyncio import")
    # Held before importing asyncio, the server already accepts on both ports.
    assert port_open(address.host, address.peer_port)
    with socket.create_connection((address.host, address.port), timeout=10) as early:
        early.sendall(b"IAMAT early +34.068930-118.445127 1700000000.5\n")
        early.shutdown(socket.SHUT_WR)
        assert server.poll() is None
        (gate / "release").touch()
        early.settimeout(20)
        reply = b""
        while chunk := early.recv(4096):
            reply += chunk
    message = parse_line(reply.rstrip(b"\n"))
    assert isinstance(message, At), reply
    assert (message.server_id, message.client_id) == (b"Solo", b"early")
    # And it goes on serving as usual.
    assert exchange(address.host, address.port, b"WHATSAT early 1 1\n").startswith(reply.rstrip(b"\n"))


@pytest.mark.parametrize("busy", ["port", "peer_port"])
def test_a_port_in_use_is_one_stderr_line_naming_it(tmp_path: Path, busy: str) -> None:
    herd_file = write_herd_file(tmp_path, names=["Solo"], links=[], peer_ports=True)
    address = load_config(herd_file).servers["Solo"]
    taken = address.port if busy == "port" else address.peer_port
    assert taken is not None
    with socket.create_server((address.host, taken)):
        result = subprocess.run(
            [sys.executable, "-m", "herdref", "serve", "Solo", "--config", str(herd_file)],
            capture_output=True,
            timeout=20,
        )
    assert result.returncode == 1
    assert result.stderr.decode() == (
        f"herdref serve: cannot listen on {address.host}:{taken}: address already in use\n"
    )
    # Nothing stays bound: the other port is free again.
    other = address.peer_port if busy == "port" else address.port
    assert other is not None
    assert not port_open(address.host, other)


def test_records_waiting_on_the_peer_port_at_start_are_read_before_any_client(
    gated_server: tuple[subprocess.Popen[bytes], Path, Path],
) -> None:
    # FLOOD-7 across a restart: a neighbour's link reached the peer port while the server was
    # starting, and a client asked for that record meanwhile (the client even came first).
    _, gate, herd_file = gated_server
    address = load_config(herd_file).servers["Solo"]
    assert address.peer_port is not None
    wait_until((gate / "reached").exists, deadline_s=20, what="serve reached the asyncio import")
    at_line = b"AT Other +0.250000000 waited +34.068930-118.445127 1700000000.5"
    connections: list[socket.socket] = []
    try:
        # Several neighbours' links wait; the last one brings the record (a loop may accept one
        # connection per listener per pass, so clients would come before it).
        for index in range(3):
            peer = socket.create_connection((address.host, address.peer_port), timeout=10)
            connections.append(peer)
            peer.sendall(b"PEER Neighbour%d 0123456789abcdef\n" % index)
        connections[-1].sendall(at_line + b"\n")
        clients = []
        for _ in range(3):
            client = socket.create_connection((address.host, address.port), timeout=20)
            connections.append(client)
            clients.append(client)
            client.sendall(b"WHATSAT waited 1 1\n")
            client.shutdown(socket.SHUT_WR)
        (gate / "release").touch()
        for client in clients:
            reply = b""
            while chunk := client.recv(65536):
                reply += chunk
            assert reply.split(b"\n", 1)[0] == at_line, reply[:200]
    finally:
        for connection in connections:
            connection.close()
