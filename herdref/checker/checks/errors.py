"""Invalid lines and the '?' reply (SPEC section 7, ERR; LEX-4..6, WHATSAT-2..4 refusals)."""

from __future__ import annotations

from herdref.checker.checks.helpers import (
    alive_after,
    at_reply,
    error_for,
    expect_error,
    expect_error_graded,
    invalid_lines,
    show,
)
from herdref.checker.checks.registry import CheckFailed, check
from herdref.checker.target import CheckContext, CheckUnsupported
from herdref.model.judge import is_error_reply_for, looks_like_at, split_line

# ---- invalid lines -------------------------------------------------------------------------


@check("invalid-command", "LEX-4", "MUST", "unknown and lower-case command words get '? <line>'")
def invalid_command(context: CheckContext) -> None:
    client = context.client_id()
    loc, when = context.location(), context.now_time()
    invalid_lines(
        context,
        [
            b"AS Clark +0.25 %s +12-118 1234" % client,
            b"HELLO",
            b"iamat %s %s %s" % (client, loc, when),
            b"Whatsat %s 10 5" % client,
            b"IAMAT%s" % client,
        ],
        "not answered '? <line>'",
    )


@check("invalid-field-count", "ERR-3", "MUST", "IAMAT/WHATSAT with too few or too many fields get '? <line>'")
def invalid_field_count(context: CheckContext) -> None:
    client = context.client_id()
    loc, when = context.location(), context.now_time()
    invalid_lines(
        context,
        [
            b"IAMAT %s %s" % (client, loc),
            b"IAMAT %s %s %s extra" % (client, loc, when),
            b"IAMAT",
            b"WHATSAT %s 10" % client,
            b"WHATSAT %s 10 5 5" % client,
        ],
        "wrong field count not answered '? <line>'",
    )


@check("invalid-location", "LEX-5", "MUST", "locations that are not ISO 6709 ±lat±long in range get '?'")
def invalid_location(context: CheckContext) -> None:
    client, when = context.client_id(), context.now_time()
    # Core: no sign, no longitude, a comma: not ISO 6709 decimal degrees on any reading.
    # Strict: the ranges and nan, which the handout never states (a float()-based parser takes
    # them; SPEC decision A18).
    invalid_lines(
        context,
        [
            b"IAMAT %s %s %s" % (client, location, when)
            for location in (b"34.068930-118.445127", b"+34.068930", b"+34,5-118.2")
        ],
        "bad location not answered '? <line>'",
        strict_lines=[
            b"IAMAT %s %s %s" % (client, location, when)
            for location in (b"+91.0-118.0", b"+34.0-181.0", b"+nan-118.0")
        ],
    )


@check("invalid-time", "LEX-6", "MUST", "times that are not POSIX decimal seconds get '?'")
def invalid_time(context: CheckContext) -> None:
    client, loc = context.client_id(), context.location()
    # Core: not a number at all. Strict: exponent, sign and inf, which the handout leaves open
    # and a float()-based parser takes (SPEC decision A19).
    invalid_lines(
        context,
        [b"IAMAT %s %s %s" % (client, loc, when) for when in (b"abc", b"1.2.3")],
        "bad client time not answered '? <line>'",
        strict_lines=[b"IAMAT %s %s %s" % (client, loc, when) for when in (b"1e9", b"-5", b"inf")],
    )


@check("invalid-radius", "WHATSAT-2", "MUST", "radius outside (0, 50] km or not a number gets '?'")
def invalid_radius(context: CheckContext) -> None:
    # Core: over the stated 50 km, or not a number. Strict: 0, negative, '+5', '1e1', which
    # the handout leaves open (the course's test client sends 0..50; SPEC decision A8).
    _invalid_whatsat_fields(
        context,
        [(radius, b"5") for radius in (b"51", b"50.5", b"50.01", b"abc")],
        "bad radius",
        strict=[(radius, b"5") for radius in (b"0", b"0.0", b"-1", b"+5", b"1e1")],
    )


@check("invalid-bound", "WHATSAT-3", "MUST", "bound outside 0..20 or not an integer gets '?'")
def invalid_bound(context: CheckContext) -> None:
    # Core: over the stated 20, or not a number. Strict: sign, fraction (SPEC decision A8).
    _invalid_whatsat_fields(
        context,
        [(b"10", bound) for bound in (b"21", b"x", b"100")],
        "bad bound",
        strict=[(b"10", bound) for bound in (b"-1", b"-0", b"+1", b"1.5", b"2.0")],
    )


