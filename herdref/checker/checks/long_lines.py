"""Long lines: valid IAMATs of 100 to 4,000 octets, and one line past 64 KiB (SPEC ERR-4,
LEX-2, decision A25)."""

from __future__ import annotations

from typing import Final

from herdref.checker.checks.at_lines import is_malformed, plain_answer
from herdref.checker.checks.helpers import alive_after, show
from herdref.checker.checks.registry import CheckFailed, check
from herdref.checker.target import CheckContext, CheckUnsupported
from herdref.checker.variation import LINE_LENGTHS, Variation
from herdref.model.judge import (
    carried_report,
    echo_numerically_equal,
    looks_like_at,
    split_at_fields,
    split_line,
)

__all__ = ["long_line_lengths", "long_lines"]

# ---- long lines ----------------------------------------------------------------------------

#: A line one octet past a 1 KiB read or line limit, and the longest line tried (LINE_LENGTHS).
_PAST_ONE_KIB: Final = 1025
_LONGEST: Final = max(LINE_LENGTHS)
#: LEX-2 core (SPEC decision A25): the longest client ID every reading of the course must take.
#: The handout's client IDs are host names (kiwi.cs.ucla.edu) and a host name may be 253
#: octets long (RFC 1035 section 2.3.4, RFC 1123 section 2.1), so no reading may refuse one.
_LONGEST_HOST_NAME: Final = 253
#: Past 64 KiB: one read of many herds, and asyncio's StreamReader limit (readline() raises).
_PAST_64_KIB: Final = 65_536 + 1024


def long_line_lengths(variation: Variation) -> list[int]:
    """The lengths (LF excluded) one run tries: 100, one drawn below 1 KiB, 1025, one drawn
    above it, and 4,000 octets (issue 11: lines of 100-4,000 octets, crossing one read)."""
    shortest = min(LINE_LENGTHS)
    below = variation.offset(shortest + 1, _PAST_ONE_KIB - 2)
    above = variation.offset(_PAST_ONE_KIB + 1, _LONGEST - 1)
    return [shortest, below, _PAST_ONE_KIB, above, _LONGEST]


@check(
    "long-lines",
    "ERR-4",
    "MUST",
    "valid IAMATs of 100 to 4,000 octets (long client IDs) are answered",
    # Whether a long line is answered does not depend on the AT line's shape: a malformed one
    # (AT-1, at-reply-format's) answers it when it carries its location and client time.
    reads_malformed_at=True,
)
def long_lines(context: CheckContext) -> None:
    """ERR-4: a line's length is content like any other; well short of any sane LIMIT-1 (the
    reference herd's is 64 KiB), a valid IAMAT gets its AT line. Only the client ID is long,
    so the check judges length alone. LEX-2 core: an IAMAT whose client ID is a host name of
    the longest length (253 octets) MUST be answered in every profile, so that line is tried
    second, right after 100 octets; a '?' for a longer ID is a line limit of the herd's own,
    which only the strict profile rules out (SPEC decision A25). Last, a line past 64 KiB, whose
    reply is not judged: the server must only go on answering (ERR-4)."""
    name = context.target.names[0]
    # Each entry is a line length, or (the host-name line) None: its ID is 253 octets whatever
    # the lengths of the location and time drawn for it.
    lengths: list[int | None] = list(long_line_lengths(context.variation))
    lengths.insert(1, None)
    # Lines shorter than the shortest tried count as answered: every other check sends them.
    context.longest_line_answered = min(LINE_LENGTHS) - 1
    for wanted in lengths:
        location, client_time = context.location(), context.now_time()
        overhead = len(b"IAMAT   ") + len(location) + len(client_time)
        id_length = _LONGEST_HOST_NAME if wanted is None else wanted - overhead
        length = id_length + overhead
        client = context.variation.padded_id(context.client_id("long"), id_length)
        line = b"IAMAT %s %s %s" % (client, location, client_time)
        reply = context.send(name, line + b"\n")
        split = split_line(reply.data, crlf=False)
        record = split_at_fields(split[0]) if split is not None else None
        echoed = record is not None and record.client_id == client
        if (
            record is not None
            and echoed
            and echo_numerically_equal((location, client_time), (record.location, record.client_time))
        ) or _malformed_answer(
            context, name, split[0] if split is not None else b"", (location, client_time)
        ):
            context.longest_line_answered = max(context.longest_line_answered, length)
            continue
        what = f"a valid IAMAT of {length} octets (a {id_length}-octet client ID)"
        expected = (
            f"AT {name} <diff> <the {id_length}-octet client ID> {location.decode()} {client_time.decode()}"
        )
        seen = show(reply.received[:200] or None) + (f" ({reply.error})" if reply.error else "")
        if reply.data.startswith(b"?"):
            # A '?' is a defined answer: a herd may choose its own line limit (LIMIT-1), but
            # not below the longest host name (LEX-2 core, A25); above it, only strict asks
            # for more.
            host_name = id_length <= _LONGEST_HOST_NAME
            if host_name:
                context.learned["long_lines_fail"] = f"{what} was refused with '?' (IAMAT-4)"
            raise CheckFailed(
                f"{what} was refused with '?'"
                + (
                    f": a client ID of up to {_LONGEST_HOST_NAME} octets (a host name) is valid "
                    "in every profile"
                    if host_name
                    else ""
                ),
                expected=expected,
                seen=seen,
                clause="IAMAT-4",
                strict_part=not host_name,
            )
        if echoed:
            outcome = "an AT line with its client ID but another location or time than the IAMAT's"
        elif reply.data:
            outcome = "a reply that is not its AT line"
        else:
            outcome = "no reply" + (
                f" ({reply.error})"
                if reply.error
                else ", and the server closed the connection"
                if reply.closed
                else f" within {context.target.timeout_s:g} s"
            )
        # Later checks that find a flooded line cut short are BLOCKED by this (knowledge).
        context.learned["long_lines_fail"] = f"{what} got {outcome} (ERR-4)"
        raise CheckFailed(f"{what} got {outcome}", expected=expected, seen=seen)
    _past_64_kib(context, name)
    alive_after(context, name)


