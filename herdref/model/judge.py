"""Judging what a server sent, with the normative grammar: the one place that reads replies.

Every check, the stateful run and the model's reply properties read replies through these
functions, so a reply is judged the same way everywhere and by the grammar the SPEC defines
(``spec/grammar.lark``: ``at_reply``, ``error_reply``, ``whatsat_reply``), never by a regex of
the checker's own.

Rules:

* A reply is octets. Its terminator is judged apart from its content (AT-1): :func:`split_line`
  tells LF, CRLF and "none before the server closed" apart, so a check judges the line and the
  dialect step judges the terminator.
* Numbers are compared exactly (``Fraction``), never through ``float``; "numerically equal"
  (IAMAT-5 lenient) allows the tolerances graders use: 1e-5 degrees, 1e-6 seconds.
* Nothing here raises on bad server output: a malformed reply gives ``None`` or ``False``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Final, Literal

from herdref.protocol import WHITESPACE, At, ProtocolError, error_reply, lark_parser, location_degrees

__all__ = [
    "LOCATION_TOLERANCE",
    "TIME_TOLERANCE",
    "Terminator",
    "WhatsatReply",
    "at_client_time",
    "carried_fields",
    "carried_report",
    "carries_report_of",
    "decimal_value",
    "echo_numerically_equal",
    "error_copy",
    "glued_at_line",
    "held_final",
    "holds_report_or_newer",
    "is_error_reply_for",
    "is_location",
    "is_strict_time_diff",
    "location_close",
    "looks_like_at",
    "names_answering_server",
    "parse_at_line",
    "parse_whatsat_reply",
    "record_line",
    "same_record",
    "split_at_fields",
    "split_line",
    "stored_line_within",
    "time_close",
    "time_diff_field",
    "time_diff_value",
    "wrapped_at_line",
]

#: Graders compare coordinates within 1e-5 degrees; float round-trips stay far inside that.
LOCATION_TOLERANCE: Final = Fraction(1, 100_000)
#: A float holds a 2020s POSIX time to about 2.4e-7 s.
TIME_TOLERANCE: Final = Fraction(1, 1_000_000)
_NINE_DIGITS: Final = 9
_AT_FIELDS: Final = 6

Terminator = Literal["LF", "CRLF", "none"]


def _parse(text: bytes, start: str) -> object | None:
    from lark.exceptions import LarkError

    try:
        return lark_parser().parse(text.decode("latin-1"), start=start)
    except LarkError:
        return None


def _tokens(tree: object) -> list[bytes]:
    """The named tokens under ``tree``, depth first, as octets."""
    from lark import Token, Tree

    found: list[bytes] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, Token):
            found.append(str(node).encode("latin-1"))
        elif isinstance(node, Tree):
            stack.extend(reversed(node.children))
    return found


def split_line(data: bytes, *, crlf: bool = True) -> tuple[bytes, Terminator] | None:
    """One single-line reply and how it ended: ``(line, "LF" | "CRLF" | "none")``; None when
    ``data`` holds more than one line. "none" means the octets ended without LF (the server
    closed, or nothing more came before the deadline). With ``crlf=False`` (a reply already
    read in the herd's dialect) a CR before the LF is part of the line."""
    line, newline, rest = data.partition(b"\n")
    if rest:
        return None
    if not newline:
        return line, "none"
    if crlf and line.endswith(b"\r"):
        return line[:-1], "CRLF"
    return line, "LF"


def parse_at_line(line: bytes) -> At | None:
    """AT-1: the line (no terminator) as an AT reply in its exact form, single SPs, six fields,
    the time difference signed; None if the grammar's ``at_reply`` refuses it."""
    tree = _parse(line, "at_reply")
    if tree is None:
        return None
    server_id, time_diff, client_id, location, client_time = _tokens(tree)
    return At(server_id, time_diff, client_id, location, client_time)


def split_at_fields(line: bytes) -> At | None:
    """AT-1's shape only: six fields joined by single SPs, the first ``AT``; the values are not
    judged (the time difference is AT-2's business, the echo IAMAT-5's). None otherwise."""
    fields = line.split(b" ")
    if len(fields) != _AT_FIELDS or fields[0] != b"AT" or not all(fields):
        return None
    if any(octet in WHITESPACE for octet in line.replace(b" ", b"")):
        return None
    return At(*fields[1:])


def glued_at_line(line: bytes) -> bytes | None:
    """The AT line (AT-1's shape) at the start of ``line`` when a body follows it on the same
    line, with no LF between: ``AT ... 1621464827.5{"html_attributions": ...`` (a WHATSAT reply
    or a record written without the LF that ends the AT line). None when ``line`` is no such
    thing."""
    # Each '{' or '[' in turn: a client ID may hold them too ('c.106<=>?@[\\]', LEX-2).
    for index, octet in enumerate(line):
        if index > 0 and octet in b"{[":
            head = line[:index].rstrip(WHITESPACE)
            if split_at_fields(head) is not None:
                return head
    return None


def wrapped_at_line(line: bytes) -> bytes | None:
    """The AT line (AT-1's shape) that ends ``line`` behind words of the herd's own on the same
    line: ``AT Bona +0.2 AT Bailey +0.1 kiwi +34-118 1621464827.5`` (a WHATSAT reply that puts a
    second 'AT <server> <time-diff>' in front of the stored line). None when ``line`` is no such
    thing, or is itself of AT-1's shape."""
    if split_at_fields(line) is not None:
        return None
    for start in range(len(line) - 1, 0, -1):
        if line[start : start + 3] == b"AT " and line[start - 1 : start] in (b" ", b"\t"):
            tail = line[start:]
            if split_at_fields(tail) is not None:
                return tail
    return None


def stored_line_within(line: bytes) -> bytes | None:
    """The AT line of AT-1's shape found inside a WHATSAT reply's first ``line`` that is not
    itself of that shape: a body glued after it, or words of the herd's own before it."""
    return glued_at_line(line) or wrapped_at_line(line)


def record_line(reply: bytes, *, squeeze: bool = False) -> bytes | None:
    """The record's AT line a WHATSAT ``reply`` starts with (None: no AT line). A first line that
    holds an AT line of AT-1's shape with a body glued after it or the herd's own words before
    it (WHATSAT-5) is read for that line: the record it holds. With ``squeeze``, white space
    runs become single spaces first (a relay that changed them, FLOOD-5, named elsewhere)."""
    if not looks_like_at(reply):
        return None
    first = reply.partition(b"\n")[0]
    if squeeze:
        first = b" ".join(first.split())
    return stored_line_within(first) or first


def looks_like_at(data: bytes) -> bool:
    """The reply starts like an AT line (its first field is ``AT``): an answer, right or wrong,
    rather than ``?`` or nothing."""
    return data.split(None, 1)[:1] == [b"AT"]


def is_strict_time_diff(time_diff: bytes) -> bool:
    """AT-2 strict: no leading zeros, ``.``, exactly nine fractional digits, never ``-0``."""
    whole, dot, fraction = time_diff[1:].partition(b".")
    return (
        time_diff_value(time_diff) is not None
        and bool(dot)
        and len(fraction) == _NINE_DIGITS
        and (whole == b"0" or not whole.startswith(b"0"))
        and time_diff != b"-0.000000000"
    )


def time_diff_value(time_diff: bytes) -> Fraction | None:
    """AT-2 (every profile): a signed decimal, no exponent, as an exact number; None if the
    grammar's TIME_DIFF refuses it (``+5.``, ``1e3``, no sign)."""
    tree = _parse(b"AT s " + time_diff + b" c +0+0 0", "at_reply")
    return None if tree is None else Fraction(time_diff.decode("ascii"))


def decimal_value(text: bytes) -> Fraction | None:
    """A LEX-6 decimal (digits, optional fraction) as an exact number; None otherwise."""
    tree = _parse(b"AT s +0 c +0+0 " + text, "at_reply")
    return None if tree is None else Fraction(text.decode("ascii"))


def _degrees(location: bytes) -> tuple[Fraction, Fraction] | None:
    try:
        latitude, longitude = location_degrees(location)
    except ProtocolError:
        return None
    return Fraction(latitude), Fraction(longitude)


#: The largest decimal exponent :func:`_float_degrees` reads: floats print degrees no smaller
#: than 1e-324 and no larger than 180.
_FLOAT_EXPONENT_LIMIT: Final = 330


def _float_degrees(location: bytes) -> tuple[Fraction, Fraction] | None:
    """A location a herd re-printed from floats (``+1e-05-118.4`` for ``+0.00001-118.4``): two
    signed numbers in float notation. Not a LOCATION (LEX-5); read only so that the record is
    still recognised as the same one, leaving the form to the echo checks (IAMAT-5)."""
    second = next(
        (
            index
            for index in range(1, len(location))
            if location[index] in b"+-" and location[index - 1] not in b"eE"
        ),
        None,
    )
    if not location[:1] or location[0] not in b"+-" or second is None:
        return None
    try:
        numbers = [Decimal(part.decode("ascii")) for part in (location[:second], location[second:])]
    except (InvalidOperation, UnicodeDecodeError):
        return None
    # Finite, and an exponent no float prints for a coordinate (1e999999999 is no place, and
    # its exact value would take long to build).
    if not all(number.is_finite() and abs(number.adjusted()) <= _FLOAT_EXPONENT_LIMIT for number in numbers):
        return None
    return Fraction(numbers[0]), Fraction(numbers[1])


def is_iso_location(text: bytes) -> bool:
    """Whether ``text`` is a LOCATION as LEX-5 writes it (ISO 6709, within the limits)."""
    return _degrees(text) is not None


def is_location(text: bytes) -> bool:
    """Whether ``text`` is a location: ISO 6709 (LEX-5), or the same two numbers in float
    notation (a relay that re-printed them: FLOOD-5's business, but a location all the same)."""
    return _degrees(text) is not None or _float_degrees(text) is not None


def location_close(sent: bytes, seen: bytes, *, float_forms: bool = False) -> bool:
    """Two locations within the graders' tolerance of each other (IAMAT-5 lenient). With
    ``float_forms`` the seen one may also be in float notation (see :func:`_float_degrees`)."""
    sent_degrees, seen_degrees = _degrees(sent), _degrees(seen)
    if seen_degrees is None and float_forms:
        seen_degrees = _float_degrees(seen)
    return (
        sent_degrees is not None
        and seen_degrees is not None
        and all(abs(a - b) <= LOCATION_TOLERANCE for a, b in zip(sent_degrees, seen_degrees, strict=True))
    )


def time_close(sent: bytes, seen: bytes) -> bool:
    """Two client times within the graders' tolerance of each other (IAMAT-5 lenient)."""
    sent_value, seen_value = decimal_value(sent), decimal_value(seen)
    return (
        sent_value is not None and seen_value is not None and abs(sent_value - seen_value) <= TIME_TOLERANCE
    )


def echo_numerically_equal(sent: tuple[bytes, bytes], seen: tuple[bytes, bytes]) -> bool:
    """IAMAT-5's lenient alternative: the echoed location and client time are numerically
    equal (within the tolerances graders use) to ``sent``, both ``(location, client_time)``."""
    return location_close(sent[0], seen[0]) and time_close(sent[1], seen[1])


def same_record(seen: bytes, line: bytes, *, any_time_diff: bool = False, any_server: bool = False) -> bool:
    """Whether the AT line ``seen`` is the record ``line`` re-printed: the same server and client,
    the time difference, location and client time numerically equal (IAMAT-5 lenient, within
    the graders' tolerances). True for ``seen == line``. With ``any_time_diff`` the time
    differences may differ (a line regenerated at query time, WHATSAT-5); with ``any_server``
    the server IDs too (the same client report, whichever server the line names)."""
    if seen == line:
        return True
    a, b = split_at_fields(seen), split_at_fields(line)
    if a is None or b is None or a.client_id != b.client_id:
        return False
    if not any_server and a.server_id != b.server_id:
        return False
    diff_a, diff_b = time_diff_value(a.time_diff), time_diff_value(b.time_diff)
    return (
        (any_time_diff or (diff_a is not None and diff_a == diff_b))
        and location_close(b.location, a.location, float_forms=True)
        and time_close(b.client_time, a.client_time)
    )


def names_answering_server(seen: bytes, line: bytes, answering: str) -> bool:
    """Whether ``seen``, what the server ``answering`` shows for the record ``line``, is that
    line with ``answering``'s own name in the server field and every other octet kept: the
    server writes its own name where the origin's stands (WHATSAT-5, whatsat-origin-named's to
    name), which no relay that changes the line (FLOOD-5) is needed to explain."""
    ours, theirs = seen.split(b" "), line.split(b" ")
    return (
        len(ours) == len(theirs) == 6
        and ours[1] == answering.encode()
        and theirs[1] != ours[1]
        and ours[:1] + ours[2:] == theirs[:1] + theirs[2:]
    )


def carried_fields(line: bytes, location: bytes, client_time: bytes) -> tuple[bytes | None, bytes | None]:
    """The fields of ``line`` (its white-space-separated fields, LEX-1's six octets: well-formed
    or not) that carry the ``location`` and the ``client_time`` a client sent: the same octets,
    else the first numerically equal within the graders' tolerances (IAMAT-5 lenient; a
    location re-printed in float notation too, the echo checks' business). None for a value
    that no field carries. The fields are read by the LEX-5 and LEX-6 forms
    (:func:`location_close`, :func:`time_close`), so a location is never taken for a time."""
    fields = line.split()
    found_location = next(
        (field for field in fields if field == location),
        next((field for field in fields if location_close(location, field, float_forms=True)), None),
    )
    found_time = next(
        (field for field in fields if field == client_time),
        next((field for field in fields if time_close(client_time, field)), None),
    )
    return found_location, found_time


def carries_report_of(line: bytes | None, record: At | None) -> bool:
    """Whether ``line`` (a server's answer) carries the location or the client time of
    ``record``, as :func:`carried_fields` reads them: a line that carries neither (a herd's
    made-up answer for a client it holds nothing of, ``AT X +0 c unknown 0``) is no copy of the
    record, however it was re-printed. With no ``record`` to compare, any line does."""
    if line is None:
        return False
    return record is None or any(carried_fields(line, record.location, record.client_time))


def at_client_time(line: bytes) -> bytes | None:
    """The client time of an AT line, one with other white space between its six fields too (a
    relayed line with a trailing space holds that client time: final all the same)."""
    record = parse_at_line(line) or split_at_fields(b" ".join(line.split()))
    return None if record is None else record.client_time


def held_final(held: bytes, client_time: bytes) -> bool:
    """``held`` has ``client_time`` (FLOOD-2 keeps the first record) or it cut short in its
    fraction (its line not read whole; a whole number may be an older record): it stays."""
    held_time = at_client_time(held) or b""
    return held_time == client_time or (b"." in held_time and client_time.startswith(held_time))


def holds_report_or_newer(held: bytes | None, location: bytes, client_time: bytes) -> bool:
    """Whether ``held`` (a server's answer to WHATSAT) carries the report sent (its location and
    client time), or a record with a newer client time (the report was stale)."""
    if held is None:
        return False
    if all(carried_fields(held, location, client_time)):
        return True
    record, sent = parse_at_line(held), decimal_value(client_time)
    kept = decimal_value(record.client_time) if record is not None else None
    return kept is not None and sent is not None and kept >= sent


def carried_report(line: bytes, reports: Sequence[tuple[bytes, bytes]]) -> int | None:
    """Which of ``reports`` (each the ``(location, client_time)`` of an IAMAT the checker sent)
    the AT-shaped ``line`` carries, by its fields (:func:`carried_fields`): the index of the one
    report whose location and client time are both among them. None when no report is, or
    more than one: which record the line holds cannot be told, and a check says so
    (UNSUPPORTED), never PASS. This is how a line that is not AT-1's shape (a malformed AT
    reply, or the line a WHATSAT starts with) is still read for the record it carries."""
    found = [
        index
        for index, (location, client_time) in enumerate(reports)
        if None not in carried_fields(line, location, client_time)
    ]
    return found[0] if len(found) == 1 else None


def time_diff_field(line: bytes, server_id: bytes, carried: Iterable[bytes]) -> bytes | None:
    """In an AT-shaped line that is not AT-1's shape, the field in the time difference's place:
    right after ``AT`` and ``server_id`` (AT-1's order), provided it is none of the ``carried``
    fields (the client ID, location and client time found in the line) and is a number written
    some way: a LEX-6 decimal after any number of signs (``--3600.5``, ``0.25``, ``+1``), which
    :func:`time_diff_value` then judges (AT-2). None when the place holds anything else (the
    time difference left out, a word): where the time difference is cannot be told."""
    fields = line.split()
    if len(fields) < 3 or fields[:2] != [b"AT", server_id] or fields[2] in set(carried):
        return None
    return fields[2] if decimal_value(fields[2].lstrip(b"+-")) is not None else None


def error_copy(line: bytes) -> bytes | None:
    """ERR-1: the copy in a ``?`` reply (terminator removed); None if the grammar's
    ``error_reply`` refuses the line."""
    tree = _parse(line, "error_reply")
    if tree is None:
        return None
    (copy,) = _tokens(tree)
    return copy


def is_error_reply_for(sent: bytes, reply_line: bytes, *, strict: bool) -> bool:
    """Whether ``reply_line`` (the reply, its final LF removed) is the ``?`` reply to ``sent``.

    ERR-2 strict: the copy is the line minus its LF and one CR, octet for octet. Lenient: the
    copy has the line's fields, whatever white space is around or between them: the raw line,
    the line stripped, or its fields joined by single spaces are all "a copy of the invalid
    command" (protocol notes A4: the course's graders compare after ``strip()``, with
    single-spaced commands). A copy that kept the line's own LF (``? <line>\n\n``, the copy
    taken before the terminator was removed) has only white space after it, so it is one too."""
    wanted = error_reply(sent.removesuffix(b"\n")).removesuffix(b"\n")
    if strict:
        return reply_line == wanted
    first, _, rest = reply_line.partition(b"\n")
    if rest.strip(WHITESPACE):
        return False  # a second line with something on it: not one reply
    copy = error_copy(first)
    if copy is None:
        # "? " with nothing after it: a line that was only stripped to nothing.
        return first.rstrip(WHITESPACE) == b"?" and not wanted[2:].strip(WHITESPACE)
    return copy.split() == wanted[2:].split()


@dataclass(frozen=True, slots=True)
class WhatsatReply:
    """A WHATSAT reply as the grammar's ``whatsat_reply`` reads it."""

    at_line: bytes
    json_text: bytes
    document: object


def parse_whatsat_reply(data: bytes, *, any_first_line: bool = False) -> WhatsatReply | str:
    """WHATSAT-5/6: the stored AT line, LF, JSON without an empty line, LF LF. The parsed reply,
    or what is wrong with it (a phrase that is true of ``data``). With ``any_first_line`` the
    first line's shape is not judged (the stored line is a malformed AT reply, AT-1's
    business: the body after it is judged all the same)."""
    first, newline, rest = data.partition(b"\n")
    if not newline:
        return "it is not even one whole line"
    if not any_first_line and split_at_fields(first) is None:
        return "its first line is not an AT line (six fields, single spaces)"
    if not rest.endswith(b"\n\n"):
        return "it does not end with an empty line (LF LF)"
    json_text = rest[:-2]
    if not json_text:
        return "there is no JSON between the AT line and the empty line"
    # The framing of the body by the grammar; the AT line's own values are AT-1/AT-2's business.
    if _parse(b"AT s +0 c +0+0 0\n" + rest, "whatsat_reply") is None:
        trailing = len(rest) - len(rest.rstrip(b"\n"))
        if trailing > 2 and _parse(b"AT s +0 c +0+0 0\n" + rest[: 2 - trailing], "whatsat_reply") is not None:
            return (
                f"{trailing} LFs in a row follow the JSON, not two: an empty line too many (the JSON "
                "text ends with an LF, or one more LF follows the reply)"
            )
        return "the JSON holds an empty line (two LFs in a row) before the end"
    try:
        document = json.loads(json_text)
    except ValueError as exc:
        return f"its body is not JSON ({exc})"
    return WhatsatReply(first, json_text, document)
