"""The dialect step and the framing checks (SPEC section 3, FRAME; AT-1's terminator).

``dialect`` runs first: it finds out how the herd frames IAMAT and WHATSAT (see
:mod:`herdref.checker.dialect`) and every later check talks in that dialect. The framing
checks then report each deviation once, under its own clause.
"""

from __future__ import annotations

import itertools
import socket
from dataclasses import dataclass, field
from typing import Final

from herdref.checker.checks.helpers import alive_after, expect_error_graded, only_error_lines, show
from herdref.checker.checks.registry import CheckFailed, check
from herdref.checker.client import LineSession, reply_complete
from herdref.checker.dialect import CommandProbe, dialect_probes, probe_command, probe_dialect
from herdref.checker.target import CheckContext, CheckUnsupported
from herdref.model.judge import (
    is_error_reply_for,
    looks_like_at,
    split_at_fields,
    split_line,
    time_close,
)


@check(
    "dialect",
    "IAMAT-4",
    "MUST",
    "the herd answers IAMAT in some framing (how it frames IAMAT and WHATSAT is noted)",
    requires=(),
)
def dialect(context: CheckContext) -> None:
    found, iamat, _ = probe_dialect(context.target, transcript=context.transcript)
    context.target.dialect = found
    context.transcript.note(f"dialect: {found.describe()}")
    if not found.iamat_answered:
        replies = (iamat.half_close_reply, iamat.kept_open_reply)
        if any(looks_like_at(reply.partition(b"\n")[2]) for reply in replies):
            # An AT line after something else: a banner, a prompt or debug text, which a client
            # takes for the reply (FRAME-6: nothing but replies is ever written to a client).
            raise CheckFailed(
                "the AT reply came after other text: a client reads that text as the reply",
                expected="the AT line first, nothing before it",
                seen=f"half-close: {show(iamat.half_close_reply or None)}; kept open: "
                f"{show(iamat.kept_open_reply or None)}",
                clause="FRAME-6",
            )
        if _answers_crlf_only(context):
            raise CheckFailed(
                "a line ended by LF alone is never answered; ended by CRLF it is (the server splits "
                "lines at CRLF, e.g. Twisted LineReceiver's default delimiter)",
                expected="an AT reply to an IAMAT ended by LF",
                seen=f"half-close: {show(iamat.half_close_reply or None)}; kept open: "
                f"{show(iamat.kept_open_reply or None)}; the same IAMAT ended by CRLF: an AT reply",
                clause="FRAME-1",
            )
        raise CheckFailed(
            "a valid IAMAT got no AT reply, neither with half-close nor on a kept-open connection",
            expected="an AT line",
            seen=f"half-close: {show(iamat.half_close_reply or None)}; kept open: "
            f"{show(iamat.kept_open_reply or None)}",
        )


def _answers_crlf_only(context: CheckContext) -> bool:
    """Whether an IAMAT that went unanswered ended by LF is answered when ended by CRLF."""
    client, location = context.client_id("crlf"), context.location()
    probe = probe_command(
        context.target,
        context.target.names[0],
        lambda: b"IAMAT %s %s %s\r\n" % (client, location, context.now_time()),
        whatsat=False,
        transcript=context.transcript,
    )
    return probe.half_close_answered or probe.kept_open_answered


@check(
    "frame-half-close",
    "FRAME-4",
    "MUST",
    "a command, then half-close: the reply still comes",
    requires=("dialect",),
)
def frame_half_close(context: CheckContext) -> None:
    for command, probe in _half_close_probes(context):
        if not probe.half_close_answered:
            kept = " (it is answered on a kept-open connection)" if probe.kept_open_answered else ""
            raise CheckFailed(
                f"{_article(command)} {command} followed by a half-close got no reply{kept}",
                expected=f"the {command} reply",
                seen=show(probe.half_close_reply or None),
            )
    if context.target.dialect.places_reply_lost_on_half_close:
        raise CheckFailed(
            "a WHATSAT that waits for Places, followed by a half-close, got no reply (it is answered "
            "on a kept-open connection): the server dropped it when the client's EOF came first",
            expected="the WHATSAT reply, then EOF",
            seen="nothing before the server closed (the WHATSAT ... 1 sent with half-close in the dialect "
            "step's transcript, shown above)",
        )


