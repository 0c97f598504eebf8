"""What an IAMAT's AT reply echoes (SPEC IAMAT-5) and the valid locations it must take at the
edges of their ranges and in their unusual forms (LEX-5)."""

from __future__ import annotations

import time

from herdref.checker.checks.at_lines import at_fields, at_reply, echoed, is_malformed
from herdref.checker.checks.helpers import show
from herdref.checker.checks.registry import CheckFailed, check
from herdref.checker.target import CheckContext, CheckUnsupported
from herdref.model.judge import (
    carried_fields,
    location_close,
    looks_like_at,
    split_at_fields,
    split_line,
    time_close,
)


@check(
    "location-edges",
    "LEX-5",
    "MUST",
    "locations on the range limits (±90, ±180) and in unusual valid forms are accepted",
    reads_malformed_at=True,
)
def location_edges(context: CheckContext) -> None:
    name = context.target.names[0]
    # The fixed edges, and two unusual but valid forms drawn from the run's seed (leading
    # zeros, integer degrees, long fractions, the limits themselves).
    drawn = [context.variation.location(), context.variation.location()]
    for location in (b"+90-180", b"-90.000+180.000", b"+0.0-0.0", b"-1+001", *drawn):
        client, client_time = context.client_id(), context.now_time()
        reply = context.iamat(name, client, location, client_time)
        split = split_line(reply.data, crlf=False)
        record = split_at_fields(split[0]) if split is not None else None
        if (
            record is None
            and split is not None
            and context.malformed_at is not None
            and looks_like_at(split[0])
        ):
            # A malformed AT line (AT-1, at-reply-format's) answers this IAMAT when it carries
            # its client time or its location: accepted (how it echoes them is IAMAT-5's).
            if carried_fields(split[0], location, client_time) == (None, None):
                raise CheckUnsupported(
                    f"the IAMAT at {location.decode()} was answered {split[0]!r}, a malformed AT line "
                    "(at-reply-format names that, AT-1) in which neither the location nor the client "
                    "time sent can be found, so whether it was accepted cannot be told"
                )
            continue
        if record is None or record.client_id != client:
            refused = reply.data.startswith(b"?")
            raise CheckFailed(
                f"an IAMAT at {location.decode()} was "
                + ("refused with '?'" if refused else "not answered with its AT line"),
                expected="an AT line",
                seen=show(reply.received or None),
            )


def _past_second() -> int:
    """A whole second before now: a client time with any fraction after it is in the past, so the
    echo checks do not meet a herd's handling of a client clock ahead of its own (a negative time
    difference, IAMAT-6: iamat-any-time's; a student herd crashed on it, named twice)."""
    return int(time.time()) - 1


# IAMAT-5's lenient alternative ("numerically equal") binds in every profile.
@check(
    "echo-numeric",
    "IAMAT-5",
    "MUST",
    "the AT reply repeats location and time (numerically)",
    strict_part=False,
    reads_malformed_at=True,
)
def echo_numeric(context: CheckContext) -> None:
    name = context.target.names[0]
    # A drawn location, and one a float cannot print back unchanged (a tiny latitude, trailing
    # zeros): numerically equal is allowed, a float's exponent is not a LOCATION (LEX-5).
    for index, location in enumerate((context.location(), context.variation.float_sensitive_location())):
        client = context.client_id()
        client_time = b"%d.959498503" % _past_second()
        try:
            line = at_reply(context, name, client, location, client_time)
        except CheckFailed as refused:
            if index == 0 or refused.clause != "IAMAT-4" or not refused.seen.startswith(("b'?", 'b"?')):
                raise
            # An unusual valid location (a tiny latitude, drawn signs) refused with '?' while
            # the ordinary one was taken: which locations are accepted is location-edges'
            # business (LEX-5), named there; the echo was judged on the one answered.
            context.transcript.note(f"{location.decode()} refused: location-edges judges that (LEX-5)")
            continue
        seen_location, seen_time = echoed(line, location, client_time)
        if not location_close(location, seen_location):
            close_as_float = location_close(location, seen_location, float_forms=True)
            raise CheckFailed(
                "the AT reply's location is "
                + (
                    "the client's re-printed as floats, which is no LOCATION (an exponent)"
                    if close_as_float
                    else "not the one the client sent"
                ),
                expected=f"{location!r} (within 1e-5 degrees, as ±DD.D±DDD.D)",
                seen=repr(seen_location),
            )
        if not time_close(client_time, seen_time):
            raise CheckFailed(
                "the AT reply's client time is not the one the client sent",
                expected=f"{client_time!r} (within 1e-6 s)",
                seen=repr(seen_time),
            )


@check(
    "echo-exact",
    "IAMAT-5",
    "MUST",
    "the AT reply repeats the client's strings byte for byte",
    # Its cases are unusual but valid locations (leading zeros, integer degrees): a herd that
    # refuses those fails location-edges (LEX-5), which echo-exact would only repeat.
    requires=("dialect", "at-reply-format", "location-edges", "echo-numeric"),
    reads_malformed_at=True,
)
def echo_exact(context: CheckContext) -> None:
    name = context.target.names[0]
    now = _past_second()
    cases = [
        (b"+34.068930-118.445127", b"%d.959498503" % now),
        # An integer time, which a float prints back as N.0 (where the herd refuses integer
        # times, LEX-6 strict, reported once by iamat-any-time: N.500000000, which a float
        # prints back as N.5, in the nine digits of the handout's examples).
        (b"+34.5-118.0", b"%d" % now + (b"" if context.target.integer_times else b".500000000")),
        (b"+01.100000+002.200000", b"%d.100000000" % now),
    ]
    for location, client_time in cases:
        client = context.client_id()
        line = at_reply(context, name, client, location, client_time)
        # In a malformed AT line (AT-1, at-reply-format's) the client ID may be missing: only
        # the location and time it carries are judged then.
        seen = (
            at_fields(line).client_id if not is_malformed(line) else client,
            *echoed(line, location, client_time),
        )
        if seen != (client, location, client_time):
            raise CheckFailed(
                "the AT reply changed the client's strings (a number was parsed and re-printed)",
                expected=b" ".join((client, location, client_time)).decode(),
                seen=b" ".join(seen).decode(errors="replace"),
            )
