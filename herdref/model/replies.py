"""The properties of single replies: an IAMAT reply and a WHATSAT reply, judged by the SPEC."""

import json
import re
from collections.abc import Iterable
from fractions import Fraction
from typing import Final

from herdref.model.herd import Violation

_NANOS_PER_SECOND: Final = 1_000_000_000
_TIME_DIFF_RE: Final = re.compile(rb"[+-](?:0|[1-9][0-9]*)\.[0-9]{9}")


def _show(value: bytes | None) -> str:
    return "nothing" if value is None else repr(value)[2:-1]


# ---- properties over replies -------------------------------------------------------------


def expected_time_diff(received_ns: int, client_time: bytes) -> Fraction:
    """AT-2: the exact time difference in seconds, rounded to the nearest nanosecond (halves
    upward), computed with fractions, independently of the server's integer arithmetic."""
    difference = Fraction(received_ns, _NANOS_PER_SECOND) - Fraction(client_time.decode("ascii"))
    nanos = (difference * _NANOS_PER_SECOND + Fraction(1, 2)).__floor__()
    return Fraction(nanos, _NANOS_PER_SECOND)


def check_iamat_reply(
    server: str,
    client_id: bytes,
    location: bytes,
    client_time: bytes,
    reply: bytes,
    *,
    received_ns: tuple[int, int],
) -> list[Violation]:
    """IAMAT-4, AT-1, AT-2: ``AT <server> <diff> <client> <location> <time>`` LF, the client's
    strings echoed octet for octet, and the difference between the server's receive time
    (somewhere in ``received_ns``, inclusive) and the client time, with nine decimals."""
    if not reply.endswith(b"\n") or reply.count(b"\n") != 1:
        return [Violation("AT-1", f"IAMAT reply is not one line: {_show(reply)}")]
    fields = reply[:-1].split(b" ")
    expected_fixed = [b"AT", server.encode(), None, client_id, location, client_time]
    if len(fields) != 6 or any(
        want is not None and got != want for got, want in zip(fields, expected_fixed, strict=True)
    ):
        return [
            Violation(
                "AT-1",
                f"IAMAT reply {_show(reply)} does not echo AT {server} <diff> {_show(client_id)} "
                f"{_show(location)} {_show(client_time)}",
            )
        ]
    diff = fields[2]
    if _TIME_DIFF_RE.fullmatch(diff) is None or diff == b"-0.000000000":
        return [Violation("AT-2", f"time difference {_show(diff)} is not ±S.NNNNNNNNN ('+' for zero)")]
    value = Fraction(diff.decode("ascii"))
    low = expected_time_diff(received_ns[0], client_time)
    high = expected_time_diff(received_ns[1], client_time)
    if not low <= value <= high:
        want = f"{float(low):+.9f}" if low == high else f"between {float(low):+.9f} and {float(high):+.9f}"
        return [Violation("AT-2", f"time difference {_show(diff)} should be {want}")]
    return []


def check_whatsat_reply(
    request_line: bytes,
    bound: int,
    reply: bytes,
    *,
    stored: Iterable[bytes],
    may_be_unknown: bool = False,
) -> list[Violation]:
    """WHATSAT-4..6: the reply to a WHATSAT for a client the server holds one of ``stored``
    (every AT line it may hold; empty when it holds none). With ``may_be_unknown`` the server
    may also hold nothing yet.

    With no record: ``? <request>`` LF. Otherwise the stored AT line verbatim, LF, a JSON
    object with no empty line and at most ``bound`` results (``results`` or ``places``), LF LF.
    """
    candidates = list(stored)
    unknown_reply = b"? " + request_line + b"\n"
    if may_be_unknown and candidates and reply == unknown_reply:
        return []
    if not candidates:
        if reply != unknown_reply:
            return [Violation("WHATSAT-4", f"WHATSAT for an unknown client got {_show(reply)}")]
        return []
    first, newline, rest = reply.partition(b"\n")
    if not newline or first not in candidates:
        listing = " or ".join(_show(line) for line in candidates)
        return [Violation("WHATSAT-5", f"WHATSAT reply starts {_show(first)}, not the stored {listing}")]
    if not rest.endswith(b"\n\n"):
        return [Violation("WHATSAT-5", "WHATSAT reply does not end with an empty line")]
    body = rest[:-2]
    if b"\n\n" in body or body.endswith(b"\n"):
        return [Violation("WHATSAT-6", "WHATSAT JSON holds an empty line")]
    try:
        document = json.loads(body)
    except ValueError:
        return [Violation("WHATSAT-6", f"WHATSAT body is not JSON: {_show(body[:80])}")]
    if not isinstance(document, dict):
        return [Violation("WHATSAT-6", "WHATSAT body is not a JSON object")]
    results = document.get("results", document.get("places", []))
    if not isinstance(results, list) or len(results) > bound:
        count = len(results) if isinstance(results, list) else "non-list"
        return [Violation("WHATSAT-7", f"WHATSAT body has {count} results for bound {bound}")]
    return []
