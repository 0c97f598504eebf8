"""Where one command ends (SPEC FRAME-1 strict, decisions A2 and A26): frame-split-write and
frame-lf-between-fields.

TCP delivers a byte stream, not the writes a client made: a command is the octets up to its LF
(or the client's EOF, FRAME-2), however they arrive, and no further. frame-split-write writes one
IAMAT in pieces; frame-lf-between-fields puts an LF between its fields. Both judge the reply in
the herd's dialect (half-close or kept open).
"""

from __future__ import annotations

import itertools
import socket
from dataclasses import dataclass, field
from typing import Final

from herdref.checker.checks.at_lines import answered_report, unreadable
from herdref.checker.checks.helpers import show
from herdref.checker.checks.registry import CheckFailed, check
from herdref.checker.client import LineSession
from herdref.checker.target import CheckContext, CheckUnsupported
from herdref.model.judge import is_error_reply_for, split_at_fields, split_line

#: How long to wait after each write but the last of a split command (TCP_NODELAY): long
#: enough that each write reaches the server as a read of its own, and that a server that
#: answers a partial line has answered before the next piece leaves.
_SPLIT_PAUSE_S: Final = 0.05
#: Writes per try: the cut offsets are drawn from the run's seed (herdref.checker.variation).
_SPLIT_TRIES: Final = (2, 3, 2)
#: After a wrong reply, how long to wait for more of them (one reply per write shows there).
_SPLIT_LINGER_S: Final = 0.5
#: How long frame-lf-between-fields waits for the answers to its two pieces.
_PIECES_WAIT_S: Final = 1.0


@dataclass(slots=True)
class SplitDelivery:
    """What came back for one command sent in several writes."""

    #: Every reply, in the herd's dialect (terminator turned into LF), in order.
    replies: list[bytes] = field(default_factory=list)
    #: Replies that came before the last write: answers to a partial line.
    early: int = 0
    #: The server closed the connection.
    closed: bool = False
    #: The server closed (or reset) the connection before the last write could be sent.
    cut_short: bool = False


@check(
    "frame-split-write",
    "FRAME-1",
    "MUST",
    "a command that arrives in two or three TCP writes is one command",
    # It tells the IAMAT's AT reply by its client ID; a malformed AT line (AT-1,
    # at-reply-format's) by the location and client time it carries.
    requires=("dialect", "at-reply-format"),
    reads_malformed_at=True,
    # FRAME-1 lenient, decision A26: the course's asyncio hint reads once per connection and
    # its graders write each command at once, so taking one read for one command is strict only.
    strict_part=True,
)
def frame_split_write(context: CheckContext) -> None:
    """FRAME-1: a line is the octets up to LF, however TCP delivers them. Each try cuts one
    IAMAT at offsets drawn from the run's seed and sends the pieces with TCP_NODELAY and a
    pause between them, so each arrives as a read of its own."""
    name = context.target.names[0]
    for pieces in _SPLIT_TRIES:
        client = context.client_id("split")
        report = (context.location(), context.now_time())
        command = b"IAMAT %s %s %s" % (client, *report)
        writes = context.variation.split_line(command, pieces)
        writes[-1] += b"\n"
        delivery = _deliver_in_pieces(context, name, writes)
        first = delivery.replies[0] if delivery.replies else b""
        split = split_line(first, crlf=False)
        line = split[0] if split is not None else None
        if (
            delivery.early == 0
            and line is not None
            and answered_report(context, line, [(client, report)]) == 0
        ):
            continue
        if (
            delivery.early == 0
            and len(delivery.replies) == 1
            and line is not None
            and unreadable(context, line, [report])
        ):
            raise CheckUnsupported(
                f"the one reply to an IAMAT sent in {pieces} writes, {line!r}, is a malformed AT line "
                "(at-reply-format names that, AT-1) in which the location and client time sent "
                "cannot both be found, so whether it answers the whole command cannot be told"
            )
        offsets = list(itertools.accumulate(len(piece) for piece in writes[:-1]))
        cuts = ", ".join(map(str, offsets))
        where = f"{pieces} writes (cut at octet{'s' if len(offsets) > 1 else ''} {cuts})"
        seen = "; ".join(repr(reply) for reply in delivery.replies) or "no reply"
        seen += " (then the server closed the connection)" if delivery.closed else ""
        # SPEC FRAME-1 strict, decision A26: TCP delivers a byte stream, so a herd that takes
        # one read for the whole command (single-shot or not) answers a fragment. The words
        # say what the transcript shows; the check's strict_part grades it.
        if _answered_one_prefix(delivery, command, offsets):
            raise CheckFailed(
                f"an IAMAT sent in {where} was answered for its first write(s) alone (the command "
                "cut there, with neither its LF nor the client's EOF), and the server closed the "
                "connection: it took one read for the whole command",
                expected=f"one AT reply for {client!r}, after the last write",
                seen=seen,
            )
        if not delivery.replies and delivery.closed and _single_shot(context, name):
            when = "before the last write (its LF) was sent" if delivery.cut_short else "after the last write"
            raise CheckFailed(
                f"an IAMAT sent in {where} got no reply: the server closed the connection {when}, "
                "though it answers an IAMAT written at once",
                expected=f"one AT reply for {client!r}, after the last write",
                seen=seen,
            )
        raise CheckFailed(
            f"an IAMAT sent in {where} {_split_outcome(delivery)}",
            expected=f"one AT reply for {client!r}, after the last write",
            seen=seen,
        )


