"""Sans-I/O message model, parsing and formatting for the server herd protocol.

Rules this module keeps (clause IDs refer to SPEC.md):

* Lines are octets, never decoded text (LEX-2): client IDs may hold any octet that is not one of
  the six white-space octets of LEX-1, invalid UTF-8 included, and every reply echoes them byte
  for byte.
* A message keeps the client's original field strings (IAMAT-5), so an AT line repeats the
  location and time exactly as the client wrote them, and a relayed AT line is the same line on
  every server (FLOOD-5).
* Numbers are never passed through ``float``: time differences are exact decimals rounded to
  the nanosecond (AT-2), timestamps compare as exact decimals (FLOOD-2), ranges are checked on
  the digits. No digit string goes through ``int()`` unbounded: it refuses more than 4300
  digits, and a line may hold 64 KiB of them.

``parse_line`` is the fast parser used by the server. ``parse_line_lark`` parses with the
normative grammar ``spec/grammar.lark`` and is the oracle the property suite holds it to.
Both share the semantic checks that a grammar cannot express (``_check_*``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, ROUND_FLOOR, Context, Decimal
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from lark import Lark

__all__ = [
    "WHITESPACE",
    "At",
    "IAmAt",
    "Message",
    "Peer",
    "ProtocolError",
    "WhatsAt",
    "error_reply",
    "format_at",
    "format_message",
    "format_time_diff",
    "grammar_text",
    "iamat_fields",
    "is_newer",
    "lark_parser",
    "location_degrees",
    "parse_line",
    "parse_line_lark",
    "time_key",
]

#: LEX-1: the six white-space octets (SP, HT, LF, VT, FF, CR). ``bytes.split()`` with no
#: argument splits on exactly these, unlike ``str.split()``, which also splits on U+00A0,
#: U+0085, U+001C..U+001F and others.
WHITESPACE: Final = b" \t\n\v\f\r"

# Decimal arithmetic that never rounds: precision and exponent range as large as they go.
_EXACT: Final = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN, rounding=ROUND_FLOOR)
_ONE_NANOSECOND: Final = Decimal("1e-9")
_HALF_NANOSECOND: Final = Decimal("5e-10")
MAX_RADIUS_KM: Final = 50
MAX_BOUND: Final = 20
_MAX_LATITUDE: Final = 90
_MAX_LONGITUDE: Final = 180

# The terminals of spec/grammar.lark, as byte regexes. They must stay in step with the grammar;
# tests/properties/test_grammar.py holds them to it.
_LOCATION_RE: Final = re.compile(rb"([+-][0-9]{1,3}(?:\.[0-9]+)?)([+-][0-9]{1,3}(?:\.[0-9]+)?)")
_POSIX_TIME_RE: Final = re.compile(rb"[0-9]+(?:\.[0-9]+)?")
_INCARNATION_RE: Final = re.compile(rb"[0-9A-Za-z_-]{1,64}")

# The fast parser checks each field with one regex that also holds the field's semantic range
# (LEX-5, WHATSAT-2, WHATSAT-3): a value that parses but is out of range breaks the same clause
# as one that does not parse, so one match decides. The Lark path checks ranges on the digits
# instead (_check_*); the property suite holds the two to agreement.
_is_valid_location: Final = re.compile(
    rb"""
    [+-] (?: (?:0?[0-8])?[0-9] (?:\.[0-9]++)?+       # latitude 0 .. 89.999..., at most 3 digits
           | 0?90 (?:\.0+)? )                         #          90 exactly
    [+-] (?: (?:0?[0-9]|1[0-7])?[0-9] (?:\.[0-9]++)?+ # longitude 0 .. 179.999...
           | 180 (?:\.0+)? )                          #           180 exactly
    """,
    re.VERBOSE,  # possessive fractions (++, ?+): nothing after them can take digits back
).fullmatch
_is_posix_time: Final = _POSIX_TIME_RE.fullmatch
_is_time_diff: Final = re.compile(rb"[+-][0-9]+(?:\.[0-9]+)?").fullmatch
_is_valid_radius: Final = re.compile(
    rb"""
    0* (?: [1-9] | [1-4][0-9] ) (?:\.[0-9]+)?   # 1 .. 49.999...
    | 0* 50 (?:\.0+)?                          # 50 exactly
    | 0+ \. 0* [1-9] [0-9]*                     # 0.000...1 .. 0.999...
    """,
    re.VERBOSE,
).fullmatch
_is_valid_bound: Final = re.compile(rb"0*(?:1?[0-9]|20)").fullmatch
_is_incarnation: Final = _INCARNATION_RE.fullmatch


class ProtocolError(ValueError):
    """A line that breaks the protocol; the server answers it with ``? <line>`` (ERR-1).

    ``clause`` names the SPEC.md clause the line breaks.
    """

    def __init__(self, message: str, *, clause: str) -> None:
        super().__init__(message)
        self.clause = clause


@dataclass(frozen=True, slots=True)
class IAmAt:
    """IAMAT-1: a client reports its location."""

    client_id: bytes
    location: bytes
    client_time: bytes


@dataclass(frozen=True, slots=True)
class WhatsAt:
    """WHATSAT-1: a client asks for places near another client's last location."""

    client_id: bytes
    radius_km: bytes
    bound: int


