"""The properties of single replies: an IAMAT reply and a WHATSAT reply, judged by the SPEC."""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from typing import Final

from herdref.model.herd import Violation
from herdref.model.judge import (
    is_strict_time_diff,
    parse_at_line,
    parse_whatsat_reply,
    split_at_fields,
    split_line,
)

_NANOS_PER_SECOND: Final = 1_000_000_000

#: The keys of a Places answer's result arrays: legacy Nearby Search ``results``, the New API's
#: ``places``. A herd may send both (one it was given, one it added), so each is judged.
RESULT_KEYS: Final = ("results", "places")


def _show(value: bytes | None) -> str:
    return "nothing" if value is None else repr(value)[2:-1]


def result_array(document: object) -> list[object] | None:
    """WHATSAT-7: the longest result array of a Places JSON object, ``[]`` when it has none, None
    when it is not an object or one of its result keys does not hold an array."""
    if not isinstance(document, dict):
        return None
    arrays = [document[key] for key in RESULT_KEYS if key in document]
    if not all(isinstance(array, list) for array in arrays):
        return None
    return max(arrays, key=len, default=[])


# ---- properties over replies -------------------------------------------------------------


def expected_time_diff(received_ns: int, client_time: bytes) -> Fraction:
    """AT-2: the exact time difference in seconds, rounded to the nearest nanosecond (halves
    upward), computed with fractions, independently of the server's integer arithmetic."""
    difference = Fraction(received_ns, _NANOS_PER_SECOND) - Fraction(client_time.decode("ascii"))
    nanos = (difference * _NANOS_PER_SECOND + Fraction(1, 2)).__floor__()
    return Fraction(nanos, _NANOS_PER_SECOND)


def time_diff_window(
    sent_ns: int, received_ns: int, client_time: bytes, *, slack_s: int = 1
) -> tuple[Fraction, Fraction]:
    """AT-2: the least and the greatest time difference a reply to an IAMAT with ``client_time``
    may carry when it was sent at ``sent_ns`` and its reply read at ``received_ns`` (the server's
    receive time lies between), widened by ``slack_s`` either way (lenient AT-2 may truncate)."""
    return (
        expected_time_diff(sent_ns, client_time) - slack_s,
        expected_time_diff(received_ns, client_time) + slack_s,
    )


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
    split = split_line(reply)
    if split is None or split[1] != "LF":
        return [Violation("AT-1", f"IAMAT reply is not one line ended by LF: {_show(reply)}")]
    at = parse_at_line(split[0])
    echo = (server.encode(), client_id, location, client_time)
    shape = split_at_fields(split[0])
    if (
        at is None
        and shape is not None
        and (shape.server_id, shape.client_id, shape.location, shape.client_time) == echo
    ):
        # Six fields, every echo right: only the time difference is not one ('--8203686382',
        # an exponent). That is AT-2's defect, as the skew check names it, not AT-1's.
        return [Violation("AT-2", f"time difference {_show(shape.time_diff)} is not a signed decimal")]
    if at is None or (at.server_id, at.client_id, at.location, at.client_time) != echo:
        return [
            Violation(
                "AT-1",
                f"IAMAT reply {_show(reply)} does not echo AT {server} <diff> {_show(client_id)} "
                f"{_show(location)} {_show(client_time)}",
            )
        ]
    diff = at.time_diff
    if not is_strict_time_diff(diff):
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
    if not reply:
        # Neither the record nor '?': for a client it may not hold, the missing '?' (WHATSAT-4).
        clause = "WHATSAT-4" if may_be_unknown or not candidates else "WHATSAT-5"
        return [Violation(clause, "WHATSAT got no reply at all")]
    if (may_be_unknown or not candidates) and reply == unknown_reply:
        return []
    if (may_be_unknown or not candidates) and reply.startswith(b"?"):
        # A '?' where one may come, that does not copy the WHATSAT: the copy is wrong (ERR-1),
        # not the record (the same defect error-echo-raw names).
        return [Violation("ERR-1", f"'?' reply {_show(reply)} does not copy {_show(request_line)}")]
    if not candidates:
        return [Violation("WHATSAT-4", f"WHATSAT for an unknown client got {_show(reply)}")]
    first = reply.partition(b"\n")[0]
    if first not in candidates:
        listing = " or ".join(_show(line) for line in candidates)
        # A stored line with other white space (a relay that added a space) is a changed copy
        # of the record as well (FLOOD-5): named once by whichever clause the run named first.
        respaced = b" ".join(first.split()) in candidates
        return [
            Violation(
                "WHATSAT-5",
                f"WHATSAT reply starts {_show(first)}, not the stored {listing}",
                also=("FLOOD-5",) if respaced else (),
            )
        ]
    if reply.startswith(first + b"\n\n"):
        # The reply's layout (WHATSAT-5): its end comes right after the AT line, before the JSON.
        return [Violation("WHATSAT-5", "WHATSAT reply: an empty line follows the AT line, before the JSON")]
    parsed = parse_whatsat_reply(reply)
    if isinstance(parsed, str):
        clause = "WHATSAT-5" if "empty line (LF LF)" in parsed else "WHATSAT-6"
        return [Violation(clause, f"WHATSAT reply: {parsed}")]
    document = parsed.document
    if not isinstance(document, dict):
        return [Violation("WHATSAT-6", "WHATSAT body is not a JSON object")]
    results = result_array(document)
    if results is None or len(results) > bound:
        count = len(results) if isinstance(results, list) else "non-list"
        return [Violation("WHATSAT-7", f"WHATSAT body has {count} results for bound {bound}")]
    return []