@check(
    "frame-close-after-half-close",
    "FRAME-4",
    "MUST",
    "a command, then half-close: after the reply the server closes",
    requires=("dialect", "frame-half-close"),
    # FRAME-4 Strict: the course's graders read one chunk and close themselves, so a server
    # that keeps its side open after the half-close is a strict deviation, not a failure.
    strict_part=True,
)
def frame_close_after_half_close(context: CheckContext) -> None:
    for command, probe in _half_close_probes(context):
        if probe.half_close_answered and not probe.half_close_closed:
            raise CheckFailed(
                f"the server answered {_article(command)} {command} but did not close the connection "
                "after the client half-closed",
                expected="EOF after the reply",
                seen=f"{probe.half_close_reply!r}, then the connection still open after "
                f"{context.target.timeout_s:g} s",
            )


def _half_close_probes(context: CheckContext) -> list[tuple[str, CommandProbe]]:
    """The dialect step's IAMAT probe, and its WHATSAT probe when WHATSAT is answered at all."""
    probed = dialect_probes(context.target, transcript=context.transcript)
    iamat, whatsat = probed.iamat, probed.whatsat
    probes = [("IAMAT", iamat)]
    if whatsat.half_close_answered or whatsat.kept_open_answered:
        probes.append(("WHATSAT", whatsat))
    return probes


@check(
    "frame-keep-open",
    "FRAME-3",
    "MUST",
    "many commands, one at a time, on one kept-open connection",
    requires=("dialect",),
)
def frame_keep_open(context: CheckContext) -> None:
    cached = context.target.dialect_probes
    if cached is not None and not cached.iamat.kept_open_answered:
        # The dialect step already sent an IAMAT on a kept-open connection and waited a whole
        # reply timeout for nothing: judge that, rather than wait again.
        dialect_probes(context.target, transcript=context.transcript)
        raise CheckFailed(
            "the server answers only after the client half-closes (it reads to EOF): a command on "
            "a kept-open connection gets no reply"
            if context.target.dialect.read_to_eof
            else "no AT reply to command 1 on a kept-open connection",
            expected="one AT line per IAMAT, without closing the connection",
            seen=show(cached.iamat.kept_open_reply or None)
            + (" (the server closed the connection)" if cached.iamat.kept_open_closed else ""),
        )
    name = context.target.names[0]
    client = context.client_id()
    location = context.location()
    with context.session(name) as session:
        for round_number in range(3):
            session.send(b"IAMAT %s %s %s\n" % (client, location, context.now_time(round_number * 1e-3)))
            reply = session.read_reply()
            if reply is None or not looks_like_at(reply):
                # Closed right after answering this command, or (seen now) after the last one.
                answered = round_number + 1 if looks_like_at(reply or session.buffer) else round_number
                single_shot = session.closed and answered > 0
                raise CheckFailed(
                    f"the server closed the connection after answering command {answered} (single-shot)"
                    if single_shot
                    else f"no AT reply to command {round_number + 1} on a kept-open connection",
                    expected="one AT line per IAMAT, without closing the connection",
                    seen=show(reply if reply is not None else session.buffer or None)
                    + (" (the server closed the connection)" if session.closed else ""),
                )
        if context.target.lookup_bound is None:
            return  # no WHATSAT shows a record here (Places fails); the IAMATs were the test
        session.send(b"WHATSAT %s 10 %d\n" % (client, context.target.lookup_bound))
        reply = session.read_reply(whatsat=True)
        if reply is None or not looks_like_at(reply):
            raise CheckFailed(
                "no WHATSAT reply after three IAMATs on the same connection",
                expected="the stored AT line, the JSON, an empty line",
                seen=show(reply if reply is not None else session.buffer or None),
            )


