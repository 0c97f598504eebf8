"""Replies that share a connection (SPEC FRAME-3, FRAME-6): frame-pipelined, two IAMATs in one
packet; frame-replies-whole, a WHATSAT waiting for Places and an IAMAT behind it in one packet.

A herd that writes a WHATSAT's AT line at once and its JSON when Places answers, and handles
the next command meanwhile, puts the IAMAT's AT line between the two halves of the WHATSAT's
reply: a client reading the WHATSAT's reply then reads another reply inside it (FRAME-6: the
octets of two replies are never interleaved). Answering the IAMAT whole before the WHATSAT is
only out of order (FRAME-3 strict: commands are answered in the order they arrived).
"""

from __future__ import annotations

import time
from typing import Final

from herdref.checker.checks.at_lines import answered_report, unreadable
from herdref.checker.checks.helpers import one_command_per_connection, show
from herdref.checker.checks.registry import CheckFailed, check
from herdref.checker.target import CheckContext, CheckUnsupported
from herdref.model.judge import looks_like_at

#: The WHATSAT's radius (km): any valid one; its bound is the one that needs Places (1).
_RADIUS: Final = b"10"


@check(
    "frame-pipelined",
    "FRAME-3",
    "MUST",
    "two commands in one packet: two replies, in order",
    # It tells the two AT replies apart by their client IDs; a malformed AT line (AT-1,
    # at-reply-format's) by the location and client time each carries (two locations). Sent
    # in the herd's IAMAT framing, it does not need replies after a half-close (frame-half-close).
    requires=("dialect", "at-reply-format"),
    reads_malformed_at=True,
)
def frame_pipelined(context: CheckContext) -> None:
    reason = one_command_per_connection(context)
    if reason is not None and not context.target.dialect.single_shot:
        # Known to ignore what follows its first command on a connection (frame-keep-open
        # reports that once): waiting out a reply timeout for the second reply judges nothing.
        raise CheckUnsupported(
            f"a second command on one connection gets no reply here ({reason}): two commands in "
            "one packet are reported once, by frame-keep-open"
        )
    name = context.target.names[0]
    # A client time of its own for each: two reports with one time would meet a herd's
    # duplicate guard keyed on the time alone (IAMAT-4, iamat-stale's), not its framing.
    sent = [
        (client, (context.location(), context.now_time()))
        for client in (context.client_id("first"), context.client_id("second"))
    ]
    payload = b"".join(b"IAMAT %s %s %s\n" % (client, *report) for client, report in sent)
    first, second = (client for client, _ in sent)
    reply = context.raw(name, payload, replies=2, half_close=context.target.dialect.iamat.half_close)
    lines = reply.data.split(b"\n")
    ok = (
        len(lines) == 3
        and lines[2] == b""
        and [answered_report(context, line, sent) for line in lines[:2]] == [0, 1]
    )
    if not ok and any(unreadable(context, line, [report for _, report in sent]) for line in lines[:2]):
        raise CheckUnsupported(
            f"the replies {show(reply.received)} hold a malformed AT line (at-reply-format names "
            "that, AT-1) in which the location and client time of exactly one IAMAT sent cannot "
            "be found, so which reply answers which cannot be told"
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


@check(
    "frame-replies-whole",
    "FRAME-6",
    "MUST",
    "a WHATSAT waiting for Places, then an IAMAT, in one packet: the two replies do not interleave",
    # It needs two commands on one connection answered (frame-pipelined, FRAME-3) and the
    # WHATSAT reply's shape (whatsat-reply, WHATSAT-5); it tells the two AT lines apart by
    # the client IDs in them, whatever else is wrong with them (at-reply-format's).
    requires=("dialect", "at-reply-format", "frame-pipelined", "whatsat-reply"),
    reads_malformed_at=True,
)
def frame_replies_whole(context: CheckContext) -> None:
    reason = one_command_per_connection(context)
    if reason is not None:
        raise CheckUnsupported(
            f"a second command on one connection gets no reply here ({reason}), so two replies "
            "never share a connection"
        )
    if not context.target.places_work:
        raise CheckUnsupported(
            "no WHATSAT reply with Places results was seen (the dialect step's), so no WHATSAT "
            "waits for Places"
        )
    name = context.target.names[0]
    asked, reporter = context.client_id("asked"), context.client_id("reporter")
    context.iamat(name, asked, context.location(), context.now_time())
    payload = b"WHATSAT %s %s 1\nIAMAT %s %s %s\n" % (
        asked,
        _RADIUS,
        reporter,
        context.location(),
        context.now_time(),
    )
    framing = context.target.dialect.whatsat
    with context.session(name) as session:
        session.send(payload)
        if framing.half_close:
            session.half_close()
        deadline = time.monotonic() + context.remaining(context.target.timeout_s)
        while not _both_whole(_lines(session.buffer), asked, reporter) and session.read_more(deadline):
            pass
        received = session.buffer
    lines = _lines(received)
    whatsat_at = _at_line_of(lines, asked)
    iamat_at = _at_line_of(lines, reporter)
    if whatsat_at is None or iamat_at is None:
        missing = "the WHATSAT's" if whatsat_at is None else "the IAMAT's"
        raise CheckUnsupported(
            f"{missing} AT line did not come ({show(received or None)}): frame-pipelined and "
            "whatsat-reply judge replies that do not come, so how two replies share a "
            "connection cannot be seen"
        )
    if interleaved(lines, whatsat_at, iamat_at):
        raise CheckFailed(
            "the IAMAT's AT line came inside the WHATSAT's reply, between its AT line and its "
            "Places JSON: a client reading the WHATSAT's reply reads another reply within it",
            expected="the WHATSAT's whole reply (AT line, JSON, empty line), then the IAMAT's AT line",
            seen=show(received),
        )
    if iamat_at < whatsat_at:
        raise CheckFailed(
            "the IAMAT sent after a WHATSAT was answered first: replies come in the order of their commands",
            expected="the WHATSAT's reply, then the IAMAT's AT line",
            seen=show(received),
            clause="FRAME-3",
            # FRAME-3 lenient: the course asks for no order between commands on one connection.
            strict_part=True,
        )


def _lines(received: bytes) -> list[bytes]:
    """The lines received, CRLF or LF."""
    return received.replace(b"\r\n", b"\n").split(b"\n")


def _at_line_of(lines: list[bytes], client: bytes) -> int | None:
    """The index of the first AT line that names ``client``."""
    return next(
        (index for index, line in enumerate(lines) if looks_like_at(line) and client in line.split()),
        None,
    )


def interleaved(lines: list[bytes], whatsat_at: int, iamat_at: int) -> bool:
    """Whether the IAMAT's AT line (``lines[iamat_at]``) came inside the WHATSAT's reply, which
    starts at ``lines[whatsat_at]``: after its AT line and before the empty line that ends it
    (or, if it never ended, before some of its body)."""
    if iamat_at < whatsat_at:
        return False
    end = _whatsat_end(lines, whatsat_at)
    if end is not None:
        return iamat_at < end
    return any(_body_line(line) for line in lines[iamat_at + 1 :])


def _body_line(line: bytes) -> bool:
    """A line of a WHATSAT reply's JSON: not empty, not an AT line, not a '?' reply (a herd
    may write one after its replies: a stray answer to the client's EOF, FRAME-5 lenient)."""
    return bool(line.strip()) and not looks_like_at(line) and not line.startswith(b"?")


def _whatsat_end(lines: list[bytes], whatsat_at: int) -> int | None:
    """The index of the empty line that ends the WHATSAT reply starting at ``whatsat_at``:
    the first one, whole (an LF after it), after some of its body; None before it came."""
    body_seen = False
    for index in range(whatsat_at + 1, len(lines) - 1):
        if body_seen and not lines[index].strip():
            return index
        body_seen = body_seen or _body_line(lines[index])
    return None


def _both_whole(lines: list[bytes], asked: bytes, reporter: bytes) -> bool:
    """Both AT lines are in, and the WHATSAT's reply has ended (see :func:`_whatsat_end`)."""
    whatsat_at = _at_line_of(lines, asked)
    if whatsat_at is None or _at_line_of(lines, reporter) is None:
        return False
    return _whatsat_end(lines, whatsat_at) is not None