@dataclass(frozen=True, slots=True)
class At:
    """AT-1: a location record, as a reply to IAMAT and as a flood between servers."""

    server_id: bytes
    time_diff: bytes
    client_id: bytes
    location: bytes
    client_time: bytes


@dataclass(frozen=True, slots=True)
class Peer:
    """PEER-1 (extension): the server that opened this link names itself and its
    incarnation, which changes each time that server starts (CATCHUP-2)."""

    server_id: bytes
    incarnation: bytes


Message = IAmAt | WhatsAt | At | Peer


# ---- the semantic checks of the grammar oracle ----------------------------------------------


def _capped_int(digits: bytes, cap: int) -> int:
    """``min(int(digits), cap + 1)`` without converting a long digit string: ``int()``
    refuses more than 4300 digits (``sys.get_int_max_str_digits``), and a line may hold more."""
    significant = digits.lstrip(b"0")
    if len(significant) > len(str(cap)):
        return cap + 1
    return min(int(significant or b"0"), cap + 1)


def _degrees_within(signed_degrees: bytes, limit: int) -> bool:
    """Whether ``±D[.F]`` lies in ``[-limit, limit]``, decided on the digits (LEX-5)."""
    whole, _, fraction = signed_degrees[1:].partition(b".")
    degrees = int(whole)  # LOCATION allows 1 to 3 digits
    return degrees < limit or (degrees == limit and fraction.strip(b"0") == b"")


def _check_location(location: bytes) -> None:
    match = _LOCATION_RE.fullmatch(location)
    if match is None:
        raise ProtocolError("location is not ISO 6709 ±lat±long", clause="LEX-5")
    latitude, longitude = match.groups()
    if not _degrees_within(latitude, _MAX_LATITUDE):
        raise ProtocolError("latitude outside [-90, 90]", clause="LEX-5")
    if not _degrees_within(longitude, _MAX_LONGITUDE):
        raise ProtocolError("longitude outside [-180, 180]", clause="LEX-5")


def _check_radius(radius_km: bytes) -> None:
    whole, _, fraction = radius_km.partition(b".")
    kilometres = _capped_int(whole, MAX_RADIUS_KM)
    positive = kilometres > 0 or fraction.strip(b"0") != b""
    within = kilometres < MAX_RADIUS_KM or (kilometres == MAX_RADIUS_KM and fraction.strip(b"0") == b"")
    if not (positive and within):
        raise ProtocolError("radius must be in (0, 50] km", clause="WHATSAT-2")