@check(
    "frame-lf-between-fields",
    "FRAME-1",
    "MUST",
    "an LF between an IAMAT's fields ends a line: neither piece is a command",
    # It tells an AT reply for the IAMAT by its client ID, or a malformed one (AT-1,
    # at-reply-format's) by the location and client time it carries; what the two pieces get
    # instead ('?' or nothing) is judged by error-reply and invalid-field-count.
    requires=("dialect", "at-reply-format", "error-reply"),
    reads_malformed_at=True,
    # FRAME-1 strict, decision A2: a herd that reads to EOF MAY take all it read for one
    # command (a TA allowed newlines between the words; such a herd passes every course test).
    strict_part=True,
)
def frame_lf_between_fields(context: CheckContext) -> None:
    """FRAME-1: "IAMAT <client>" LF "<location> <time>" LF is two lines, each with too few
    fields: no AT reply. Sent in the herd's IAMAT framing: with a half-close, so a herd that
    reads to EOF answers too, unless the herd answers only on a connection kept open."""
    name = context.target.names[0]
    client = context.client_id("lf")
    report = (context.location(), context.now_time())
    payload = b"IAMAT %s\n%s %s\n" % (client, *report)
    # The two pieces' answers ('?' or nothing) come at once; a herd that keeps its side open
    # after answering one of them is waited for a moment, not a whole reply timeout.
    reply = context.raw(
        name,
        payload,
        replies=2,
        timeout_s=min(_PIECES_WAIT_S, context.target.timeout_s),
        half_close=context.target.dialect.iamat.half_close,
    )
    lines = [line.rstrip(b"\r") for line in reply.data.split(b"\n") if line.strip()]
    if any(answered_report(context, line, [(client, report)]) == 0 for line in lines):
        raise CheckFailed(
            "an IAMAT with an LF between its client ID and its location was answered as one "
            "command: the herd took what it read, LF included, for one line",
            expected=f"no AT reply for {client!r}: '?' for each of the two lines",
            seen=show(reply.received),
        )
    if not lines:
        raise CheckUnsupported(
            "neither of the two lines got a reply"
            + (" (the server closed the connection)" if reply.closed else "")
            + ", so whether they were taken for one command cannot be told"
        )


def _split_outcome(delivery: SplitDelivery) -> str:
    """What the herd did with a split command, in words true of the transcript."""
    count = len(delivery.replies)
    closed = ", and the server closed the connection" if delivery.closed else ""
    if count > 1:
        return (
            f"got {count} replies ({delivery.early} before its LF was sent): each write was taken for a line"
        )
    if delivery.early:
        return f"was answered before its LF was sent{closed}"
    if count:
        return f"got a reply that is not its AT line{closed}"
    return f"got no reply{closed}"