@check(
    "frame-crlf",
    "ERR-2",
    "MUST",
    "CRLF line ends: CR is white space; a ? reply drops the CR",
    requires=("dialect",),
)
def frame_crlf(context: CheckContext) -> None:
    name = context.target.names[0]
    client, location, client_time = context.client_id(), context.location(), context.now_time()
    reply = context.send(name, b"IAMAT %s %s %s\r\n" % (client, location, client_time))
    # An AT reply without the CR in it: the CR was white space. The AT line's own shape is
    # at-reply-format's business (AT-1), so a malformed but CR-free AT reply passes here.
    first = reply.data.partition(b"\n")[0]
    fields = first.split()
    if not looks_like_at(first) or b"\r" in first or not time_close(client_time, fields[-1]):
        raise CheckFailed(
            "an IAMAT ending in CRLF did not get the AT reply for it (the CR is white space)",
            expected=f"AT ... {client_time.decode()}",
            seen=show(reply.received),
            clause="FRAME-1",
        )
    bad = b"IAMAT %s %s never\r\n" % (client, location)
    # Only the CR is this check's (ERR-2's rule for CRLF); other spacing is error-echo-raw's.
    expect_error_graded(
        context,
        name,
        bad,
        "a ? reply to a CRLF line must drop the CR",
        exact=lambda line: b"\r" not in line,
        copy=False,
    )


@check(
    "frame-no-final-newline",
    "FRAME-2",
    "MUST",
    "a final line without LF, ended by EOF, is a command",
    requires=("dialect", "frame-half-close"),
)
def frame_no_final_newline(context: CheckContext) -> None:
    name = context.target.names[0]
    client = context.client_id()
    reply = context.raw(name, b"IAMAT %s %s %s" % (client, context.location(), context.now_time()))
    if not looks_like_at(reply.data):
        raise CheckFailed(
            "an IAMAT without a final LF, then EOF, got no AT reply",
            expected="an AT line",
            seen=show(reply.data or None) + (f" ({reply.error})" if reply.error else ""),
        )
    bad = b"IAMAT %s +12-118 never" % client
    # What the '?' copies (an EOF-ended line's last octet included) is error-echo-raw's business.
    expect_error_graded(
        context, name, bad, "an invalid command without a final LF got the wrong reply", raw=True, copy=False
    )


@check(
    "frame-pipelined",
    "FRAME-3",
    "MUST",
    "two commands in one packet: two replies, in order",
    # It reads the AT replies' fields: a malformed AT line is at-reply-format's (AT-1).
    requires=("dialect", "frame-half-close", "at-reply-format"),
)
def frame_pipelined(context: CheckContext) -> None:
    name = context.target.names[0]
    first, second = context.client_id("first"), context.client_id("second")
    location, client_time = context.location(), context.now_time()
    payload = b"IAMAT %s %s %s\nIAMAT %s %s %s\n" % (
        first,
        location,
        client_time,
        second,
        location,
        client_time,
    )
    reply = context.raw(name, payload, replies=2)
    lines = reply.data.split(b"\n")
    records = [split_at_fields(line) for line in lines[:2]]
    ok = (
        len(lines) == 3
        and lines[2] == b""
        and all(record is not None for record in records)
        and [record.client_id for record in records if record is not None] == [first, second]
    )
    if not ok and context.target.dialect.single_shot:
        # A single-shot herd (FRAME-3 lenient) reads one command per connection, so a second one
        # in the same packet is outside what it promises; its one deviation is frame-keep-open's.
        raise CheckUnsupported(
            "the server takes one command per connection (single-shot: it closes after its first "
            "reply, or answers only at EOF): two commands on one connection are reported once, by "
            "frame-keep-open"
        )
    if not ok:
        raise CheckFailed(
            "two IAMATs sent in one packet did not get two AT replies in order",
            expected=f"AT ... {first!r} ..., then AT ... {second!r} ...",
            seen=show(reply.received or None),
        )


#: How long a connection that carries only blank lines is watched for a reply: a herd that
#: keeps its side open after the half-close (FRAME-4 lenient) is judged in this time.
_BLANK_ONLY_WAIT_S: Final = 1.0