def _check_bound(bound: bytes) -> int:
    count = _capped_int(bound, MAX_BOUND)
    if count > MAX_BOUND:
        raise ProtocolError("bound must be in [0, 20]", clause="WHATSAT-3")
    return count


def _build_iamat(client_id: bytes, location: bytes, client_time: bytes) -> IAmAt:
    _check_location(location)
    return IAmAt(client_id, location, client_time)


def _build_whatsat(client_id: bytes, radius_km: bytes, bound: bytes) -> WhatsAt:
    _check_radius(radius_km)
    return WhatsAt(client_id, radius_km, _check_bound(bound))


def _build_at(
    server_id: bytes, time_diff: bytes, client_id: bytes, location: bytes, client_time: bytes
) -> At:
    _check_location(location)
    return At(server_id, time_diff, client_id, location, client_time)


# ---- the fast parser -----------------------------------------------------------------------

_LF: Final = ord("\n")
_COMMANDS: Final = frozenset((b"IAMAT", b"WHATSAT", b"AT", b"PEER"))


def parse_line(line: bytes) -> Message | None:
    """Parse one line, with or without the LF that ends it; ``None`` for a blank line (FRAME-5).

    Raises:
        ProtocolError: the line is not a valid message (ERR-3).
    """
    # LEX-1, LEX-3: bytes.split() splits on exactly the six white-space octets and drops
    # leading and trailing white space.
    fields = line.split()
    # FRAME-1: LF ends a line, so it can only be the last octet (bytes.split() would take an
    # LF inside for white space). An int operand is a plain memchr; a bytes one costs more.
    if _LF in line and line.index(_LF) != len(line) - 1:
        raise ProtocolError("LF inside a line", clause="FRAME-1")
    if not fields:
        return None
    command = fields[0]
    count = len(fields)
    # Each field check raises the clause that the Lark path raises for the same field.
    if command == b"IAMAT" and count == 4:
        _, client_id, location, client_time = fields
        if _is_valid_location(location) is None:
            raise ProtocolError("location is not ISO 6709 ±lat±long within range", clause="LEX-5")
        if _is_posix_time(client_time) is None:
            raise ProtocolError("client time is not POSIX decimal seconds", clause="LEX-6")
        return IAmAt(client_id, location, client_time)
    if command == b"AT" and count == 6:
        _, server_id, time_diff, client_id, location, client_time = fields
        if _is_time_diff(time_diff) is None:
            raise ProtocolError("time difference is not a signed decimal", clause="AT-2")
        if _is_valid_location(location) is None:
            raise ProtocolError("location is not ISO 6709 ±lat±long within range", clause="LEX-5")
        if _is_posix_time(client_time) is None:
            raise ProtocolError("client time is not POSIX decimal seconds", clause="LEX-6")
        return At(server_id, time_diff, client_id, location, client_time)
    if command == b"WHATSAT" and count == 4:
        _, client_id, radius_km, bound = fields
        if _is_valid_radius(radius_km) is None:
            raise ProtocolError("radius is not a decimal number in (0, 50] km", clause="WHATSAT-2")
        if _is_valid_bound(bound) is None:
            raise ProtocolError("bound is not an integer in [0, 20]", clause="WHATSAT-3")
        # At most two significant digits; int() would refuse thousands of leading zeros.
        return WhatsAt(client_id, radius_km, int(bound[-2:]))
    if command == b"PEER" and count == 3:
        _, server_id, incarnation = fields
        if _is_incarnation(incarnation) is None:
            raise ProtocolError("incarnation is not 1-64 of [0-9A-Za-z_-]", clause="PEER-1")
        return Peer(server_id, incarnation)
    if command in _COMMANDS:
        raise ProtocolError("wrong number of fields", clause="ERR-3")
    # LEX-4: command words are case-sensitive; anything else is unknown.
    raise ProtocolError("unknown command", clause="ERR-3")