def _malformed_answer(context: CheckContext, name: str, line: bytes, report: tuple[bytes, bytes]) -> bool:
    """Whether ``line``, in a check that reads malformed AT lines, is a malformed one (AT-1,
    at-reply-format's) that answers the long IAMAT: it carries the IAMAT's location and client
    time. One that does not is judged against a plain IAMAT's: UNSUPPORTED when that one's
    malformed line does not carry them either (nothing can be read from the herd's lines),
    False (the long line was not answered as a short one is) when it does."""
    if context.malformed_at is None or not looks_like_at(line) or not is_malformed(line):
        return False
    if carried_report(line, [report]) == 0:
        return True
    plain, _, plain_report = plain_answer(context, name)
    if carried_report(plain, [plain_report]) != 0:
        raise CheckUnsupported(
            f"{name} answers a long IAMAT with {line[:200]!r}, a malformed AT line (at-reply-format "
            "names that, AT-1) without its location and client time, and a plain IAMAT with "
            f"{plain!r}, without them too: whether the long line was read whole cannot be told"
        )
    return False


def _past_64_kib(context: CheckContext, name: str) -> None:
    """A line longer than 64 KiB. The course sets no line length, and none of its tests comes
    near one (SPEC decision A25): past asyncio's default read limit (64 KiB) a server may close
    the connection, as herdref's own LIMIT-1 does after its '?'. Leaving the client waiting on an
    open connection with no answer is what the strict profile rules out (LEX-2 Strict: any line
    up to LIMIT-1 is answered, '?' past it), so it is a strict deviation (NON-STRICT under
    lenient). ERR-4 core still holds: the server neither dies nor hangs (alive_after, next). A
    WHATSAT for a client no server knows: nothing is stored or flooded, whatever the herd makes
    of it."""
    client = context.variation.padded_id(context.client_id("huge"), _PAST_64_KIB)
    line = b"WHATSAT %s 10 1\n" % client
    # Not recorded: 65 KiB in the transcript would say less than this note.
    context.transcript.note(f"sent {name} a WHATSAT of {len(line)} octets (a {len(client)}-octet client ID)")
    reply = context.send(name, line, whatsat=True, record=False, timeout_s=context.target.replay_silence_s)
    got = (
        show(reply.received[:120])
        if reply.received
        else "nothing"
        + (f" ({reply.error})" if reply.error else " and closed" if reply.closed else " within the wait")
    )
    context.transcript.note(f"{name} answered {got}")
    if not reply.received and not reply.closed and reply.error is None:
        context.defer_strict(
            CheckFailed(
                f"a WHATSAT of {len(line)} octets (past 64 KiB) got no answer, and the connection was "
                "left open",
                expected="'? ' and a copy of the line (or of its first LIMIT-1 octets)",
                seen=got,
                clause="LEX-2",
            )
        )
