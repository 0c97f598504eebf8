"""Framing checks (SPEC section 3, FRAME)."""

from __future__ import annotations

import socket

from herdref.checker.checks.helpers import (
    AT_FIELDS,
    error_for,
    expect_exact,
    fields_of,
    same_time,
    show,
)
from herdref.checker.checks.registry import CheckFailed, check
from herdref.checker.client import reply_complete
from herdref.checker.target import CheckContext

# ---- framing -------------------------------------------------------------------------------


@check("frame-half-close", "FRAME-4", "MUST", "a command, then half-close: the reply, then the server closes")
def frame_half_close(context: CheckContext) -> None:
    name = context.target.names[0]
    client = context.client_id()
    reply = context.raw(name, b"IAMAT %s %s %s\n" % (client, context.location(), context.now_time()))
    if not reply.data.startswith(b"AT "):
        raise CheckFailed(
            "no AT reply to an IAMAT followed by a half-close",
            expected="an AT line",
            seen=show(reply.data) + (f" ({reply.error})" if reply.error else ""),
        )
    if not reply.closed:
        raise CheckFailed(
            "the server answered but did not close the connection after the client half-closed",
            expected="EOF after the reply",
            seen=f"connection still open after {context.target.timeout_s:g} s",
        )


@check("frame-keep-open", "FRAME-3", "MUST", "many commands, one at a time, on one kept-open connection")
def frame_keep_open(context: CheckContext) -> None:
    name = context.target.names[0]
    client = context.client_id()
    location = context.location()
    with context.session(name) as session:
        for round_number in range(3):
            session.send(b"IAMAT %s %s %s\n" % (client, location, context.now_time(round_number * 1e-3)))
            reply = session.read_reply()
            if reply is None or not reply.startswith(b"AT "):
                raise CheckFailed(
                    f"no AT reply to command {round_number + 1} on a kept-open connection",
                    expected="one AT line per IAMAT, without closing the connection",
                    seen=show(reply if reply is not None else session.buffer or None),
                )
        if context.target.lookup_bound is None:
            return  # no WHATSAT shows a record here (Places fails); the IAMATs were the test
        session.send(b"WHATSAT %s 10 %d\n" % (client, context.target.lookup_bound))
        reply = session.read_reply(whatsat=True)
        if reply is None or not reply.startswith(b"AT "):
            raise CheckFailed(
                "no WHATSAT reply after three IAMATs on the same connection",
                expected="the stored AT line, the JSON, an empty line",
                seen=show(reply if reply is not None else session.buffer or None),
            )


@check("frame-crlf", "ERR-2", "MUST", "CRLF line ends: CR is white space; a ? reply drops the CR")
def frame_crlf(context: CheckContext) -> None:
    name = context.target.names[0]
    client, location, client_time = context.client_id(), context.location(), context.now_time()
    line = _at_reply_crlf(context, name, client, location, client_time)
    fields = fields_of(line)
    if len(fields) != AT_FIELDS or not same_time(fields[5], client_time):
        raise CheckFailed(
            "the CR of a CRLF line end leaked into the AT reply",
            expected=f"the client time {client_time!r} as the last field",
            seen=repr(line),
            clause="FRAME-1",
        )
    bad = b"IAMAT %s %s never\r\n" % (client, location)
    expect_exact(context, name, bad, error_for(bad), "a ? reply to a CRLF line must drop the CR")


def _at_reply_crlf(
    context: CheckContext, name: str, client: bytes, location: bytes, client_time: bytes
) -> bytes:
    reply = context.send(name, b"IAMAT %s %s %s\r\n" % (client, location, client_time))
    if not reply.data.startswith(b"AT "):
        raise CheckFailed(
            "an IAMAT ending in CRLF was not accepted",
            expected="an AT line",
            seen=show(reply.data),
            clause="FRAME-1",
        )
    return reply.data.split(b"\n", 1)[0]


@check("frame-no-final-newline", "FRAME-2", "MUST", "a final line without LF, ended by EOF, is a command")
def frame_no_final_newline(context: CheckContext) -> None:
    name = context.target.names[0]
    client = context.client_id()
    reply = context.raw(name, b"IAMAT %s %s %s" % (client, context.location(), context.now_time()))
    if not reply.data.startswith(b"AT "):
        raise CheckFailed(
            "an IAMAT without a final LF, then EOF, got no AT reply",
            expected="an AT line",
            seen=show(reply.data) + (f" ({reply.error})" if reply.error else ""),
        )
    bad = b"IAMAT %s +12-118 never" % client
    reply = context.raw(name, bad)
    if reply.data != error_for(bad):
        raise CheckFailed(
            "an invalid command without a final LF got the wrong reply",
            expected=repr(error_for(bad)),
            seen=show(reply.data),
        )


@check("frame-pipelined", "FRAME-3", "MUST", "two commands in one packet: two replies, in order")
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
    reply = context.raw(name, payload)
    lines = reply.data.split(b"\n")
    ok = (
        len(lines) == 3
        and lines[2] == b""
        and all(line.startswith(b"AT ") for line in lines[:2])
        and fields_of(lines[0])[3:4] == [first]
        and fields_of(lines[1])[3:4] == [second]
    )
    if not ok:
        raise CheckFailed(
            "two IAMATs sent in one packet did not get two AT replies in order",
            expected=f"AT ... {first!r} ..., then AT ... {second!r} ...",
            seen=show(reply.data),
        )


@check("frame-blank-lines", "FRAME-5", "MUST", "blank and white-space-only lines get no reply")
def frame_blank_lines(context: CheckContext) -> None:
    name = context.target.names[0]
    client = context.client_id()
    reply = context.raw(
        name, b"\n \t \n\r\nIAMAT %s %s %s\n" % (client, context.location(), context.now_time())
    )
    if not (reply.data.startswith(b"AT ") and reply.data.count(b"\n") == 1):
        raise CheckFailed(
            "blank lines before an IAMAT were answered",
            expected="exactly one AT line",
            seen=show(reply.data),
        )


@check("frame-single-write", "FRAME-6", "SHOULD", "each reply arrives whole in one read (one write)")
def frame_single_write(context: CheckContext) -> None:
    name = context.target.names[0]
    client = context.client_id()
    host, port = context.address(name)
    payloads = [
        (b"IAMAT %s %s %s\n" % (client, context.location(), context.now_time()), False),
        (b"WHATSAT %s 10 5\n" % client, True),
    ]
    for payload, whatsat in payloads:
        context.transcript.add(name, "send", payload)
        with socket.create_connection((host, port), timeout=context.target.timeout_s) as connection:
            connection.sendall(payload)
            connection.shutdown(socket.SHUT_WR)
            first = connection.recv(65_536)
            context.transcript.add(name, "recv", first)
        if not reply_complete(first, whatsat=whatsat):
            raise CheckFailed(
                "the first read returned part of a reply: the server wrote it in pieces",
                expected="the whole reply in the first read, as clients that read once expect",
                seen=f"first read: {first!r}",
            )
