"""Blocking-socket clients that talk to a herd under test, and record what they saw.

Rules:

* Every read has a deadline; a server that says nothing is reported as silence, never waited
  on forever.
* Everything sent and received is appended to a :class:`Transcript`, with the time since the
  transcript began, so a failure can show the exact bytes on the wire.
* Replies are judged only on what a client sees: the octets, in order, and where the server
  closed the connection.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field
from typing import Final, Literal

__all__ = [
    "Exchange",
    "LineSession",
    "Transcript",
    "exchange",
    "reply_complete",
]

READ_CHUNK: Final = 65_536
Direction = Literal["send", "recv", "note"]


@dataclass(slots=True)
class TranscriptEntry:
    elapsed_s: float
    server: str
    direction: Direction
    data: bytes


@dataclass(slots=True)
class Transcript:
    """The wire record of one check."""

    entries: list[TranscriptEntry] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def add(self, server: str, direction: Direction, data: bytes) -> None:
        self.entries.append(TranscriptEntry(time.monotonic() - self.started, server, direction, data))

    def note(self, text: str) -> None:
        self.add("-", "note", text.encode())

    def render(self, *, limit: int = 400, keep: int = 150) -> list[str]:
        """One line per entry: ``+0.012s Bailey > b'IAMAT ...\\n'``; a long transcript (a
        check that polled until its deadline) keeps its first and last ``keep`` entries."""
        arrows = {"send": ">", "recv": "<", "note": "#"}
        lines = []
        entries = self.entries
        if len(entries) > 2 * keep:
            left_out = len(entries) - 2 * keep
            note = TranscriptEntry(
                entries[keep].elapsed_s, "-", "note", b"... %d entries left out ..." % left_out
            )
            entries = [*entries[:keep], note, *entries[-keep:]]
        for entry in entries:
            data = entry.data if len(entry.data) <= limit else entry.data[:limit] + b"..."
            shown = data.decode() if entry.direction == "note" else repr(data)
            lines.append(f"+{entry.elapsed_s:.3f}s {entry.server} {arrows[entry.direction]} {shown}")
        return lines


@dataclass(frozen=True, slots=True)
class Exchange:
    """What came back for one request."""

    data: bytes
    #: The server closed its side (we read EOF) before the deadline.
    closed: bool
    #: The connection was reset or refused.
    error: str | None = None
    #: Number of recv() calls that returned data (a reply split over several writes shows here).
    reads: int = 0
    #: The octets as received, when ``data`` was read in the target's dialect (terminator
    #: turned into LF); empty when ``data`` is already as received.
    raw: bytes = b""

    @property
    def received(self) -> bytes:
        """The octets exactly as the server sent them."""
        return self.raw or self.data


def reply_complete(data: bytes, *, whatsat: bool) -> bool:
    """Whether ``data`` holds one whole reply: one line, or for a WHATSAT answer the AT line,
    the JSON and the empty line that ends it (WHATSAT-5)."""
    if not data.endswith(b"\n"):
        return False
    if not whatsat or data.startswith(b"? "):
        return True
    return _blank_line_end(data, data.find(b"\n")) is not None


def _blank_line_end(data: bytes, start: int) -> int | None:
    """Where the first empty line after ``start`` ends (LF LF, or CRLF CRLF from a herd that ends
    its lines in CRLF: the terminator is AT-1's business, not the reader's), or None."""
    ends = [found + len(blank) for blank in (b"\n\n", b"\n\r\n") if (found := data.find(blank, start)) != -1]
    return min(ends, default=None)


def exchange(
    host: str,
    port: int,
    payload: bytes,
    *,
    transcript: Transcript | None = None,
    server: str = "",
    half_close: bool = True,
    timeout_s: float = 5.0,
    until_complete: bool | None = None,
    replies: int = 1,
) -> Exchange:
    """One connection: send ``payload``, optionally half-close, read what comes back.

    With ``half_close`` the read goes on until the server closes or the deadline passes (the
    course graders' style). Without it, it stops as soon as ``replies`` whole one-line replies
    are in, or one whole reply when ``until_complete`` is True (a WHATSAT answer), or at the
    deadline.
    """
    deadline = time.monotonic() + timeout_s
    chunks: list[bytes] = []
    reads = 0
    if transcript is not None:
        transcript.add(server, "send", payload)
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as connection:
            connection.sendall(payload)
            if half_close:
                connection.shutdown(socket.SHUT_WR)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return _done(transcript, server, chunks, closed=False, reads=reads)
                connection.settimeout(remaining)
                try:
                    chunk = connection.recv(READ_CHUNK)
                except TimeoutError:
                    return _done(transcript, server, chunks, closed=False, reads=reads)
                if not chunk:
                    return _done(transcript, server, chunks, closed=True, reads=reads)
                reads += 1
                chunks.append(chunk)
                if transcript is not None:
                    transcript.add(server, "recv", chunk)
                received = b"".join(chunks)
                if (
                    until_complete is not None
                    and reply_complete(received, whatsat=until_complete)
                    and (until_complete or received.count(b"\n") >= replies)
                ):
                    return _done(transcript, server, chunks, closed=False, reads=reads)
    except OSError as exc:
        error = type(exc).__name__ + (f": {exc.strerror}" if exc.strerror else "")
        if transcript is not None:
            transcript.note(f"{server}: {error}")
        return Exchange(b"".join(chunks), closed=False, error=error, reads=reads)


def _done(
    transcript: Transcript | None, server: str, chunks: list[bytes], *, closed: bool, reads: int
) -> Exchange:
    if transcript is not None:
        transcript.note(f"{server}: {'closed by server' if closed else 'no more data before deadline'}")
    return Exchange(b"".join(chunks), closed=closed, reads=reads)


class LineSession:
    """One kept-open connection for several commands (FRAME-1)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        transcript: Transcript | None = None,
        server: str = "",
        timeout_s: float = 5.0,
    ) -> None:
        self.transcript = transcript
        self.server = server
        self.timeout_s = timeout_s
        self.buffer = b""
        self.closed = False
        self.socket = socket.create_connection((host, port), timeout=timeout_s)

    def __enter__(self) -> LineSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.socket.close()

    def send(self, payload: bytes) -> None:
        if self.transcript is not None:
            self.transcript.add(self.server, "send", payload)
        self.socket.sendall(payload)

    def half_close(self) -> None:
        self.socket.shutdown(socket.SHUT_WR)

    def _fill(self, deadline: float) -> bool:
        """Read once; False at EOF or at the deadline."""
        remaining = deadline - time.monotonic()
        if remaining <= 0 or self.closed:
            return False
        self.socket.settimeout(remaining)
        try:
            chunk = self.socket.recv(READ_CHUNK)
        except TimeoutError:
            return False
        except OSError as exc:
            if self.transcript is not None:
                self.transcript.note(f"{self.server}: {type(exc).__name__}")
            self.closed = True
            return False
        if not chunk:
            self.closed = True
            if self.transcript is not None:
                self.transcript.note(f"{self.server}: closed by server")
            return False
        if self.transcript is not None:
            self.transcript.add(self.server, "recv", chunk)
        self.buffer += chunk
        return True

    def read_reply(self, *, whatsat: bool = False, timeout_s: float | None = None) -> bytes | None:
        """The next whole reply, or None if it did not arrive in time (what did arrive stays
        in ``buffer``)."""
        deadline = time.monotonic() + (self.timeout_s if timeout_s is None else timeout_s)
        while True:
            end = _reply_end(self.buffer, whatsat=whatsat)
            if end is not None:
                reply, self.buffer = self.buffer[:end], self.buffer[end:]
                return reply
            if not self._fill(deadline):
                return None

    def read_until_closed(self, *, timeout_s: float | None = None) -> bytes:
        deadline = time.monotonic() + (self.timeout_s if timeout_s is None else timeout_s)
        while self._fill(deadline):
            pass
        data, self.buffer = self.buffer, b""
        return data


def _reply_end(data: bytes, *, whatsat: bool) -> int | None:
    first_end = data.find(b"\n")
    if first_end == -1:
        return None
    if not whatsat or data.startswith(b"? "):
        return first_end + 1
    return _blank_line_end(data, first_end)
