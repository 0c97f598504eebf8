"""``herdref serve`` and ``herdref herd`` as a newcomer meets them: serve says where it listens;
the herd's servers die with it, even on ``kill -9``; a dead server is named, and with
``--keep-going`` the others keep serving."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from herdref.checker.ports import port_open
from herdref.herd.config import load_config

from .herd_harness import exchange, wait_until, write_herd_file


def read_line(stream: IO[bytes], *, deadline_s: float = 10.0) -> bytes:
    """One line from a child's pipe, failing after the deadline instead of hanging."""
    selector = selectors.DefaultSelector()
    selector.register(stream, selectors.EVENT_READ)
    line = b""
    end = time.monotonic() + deadline_s
    fd = stream.fileno()
    while not line.endswith(b"\n"):
        if not selector.select(max(end - time.monotonic(), 0)):
            raise AssertionError(f"no line within {deadline_s} s (so far {line!r})")
        byte = os.read(fd, 1)
        if not byte:
            break
        line += byte
    return line


def children_of(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(word) for word in text.split()]


@pytest.fixture
def herd_file(tmp_path: Path) -> Path:
    return write_herd_file(tmp_path)


def start_herd(herd_file: Path, *options: str) -> subprocess.Popen[bytes]:
    herd = subprocess.Popen(
        [sys.executable, "-m", "herdref", "herd", "--config", str(herd_file), *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert herd.stdout is not None
    assert read_line(herd.stdout).startswith(b"herd of 5 servers")
    return herd


@pytest.fixture
def cleanup() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


@pytest.mark.parametrize("provider", [[], ["--places-provider", "auto"]])
def test_serve_says_where_it_listens_without_v(
    herd_file: Path, cleanup: list[subprocess.Popen[bytes]], provider: list[str]
) -> None:
    server = subprocess.Popen(
        [sys.executable, "-m", "herdref", "serve", "Bailey", "--config", str(herd_file), *provider],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    cleanup.append(server)
    assert server.stdout is not None
    port = load_config(herd_file).servers["Bailey"].port
    line = read_line(server.stdout).decode()
    assert line.startswith(f"Bailey listening on 127.0.0.1:{port}, log "), line
    assert line.rstrip().endswith("Bailey.log")
    assert port_open("127.0.0.1", port)
    server.send_signal(signal.SIGTERM)
    assert server.wait(10) == 0


def test_kill_9_of_the_herd_leaves_no_server_holding_a_port(
    herd_file: Path, cleanup: list[subprocess.Popen[bytes]]
) -> None:
    herd = start_herd(herd_file)
    cleanup.append(herd)
    servers = children_of(herd.pid)
    assert len(servers) == 5
    herd.kill()
    herd.wait()
    addresses = load_config(herd_file).servers.values()
    wait_until(
        lambda: not any(port_open(address.host, address.port) for address in addresses),
        deadline_s=10,
        what="every port closed after kill -9 of herdref herd",
    )
    wait_until(
        lambda: not any(Path(f"/proc/{pid}").exists() for pid in servers),
        deadline_s=10,
        what="no server process left",
    )


def test_a_dead_server_stops_the_herd_and_says_keep_going_exists(
    herd_file: Path, cleanup: list[subprocess.Popen[bytes]]
) -> None:
    herd = start_herd(herd_file)
    cleanup.append(herd)
    os.kill(children_of(herd.pid)[1], signal.SIGKILL)
    assert herd.wait(10) == 1
    assert herd.stderr is not None
    message = herd.stderr.read().decode()
    assert "died (signal 9); stopping the herd (--keep-going keeps the others running)" in message, message


def test_with_keep_going_the_others_keep_serving(
    herd_file: Path, cleanup: list[subprocess.Popen[bytes]]
) -> None:
    herd = start_herd(herd_file, "--keep-going")
    cleanup.append(herd)
    config = load_config(herd_file)
    names = list(config.servers)
    os.kill(children_of(herd.pid)[names.index("Bona")], signal.SIGKILL)
    assert herd.stderr is not None
    notice = read_line(herd.stderr).decode()
    assert "Bona died (signal 9);" in notice and "keep running (--keep-going)" in notice, notice
    assert herd.poll() is None
    clark = config.servers["Clark"]
    reply = exchange(clark.host, clark.port, b"IAMAT kg +1-2 1700000000.5\n")
    assert reply.startswith(b"AT Clark ")
    herd.send_signal(signal.SIGINT)
    assert herd.wait(10) == 0