def _invalid_whatsat_fields(
    context: CheckContext,
    radius_and_bound: list[tuple[bytes, bytes]],
    what: str,
    *,
    strict: list[tuple[bytes, bytes]],
) -> None:
    """WHATSAT lines for a client the server knows, so only the bad field can earn the '?'."""
    name = context.target.names[0]
    client = context.client_id()
    at_reply(context, name, client, context.location(), context.now_time())
    lines = [b"WHATSAT %s %s %s" % (client, radius, bound) for radius, bound in radius_and_bound]
    strict_lines = [b"WHATSAT %s %s %s" % (client, radius, bound) for radius, bound in strict]
    invalid_lines(context, lines, f"{what} not answered '? <line>'", strict_lines=strict_lines)


@check(
    "error-echo-raw", "ERR-2", "MUST", "'? ' is followed by the line exactly as received (odd spacing kept)"
)
def error_echo_raw(context: CheckContext) -> None:
    name = context.target.names[0]
    client = context.client_id()
    # (A line with octets that are not UTF-8 is lex-octets' business.) Each line is judged on
    # its own: one that gets no '?' at all is the invalid-* checks' business (UNSUPPORTED
    # here), and must not keep the copy of the next one from being judged.
    unsupported: CheckUnsupported | None = None
    judged = 0
    for line in (b"IAMAT  %s\t+12-118  never" % client, b"  WHATSAT %s\t10 x\t" % client):
        try:
            expect_error_graded(
                context, name, line + b"\n", f"the invalid line was not echoed as received: {line!r}"
            )
        except CheckUnsupported as exc:
            unsupported = unsupported or exc
            continue
        except CheckFailed as failure:
            if failure.clause != "ERR-2":
                raise
            context.defer_strict(failure)
        judged += 1
    if not judged and unsupported is not None:
        raise unsupported
    alive_after(context, name)


@check(
    "error-keeps-connection", "ERR-1", "MUST", "after '? <line>' the connection stays open for more commands"
)
def error_keeps_connection(context: CheckContext) -> None:
    cached = context.target.dialect_probes
    if cached is not None and not cached.iamat.kept_open_answered:
        raise CheckUnsupported(
            "the server answers no command on a kept-open connection (the dialect step's probe): "
            "only after a half-close (FRAME-3, lenient)"
        )
    name = context.target.names[0]
    client = context.client_id()
    with context.session(name) as session:
        session.send(b"IAMAT %s %s %s\n" % (client, context.location(), context.now_time()))
        if session.read_reply() is None or session.closed:
            raise CheckUnsupported("the server answers one command per connection (FRAME-3, lenient)")
        bad = b"IAMAT %s +12-118 never\n" % client
        session.send(bad)
        reply = session.read_reply()
        if reply is None and session.closed:
            # Closed after the first reply, before the invalid line could matter: a single-shot
            # herd (FRAME-3 lenient), which frame-keep-open reports; nothing to judge here.
            raise CheckUnsupported("the server closed the connection after its first reply (single-shot)")
        split = (
            split_line(reply, crlf=context.target.dialect.iamat.terminator == "CRLF")
            if reply is not None
            else None
        )
        if split is None or not is_error_reply_for(bad, split[0], strict=False):
            raise CheckFailed(
                "an invalid line on a kept-open connection", expected=repr(error_for(bad)), seen=show(reply)
            )
        session.send(b"IAMAT %s %s %s\n" % (client, context.location(), context.now_time()))
        reply = session.read_reply()
        if reply is None or not looks_like_at(reply):
            raise CheckFailed(
                "after a '?' reply the connection no longer answers",
                expected="an AT line for the next IAMAT on the same connection",
                seen=show(reply) + (" (connection closed)" if session.closed else ""),
            )


@check("unknown-client", "WHATSAT-4", "MUST", "WHATSAT for a client no server knows gets '? <line>'")
def unknown_client(context: CheckContext) -> None:
    line = b"WHATSAT %s 10 5\n" % context.client_id("nobody")
    for name in context.target.names:
        expect_error(context, name, line, f"{name} did not answer '? <line>' for an unknown client")
        alive_after(context, name)
