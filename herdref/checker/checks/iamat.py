"""IAMAT and the AT reply (SPEC sections 4 and 5)."""

from __future__ import annotations

import time

from herdref.checker.checks.helpers import SKEW_OFFSET_S, at_fields, at_reply, show
from herdref.checker.checks.registry import CheckFailed, check
from herdref.checker.target import CheckContext
from herdref.model.judge import (
    is_strict_time_diff,
    location_close,
    looks_like_at,
    split_at_fields,
    split_line,
    time_close,
    time_diff_value,
)
from herdref.model.replies import expected_time_diff


@check(
    "at-reply-format",
    "AT-1",
    "MUST",
    "AT <server> <time-diff> <client> <location> <time>, single spaces, LF",
    requires=("dialect",),
)
def at_reply_format(context: CheckContext) -> None:
    terminators = context.target.dialect.iamat
    for name in context.target.names:
        client, location, client_time = context.client_id(), context.location(), context.now_time()
        line = at_reply(context, name, client, location, client_time)
        record = at_fields(line)
        if (record.server_id, record.client_id) != (name.encode(), client):
            raise CheckFailed(
                f"{name}'s AT reply is not 'AT {name} <time-diff> <client> <location> <time>'",
                expected=repr(b"AT %s <diff> %s %s %s" % (name.encode(), client, location, client_time)),
                seen=repr(line),
            )
    # AT-1: "Strict: LF and nothing else. Lenient: CRLF, or no terminator before the server
    # closes a single-shot connection." The dialect step saw how the replies end.
    if terminators.terminator != "LF":
        ending = "CRLF" if terminators.terminator == "CRLF" else "nothing (the server closed instead)"
        raise CheckFailed(
            f"the AT reply ends in {ending}",
            expected="the AT line followed by LF alone",
            seen=f"replies framed as: {terminators.describe()}",
            strict_part=True,
        )


@check("iamat-any-time", "IAMAT-6", "MUST", "client times far from the server's clock are accepted")
def iamat_any_time(context: CheckContext) -> None:
    name = context.target.names[0]
    for client_time in (b"0", b"1.5", b"1000000000.000000001", b"4102444800.999999999"):
        client = context.client_id()
        reply = context.iamat(name, client, context.location(), client_time)
        if not looks_like_at(reply.data):
            raise CheckFailed(
                f"an IAMAT with client time {client_time.decode()} was refused",
                expected="an AT line (skew shows in the time difference)",
                seen=show(reply.received or None),
            )


@check("location-edges", "LEX-5", "MUST", "locations on the range limits (±90, ±180) are accepted")
def location_edges(context: CheckContext) -> None:
    name = context.target.names[0]
    for location in (b"+90-180", b"-90.000+180.000", b"+0.0-0.0", b"-1+001"):
        client = context.client_id()
        reply = context.iamat(name, client, location, context.now_time())
        split = split_line(reply.data, crlf=False)
        record = split_at_fields(split[0]) if split is not None else None
        if record is None or record.client_id != client:
            refused = reply.data.startswith(b"?")
            raise CheckFailed(
                f"an IAMAT at {location.decode()} was "
                + ("refused with '?'" if refused else "not answered with its AT line"),
                expected="an AT line",
                seen=show(reply.received or None),
            )


# IAMAT-5's lenient alternative ("numerically equal") binds in every profile.
@check(
    "echo-numeric",
    "IAMAT-5",
    "MUST",
    "the AT reply repeats location and time (numerically)",
    strict_part=False,
)
def echo_numeric(context: CheckContext) -> None:
    name = context.target.names[0]
    client = context.client_id()
    location = context.location()
    client_time = b"%d.959498503" % int(time.time())
    record = at_fields(at_reply(context, name, client, location, client_time))
    if not location_close(location, record.location):
        raise CheckFailed(
            "the AT reply's location is not the one the client sent",
            expected=f"{location!r} (within 1e-5 degrees)",
            seen=repr(record.location),
        )
    if not time_close(client_time, record.client_time):
        raise CheckFailed(
            "the AT reply's client time is not the one the client sent",
            expected=f"{client_time!r} (within 1e-6 s)",
            seen=repr(record.client_time),
        )


@check(
    "echo-exact",
    "IAMAT-5",
    "MUST",
    "the AT reply repeats the client's strings byte for byte",
    # Its cases are unusual but valid locations (leading zeros, integer degrees): a herd that
    # refuses those fails location-edges (LEX-5), which echo-exact would only repeat.
    requires=("dialect", "at-reply-format", "location-edges", "echo-numeric"),
)
def echo_exact(context: CheckContext) -> None:
    name = context.target.names[0]
    cases = [
        (b"+34.068930-118.445127", b"%d.959498503" % int(time.time())),
        (b"+34.5-118.0", b"%d" % int(time.time())),
        (b"+01.100000+002.200000", b"%d.100000000" % int(time.time())),
    ]
    for location, client_time in cases:
        client = context.client_id()
        record = at_fields(at_reply(context, name, client, location, client_time))
        seen = (record.client_id, record.location, record.client_time)
        if seen != (client, location, client_time):
            raise CheckFailed(
                "the AT reply changed the client's strings (a number was parsed and re-printed)",
                expected=b" ".join((client, location, client_time)).decode(),
                seen=b" ".join(seen).decode(errors="replace"),
            )


@check("skew", "AT-2", "MUST", "time difference: signed ('+' when >= 0), decimal, and right")
def skew(context: CheckContext) -> None:
    name = context.target.names[0]
    for offset in (-SKEW_OFFSET_S, SKEW_OFFSET_S):
        client = context.client_id()
        sent_ns = time.time_ns()
        client_time = b"%d.%09d" % divmod(sent_ns + offset * 1_000_000_000, 1_000_000_000)
        diff = at_fields(at_reply(context, name, client, context.location(), client_time)).time_diff
        received_ns = time.time_ns()
        value = time_diff_value(diff)
        if value is None:
            raise CheckFailed(
                "the time difference is not a signed decimal ('+' or '-', digits, optional fraction)",
                expected="+3600.000123456 or -3599.999876543",
                seen=repr(diff),
            )
        # One second of slack either way: lenient AT-2 allows any number of digits, truncated.
        low = expected_time_diff(sent_ns, client_time) - 1
        high = expected_time_diff(received_ns, client_time) + 1
        if not low <= value <= high:
            raise CheckFailed(
                "the time difference is not server time minus client time",
                expected=f"between {float(low):+.3f} and {float(high):+.3f}",
                seen=repr(diff),
            )


# AT-2: "Strict: ... exactly nine fractional digits"; lenient allows any number.
@check(
    "skew-nine-digits",
    "AT-2",
    "MUST",
    "the time difference has nine fractional digits",
    strict_part=True,
    requires=("dialect", "at-reply-format", "skew"),
)
def skew_nine_digits(context: CheckContext) -> None:
    name = context.target.names[0]
    line = at_reply(context, name, context.client_id(), context.location(), context.now_time(-1))
    diff = at_fields(line).time_diff
    if not is_strict_time_diff(diff):
        raise CheckFailed(
            "the time difference is not written as the strict profile asks (no leading zeros, nine "
            "fractional digits, never -0)",
            expected="+S.NNNNNNNNN",
            seen=repr(diff),
        )