def _answered_one_prefix(delivery: SplitDelivery, command: bytes, offsets: list[int]) -> bool:
    """The herd answered once, for the command up to one of the cuts ('?', or the AT line
    of a shorter but valid IAMAT), and closed."""
    if len(delivery.replies) != 1 or not delivery.closed:
        return False
    split = split_line(delivery.replies[0], crlf=False)
    if split is None:
        return False
    record = split_at_fields(split[0])
    for offset in offsets:
        prefix = command[:offset]
        if is_error_reply_for(prefix, split[0], strict=False):
            return True
        fields = prefix.split()
        if (
            record is not None
            and len(fields) == 4
            and (record.client_id, record.client_time)
            == (
                fields[1],
                fields[3],
            )
        ):
            return True
    return False


def _single_shot(context: CheckContext, name: str) -> bool:
    """The herd answers an IAMAT written at once and then closes the connection, which the
    client kept open (FRAME-3 lenient)."""
    with context.session(name) as session:
        session.send(
            b"IAMAT %s %s %s\n" % (context.client_id("control"), context.location(), context.now_time())
        )
        if session.read_reply() is None:
            return False
        session.read_until_closed(timeout_s=context.remaining(_SPLIT_LINGER_S))
        return session.closed


def _deliver_in_pieces(context: CheckContext, name: str, writes: list[bytes]) -> SplitDelivery:
    """Send ``writes`` on one connection (TCP_NODELAY, a pause between them, the pause being a
    wait for an early reply) in the herd's IAMAT framing, and collect the replies."""
    host, port = context.address(name)
    framing = context.target.dialect.iamat
    delivery = SplitDelivery()
    with LineSession(
        host,
        port,
        greeting=context.target.dialect.greeting(name),
        transcript=context.transcript,
        server=name,
        timeout_s=context.remaining(context.target.timeout_s),
        # A whole reply without its final LF (AT-1 lenient) on a kept-open connection ends
        # after the linger, not the timeout (as context.session reads).
        linger_s=context.target.linger_s,
        crlf=context.target.dialect.sends_crlf,
    ) as session:
        session.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            for index, piece in enumerate(writes):
                if session.closed:
                    delivery.cut_short = True  # closed after an earlier write: send no more
                    break
                session.send(piece)
                if index < len(writes) - 1:
                    early = session.read_reply(timeout_s=_SPLIT_PAUSE_S)
                    if early is not None:
                        delivery.replies.append(early)
                        delivery.early += 1
            if framing.half_close and not session.closed:
                session.half_close()
        except OSError as exc:  # the server closed after an earlier write
            delivery.cut_short = True
            context.transcript.note(f"{name}: {type(exc).__name__} while sending")
        # After an early reply the verdict is settled whatever follows; a herd that answers
        # each write answers the last one as fast as the first, and one that answers one command
        # per connection never answers it (a whole reply timeout spent, twice, on a student herd).
        last_wait = _SPLIT_LINGER_S if delivery.early else context.target.timeout_s
        reply = session.read_reply(timeout_s=context.remaining(last_wait), request=b"".join(writes))
        if reply is not None:
            delivery.replies.append(reply)
        if reply is None or delivery.early or split_at_fields(reply.rstrip(b"\r\n")) is None:
            # A wrong reply: see whether more come (one per write) and whether the server closes.
            while (more := session.read_reply(timeout_s=context.remaining(_SPLIT_LINGER_S))) is not None:
                delivery.replies.append(more)
            if session.buffer:
                delivery.replies.append(session.buffer)  # a last reply without LF, then close
        delivery.closed = session.closed
    dialect = context.target.dialect
    delivery.replies = [
        dialect.normalize(reply, whatsat=False, closed=delivery.closed) for reply in delivery.replies
    ]
    return delivery
