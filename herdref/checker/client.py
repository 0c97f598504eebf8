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

import json
import math
import socket
import time
from dataclasses import dataclass, field
from typing import Final, Literal

from herdref.model.judge import echo_numerically_equal, is_error_reply_for, looks_like_at, split_at_fields
from herdref.protocol import WHITESPACE

__all__ = [
    "Exchange",
    "LineSession",
    "ReplyState",
    "Transcript",
    "crlf_lines",
    "exchange",
    "reply_complete",
    "reply_state",
]

READ_CHUNK: Final = 65_536
Direction = Literal["send", "recv", "note"]
#: How far the octets read so far hold the reply to a request (see :func:`reply_state`).
ReplyState = Literal["partial", "unterminated", "complete"]


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
    #: The read ended because the whole reply was in and nothing more came within the linger
    #: time (a server that keeps its side open): not a deadline, not the server's EOF.
    complete: bool = False

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


def reply_state(data: bytes, request: bytes, *, whatsat: bool, replies: int = 1) -> ReplyState:
    """How far ``data`` holds the reply to ``request`` (one command line).

    ``complete``: framed to its end, as :func:`reply_complete` says (``replies`` one-line
    replies, or the AT line, the JSON and the empty line of a WHATSAT answer). ``unterminated``:
    all of its content is in but not its final terminator (SPEC 1.1 lenient lets single-line
    replies go without the final LF; WHATSAT-5 is whatsat-reply's business): a ``?`` that copies
    ``request`` (ERR-1, as :func:`herdref.model.judge.is_error_reply_for` reads it), an AT line
    that echoes the IAMAT's client ID, location and time (AT-1; the numbers exactly or, IAMAT-5
    lenient, numerically equal), or an AT line and a whole JSON
    document. Either way nothing more need be waited for; what follows at once is still read.
    ``partial``: anything else."""
    if reply_complete(data, whatsat=whatsat) and (whatsat or data.count(b"\n") >= replies):
        return "complete"
    if whatsat and replies == 1 and b"\n" in data and not looks_like_at(data):
        # Only an AT line starts a WHATSAT answer: anything else ('?', whatever it copies, or
        # some text of the herd's own) is a one-line reply, judged by the check.
        return "complete"
    if _whole_then_stray(data, whatsat=whatsat, replies=replies):
        return "unterminated"
    if replies != 1 or not data:
        return "partial"
    line = data.removesuffix(b"\n").removesuffix(b"\r")
    if line.startswith(b"?"):
        # A '?' and the whole line is all of the reply, with or without the SP between them
        # (a copy glued to the '?' is error-echo-raw's to name, ERR-1, not a reply still coming).
        whole = is_error_reply_for(request, line, strict=False) or line[1:].strip() == request.strip()
        # Octets that no longer begin the copy, white space squeezed, will not become it (a
        # herd's '? <words of its own>' left without a LF on a connection it keeps open cost a
        # student herd the whole reply timeout per invalid line): nothing more need be waited for.
        # (Octets that run past a whole copy are still partial: a '?' glued to the reply's end
        # is without_glued_stray_error's to take off.)
        copy, seen = b"? " + b" ".join(request.split()), b" ".join(line.split())
        diverged = not copy.startswith(seen) and not seen.startswith(copy)
        return "unterminated" if whole or diverged else "partial"
    if not _may_begin_at_line(line):
        # Neither '?' nor the start of an AT line (a herd's own words, 'ERROR: no such client',
        # left without a LF on a connection it keeps open): no more of a reply will come, and
        # the check judges these octets; only the linger is waited for what follows at once.
        return "unterminated"
    first, newline, body = data.partition(b"\n")
    first = first.removesuffix(b"\r")
    if not whatsat:
        at = split_at_fields(first) if not newline else None
        sent = request.split()
        wanted = sent[1:4] if len(sent) == 4 and sent[0] == b"IAMAT" else None
        # The echo may be numeric (IAMAT-5 lenient: a float round-trip of the time or the
        # location), as echo-numeric judges it: such a reply is whole all the same.
        echoed = (
            at is not None
            and wanted is not None
            and at.client_id == wanted[0]
            and (
                [at.location, at.client_time] == wanted[1:]
                or echo_numerically_equal((wanted[1], wanted[2]), (at.location, at.client_time))
                or all(map(_float_echo, wanted[1:], (at.location, at.client_time)))
            )
        )
        return "unterminated" if echoed else "partial"
    if newline and split_at_fields(first) is not None and _whole_json(body):
        return "unterminated"
    return "partial"


