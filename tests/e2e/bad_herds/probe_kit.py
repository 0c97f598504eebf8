"""Raw-TCP probes of the herds in this folder, independent of ``herdref validate``.

A probe starts some servers of one herd script as real subprocesses on free loopback ports (a
herd file written into a temporary folder), points them at the HTTP Places fixture, talks to
them over plain sockets and returns :class:`Evidence`: whether the behaviour it looks for was
seen, with the transcript that shows it. Servers that a probe plays itself ("fake"
neighbours) are listening sockets of the probe on the ports the herd file gives them.

Everything waits on a condition with a deadline; nothing sleeps to synchronise.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from herdref.checker.deadline import DeadlinePassed, wait_until
from herdref.checker.ports import LOOPBACK
from herdref.checker.processes import ProcessExited, kill_process, signal_group, start_process, wait_listening
from herdref.herd.config import load_config
from herdref.model.judge import is_error_reply_for
from herdref.places.fixture import FixtureHandle, run_fixture_in_thread
from tests.e2e.herd_harness import write_herd_file

HERE = Path(__file__).parent
BASE = HERE / "_base.py"
DEADLINE_S = 5.0
#: How long a probe waits for something that a correct herd does at once, before it calls it
#: missing (a reply, a close). Generous for a loaded 2-core machine.
QUIET_S = 1.5
TWO_SERVERS = (("A", "B"),)
CHAIN = (("A", "B"), ("B", "C"))


@dataclass
class Evidence:
    """What a probe saw: ``seen`` is True when the behaviour it looks for is there."""

    seen: bool
    transcript: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(self.transcript)


class Transcript(list[str]):
    def sent(self, where: str, data: bytes) -> None:
        self.append(f"-> {where}: {data!r}")

    def got(self, where: str, data: bytes) -> None:
        self.append(f"<- {where}: {data!r}")

    def evidence(self, seen: bool, note: str) -> Evidence:
        return Evidence(seen, [*self, f"== {note}: {'seen' if seen else 'not seen'}"])


def wait_for(condition: Callable[[], bool], deadline_s: float = DEADLINE_S) -> None:
    """Wait until ``condition`` holds or the deadline passes: either way the probe then judges
    what it has (a behaviour that never came is evidence too)."""
    with contextlib.suppress(DeadlinePassed):
        wait_until(condition, deadline_s=deadline_s)


@dataclass
class Reply:
    data: bytes
    closed: bool  # the server closed (EOF) before the read ended


def read_reply(
    sock: socket.socket, *, complete: Callable[[bytes], bool] | None = None, timeout_s: float = DEADLINE_S
) -> Reply:
    """Read until EOF, until ``complete(data)`` holds, or until the timeout."""
    end = time.monotonic() + timeout_s
    data = b""
    while complete is None or not complete(data):
        remaining = end - time.monotonic()
        if remaining <= 0:
            return Reply(data, False)
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            return Reply(data, False)
        except ConnectionResetError:
            return Reply(data, True)
        if not chunk:
            return Reply(data, True)
        data += chunk
    return Reply(data, False)


def line_done(data: bytes) -> bool:
    return b"\n" in data


def whatsat_done(data: bytes) -> bool:
    """A WHATSAT reply is over at its first empty line (LF LF, CRLF CRLF) or at a '?' line."""
    normal = data.replace(b"\r\n", b"\n")
    return b"\n\n" in normal or (normal.startswith(b"? ") and b"\n" in normal)


#: The herds here that need site-packages (aiohttp), or the ``sitecustomize`` that ``herdref
#: validate --redirect-google`` puts on their path (they call Google's own host). Every other
#: herd imports only the standard library and is started with ``python3 -S``: without site's
#: ``.pth`` files a server starts in a fifth less CPU, and the suite starts thousands of them.
NEEDS_SITE = frozenset(
    {
        "dialect_new_api_error_refused",
        "dialect_raw_https_absolute_target",
        "dialect_raw_https_chunk_after_word",
        "dialect_raw_https_places",
        "google_hardcoded",
        "no_places_lenient",
    }
)


def python_for(script: Path) -> list[str]:
    """The interpreter's words that start ``script`` (see :data:`NEEDS_SITE`)."""
    return [sys.executable] if script.stem in NEEDS_SITE else [sys.executable, "-S"]