@check(
    "frame-blank-lines",
    "FRAME-5",
    "MUST",
    "blank and white-space-only lines get no reply",
    # After the blank lines it needs an AT reply it can read (AT-1, at-reply-format's).
    requires=("dialect", "frame-half-close", "at-reply-format"),
)
def frame_blank_lines(context: CheckContext) -> None:
    name = context.target.names[0]
    # White space of SP, HT, VT, FF and CR, drawn from the run's seed (LEX-1).
    blank = context.variation.separator()
    # A connection that carries nothing but blank lines: no reply, and the server goes on.
    only_blank = context.raw(name, b"\n" + blank + b"\n", timeout_s=_BLANK_ONLY_WAIT_S)
    one_line_each = context.target.dialect.single_shot
    # What a herd answers to a blank line the course leaves open (protocol notes A20): '? '
    # (and its copy) is a strict deviation (FRAME-5 lenient); any other reply is a failure.
    answered_blank = bool(only_blank.data.strip()) and not one_line_each
    if only_blank.data.strip() and not only_error_lines(only_blank.data):
        raise CheckFailed(
            "a connection that carried only blank lines got a reply",
            expected="no reply",
            seen=show(only_blank.received),
        )
    alive_after(context, name)
    client = context.client_id()
    reply = context.raw(
        name, b"\n" + blank + b"\n\r\nIAMAT %s %s %s\n" % (client, context.location(), context.now_time())
    )
    lines = reply.data.split(b"\n")
    at_last = len(lines) > 1 and lines[-1] == b"" and looks_like_at(lines[-2])
    if at_last and only_error_lines(b"\n".join(lines[:-2])):
        if len(lines) == 2 and not answered_blank:
            return  # one AT reply (its shape is at-reply-format's business, AT-1)
        raise CheckFailed(
            "blank lines were answered '? ' (left open by the course, protocol notes A20)",
            expected="no reply to a blank line",
            seen=show((only_blank.received if answered_blank else b"") + reply.received),
            strict_part=True,
        )
    copy_spans_blanks = client not in lines[0] and b"\n?" not in reply.data
    if reply.data.startswith(b"?") and client in reply.data and (one_line_each or copy_spans_blanks):
        # The blank lines and the IAMAT were one command (one command per connection, FRAME-3
        # lenient, or one read per command: one '?' whose copy spans them): leading white
        # space, which lex-extra-space judges (LEX-3); judged here too, it would be named twice.
        raise CheckUnsupported(
            "the herd takes all it reads at once for one command, so blank lines before a "
            "command are leading white space: lex-extra-space judges that (LEX-3)"
        )
    # One command per connection (FRAME-3 lenient), as the dialect step found: not merely a
    # server that closes after a half-closed exchange, which every strict herd does.
    if one_line_each and (reply.data.startswith(b"?") or (not reply.data and reply.closed)):
        # It read the first (blank) line as its one line and answered '? ' or nothing: what a
        # one-line-per-connection reader does with a blank line is left open (A20), and the
        # IAMAT after it is lost to FRAME-3 lenient. (What a '?' copies is error-echo-raw's.)
        raise CheckUnsupported(
            "the herd takes one line per connection and "
            + ("answers '? ' to a blank one" if reply.data else "closed after a blank one without a reply")
            + " (left open by the course); blank lines before a command cannot be sent to it"
        )
    raise CheckFailed(
        "blank lines before an IAMAT were answered"
        if any(looks_like_at(line) for line in lines)
        else "no AT reply after blank lines"
        + (" (the server closed the connection)" if reply.closed and not reply.data else ""),
        expected="exactly one AT line",
        seen=show(reply.received or None),
    )


@check(
    "frame-single-write",
    "FRAME-6",
    "SHOULD",
    "each reply arrives whole in one read (one write)",
    requires=("dialect",),
)
def frame_single_write(context: CheckContext) -> None:
    name = context.target.names[0]
    client = context.client_id()
    host, port = context.address(name)
    payloads = [(b"IAMAT %s %s %s\n" % (client, context.location(), context.now_time()), False)]
    if context.target.lookup_bound is not None:
        payloads.append((b"WHATSAT %s 10 %d\n" % (client, context.target.lookup_bound), True))
    for payload, whatsat in payloads:
        framing = context.target.dialect.whatsat if whatsat else context.target.dialect.iamat
        context.transcript.add(name, "send", payload)
        with socket.create_connection(
            (host, port), timeout=context.remaining(context.target.timeout_s)
        ) as connection:
            connection.sendall(payload)
            if framing.half_close:
                connection.shutdown(socket.SHUT_WR)
            first = connection.recv(65_536)
            context.transcript.add(name, "recv", first)
            rest = b""
            normalized = context.target.dialect.normalize(first, whatsat=whatsat, closed=True)
            if first and not reply_complete(normalized, whatsat=whatsat):
                try:
                    connection.settimeout(min(1.0, context.target.timeout_s))
                    rest = connection.recv(65_536)
                except TimeoutError:
                    rest = b""
                context.transcript.add(name, "recv", rest)
        if not first:
            raise CheckUnsupported("no reply came back, so how it was written cannot be judged")
        if rest:
            raise CheckFailed(
                "the first read returned part of a reply: the server wrote it in pieces",
                expected="the whole reply in the first read, as clients that read once expect",
                seen=f"first read: {first!r}, then: {rest!r}",
            )