def iamat_fields(line: bytes) -> list[bytes] | None:
    """The server's hot path: ``[b"IAMAT", client ID, location, client time]`` when ``line``
    (LF removed) is a valid IAMAT written the usual way (command first, no LF), without the
    ``IAmAt`` that :func:`parse_line` builds; None for anything else, which
    :func:`parse_line` then decides (it accepts the same lines, and more: leading white space,
    a final LF). The property suite holds the two to agreement."""
    if not line.startswith(b"IAMAT"):
        return None
    fields = line.split()
    if (
        len(fields) != 4
        or fields[0] != b"IAMAT"
        or _LF in line
        # The same field checks as parse_line (LEX-5, LEX-6).
        or _is_valid_location(fields[2]) is None
    ):
        return None
    # LEX-6 as _POSIX_TIME_RE has it (digits, then a point and digits, or not), without the
    # regex engine: bytes.isdigit() is true for ASCII digits only, and false when empty.
    whole, point, fraction = fields[3].partition(b".")
    if not whole.isdigit() or (point and not fraction.isdigit()):
        return None
    return fields


# ---- the grammar oracle --------------------------------------------------------------------


def grammar_text() -> str:
    """The normative grammar, spec/grammar.lark, as installed with the package."""
    return resources.files("herdref").joinpath("grammar.lark").read_text(encoding="utf-8")


@cache
def lark_parser() -> Lark:
    """A Lark LALR parser for every start symbol of the grammar (imported lazily: Lark is
    only needed by the oracle and the checker, and the server must start fast)."""
    from lark import Lark

    return Lark(
        grammar_text(),
        parser="lalr",
        start=["inbound", "at_reply", "error_reply", "whatsat_reply"],
        maybe_placeholders=False,
    )


def parse_line_lark(line: bytes) -> Message | None:
    """Parse one line with the normative grammar; same contract as :func:`parse_line`."""
    from lark import Token, Tree
    from lark.exceptions import LarkError

    line = line.removesuffix(b"\n")  # FRAME-1: the LF that ends a line is not part of it
    text = line.decode("latin-1")  # one character per octet, as the grammar is written
    try:
        tree = lark_parser().parse(text, start="inbound")
    except LarkError as exc:
        raise ProtocolError(f"line does not match the grammar: {type(exc).__name__}", clause="ERR-3") from exc
    if not tree.children:
        return None
    command = tree.children[0]
    assert isinstance(command, Tree)
    if command.data == "at":
        command = command.children[0]
        assert isinstance(command, Tree)
    tokens = [token.encode("latin-1") for token in command.children if isinstance(token, Token)]
    kind = command.data
    if kind == "iamat":
        return _build_iamat(*tokens)
    if kind == "whatsat":
        return _build_whatsat(*tokens)
    if kind == "at_fields":
        return _build_at(*tokens)
    if kind == "peer":
        return Peer(*tokens)
    raise AssertionError(f"grammar rule {kind!r} has no message class")


# ---- formatting ----------------------------------------------------------------------------


def format_at(at: At) -> bytes:
    """AT-1: the AT line, single spaces, without its LF."""
    return b" ".join((b"AT", at.server_id, at.time_diff, at.client_id, at.location, at.client_time))


def format_message(message: Message) -> bytes:
    """The canonical line for ``message``, LF included."""
    if isinstance(message, At):
        return format_at(message) + b"\n"
    fields: tuple[bytes, ...]
    if isinstance(message, IAmAt):
        fields = (b"IAMAT", message.client_id, message.location, message.client_time)
    elif isinstance(message, WhatsAt):
        fields = (b"WHATSAT", message.client_id, message.radius_km, b"%d" % message.bound)
    else:
        fields = (b"PEER", message.server_id, message.incarnation)
    return b" ".join(fields) + b"\n"


def error_reply(line: bytes) -> bytes:
    """ERR-1, ERR-2: ``? `` and the line as received, minus a CR that ended it, plus LF."""
    if line.endswith(b"\r"):
        line = line[:-1]
    return b"? " + line + b"\n"


# ---- numbers, exactly ----------------------------------------------------------------------


