"""IAMAT and the AT reply (SPEC sections 4 and 5)."""

from __future__ import annotations

import time
from decimal import Decimal

from herdref.checker.checks.helpers import (
    AT_FIELDS,
    LOCATION_RE,
    LOCATION_TOLERANCE,
    NINE_DIGIT_DIFF_RE,
    SKEW_OFFSET_S,
    TIME_DIFF_RE,
    TIME_TOLERANCE,
    at_reply,
    decimal_or_none,
    fields_of,
    show,
)
from herdref.checker.checks.registry import CheckFailed, check
from herdref.checker.target import CheckContext

# ---- IAMAT and the AT reply ----------------------------------------------------------------


@check("iamat-any-time", "IAMAT-6", "MUST", "client times far from the server's clock are accepted")
def iamat_any_time(context: CheckContext) -> None:
    name = context.target.names[0]
    for client_time in (b"0", b"1.5", b"1000000000.000000001", b"4102444800.999999999"):
        client = context.client_id()
        reply = context.iamat(name, client, context.location(), client_time)
        if not reply.data.startswith(b"AT "):
            raise CheckFailed(
                f"an IAMAT with client time {client_time.decode()} was refused",
                expected="an AT line (skew shows in the time difference)",
                seen=show(reply.data),
            )


@check("location-edges", "LEX-5", "MUST", "locations on the range limits (±90, ±180) are accepted")
def location_edges(context: CheckContext) -> None:
    name = context.target.names[0]
    for location in (b"+90-180", b"-90.000+180.000", b"+0.0-0.0", b"-1+001"):
        client = context.client_id()
        reply = context.iamat(name, client, location, context.now_time())
        fields = reply.data.removesuffix(b"\n").split(b" ")
        if not reply.data.startswith(b"AT ") or fields[3:4] != [client]:
            raise CheckFailed(
                f"an IAMAT at {location.decode()} was refused",
                expected="an AT line",
                seen=show(reply.data),
            )


@check(
    "at-reply-format", "AT-1", "MUST", "AT <server> <time-diff> <client> <location> <time>, single spaces, LF"
)
def at_reply_format(context: CheckContext) -> None:
    for name in context.target.names:
        client, location, client_time = context.client_id(), context.location(), context.now_time()
        line = at_reply(context, name, client, location, client_time)
        fields = fields_of(line)
        if (
            len(fields) != AT_FIELDS
            or fields[0] != b"AT"
            or fields[1] != name.encode()
            or fields[3] != client
        ):
            raise CheckFailed(
                f"{name}'s AT reply is not 'AT {name} <time-diff> <client> <location> <time>'",
                expected=repr(b"AT %s <diff> %s %s %s" % (name.encode(), client, location, client_time)),
                seen=repr(line),
            )
        if line.endswith(b"\r"):
            # AT-1: "Strict: LF and nothing else. Lenient: CRLF".
            raise CheckFailed(
                f"{name}'s AT reply ends in CRLF",
                expected="the AT line followed by LF alone",
                seen=repr(line + b"\n"),
                strict_part=True,
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
    line = at_reply(context, name, client, location, client_time)
    fields = fields_of(line)
    if len(fields) != AT_FIELDS:
        raise CheckFailed(
            "the AT reply has not six fields", expected="6 fields", seen=repr(line), clause="AT-1"
        )
    sent_match = LOCATION_RE.fullmatch(location)
    seen_match = LOCATION_RE.fullmatch(fields[4])
    assert sent_match is not None
    close = seen_match is not None and all(
        abs(Decimal(sent.decode()) - Decimal(seen.decode())) <= LOCATION_TOLERANCE
        for sent, seen in zip(sent_match.groups(), seen_match.groups(), strict=True)
    )
    if not close:
        raise CheckFailed(
            "the AT reply's location is not the one the client sent",
            expected=f"{location!r} (within 1e-5 degrees)",
            seen=repr(fields[4]),
        )
    seen_time = decimal_or_none(fields[5])
    if seen_time is None or abs(seen_time - Decimal(client_time.decode())) > TIME_TOLERANCE:
        raise CheckFailed(
            "the AT reply's client time is not the one the client sent",
            expected=f"{client_time!r} (within 1e-6 s)",
            seen=repr(fields[5]),
        )


@check("echo-exact", "IAMAT-5", "MUST", "the AT reply repeats the client's strings byte for byte")
def echo_exact(context: CheckContext) -> None:
    name = context.target.names[0]
    cases = [
        (b"+34.068930-118.445127", b"%d.959498503" % int(time.time())),
        (b"+34.5-118.0", b"%d" % int(time.time())),
        (b"+01.100000+002.200000", b"%d.100000000" % int(time.time())),
    ]
    for location, client_time in cases:
        client = context.client_id()
        line = at_reply(context, name, client, location, client_time)
        fields = fields_of(line)
        if fields[3:] != [client, location, client_time]:
            raise CheckFailed(
                "the AT reply changed the client's strings (a number was parsed and re-printed)",
                expected=b" ".join((client, location, client_time)).decode(),
                seen=b" ".join(fields[3:]).decode(errors="replace"),
            )


@check("skew", "AT-2", "MUST", "time difference: signed ('+' when >= 0), decimal, and right")
def skew(context: CheckContext) -> None:
    name = context.target.names[0]
    for offset in (-SKEW_OFFSET_S, SKEW_OFFSET_S):
        client = context.client_id()
        sent_at = time.time()
        client_time = f"{sent_at + offset:.9f}".encode()
        line = at_reply(context, name, client, context.location(), client_time)
        received_by = time.time()
        fields = fields_of(line)
        diff = fields[2] if len(fields) == AT_FIELDS else b""
        if TIME_DIFF_RE.fullmatch(diff) is None:
            raise CheckFailed(
                "the time difference is not a signed decimal ('+' or '-', digits, optional fraction)",
                expected="+3600.000123456 or -3599.999876543",
                seen=repr(diff),
            )
        value = float(diff)
        low, high = sent_at - float(client_time) - 1.0, received_by - float(client_time) + 1.0
        if not low <= value <= high:
            raise CheckFailed(
                "the time difference is not server time minus client time",
                expected=f"between {low:+.3f} and {high:+.3f}",
                seen=repr(diff),
            )


# AT-2: "Strict: ... exactly nine fractional digits"; lenient allows any number.
@check("skew-nine-digits", "AT-2", "MUST", "the time difference has nine fractional digits", strict_part=True)
def skew_nine_digits(context: CheckContext) -> None:
    name = context.target.names[0]
    line = at_reply(context, name, context.client_id(), context.location(), context.now_time(-1))
    diff = fields_of(line)[2] if len(fields_of(line)) == AT_FIELDS else b""
    if NINE_DIGIT_DIFF_RE.fullmatch(diff) is None:
        raise CheckFailed(
            "the time difference has not nine fractional digits", expected="+S.NNNNNNNNN", seen=repr(diff)
        )