#: How long to wait after each write but the last of a split command (TCP_NODELAY): long
#: enough that each write reaches the server as a read of its own, and that a server that
#: answers a partial line has answered before the next piece leaves.
_SPLIT_PAUSE_S: Final = 0.05
#: Writes per try: the cut offsets are drawn from the run's seed (herdref.checker.variation).
_SPLIT_TRIES: Final = (2, 3, 2)
#: After a wrong reply, how long to wait for more of them (one reply per write shows there).
_SPLIT_LINGER_S: Final = 0.5


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
    # It judges the AT reply's fields: a malformed AT line is at-reply-format's (AT-1).
    requires=("dialect", "at-reply-format"),
)
def frame_split_write(context: CheckContext) -> None:
    """FRAME-1: a line is the octets up to LF, however TCP delivers them. Each try cuts one
    IAMAT at offsets drawn from the run's seed and sends the pieces with TCP_NODELAY and a
    pause between them, so each arrives as a read of its own."""
    name = context.target.names[0]
    for pieces in _SPLIT_TRIES:
        client = context.client_id("split")
        command = b"IAMAT %s %s %s" % (client, context.location(), context.now_time())
        writes = context.variation.split_line(command, pieces)
        writes[-1] += b"\n"
        delivery = _deliver_in_pieces(context, name, writes)
        first = delivery.replies[0] if delivery.replies else b""
        split = split_line(first, crlf=False)
        record = split_at_fields(split[0]) if split is not None else None
        if delivery.early == 0 and record is not None and record.client_id == client:
            continue
        offsets = list(itertools.accumulate(len(piece) for piece in writes[:-1]))
        cuts = ", ".join(map(str, offsets))
        where = f"{pieces} writes (cut at octet{'s' if len(offsets) > 1 else ''} {cuts})"
        seen = "; ".join(repr(reply) for reply in delivery.replies) or "no reply"
        seen += " (then the server closed the connection)" if delivery.closed else ""
        # A single-shot herd that takes one read for the whole command (FRAME-3 lenient; the
        # course's clients write each command at once): it answers the first write(s) as a
        # command and closes, or closes so early that its answer is lost in the reset. That is
        # its one deviation, which frame-keep-open reports (strict only): not named twice.
        if _answered_one_prefix(delivery, command, offsets):
            raise CheckUnsupported(
                f"an IAMAT sent in {where} was answered for its first write(s) alone, and the "
                "connection closed: the server takes one read per connection (single-shot, "
                "FRAME-3 lenient), which frame-keep-open reports"
            )
        if not delivery.replies and delivery.closed and _single_shot(context, name):
            when = " before its LF was sent" if delivery.cut_short else ""
            raise CheckUnsupported(
                f"an IAMAT sent in {where} got no reply: the server closed the connection{when}, "
                "as it closes every connection after one reply (single-shot, FRAME-3 lenient, "
                "which frame-keep-open reports); a split command cannot be judged on it"
            )
        raise CheckFailed(
            f"an IAMAT sent in {where} {_split_outcome(delivery)}",
            expected=f"one AT reply for {client!r}, after the last write",
            seen=seen,
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
    """The herd closes a kept-open connection after its first reply (FRAME-3 lenient)."""
    with context.session(name) as session:
        session.send(
            b"IAMAT %s %s %s\n" % (context.client_id("control"), context.location(), context.now_time())
        )
        if session.read_reply() is None and not session.closed:
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
        transcript=context.transcript,
        server=name,
        timeout_s=context.remaining(context.target.timeout_s),
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
        reply = session.read_reply(timeout_s=context.remaining(context.target.timeout_s))
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


def _article(command: str) -> str:
    return "an" if command == "IAMAT" else "a"