#: Client times up to this many octets are worked in Python integers: ``int()`` and ``%d``
#: refuse more than 4300 digits (``sys.get_int_max_str_digits``), and a line may hold more.
_INTEGER_TIME_MAX_OCTETS: Final = 4000
_NS_PER_S: Final = 1_000_000_000
#: Nanoseconds per unit of a client time with 0..8 decimals (index: the number of decimals).
_NS_PER_UNIT: Final = tuple(10 ** (9 - digits) for digits in range(9))


def format_time_diff(received_ns: int, client_time: bytes) -> bytes:
    """AT-2: server receive time minus client time, ``±S.NNNNNNNNN``, '+' for zero.

    Exact whatever the number of digits in ``client_time``. A client time with more than nine
    fractional digits gives a difference rounded to the nearest nanosecond, halves upward
    (toward +infinity). Integer arithmetic in nanoseconds (or in the client time's own finest
    unit when it is finer); decimal arithmetic with unbounded precision past 4000 octets.
    """
    if len(client_time) <= _INTEGER_TIME_MAX_OCTETS:
        whole, _, fraction = client_time.partition(b".")
        digits = len(fraction)
        # The client time's digits read as one integer, in units of 10**-digits s (one int()
        # instead of two: this runs for every IAMAT).
        if digits == 9:
            nanoseconds = received_ns - int(whole + fraction)
        elif digits < 9:
            nanoseconds = received_ns - int(whole + fraction) * _NS_PER_UNIT[digits]
        else:
            # The unit per nanosecond is a power of ten above one, so even: adding half of it
            # and flooring rounds half upward.
            unit = 10 ** (digits - 9)
            nanoseconds = (received_ns * unit - int(whole + fraction) + unit // 2) // unit
        if 0 <= nanoseconds < _NS_PER_S:
            # The usual case (a client whose clock is the server's, up to a second's delay):
            # no divmod, one small integer to format.
            return b"+0.%09d" % nanoseconds
        if nanoseconds >= 0:
            return b"+%d.%09d" % divmod(nanoseconds, _NS_PER_S)
        return b"-%d.%09d" % divmod(-nanoseconds, _NS_PER_S)
    client_seconds = Decimal(client_time.decode("ascii"))
    exact = _EXACT.subtract(Decimal(received_ns).scaleb(-9, _EXACT), client_seconds)
    # Rounding half upward is flooring after adding half a nanosecond.
    rounded = _EXACT.quantize(_EXACT.add(exact, _HALF_NANOSECOND), _ONE_NANOSECOND)
    sign = b"-" if rounded < 0 else b"+"
    return sign + format(rounded.copy_abs(), "f").encode("ascii")


def time_key(client_time: bytes) -> tuple[int, bytes, bytes]:
    """An exact sort key for a POSIX time string (FLOOD-2).

    Whole seconds compare by their number of significant digits, then their digits; fractional
    digit strings with trailing zeros removed compare lexicographically exactly as their values
    compare. No digit string is converted to a number, so no length is too long.
    """
    whole, _, fraction = client_time.partition(b".")
    whole = whole.lstrip(b"0")
    return len(whole), whole, fraction.rstrip(b"0")


def is_newer(candidate_time: bytes, stored_time: bytes) -> bool:
    """FLOOD-2: strictly newer by client timestamp; an equal timestamp is a duplicate."""
    return time_key(candidate_time) > time_key(stored_time)


def location_degrees(location: bytes) -> tuple[str, str]:
    """The latitude and longitude of a valid location as plain decimals, digits unchanged
    (``+34.068930-118.445127`` gives ``("34.068930", "-118.445127")``), for Places queries.
    """
    match = _LOCATION_RE.fullmatch(location)
    if match is None:
        raise ProtocolError("location is not ISO 6709 ±lat±long", clause="LEX-5")
    latitude, longitude = (part.decode("ascii").removeprefix("+") for part in match.groups())
    return latitude, longitude