class Herd:
    """Some servers of one herd script, on the ports of a herd file, with a Places fixture."""

    def __init__(
        self,
        script: Path,
        directory: Path,
        *,
        names: Sequence[str],
        links: Sequence[tuple[str, str]],
        fixture: FixtureHandle,
    ) -> None:
        self.script = script
        self.directory = directory
        self.fixture = fixture
        self.config = write_herd_file(directory, names=list(names), links=list(links))
        self.ports = {name: address.port for name, address in load_config(self.config).servers.items()}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.env = {**os.environ, "PLACES_URL": fixture.base_url, "PLACES_KEY": "probe-key"}

    def start(self, *names: str, command: Sequence[str] | None = None) -> None:
        """Start ``names`` (one process each, or one ``command`` for all) and wait until they listen.

        Each process writes its stderr to a file in the herd's folder, never to a pipe that
        nobody reads (a herd that logs a traceback per bad line would block on a full pipe).
        """
        commands = (
            {",".join(names): list(command)}
            if command is not None
            else {
                name: [*python_for(self.script), str(self.script), name, "--config", str(self.config)]
                for name in names
            }
        )
        for key, argv in commands.items():
            with (self.directory / f"{key}.stderr").open("wb") as stderr:
                self.processes[key] = start_process(argv, env=self.env, stderr=stderr)
        for name in names:
            process = self.processes[name if command is None else ",".join(names)]
            try:
                wait_listening(process, LOOPBACK, self.ports[name], deadline_s=15, name=name)
            except (ProcessExited, DeadlinePassed) as exc:
                raise AssertionError(f"{self.script.name} {exc}: {self.stderr()}") from None

    def signal(self, name: str, signum: int) -> None:
        signal_group(self.processes[name].pid, signum)

    def stderr(self) -> str:
        """The end of every server's stderr."""
        texts = []
        for key in self.processes:
            text = (self.directory / f"{key}.stderr").read_bytes()[-2000:].decode(errors="replace")
            texts.append(f"[{key}] {text}")
        return "\n".join(texts)

    def stop(self) -> None:
        for process in self.processes.values():
            kill_process(process)

    # ---- talking to it -------------------------------------------------------------------

    def connect(self, name: str) -> socket.socket:
        return socket.create_connection((LOOPBACK, self.ports[name]), timeout=DEADLINE_S)

    def exchange(
        self,
        name: str,
        payload: bytes,
        transcript: Transcript,
        *,
        complete: Callable[[bytes], bool] | None = None,
        timeout_s: float = DEADLINE_S,
    ) -> Reply:
        """One command per connection, the graders' way: send, half-close, read."""
        with self.connect(name) as sock:
            transcript.sent(name, payload)
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
            reply = read_reply(sock, complete=complete, timeout_s=timeout_s)
        transcript.got(name, reply.data + (b" <EOF>" if reply.closed else b" <no EOF>"))
        return reply

    def iamat(self, name: str, client: bytes, location: bytes, client_time: bytes, t: Transcript) -> bytes:
        """The AT reply to an IAMAT (LF/CRLF removed), b"" when there is none."""
        line = b"IAMAT %s %s %s\n" % (client, location, client_time)
        return first_line(self.exchange(name, line, t, complete=line_done).data)

    def whatsat(self, name: str, client: bytes, radius: bytes, bound: bytes, t: Transcript) -> bytes:
        line = b"WHATSAT %s %s %s\n" % (client, radius, bound)

        def done(data: bytes) -> bool:
            # A '?' that copies the whole line is the whole reply, with or without its final LF
            # (SPEC 1.1 lenient): a herd that also keeps the connection open sends nothing more.
            return whatsat_done(data) or is_error_reply_for(line, data, strict=False)

        return self.exchange(name, line, t, complete=done).data

    def wait_record(self, name: str, client: bytes, t: Transcript, *, expect: bytes | None = None) -> bytes:
        """The first line of a WHATSAT for ``client`` at ``name`` once it holds a record (or
        ``expect`` exactly), b"" if it never does within the deadline."""
        found = b""

        def holds() -> bool:
            nonlocal found
            quiet = Transcript()
            reply = first_line(self.whatsat(name, client, b"10", b"1", quiet))
            if reply.startswith(b"AT ") and (expect is None or reply == expect):
                found = reply
                t.extend(quiet)
                return True
            return False

        wait_for(holds)
        return found


def first_line(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").split(b"\n", 1)[0]


@contextlib.contextmanager
def herd(
    script: Path,
    directory: Path,
    *,
    names: Sequence[str] = ("A", "B"),
    links: Sequence[tuple[str, str]] = TWO_SERVERS,
) -> Iterator[Herd]:
    """A herd file for ``names``/``links`` and a fixture; the caller starts what it needs."""
    directory.mkdir(parents=True, exist_ok=True)
    with run_fixture_in_thread() as fixture:
        running = Herd(script, directory, names=names, links=links, fixture=fixture)
        try:
            yield running
        finally:
            running.stop()


class FakeServer:
    """A listening socket on a herd member's port that records what servers send it.

    ``read`` False leaves every accepted connection unread (a neighbour whose buffers fill).
    Sockets are shut down before they are closed: that is what wakes a thread blocked in
    ``accept``/``recv`` on them and sends the FIN.
    """

    def __init__(self, port: int, *, read: bool = True) -> None:
        self.listener = socket.create_server(("127.0.0.1", port))
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.read = read
        self.received = b""
        self.connections = 0
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._open.append(sock)
            if self.read:
                thread = threading.Thread(target=self._drain, args=(sock,), daemon=True)
                self._threads.append(thread)
                thread.start()

    def _drain(self, sock: socket.socket) -> None:
        while True:
            try:
                chunk = sock.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            with self._lock:
                self.received += chunk

    def lines(self) -> list[bytes]:
        with self._lock:
            return self.received.replace(b"\r\n", b"\n").split(b"\n")[:-1]

    def drop_connections(self) -> None:
        """Close every accepted connection (a neighbour that restarts)."""
        with self._lock:
            dropped, self._open = self._open, []
        for sock in dropped:
            _shut(sock)

    def close(self) -> None:
        _shut(self.listener)
        self._threads[0].join(DEADLINE_S)
        self.drop_connections()
        for thread in self._threads[1:]:
            thread.join(DEADLINE_S)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


@contextlib.contextmanager
def fake_server(port: int, *, read: bool = True) -> Iterator[FakeServer]:
    server = FakeServer(port, read=read)
    try:
        yield server
    finally:
        server.close()