def _may_begin_at_line(data: bytes) -> bool:
    """Whether ``data`` (no LF in it yet) may still grow into an AT line: its first field is
    ``AT`` or a prefix of it (white space before it is the reply's, as looks_like_at reads it)."""
    head = data.lstrip(WHITESPACE)
    word = head.split(None, 1)[0] if head.strip(WHITESPACE) else b""
    return b"AT".startswith(word) if word == head else word == b"AT"


def _whole_then_stray(data: bytes, *, whatsat: bool, replies: int) -> bool:
    """Whether ``data`` holds the whole reply (``replies`` one-line replies, or a WHATSAT
    answer to its empty line) and then octets of a line that has not ended: output that
    answers nothing (a herd that writes a stray '?' when its read meets EOF). The reply is in;
    waiting the whole timeout for that line's end would only spend the run's budget, and what
    else comes at once is still read (the linger)."""
    if data.endswith(b"\n"):
        return False
    if not whatsat:
        return data.count(b"\n") >= replies
    end = data.find(b"\n\n")
    return replies == 1 and end >= 0 and reply_complete(data[: end + 2], whatsat=True)


def without_glued_stray_error(
    data: bytes, request: bytes, *, whatsat: bool, replies: int = 1
) -> bytes | None:
    """``data`` without a '?' glued to the end of its last reply, or None when there is none.

    A herd that ends its one-line replies in nothing (AT-1 lenient) and answers the empty read
    at the client's EOF as one more, blank, command ('?' and an empty copy) writes
    ``AT ... 1700000000?``: the '?' ends a line that is otherwise the whole reply. It is
    taken off only where that is so: ``data`` without its final LF (which the dialect may have
    put there) is not the reply to ``request`` (reply_state 'partial') and without its last
    '?' it is (the echoed client time or
    the '?' copy is then exact without it, so a reply with a wrong echo is never mended)."""
    body = data.removesuffix(b"\n")
    if not body.endswith(b"?") or body.endswith(b"\n?"):
        return None
    head = body[:-1]
    if not head.strip() or reply_state(body, request, whatsat=whatsat, replies=replies) != "partial":
        return None
    if reply_state(head, request, whatsat=whatsat, replies=replies) == "partial":
        return None
    return head + data[len(body) :]


def _float_echo(sent: bytes, echoed: bytes) -> bool:
    """``echoed`` is ``sent`` itself, or ``sent`` through Python's float() and repr(): a float
    round-trip that echo_numerically_equal does not take, because a field is not of its form
    (an exponent, ``3.370156705487127e+18``, for a huge time; an invalid location the herd took
    and echoed). Whether the echo is right is the checks' business (IAMAT-5, LEX-5, LEX-6);
    here it only tells that the reply's content is all in. repr() writes the shortest digits
    that read back as the float, so no proper prefix of them (a reply cut short) is the same
    number, and the linger still waits for what follows at once."""
    if sent == echoed:
        return True
    try:
        value = float(sent)
    except ValueError:
        return False
    return math.isfinite(value) and repr(value).encode() == echoed


def _whole_json(body: bytes) -> bool:
    """The body holds one whole JSON document (only white space after it)."""
    try:
        json.loads(body)
    except ValueError:
        return False
    return True


def _blank_line_end(data: bytes, start: int) -> int | None:
    """Where the first empty line after ``start`` ends (LF LF, or CRLF CRLF from a herd that ends
    its lines in CRLF: the terminator is AT-1's business, not the reader's), or None."""
    ends = [found + len(blank) for blank in (b"\n\n", b"\n\r\n") if (found := data.find(blank, start)) != -1]
    return min(ends, default=None)


def crlf_lines(payload: bytes) -> bytes:
    """``payload`` with each line ended by CR LF: what the checker writes to a herd that answers
    no line ended by LF alone (a Twisted ``LineReceiver``'s default delimiter; FRAME-1, named
    once by the dialect step), so that every other property is still judged."""
    return payload.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


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
    linger_s: float | None = None,
    whatsat: bool | None = None,
    error_linger_s: float | None = None,
    crlf: bool = False,
    greeting: bytes = b"",
) -> Exchange:
    """One connection: send ``payload`` (each LF written CR LF with ``crlf``: see
    :func:`crlf_lines`), optionally half-close, read what comes back.

    With ``half_close`` the read goes on until the server closes or the deadline passes (the
    course graders' style). Without it, it stops as soon as ``replies`` whole one-line replies
    are in, or one whole reply when ``until_complete`` is True (a WHATSAT answer), or at the
    deadline.

    With ``linger_s``, once the reply to ``payload`` is in as far as :func:`reply_state` can
    tell (whole, or whole but for its final terminator), the read waits only ``linger_s`` more
    after the last octets for the server's EOF or further octets (text that follows a reply
    at once is still seen), not the whole timeout: a server that keeps its side open, or
    leaves the final LF off a reply on a kept-open connection, costs ``linger_s`` per exchange.
    ``whatsat`` says which reply to wait for (default: ``until_complete``). A payload of more
    lines than ``replies`` (blank lines, several commands) is read as without ``linger_s``.
    ``error_linger_s``, when given, is the linger for a ``?`` reply instead (a herd already
    seen to leave the final LF off its '?' replies on a connection it keeps open).
    A ``greeting`` the server writes first on every connection is read past: the reply is
    what follows it (the Exchange keeps every octet received).
    """
    deadline = time.monotonic() + timeout_s
    chunks: list[bytes] = []
    reads = 0
    whatsat = bool(until_complete) if whatsat is None else whatsat
    if payload.count(b"\n") > replies:
        linger_s = None  # which octets end the exchange is then the check's business
    written = crlf_lines(payload) if crlf else payload
    if transcript is not None:
        transcript.add(server, "send", written)
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as connection:
            connection.sendall(written)
            if half_close:
                connection.shutdown(socket.SHUT_WR)
                if transcript is not None:
                    # The words "followed by a half-close" must be provable from the transcript.
                    transcript.note(f"{server}: half-closed by the client (EOF sent)")
            state: ReplyState = "partial"
            while True:
                read_until = deadline
                linger = linger_s
                if (
                    linger is not None
                    and error_linger_s is not None
                    and chunks
                    and _past_greeting(b"".join(chunks), greeting).startswith(b"?")
                ):
                    linger = error_linger_s
                if linger is not None and state != "partial":
                    read_until = min(deadline, time.monotonic() + linger)
                remaining = read_until - time.monotonic()
                chunk = _recv(connection, remaining) if remaining > 0 else None
                if chunk is None:
                    complete = state != "partial" and read_until < deadline
                    return _done(
                        transcript,
                        server,
                        chunks,
                        closed=False,
                        reads=reads,
                        complete=complete,
                        linger_s=linger,
                    )
                if not chunk:
                    return _done(transcript, server, chunks, closed=True, reads=reads)
                reads += 1
                chunks.append(chunk)
                if transcript is not None:
                    transcript.add(server, "recv", chunk)
                received = _past_greeting(b"".join(chunks), greeting)
                state = reply_state(received, payload, whatsat=whatsat, replies=replies)
                if until_complete is not None and state == "complete":
                    return _done(transcript, server, chunks, closed=False, reads=reads, framed=True)
    except OSError as exc:
        error = type(exc).__name__ + (f": {exc.strerror}" if exc.strerror else "")
        if transcript is not None:
            transcript.note(f"{server}: {error}")
        return Exchange(b"".join(chunks), closed=False, error=error, reads=reads)


def _past_greeting(data: bytes, greeting: bytes) -> bytes:
    """``data`` without the server's ``greeting`` at its start; nothing yet while only part of
    the greeting is in."""
    if not greeting:
        return data
    if data.startswith(greeting):
        return data[len(greeting) :]
    return b"" if greeting.startswith(data) else data


def _recv(connection: socket.socket, timeout_s: float) -> bytes | None:
    """One recv() within ``timeout_s``: the octets (empty at EOF), or None at the timeout."""
    connection.settimeout(timeout_s)
    try:
        return connection.recv(READ_CHUNK)
    except TimeoutError:
        return None


def _done(
    transcript: Transcript | None,
    server: str,
    chunks: list[bytes],
    *,
    closed: bool,
    reads: int,
    complete: bool = False,
    linger_s: float | None = None,
    framed: bool = False,
) -> Exchange:
    """The exchange, its end noted in words true of what was seen: ``complete`` (the reply's
    content all in, then ``linger_s`` of silence on a connection still open; with no linger,
    not waited on at all), ``framed`` (read to its framed end, nothing after it waited for)."""
    if transcript is not None:
        if closed:
            how = "closed by server"
        elif complete and linger_s:
            how = f"reply complete; nothing more within {linger_s:g} s (the connection still open then)"
        elif complete:
            how = "reply complete; nothing more waited for (replies here end without their terminator)"
        elif framed:
            how = "reply read to its end; nothing after it waited for"
        else:
            how = "no more data before deadline"
        transcript.note(f"{server}: {how}")
    return Exchange(b"".join(chunks), closed=closed, reads=reads, complete=complete)


class LineSession:
    """One kept-open connection for several commands (FRAME-1).

    With ``linger_s``, a reply whose content is all in but not its final LF (a ``?`` copy of
    the line sent, an AT line echoing the IAMAT sent: :func:`reply_state`) is taken as it stands
    once ``linger_s`` passes with nothing more; the lines sent are matched to replies in order."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        transcript: Transcript | None = None,
        server: str = "",
        timeout_s: float = 5.0,
        linger_s: float | None = None,
        crlf: bool = False,
        greeting: bytes = b"",
    ) -> None:
        #: Each LF sent is written CR LF (see :func:`crlf_lines`).
        self.crlf = crlf
        #: What the server writes first on every connection, not yet read past (see exchange).
        self.greeting = greeting
        self.transcript = transcript
        self.server = server
        self.timeout_s = timeout_s
        self.linger_s = linger_s
        self.buffer = b""
        self.closed = False
        #: The lines sent whose replies have not been read yet, oldest first (blank lines get none).
        self.unanswered: list[bytes] = []
        self.socket = socket.create_connection((host, port), timeout=timeout_s)

    def __enter__(self) -> LineSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.socket.close()

    def send(self, payload: bytes) -> None:
        self.unanswered += [line for line in payload.splitlines(keepends=True) if line.strip()]
        written = crlf_lines(payload) if self.crlf else payload
        if self.transcript is not None:
            self.transcript.add(self.server, "send", written)
        self.socket.sendall(written)

    def half_close(self) -> None:
        self.socket.shutdown(socket.SHUT_WR)

    def read_more(self, deadline: float) -> bool:
        """Read once into ``buffer`` (for a caller that judges what it holds); False at EOF or
        at ``deadline`` (a :func:`time.monotonic` time)."""
        return self._fill(deadline)

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
        if self.greeting and self.buffer.startswith(self.greeting):
            self.buffer, self.greeting = self.buffer[len(self.greeting) :], b""
        return True

    def read_reply(
        self,
        *,
        whatsat: bool = False,
        timeout_s: float | None = None,
        request: bytes | None = None,
        linger_s: float | None = None,
    ) -> bytes | None:
        """The next whole reply, or None if it did not arrive in time (what did arrive stays
        in ``buffer``). With ``request`` and ``linger_s``, a reply to ``request`` whose content
        is all in but not its terminator (:func:`reply_state`) is taken as it stands once
        ``linger_s`` passes with nothing more, or the server closes."""
        deadline = time.monotonic() + (self.timeout_s if timeout_s is None else timeout_s)
        if request is None and self.unanswered:
            request = self.unanswered[0]
        linger_s = self.linger_s if linger_s is None else linger_s
        while True:
            end = _reply_end(self.buffer, whatsat=whatsat)
            if end is not None:
                reply, self.buffer = self.buffer[:end], self.buffer[end:]
                return self._answered(reply)
            lingering = (
                request is not None
                and linger_s is not None
                and reply_state(self.buffer, request, whatsat=whatsat) != "partial"
            )
            if lingering and linger_s is not None:
                if not self._fill(min(deadline, time.monotonic() + linger_s)):
                    reply, self.buffer = self.buffer, b""
                    return self._answered(reply)
            elif not self._fill(deadline):
                return None

    def _answered(self, reply: bytes) -> bytes:
        """``reply``, the oldest line sent now answered."""
        self.unanswered = self.unanswered[1:]
        return reply

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
